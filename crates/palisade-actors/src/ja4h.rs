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

fn hex12(h: &blake3::Hash) -> String {
    let mut out = String::with_capacity(12);
    for b in &h.as_bytes()[..6] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";
const ZERO12: &str = "000000000000";

/// The JA4H-style fingerprint of a request head.
pub fn ja4h(req: &RequestPart) -> String {
    let mut method = [b'0'; 2];
    for (slot, c) in method
        .iter_mut()
        .zip(req.method.bytes().filter(u8::is_ascii_alphabetic))
    {
        *slot = c.to_ascii_lowercase();
    }
    let v = req.version.trim();
    let version = if v.eq_ignore_ascii_case("HTTP/1.1") {
        "11"
    } else if v.eq_ignore_ascii_case("HTTP/1.0") {
        "10"
    } else if v.eq_ignore_ascii_case("HTTP/2") || v.eq_ignore_ascii_case("HTTP/2.0") {
        "20"
    } else if v.eq_ignore_ascii_case("HTTP/3") || v.eq_ignore_ascii_case("HTTP/3.0") {
        "30"
    } else {
        "00"
    };
    let mut names = String::with_capacity(160);
    let mut count = 0usize;
    let mut cookies: Vec<(&str, &str)> = Vec::new();
    let mut has_cookie = false;
    let mut has_referer = false;
    let mut lang = [b'0'; 4];
    let mut lang_set = false;
    for (n, v) in &req.headers {
        if n.starts_with(':') {
            continue;
        }
        if n.eq_ignore_ascii_case("cookie") {
            has_cookie = true;
            for pair in v.split(';') {
                let (cn, cv) = pair.split_once('=').unwrap_or((pair, ""));
                let cn = cn.trim();
                if !cn.is_empty() && cookies.len() < 64 {
                    cookies.push((cn, cv.trim()));
                }
            }
            continue;
        }
        if n.eq_ignore_ascii_case("referer") {
            has_referer = true;
            continue;
        }
        if !lang_set && n.eq_ignore_ascii_case("accept-language") {
            lang_set = true;
            let first = v.split([',', ';']).next().unwrap_or("");
            for (slot, c) in lang.iter_mut().zip(
                first
                    .bytes()
                    .filter(|c| *c != b'-' && !c.is_ascii_whitespace()),
            ) {
                *slot = c.to_ascii_lowercase();
            }
        }
        if count > 0 {
            names.push(',');
        }
        names.extend(n.chars().map(|c| c.to_ascii_lowercase()));
        count += 1;
    }
    let names_hash = if count == 0 {
        ZERO12.to_string()
    } else {
        hex12(&blake3::hash(names.as_bytes()))
    };
    cookies.sort_unstable();
    let (ck, ckv) = if cookies.is_empty() {
        (ZERO12.to_string(), ZERO12.to_string())
    } else {
        let mut hn = blake3::Hasher::new();
        let mut hp = blake3::Hasher::new();
        for (i, (n, v)) in cookies.iter().enumerate() {
            if i > 0 {
                hn.update(b",");
                hp.update(b",");
            }
            hn.update(n.as_bytes());
            hp.update(n.as_bytes());
            hp.update(b"=");
            hp.update(v.as_bytes());
        }
        (hex12(&hn.finalize()), hex12(&hp.finalize()))
    };
    let mut out = String::with_capacity(51);
    out.push(char::from(method[0]));
    out.push(char::from(method[1]));
    out.push_str(version);
    out.push(if has_cookie { 'c' } else { 'n' });
    out.push(if has_referer { 'r' } else { 'n' });
    let count = count.min(99);
    out.push(char::from(b'0' + (count / 10) as u8));
    out.push(char::from(b'0' + (count % 10) as u8));
    for c in lang {
        out.push(char::from(c));
    }
    for part in [&names_hash, &ck, &ckv] {
        out.push('_');
        out.push_str(part);
    }
    out
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
