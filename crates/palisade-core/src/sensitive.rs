//! Primitives for sensitive values that every analyser must treat alike:
//! card numbers (Luhn, brand, masking to BIN and last four), secrets, and
//! masking of free text, query strings, JSON and form bodies before anything is
//! stored or shown.
//!
//! Classification with context (CVV next to a card, IBAN, national ids...) is
//! the catalog's job; what lives here is what the store and the logs need to be
//! safe by construction.

use std::borrow::Cow;

/// Whether `digits` (ASCII digits only) passes the Luhn check.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// The card brand from the leading digits, when it is a known one.
pub fn card_brand(digits: &str) -> Option<&'static str> {
    let d = digits.as_bytes();
    let prefix = |n: usize| -> u32 { digits.get(..n).and_then(|p| p.parse().ok()).unwrap_or(0) };
    if d.is_empty() {
        return None;
    }
    let len = d.len();
    Some(match () {
        _ if d[0] == b'4' && matches!(len, 13 | 16 | 19) => "visa",
        _ if ((51..=55).contains(&prefix(2)) || (2221..=2720).contains(&prefix(4)))
            && len == 16 =>
        {
            "mastercard"
        }
        _ if matches!(prefix(2), 34 | 37) && len == 15 => "amex",
        _ if (prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)))
            && (16..=19).contains(&len) =>
        {
            "discover"
        }
        _ if (3528..=3589).contains(&prefix(4)) && (16..=19).contains(&len) => "jcb",
        _ if matches!(prefix(2), 36 | 38 | 39) || (300..=305).contains(&prefix(3)) => "diners",
        _ if prefix(2) == 62 && (16..=19).contains(&len) => "unionpay",
        _ if matches!(
            prefix(4),
            5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763
        ) =>
        {
            "maestro"
        }
        _ => return None,
    })
}

/// Facts about a card number that may be kept: BIN (first six), last four,
/// brand. The number itself is never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFacts {
    pub bin: String,
    pub last4: String,
    pub brand: Option<&'static str>,
    pub len: usize,
}

/// Parses `raw` as a card number (digits with optional spaces or dashes),
/// returning its facts when it is 13 to 19 digits and passes Luhn.
pub fn card_facts(raw: &str) -> Option<CardFacts> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !(13..=19).contains(&digits.len()) || !luhn_valid(digits.as_bytes()) {
        return None;
    }
    Some(CardFacts {
        bin: digits[..6].to_string(),
        last4: digits[digits.len() - 4..].to_string(),
        brand: card_brand(&digits),
        len: digits.len(),
    })
}

/// Masks a card number to its BIN and last four (`411111******1111`). A value
/// that is not a card number is masked as a secret.
pub fn mask_pan(raw: &str) -> String {
    match card_facts(raw) {
        Some(f) => format!("{}{}{}", f.bin, "*".repeat(f.len - 10), f.last4),
        None => mask_secret(raw),
    }
}

/// Masks a secret entirely, keeping only its length class.
pub fn mask_secret(raw: &str) -> String {
    let n = raw.chars().count();
    if n == 0 {
        String::new()
    } else {
        format!("[secret:{n}]")
    }
}

/// Known prefixes of API keys and tokens, masked wherever they appear.
const SECRET_PREFIXES: &[&str] = &[
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "pk_live_",
    "whsec_",
    "ghp_",
    "gho_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "AKIA",
    "ASIA",
    "AIza",
    "glpat-",
    "shpat_",
    "sq0atp-",
];

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Masks what must never be shown inside free text: card numbers (Luhn-valid
/// runs of 13 to 19 digits, spaces or dashes allowed between groups), JWTs and
/// tokens with a known secret prefix. Idempotent.
pub fn mask_text(text: &str) -> String {
    match mask_text_cow(text) {
        Cow::Borrowed(b) => b.to_string(),
        Cow::Owned(o) => o,
    }
}

/// As [`mask_text`], borrowing when nothing needs masking.
pub fn mask_text_cow(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut last = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        // Card numbers: start of a digit run not preceded by a digit.
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()) {
            let (end, digits) = scan_digit_run(b, i);
            if (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
                let o = out.get_or_insert_with(String::new);
                o.push_str(&text[last..i]);
                let d = std::str::from_utf8(&digits).unwrap_or_default();
                o.push_str(&mask_pan(d));
                last = end;
                i = end;
                continue;
            }
            i = end.max(i + 1);
            continue;
        }
        // JWTs and known secret prefixes: at a token boundary.
        if (i == 0 || !is_token_char(b[i - 1])) && b[i].is_ascii_alphabetic() {
            let mut end = i;
            while end < b.len() && is_token_char(b[end]) {
                end += 1;
            }
            let tok = &text[i..end];
            let jwt = tok.starts_with("eyJ") && tok.matches('.').count() == 2 && tok.len() > 20;
            let keyed = SECRET_PREFIXES
                .iter()
                .find(|p| tok.starts_with(*p) && tok.len() >= p.len() + 8);
            if jwt || keyed.is_some() {
                let o = out.get_or_insert_with(String::new);
                o.push_str(&text[last..i]);
                if jwt {
                    o.push_str("eyJ[jwt]");
                } else if let Some(p) = keyed {
                    o.push_str(p);
                    o.push_str("[secret]");
                }
                last = end;
                i = end;
                continue;
            }
            // not a secret: step on, so digit runs inside the token are still seen
            i += 1;
            continue;
        }
        i += 1;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[last..]);
            Cow::Owned(o)
        }
    }
}

/// Scans digits from `start`, allowing single spaces or dashes between digits;
/// returns the end (exclusive, after the last digit) and the digits.
fn scan_digit_run(b: &[u8], start: usize) -> (usize, Vec<u8>) {
    let mut digits = Vec::with_capacity(19);
    let mut i = start;
    let mut end = start;
    while i < b.len() && digits.len() <= 19 {
        if b[i].is_ascii_digit() {
            digits.push(b[i]);
            i += 1;
            end = i;
        } else if matches!(b[i], b' ' | b'-') && i + 1 < b.len() && b[i + 1].is_ascii_digit() {
            i += 1;
        } else {
            break;
        }
    }
    (end, digits)
}

/// Whether a parameter or header name says its value is secret.
pub fn is_secret_key(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n.trim_start_matches(['-', '_', '[']);
    const EXACT: &[&str] = &[
        "pin", "pass", "pwd", "cvv", "cvc", "cvv2", "cvc2", "cid", "otp",
    ];
    const PARTS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "api_key",
        "api-key",
        "authorization",
        "cookie",
        "session",
        "credential",
        "private_key",
        "ssn",
        "security_code",
        "securitycode",
        "access_key",
        "client_secret",
        "signature",
    ];
    EXACT.contains(&n) || PARTS.iter().any(|p| n.contains(p))
}

/// Whether a name suggests a card number field.
pub fn is_card_key(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['-', '_'], "");
    matches!(n.as_str(), "pan" | "cc" | "ccnum" | "ccnumber")
        || n.contains("cardnumber")
        || n.contains("cardnum")
        || n.contains("creditcard")
        || n == "number" // masked anyway when it is Luhn-valid
}

/// Masks one `name = value` pair: a secret-named value entirely, anything else
/// through [`mask_text`].
pub fn mask_param(name: &str, value: &str) -> String {
    if is_secret_key(name) {
        mask_secret(value)
    } else {
        mask_text(value)
    }
}

/// Masks a query string or form body (`a=1&password=x`), keeping its shape.
pub fn mask_query(q: &str) -> String {
    q.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => {
                let key = percent_decode_lossy(k);
                let val = percent_decode_lossy(v);
                if is_secret_key(&key) {
                    format!("{k}={}", mask_secret(&val))
                } else {
                    let masked = mask_text_cow(&val);
                    match masked {
                        Cow::Borrowed(_) => pair.to_string(),
                        Cow::Owned(m) => format!("{k}={m}"),
                    }
                }
            }
            None => mask_text(pair),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Masks a request target (`/path?query`).
pub fn mask_target(target: &str) -> String {
    match target.split_once('?') {
        Some((p, q)) => format!("{}?{}", mask_text(p), mask_query(q)),
        None => mask_text(target),
    }
}

/// Masks a JSON value in place: secret-named members entirely, strings through
/// [`mask_text`], numbers that are card numbers too.
pub fn mask_json(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_secret_key(k) && !val.is_object() && !val.is_array() {
                    let raw = match &*val {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    *val = Value::String(mask_secret(&raw));
                } else {
                    mask_json(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::String(s) => {
            if let Cow::Owned(m) = mask_text_cow(s) {
                *s = m;
            }
        }
        Value::Number(n) => {
            let s = n.to_string();
            if card_facts(&s).is_some() {
                *v = Value::String(mask_pan(&s));
            }
        }
        _ => {}
    }
}

/// Masks a body sample for storage, by its content type: JSON and forms member
/// by member, anything else as text. Binary data is replaced by its size.
pub fn mask_body(content_type: Option<&str>, body: &[u8]) -> String {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let Ok(text) = std::str::from_utf8(body) else {
        return format!("[binary:{} bytes]", body.len());
    };
    if (ct.contains("json") || text.trim_start().starts_with(['{', '[']))
        && let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text)
    {
        mask_json(&mut v);
        return v.to_string();
    }
    if ct.contains("x-www-form-urlencoded") {
        return mask_query(text);
    }
    mask_text(text)
}

/// Masks a header value by header name: credentials and cookies entirely
/// (keeping the auth scheme), others as text.
pub fn mask_header(name: &str, value: &str) -> String {
    let n = name.to_ascii_lowercase();
    if n == "authorization" || n == "proxy-authorization" {
        return match value.split_once(' ') {
            Some((scheme, rest)) => format!("{scheme} {}", mask_secret(rest)),
            None => mask_secret(value),
        };
    }
    if n == "cookie" || n == "set-cookie" {
        return value
            .split(';')
            .map(|c| match c.split_once('=') {
                Some((k, v)) => format!("{}={}", k.trim(), mask_secret(v.trim())),
                None => c.trim().to_string(),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    mask_param(name, value)
}

fn percent_decode_lossy(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = (b[i + 1] as char).to_digit(16);
                let l = (b[i + 2] as char).to_digit(16);
                if let (Some(h), Some(l)) = (h, l) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_rejects_neighbours() {
        for ok in [
            "4111111111111111",
            "5555555555554444",
            "378282246310005",
            "4000056655665556",
        ] {
            assert!(luhn_valid(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "4111111111111112",
            "1234567812345678",
            "",
            "41111a1111111111",
        ] {
            assert!(!luhn_valid(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn brands() {
        assert_eq!(card_brand("4111111111111111"), Some("visa"));
        assert_eq!(card_brand("5555555555554444"), Some("mastercard"));
        assert_eq!(card_brand("378282246310005"), Some("amex"));
        assert_eq!(card_brand("6011111111111117"), Some("discover"));
    }

    #[test]
    fn masks_cards_in_text_with_separators() {
        let m = mask_text("pay with 4111 1111 1111 1111 now, order 12345");
        assert_eq!(m, "pay with 411111******1111 now, order 12345");
        let m = mask_text("{\"n\":\"5555-5555-5555-4444\"}");
        assert!(m.contains("555555******4444"), "{m}");
        // Luhn-invalid numbers (order ids, timestamps) are kept.
        assert_eq!(mask_text("id 1234567812345678"), "id 1234567812345678");
    }

    #[test]
    fn masks_jwts_and_keyed_secrets() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let m = mask_text(&format!("Bearer {jwt}"));
        assert_eq!(m, "Bearer eyJ[jwt]");
        let m = mask_text("key=sk_live_4eC39HqLyjWDarjtT1zdp7dc");
        assert_eq!(m, "key=sk_live_[secret]");
    }

    #[test]
    fn masking_is_idempotent() {
        for t in [
            "4111111111111111",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "a=1",
            "[secret:5]",
        ] {
            let once = mask_text(t);
            assert_eq!(mask_text(&once), once);
        }
    }

    #[test]
    fn masks_query_json_and_headers() {
        assert_eq!(
            mask_query("user=bob&password=hunter2&card=4111111111111111"),
            "user=bob&password=[secret:7]&card=411111******1111"
        );
        let mut v = serde_json::json!({"card": {"number": 4111111111111111u64, "cvc": "123"}, "name": "O'Brien"});
        mask_json(&mut v);
        assert_eq!(v["card"]["number"], "411111******1111");
        assert_eq!(v["card"]["cvc"], "[secret:3]");
        assert_eq!(v["name"], "O'Brien");
        assert_eq!(
            mask_header("Authorization", "Bearer abc.def"),
            "Bearer [secret:7]"
        );
        assert_eq!(
            mask_header("Cookie", "sid=abc; theme=dark"),
            "sid=[secret:3]; theme=[secret:4]"
        );
    }

    #[test]
    fn mask_body_handles_binary_and_forms() {
        assert_eq!(mask_body(None, &[0xff, 0xfe]), "[binary:2 bytes]");
        assert_eq!(
            mask_body(Some("application/x-www-form-urlencoded"), b"pwd=x&a=b"),
            "pwd=[secret:1]&a=b"
        );
    }
}
