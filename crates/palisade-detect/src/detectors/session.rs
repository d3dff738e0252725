//! Session fixation: a session identifier planted in the URL of a request
//! (`?jsessionid=...`, `?PHPSESSID=...`), most of all when the request comes
//! from another site's link (the `Referer` names another host). A server that
//! adopts a session id from the query string logs the victim into the
//! attacker's session. APIs carry sessions in cookies or tokens, never in
//! these query parameters.

use palisade_core::{Phase, RequestPart, Severity};

use super::Hit;

/// Session cookie names of common stacks, never API parameters (lower
/// case; `ASPSESSIONIDxxxx` by prefix). Generic names (`session_id`, `sid`)
/// are left out: payment redirects carry them legitimately (a checkout
/// `?session_id=cs_...` coming back from the payment page).
const NAMES: &[&str] = &[
    "jsessionid",
    "phpsessid",
    "asp.net_sessionid",
    "aspsessionid",
    "cfid",
    "cftoken",
    "laravel_session",
    "connect.sid",
];

pub fn detect(req: &RequestPart, head: bool, out: &mut Vec<(String, Hit)>) {
    if !head {
        return;
    }
    let Some(q) = req.query() else { return };
    // `;jsessionid=` in the path is the servlet form of the same thing
    let path_param = req
        .target
        .split('?')
        .next()
        .is_some_and(|p| p.to_ascii_lowercase().contains(";jsessionid="));
    let planted = q.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let name = name.to_ascii_lowercase();
        let session = NAMES.iter().any(|n| name == *n)
            || name.starts_with("aspsessionid")
            || name.ends_with("sessid");
        (session && value.len() >= 6).then_some(name)
    });
    let Some(name) = planted.or_else(|| path_param.then(|| "jsessionid".to_string())) else {
        return;
    };
    let foreign = req.header("referer").is_some_and(|r| {
        let host = req.header("host").unwrap_or("");
        let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        let from = r
            .split_once("://")
            .map_or("", |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or("");
        let from = from.rsplit('@').next().unwrap_or(from);
        let from = from.split(':').next().unwrap_or(from).to_ascii_lowercase();
        !from.is_empty() && !host.is_empty() && from != host
    });
    let (sev, conf, msg) = if foreign {
        (
            Severity::High,
            90,
            format!("session id `{name}` planted in the URL from another site (session fixation)"),
        )
    } else {
        (
            Severity::Medium,
            70,
            format!("session id `{name}` in the URL (session fixation)"),
        )
    };
    out.push((
        format!("query.{name}"),
        Hit::new("session", "session.fixation", sev, conf, msg).phase(Phase::Exploitation),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(target: &str, headers: &[(&str, &str)]) -> Vec<(String, u32)> {
        let req = crate::detectors::test_util::request("GET", target, headers);
        let mut out = Vec::new();
        detect(&req, true, &mut out);
        out.into_iter().map(|(l, h)| (l, h.score())).collect()
    }

    #[test]
    fn planted_session_ids() {
        let from_elsewhere = rules(
            "/login.php?jsessionid=74B0CB414BD77D17B5680A6386EF1666",
            &[
                ("host", "shop.example"),
                ("referer", "http://www.attackersite.com/test"),
            ],
        );
        assert!(
            from_elsewhere
                .iter()
                .any(|(l, s)| l == "query.jsessionid" && *s >= 7),
            "{from_elsewhere:?}"
        );
        let same_site = rules(
            "/login?PHPSESSID=abcdef123456",
            &[
                ("host", "shop.example"),
                ("referer", "https://shop.example/cart"),
            ],
        );
        assert!(same_site.iter().all(|(_, s)| *s < 7), "{same_site:?}");
        assert!(!same_site.is_empty());
        assert!(rules("/v1/charges?session=1&customer=cus_1", &[("host", "a")]).is_empty());
        assert!(rules("/v1/sessions?sid=1", &[("host", "a")]).is_empty());
        assert!(
            rules(
                "/checkout/success?session_id=cs_test_a1b2c3d4e5",
                &[
                    ("host", "shop.example"),
                    ("referer", "https://checkout.stripe.com/")
                ]
            )
            .is_empty()
        );
    }
}
