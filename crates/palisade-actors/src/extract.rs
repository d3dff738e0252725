//! Facts about one exchange that the abuse detectors need, extracted once:
//! the templated endpoint and object id, card numbers (hashed at once, never
//! kept), amounts, password and login fields (login hashed), and what the
//! response says (declined, login failed, not found...).
//!
//! Card and credential endpoints are recognised from the traffic itself: a
//! Luhn-valid number in a card-like field or with a known brand, a field named
//! like a password. There is no fixed path list.

use palisade_core::sensitive::{card_facts, is_card_key};
use palisade_core::{Exchange, HashId, KeyedHasher};
use serde_json::Value;

use crate::keys::h64;

/// At most this many JSON nodes are visited per body.
const MAX_NODES: usize = 400;
const MAX_DEPTH: usize = 8;
const MAX_CARDS: usize = 4;

#[derive(Debug, Default, Clone)]
pub(crate) struct Facts {
    pub is_get: bool,
    /// `METHOD /templated/{id}/path`.
    pub template: String,
    pub template_hash: u64,
    /// Hash of the last id-like segment, and its numeric value when numeric.
    pub object: Option<u64>,
    pub numeric_id: Option<u64>,
    pub probe_path: bool,
    /// (card hash, BIN as a number).
    pub cards: Vec<(HashId, u32)>,
    pub amount_minor: Option<u64>,
    pub has_password: bool,
    pub login: Option<HashId>,
    /// The upstream's status; `None` when there was no response or the
    /// response was Palisade's own (an enforced block or rate limit).
    pub status: Option<u16>,
    pub declined: bool,
    pub authenticated: bool,
}

impl Facts {
    pub(crate) fn login_failed(&self) -> bool {
        self.has_password && matches!(self.status, Some(401 | 403))
    }
    pub(crate) fn login_ok(&self) -> bool {
        self.has_password && matches!(self.status, Some(200..=299))
    }
}

fn is_id_segment(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    if digits == s.len() {
        return true;
    }
    let hexish = s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if hexish && s.len() >= 8 && digits > 0 {
        return true; // uuid, hex ids
    }
    // prefixed ids: acct_1a2b3c, ch_3Nk...
    s.len() >= 6
        && digits >= 2
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

const PROBE_PARTS: &[&str] = &[
    "/.env",
    "/.git",
    "/.svn",
    "/.aws",
    "/.ds_store",
    "/wp-admin",
    "/wp-login",
    "/wp-content",
    "/xmlrpc.php",
    "/phpmyadmin",
    "/pma",
    "/server-status",
    "/actuator",
    "/.well-known/security",
    "/cgi-bin",
    "/admin.php",
    "/config.json",
    "/config.yml",
    "/backup",
    "/dump.sql",
    "/.htaccess",
    "/web.config",
    "/vendor/phpunit",
    "/debug",
    "/console",
    "/solr",
    "/jenkins",
    "/boaform",
    "/etc/passwd",
    "/swagger.json",
    "/api-docs",
    "/graphql",
    "/_profiler",
];

fn is_probe_path(lower: &str) -> bool {
    PROBE_PARTS.iter().any(|p| lower.contains(p))
        || lower.ends_with(".php")
        || lower.ends_with(".asp")
        || lower.ends_with(".aspx")
        || lower.ends_with(".jsp")
        || lower.ends_with(".bak")
        || lower.ends_with(".sql")
}

fn is_password_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    k.contains("password") || k.contains("passwd") || k == "pwd" || k == "pass" || k == "passphrase"
}

fn is_login_key(k: &str) -> bool {
    matches!(
        k.to_ascii_lowercase().as_str(),
        "username"
            | "user"
            | "login"
            | "email"
            | "user_name"
            | "userid"
            | "user_id"
            | "account"
            | "phone"
            | "identifier"
            | "handle"
    )
}

fn is_amount_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    k == "amount" || k == "amount_cents" || k == "total" || k == "value_cents"
}

const DECLINE_WORDS: &[&str] = &[
    "declined",
    "insufficient_funds",
    "do_not_honor",
    "incorrect_cvc",
    "invalid_cvc",
    "expired_card",
    "invalid_card",
    "incorrect_number",
    "invalid_number",
    "stolen_card",
    "lost_card",
    "pickup_card",
    "fraudulent",
    "card_not_supported",
    "invalid_expiry",
];

struct Walk<'a> {
    hasher: &'a KeyedHasher,
    facts: &'a mut Facts,
    nodes: usize,
    login_raw: Option<String>,
}

impl Walk<'_> {
    fn leaf(&mut self, key: &str, in_card: bool, text: &str) {
        if is_password_key(key) && !text.is_empty() {
            self.facts.has_password = true;
            return;
        }
        if is_login_key(key) && self.login_raw.is_none() && !text.is_empty() {
            self.login_raw = Some(text.trim().to_ascii_lowercase());
        }
        if is_amount_key(key) && self.facts.amount_minor.is_none() {
            self.facts.amount_minor = parse_amount(text);
        }
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        if (13..=19).contains(&digits) && self.facts.cards.len() < MAX_CARDS {
            let cardish = in_card || is_card_key(key) || key.to_ascii_lowercase().contains("card");
            if let Some(cf) = card_facts(text) {
                let id_like = key.to_ascii_lowercase().ends_with("id");
                if cardish || (cf.brand.is_some() && !id_like) {
                    let clean: String = text.chars().filter(char::is_ascii_digit).collect();
                    let h = self.hasher.hash_str("card", &clean);
                    let bin = cf.bin.parse::<u32>().unwrap_or(0);
                    if !self.facts.cards.iter().any(|(c, _)| *c == h) {
                        self.facts.cards.push((h, bin));
                    }
                }
            }
        }
    }

    fn value(&mut self, key: &str, in_card: bool, v: &Value, depth: usize) {
        self.nodes += 1;
        if self.nodes > MAX_NODES || depth > MAX_DEPTH {
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let lk = k.to_ascii_lowercase();
                    let c =
                        in_card || lk.contains("card") || lk == "source" || lk == "payment_method";
                    self.value(k, c, child, depth + 1);
                }
            }
            Value::Array(a) => {
                for child in a {
                    self.value(key, in_card, child, depth + 1);
                }
            }
            Value::String(s) => self.leaf(key, in_card, s),
            Value::Number(n) => self.leaf(key, in_card, &n.to_string()),
            _ => {}
        }
    }
}

fn parse_amount(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some((whole, frac)) = t.split_once('.') {
        let w: u64 = whole.parse().ok()?;
        let f: String = frac.chars().chain("00".chars()).take(2).collect();
        let f: u64 = f.parse().ok()?;
        Some(w.saturating_mul(100).saturating_add(f))
    } else {
        t.parse().ok()
    }
}

/// Templates a path: id-like segments become `{id}`; returns the template and
/// the last id segment.
fn template(path: &str) -> (String, Option<&str>) {
    let mut out = String::with_capacity(path.len());
    let mut last = None;
    for seg in path.split('/').filter(|s| !s.is_empty()).take(16) {
        out.push('/');
        if is_id_segment(seg) {
            out.push_str("{id}");
            last = Some(seg);
        } else {
            out.push_str(seg);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    (out, last)
}

pub(crate) fn facts(ex: &Exchange, hasher: &KeyedHasher, authenticated: bool) -> Facts {
    let req = &ex.request;
    let mut f = Facts {
        is_get: req.method.eq_ignore_ascii_case("GET") || req.method.eq_ignore_ascii_case("HEAD"),
        authenticated,
        ..Default::default()
    };
    let path = req.path();
    let (tpl, last) = template(path);
    f.template = format!("{} {}", req.method.to_ascii_uppercase(), tpl);
    f.template_hash = h64(&[f.template.as_bytes()]);
    if let Some(id) = last {
        f.object = Some(h64(&[b"obj", id.as_bytes()]));
        f.numeric_id = id.parse().ok();
    }
    f.probe_path = is_probe_path(&path.to_ascii_lowercase());

    // request body (JSON or form); the query string for forms sent by GET
    let mut walk = Walk {
        hasher,
        facts: &mut f,
        nodes: 0,
        login_raw: None,
    };
    if let Some(text) = req.body.text() {
        let t = text.trim_start();
        let ct = req.content_type().unwrap_or("").to_ascii_lowercase();
        if t.starts_with('{') || t.starts_with('[') {
            if let Ok(v) = serde_json::from_str::<Value>(t) {
                walk.value("", false, &v, 0);
            }
        } else if ct.contains("x-www-form-urlencoded") || (t.contains('=') && !t.contains(' ')) {
            for (k, v) in form_urlencoded::parse(t.as_bytes()).take(MAX_NODES) {
                let in_card = k.to_ascii_lowercase().contains("card");
                walk.leaf(&k, in_card, &v);
            }
        }
    }
    if let Some(q) = req.query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()).take(64) {
            if is_password_key(&k) {
                walk.leaf(&k, false, &v);
            }
        }
    }
    let login_raw = walk.login_raw.take();
    if f.has_password
        && let Some(l) = login_raw
    {
        f.login = Some(hasher.hash_str("login", &l));
    }

    // the response, unless it is our own enforcement answer
    let ours = ex.enforced && ex.verdict.is_stop();
    if let Some(resp) = ex.response.as_ref().filter(|_| !ours) {
        f.status = Some(resp.status);
        let carries_card = !f.cards.is_empty();
        let body_declined = || {
            resp.body.data.len() <= 64 * 1024
                && resp.status >= 400
                && std::str::from_utf8(&resp.body.data)
                    .map(|t| {
                        let l = t.to_ascii_lowercase();
                        DECLINE_WORDS.iter().any(|w| l.contains(w))
                    })
                    .unwrap_or(false)
        };
        f.declined = resp.status == 402
            || body_declined()
            || (carries_card && (400..500).contains(&resp.status) && resp.status != 429);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::{Body, RequestPart, ResponsePart};

    fn ex(method: &str, target: &str, body: &str, status: u16, resp: &str) -> Exchange {
        Exchange {
            client_ip: "192.0.2.1".parse().unwrap(),
            request: RequestPart {
                method: method.into(),
                target: target.into(),
                headers: vec![("content-type".into(), "application/json".into())],
                body: Body::new(body.to_string()),
                ..Default::default()
            },
            response: Some(ResponsePart {
                status,
                body: Body::new(resp.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn charge_login_and_template_facts() {
        let h = KeyedHasher::insecure_for_tests();
        let e = ex(
            "POST",
            "/api/v1/charges",
            r#"{"amount":50,"currency":"usd","card":{"number":"4242 4242 4242 4242","exp_month":1,"exp_year":2030,"cvc":"123"}}"#,
            402,
            r#"{"error":{"code":"card_declined"}}"#,
        );
        let f = facts(&e, &h, false);
        assert_eq!(f.cards.len(), 1);
        assert_eq!(f.cards[0].1, 424242);
        assert_eq!(f.amount_minor, Some(50));
        assert!(f.declined);
        assert!(!format!("{f:?}").contains("4242424242424242"));

        let l = ex(
            "POST",
            "/api/v1/login",
            r#"{"username":"Bob","password":"x"}"#,
            401,
            "",
        );
        let f = facts(&l, &h, false);
        assert!(f.has_password && f.login_failed() && f.login.is_some());

        let a = ex("GET", "/api/v1/accounts/12345", "", 404, "");
        let f = facts(&a, &h, false);
        assert_eq!(f.template, "GET /api/v1/accounts/{id}");
        assert_eq!(f.numeric_id, Some(12345));
        assert!(!f.declined);
    }

    #[test]
    fn order_id_that_passes_luhn_is_not_a_card() {
        let h = KeyedHasher::insecure_for_tests();
        // 16 digits, Luhn-valid, but in an id field with no card context
        let e = ex(
            "POST",
            "/api/v1/orders",
            r#"{"order_id":"4111111111111111"}"#,
            400,
            "",
        );
        let f = facts(&e, &h, false);
        assert!(f.cards.is_empty());
        assert!(!f.declined);
    }
}
