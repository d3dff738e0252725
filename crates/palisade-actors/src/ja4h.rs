//! An HTTP client fingerprint in the JA4H spirit.
//!
//! Layout: `{method:2}{version:2}{c|n}{r|n}{headers:2}{lang:4}_{names:12}_{cookie names:12}_{cookie pairs:12}`,
//! for example `po11cn06enus_4b1a..._9e0c..._77d2...`:
//! - method: the first two letters, lowercase (`ge`, `po`);
//! - version: `10`, `11`, `20`, `30` (`00` when unknown);
//! - `c` when a Cookie header is present, `r` when a Referer is;
//! - the number of headers other than Cookie, Referer and pseudo-headers (at most 99);
//! - the first Accept-Language tag, lowercase, without `-`, padded with `0`;
//! - then 12-hex-digit hashes of the header names in arrival order, of the
//!   sorted cookie names, and of the sorted cookie name=value pairs.
//!
//! It is not wire-compatible with FoxIO's JA4H (whose licence differs from
//! JA4's): the hashes are BLAKE3, not SHA-256, and header names are lowercased
//! so that the gateway and log-based sensors agree. Identity uses
//! [`ja4h_stable`], which drops the cookie-value part (it changes with every
//! session and would split one client into many).

use palisade_core::RequestPart;

fn hash12(s: &str) -> String {
    let h = blake3::hash(s.as_bytes());
    let hex = h.to_hex();
    hex.as_str()[..12].to_string()
}

const ZERO12: &str = "000000000000";

/// The JA4H-style fingerprint of a request head.
pub fn ja4h(req: &RequestPart) -> String {
    let method: String = req
        .method
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(2)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let method = format!("{method:0<2}");
    let version = match req.version.trim().to_ascii_uppercase().as_str() {
        "HTTP/1.0" => "10",
        "HTTP/1.1" => "11",
        "HTTP/2" | "HTTP/2.0" => "20",
        "HTTP/3" | "HTTP/3.0" => "30",
        _ => "00",
    };
    let mut names: Vec<String> = Vec::with_capacity(req.headers.len());
    let mut cookies: Vec<(String, String)> = Vec::new();
    let mut has_cookie = false;
    let mut has_referer = false;
    let mut lang = String::new();
    for (n, v) in &req.headers {
        let ln = n.to_ascii_lowercase();
        if ln.starts_with(':') {
            continue;
        }
        match ln.as_str() {
            "cookie" => {
                has_cookie = true;
                for pair in v.split(';') {
                    let (cn, cv) = pair.split_once('=').unwrap_or((pair, ""));
                    let cn = cn.trim();
                    if !cn.is_empty() && cookies.len() < 64 {
                        cookies.push((cn.to_string(), cv.trim().to_string()));
                    }
                }
                continue;
            }
            "referer" => {
                has_referer = true;
                continue;
            }
            "accept-language" if lang.is_empty() => {
                lang = v
                    .split([',', ';'])
                    .next()
                    .unwrap_or("")
                    .chars()
                    .filter(|c| *c != '-' && !c.is_whitespace())
                    .take(4)
                    .map(|c| c.to_ascii_lowercase())
                    .collect();
            }
            _ => {}
        }
        names.push(ln);
    }
    let lang = format!("{lang:0<4}");
    let count = names.len().min(99);
    let names_hash = if names.is_empty() {
        ZERO12.to_string()
    } else {
        hash12(&names.join(","))
    };
    cookies.sort();
    let (ck, ckv) = if cookies.is_empty() {
        (ZERO12.to_string(), ZERO12.to_string())
    } else {
        let n: Vec<&str> = cookies.iter().map(|(n, _)| n.as_str()).collect();
        let p: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        (hash12(&n.join(",")), hash12(&p.join(",")))
    };
    format!(
        "{method}{version}{}{}{count:02}{lang}_{names_hash}_{ck}_{ckv}",
        if has_cookie { 'c' } else { 'n' },
        if has_referer { 'r' } else { 'n' },
    )
}

/// The part of a JA4H-style fingerprint that does not change with cookie
/// values (sections a, b and c).
pub fn ja4h_stable(fp: &str) -> &str {
    match fp.rmatch_indices('_').next() {
        Some((i, _)) if fp.matches('_').count() == 3 => &fp[..i],
        _ => fp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, headers: &[(&str, &str)]) -> RequestPart {
        RequestPart {
            method: method.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn section_a_and_stability() {
        let a = req(
            "POST",
            &[
                ("Host", "x"),
                ("User-Agent", "curl/8"),
                ("Cookie", "sid=1; b=2"),
                ("Referer", "https://x/"),
                ("Accept-Language", "en-US,en;q=0.9"),
            ],
        );
        let fp = ja4h(&a);
        assert!(fp.starts_with("po11cr03enus_"), "{fp}");
        assert_eq!(fp.split('_').count(), 4);
        // another session of the same client: same stable part, different full print
        let b = req(
            "POST",
            &[
                ("Host", "x"),
                ("User-Agent", "curl/8"),
                ("Cookie", "sid=2; b=2"),
                ("Referer", "https://x/"),
                ("Accept-Language", "en-US,en;q=0.9"),
            ],
        );
        assert_ne!(ja4h(&b), fp);
        assert_eq!(ja4h_stable(&ja4h(&b)), ja4h_stable(&fp));
        // header order matters
        let c = req("POST", &[("User-Agent", "curl/8"), ("Host", "x")]);
        let d = req("POST", &[("Host", "x"), ("User-Agent", "curl/8")]);
        assert_ne!(ja4h(&c), ja4h(&d));
        assert!(ja4h(&req("GET", &[])).starts_with("ge11nn000000_000000000000_"));
    }
}
