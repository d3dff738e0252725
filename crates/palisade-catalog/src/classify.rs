//! Sensitive-data classification of one value, with validation.
//!
//! Each class is recognised by its structure *and* a check that a random
//! string of the same shape would usually fail: Luhn plus a known BIN range for
//! card numbers, mod 97 for IBANs, area/group/serial rules for US SSNs, a
//! decodable header for JWTs, known key prefixes or name context plus entropy
//! for secrets. Where the structure alone is too weak (a CVV is any 3 digits, a
//! password any string) the parameter name must say so.
//!
//! This module never keeps the value: callers get a [`DataClass`] and build a
//! masked sample with [`mask_sample`]. It is not a detector of attacks.

use serde::{Deserialize, Serialize};

use palisade_core::sensitive;

/// A class of sensitive data. See `docs/catalog.md` for each definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    CardNumber,
    Cvv,
    Iban,
    Email,
    Phone,
    NationalId,
    Jwt,
    ApiKey,
    Secret,
    Password,
}

impl DataClass {
    pub const ALL: [DataClass; 10] = [
        DataClass::CardNumber,
        DataClass::Cvv,
        DataClass::Iban,
        DataClass::Email,
        DataClass::Phone,
        DataClass::NationalId,
        DataClass::Jwt,
        DataClass::ApiKey,
        DataClass::Secret,
        DataClass::Password,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::CardNumber => "card_number",
            DataClass::Cvv => "cvv",
            DataClass::Iban => "iban",
            DataClass::Email => "email",
            DataClass::Phone => "phone",
            DataClass::NationalId => "national_id",
            DataClass::Jwt => "jwt",
            DataClass::ApiKey => "api_key",
            DataClass::Secret => "secret",
            DataClass::Password => "password",
        }
    }

    /// Payment-card data (PCI DSS scope).
    pub fn is_card_data(self) -> bool {
        matches!(self, DataClass::CardNumber | DataClass::Cvv)
    }

    /// Credentials: whoever holds the value can act as its owner.
    pub fn is_credential(self) -> bool {
        matches!(
            self,
            DataClass::Jwt | DataClass::ApiKey | DataClass::Secret | DataClass::Password
        )
    }

    /// Personal data about a person.
    pub fn is_personal(self) -> bool {
        matches!(
            self,
            DataClass::Email | DataClass::Phone | DataClass::NationalId | DataClass::Iban
        )
    }

    pub(crate) fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A parameter name normalised for context checks, without allocating: lower
/// case, the last component of a dotted path, separators removed, at most 48
/// bytes.
struct NameBuf {
    buf: [u8; 48],
    len: usize,
}

impl NameBuf {
    fn new(name: Option<&str>) -> NameBuf {
        let mut nb = NameBuf {
            buf: [0; 48],
            len: 0,
        };
        let Some(name) = name else { return nb };
        let last = name.rsplit(['.', '[']).next().unwrap_or(name);
        for b in last.trim_end_matches(']').bytes() {
            if matches!(b, b'_' | b'-' | b' ') {
                continue;
            }
            if nb.len == nb.buf.len() {
                break;
            }
            nb.buf[nb.len] = b.to_ascii_lowercase();
            nb.len += 1;
        }
        nb
    }
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

fn name_is_password(n: &str) -> bool {
    matches!(n, "pass" | "pwd" | "passwd" | "pin")
        || n.contains("password")
        || n.contains("passphrase")
}

fn name_is_cvv(n: &str) -> bool {
    matches!(
        n,
        "cvv"
            | "cvc"
            | "cvv2"
            | "cvc2"
            | "cid"
            | "csc"
            | "cvn"
            | "securitycode"
            | "cardcode"
            | "cardcvc"
            | "cardcvv"
            | "cardsecuritycode"
            | "cardverificationcode"
    )
}

fn name_is_card(n: &str) -> bool {
    sensitive::is_card_key(n) || matches!(n, "card" | "pan" | "accountnumber")
}

fn name_is_idish(n: &str) -> bool {
    n == "id"
        || n.ends_with("id")
        || n.ends_with("ids")
        || n.contains("time")
        || n.contains("date")
        || n.contains("created")
        || n.contains("amount")
        || n.contains("phone")
        || n.contains("count")
        || n.contains("order")
}

fn name_is_phone(n: &str) -> bool {
    n.contains("phone") || n.contains("mobile") || n == "msisdn" || n == "tel" || n == "fax"
}

fn name_is_national_id(n: &str) -> bool {
    n == "ssn"
        || n.contains("socialsecurity")
        || n.contains("nationalid")
        || n.contains("taxid")
        || n == "nino"
        || n == "tin"
        || n.contains("idnumber")
}

fn name_is_api_key(n: &str) -> bool {
    n == "apikey" || n == "xapikey" || n.ends_with("apikey") || n == "key" || n == "accesskey"
}

fn name_is_secret(n: &str) -> bool {
    n.contains("secret")
        || n.contains("token")
        || n.contains("privatekey")
        || n.contains("signature")
        || n.contains("credential")
        || n == "authorization"
}

/// Whether a parameter name says its value is personal data that has no
/// class of its own (a person's name, address, birth date): examples of such
/// values are not kept.
pub fn is_personal_key(name: &str) -> bool {
    let nb = NameBuf::new(Some(name));
    let n = nb.as_str();
    n.contains("name")
        && !n.contains("username")
        && !matches!(n, "hostname" | "filename" | "typename")
        || n.contains("address")
        || n.starts_with("line1")
        || n.starts_with("line2")
        || n.contains("street")
        || n.contains("postal")
        || n.contains("zip")
        || n == "city"
        || n.contains("birth")
        || n == "dob"
        || n.contains("passport")
}

/// Classifies one value, using the parameter name (when known) as context.
/// Returns the most specific class, or `None` for ordinary data.
pub fn classify_value(name: Option<&str>, value: &str) -> Option<DataClass> {
    let v = value.trim();
    if v.is_empty() || v.len() > 4096 {
        return None;
    }
    let nb = NameBuf::new(name);
    let n = nb.as_str();
    let b = v.as_bytes();
    let first = b[0];
    let alpha = first.is_ascii_alphabetic();

    if alpha && is_jwt(v) {
        return Some(DataClass::Jwt);
    }
    if alpha && is_known_key(v) {
        return Some(DataClass::ApiKey);
    }
    if !n.is_empty() && name_is_password(n) && !is_boolish(v) {
        return Some(DataClass::Password);
    }
    if b.len() <= 4
        && name_is_cvv(n)
        && (3..=4).contains(&b.len())
        && b.iter().all(u8::is_ascii_digit)
    {
        return Some(DataClass::Cvv);
    }
    if first.is_ascii_digit() && b.len() >= 13 && is_card_number(v, n) {
        return Some(DataClass::CardNumber);
    }
    if alpha && b.len() >= 15 && is_iban(v) {
        return Some(DataClass::Iban);
    }
    if b.contains(&b'@') && is_email(v) {
        return Some(DataClass::Email);
    }
    if (first.is_ascii_digit() || alpha) && (9..=13).contains(&b.len()) && is_national_id(v, n) {
        return Some(DataClass::NationalId);
    }
    if (first.is_ascii_digit() || first == b'+' || first == b'(') && b.len() >= 7 && is_phone(v, n)
    {
        return Some(DataClass::Phone);
    }
    if !n.is_empty()
        && b.len() >= 12
        && (name_is_api_key(n) || name_is_secret(n))
        && looks_secret(v)
    {
        return Some(if name_is_api_key(n) {
            DataClass::ApiKey
        } else {
            DataClass::Secret
        });
    }
    if first == b'-' && v.starts_with("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some(DataClass::Secret);
    }
    None
}

fn is_boolish(v: &str) -> bool {
    matches!(v, "true" | "false" | "0" | "1" | "null" | "yes" | "no")
}

/// Card number: 13-19 digits (single spaces or dashes between groups), Luhn
/// valid, not one repeated digit, and either a known brand's BIN range or a
/// card-like parameter name. A name that says id, time or amount vetoes it.
pub fn is_card_number(v: &str, norm_name: &str) -> bool {
    if !v.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
    {
        return false;
    }
    let digits: Vec<u8> = v.bytes().filter(u8::is_ascii_digit).collect();
    if !(13..=19).contains(&digits.len()) || !sensitive::luhn_valid(&digits) {
        return false;
    }
    if digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let card_name = !norm_name.is_empty() && name_is_card(norm_name);
    if !card_name && name_is_idish(norm_name) {
        return false;
    }
    let d = String::from_utf8_lossy(&digits);
    card_name || sensitive::card_brand(&d).is_some()
}

/// IBAN lengths by country (ISO 13616 registry, the common part).
const IBAN_LEN: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("SA", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("TR", 26),
    ("UA", 29),
];

/// IBAN: country code, check digits, BBAN of the country's length, mod 97 = 1.
pub fn is_iban(v: &str) -> bool {
    if v.len() > 42 {
        return false;
    }
    let s: Vec<u8> = v
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if s.len() < 15 || !s.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    if !(s[0].is_ascii_uppercase() && s[1].is_ascii_uppercase()) {
        return false;
    }
    if !(s[2].is_ascii_digit() && s[3].is_ascii_digit()) {
        return false;
    }
    let cc = std::str::from_utf8(&s[..2]).unwrap_or("");
    match IBAN_LEN.iter().find(|(c, _)| *c == cc) {
        Some((_, len)) if *len == s.len() => {}
        _ => return false,
    }
    let mut rem: u32 = 0;
    for &b in s[4..].iter().chain(&s[..4]) {
        let val = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if val >= 10 {
            (rem * 100 + val) % 97
        } else {
            (rem * 10 + val) % 97
        };
    }
    rem == 1
}

/// Email: one `@`, a local part of allowed characters, a domain of at least
/// two labels, a top-level label of letters.
pub fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || domain.contains('@') {
        return false;
    }
    if !local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._%+-!#$&'*/=?^`{|}~".contains(&b))
        || local.starts_with('.')
        || local.ends_with('.')
    {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    for l in &labels {
        if l.is_empty()
            || l.len() > 63
            || l.starts_with('-')
            || l.ends_with('-')
            || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return false;
        }
    }
    let tld = labels.last().copied().unwrap_or("");
    tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Phone: E.164 (`+`, country code not starting with 0, 8 to 15 digits in
/// all; spaces, dashes, dots and parentheses allowed), or 7 to 15 digits under
/// a phone-like parameter name.
pub fn is_phone(v: &str, norm_name: &str) -> bool {
    if !v
        .bytes()
        .all(|b| b.is_ascii_digit() || b" +-.()".contains(&b))
    {
        return false;
    }
    let digits: Vec<u8> = v.bytes().filter(u8::is_ascii_digit).collect();
    let plus = v.starts_with('+');
    if v[1.min(v.len())..].contains('+') {
        return false;
    }
    if plus {
        return (8..=15).contains(&digits.len()) && digits.first().is_some_and(|d| *d != b'0');
    }
    !norm_name.is_empty() && name_is_phone(norm_name) && (7..=15).contains(&digits.len())
}

/// National ids: a US SSN written `AAA-GG-SSSS` (valid area, group and serial)
/// anywhere, or as 9 digits under an ssn-like name; a UK National Insurance
/// number (valid prefix letters) under any name.
pub fn is_national_id(v: &str, norm_name: &str) -> bool {
    let b = v.as_bytes();
    let ssn_digits: Option<[u8; 9]> = if b.len() == 11 && b[3] == b'-' && b[6] == b'-' {
        let d: Vec<u8> = b.iter().copied().filter(u8::is_ascii_digit).collect();
        d.try_into().ok()
    } else if b.len() == 9
        && b.iter().all(u8::is_ascii_digit)
        && !norm_name.is_empty()
        && name_is_national_id(norm_name)
    {
        b.try_into().ok()
    } else {
        None
    };
    if let Some(d) = ssn_digits {
        let area = &d[..3];
        let group = &d[3..5];
        let serial = &d[5..];
        return area != b"000"
            && area != b"666"
            && area[0] != b'9'
            && group != b"00"
            && serial != b"0000";
    }
    is_nino(v)
}

fn is_nino(v: &str) -> bool {
    let mut s = [0u8; 9];
    let mut n = 0;
    for b in v.bytes() {
        if b == b' ' {
            continue;
        }
        if n == 9 {
            return false;
        }
        s[n] = b;
        n += 1;
    }
    if n != 9 {
        return false;
    }
    let (p, digits, suffix) = (&s[..2], &s[2..8], s[8]);
    let bad_first = b"DFIQUV";
    let bad_second = b"DFIQUVO";
    let bad_pairs: [&[u8]; 6] = [b"BG", b"GB", b"NK", b"KN", b"TN", b"NT"];
    p.iter().all(u8::is_ascii_uppercase)
        && !bad_first.contains(&p[0])
        && !bad_second.contains(&p[1])
        && !bad_pairs.contains(&p)
        && digits.iter().all(u8::is_ascii_digit)
        && matches!(suffix, b'A'..=b'D')
}

/// JWT: three base64url parts whose first decodes to a JSON object with `alg`.
pub fn is_jwt(v: &str) -> bool {
    jwt_header(v).is_some()
}

/// The decoded JOSE header and payload of a JWT-shaped value.
pub(crate) fn jwt_header(v: &str) -> Option<(serde_json::Value, Option<serde_json::Value>)> {
    use base64::Engine as _;
    if !v.starts_with("eyJ") || v.len() > 8192 {
        return None;
    }
    let mut parts = v.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let ok = |x: &str| {
        x.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    if !ok(h) || !ok(p) || !ok(s) {
        return None;
    }
    let eng = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let hdr = eng.decode(h.trim_end_matches('=')).ok()?;
    let hdr: serde_json::Value = serde_json::from_slice(&hdr).ok()?;
    hdr.get("alg")?.as_str()?;
    let payload = eng
        .decode(p.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    Some((hdr, payload))
}

/// Known API-key formats: a vendor prefix and a body of the vendor's length.
const KEY_PREFIXES: &[(&str, usize)] = &[
    ("sk_live_", 16),
    ("sk_test_", 16),
    ("rk_live_", 16),
    ("rk_test_", 16),
    ("whsec_", 16),
    ("ghp_", 30),
    ("gho_", 30),
    ("ghs_", 30),
    ("github_pat_", 30),
    ("xoxb-", 20),
    ("xoxp-", 20),
    ("glpat-", 20),
    ("shpat_", 24),
    ("sq0atp-", 20),
    ("sq0csp-", 20),
    ("SG.", 40),
    ("AIza", 35),
];

fn is_known_key(v: &str) -> bool {
    if v.len() > 256 || v.contains(char::is_whitespace) {
        return false;
    }
    for (p, min) in KEY_PREFIXES {
        if let Some(rest) = v.strip_prefix(p) {
            return rest.len() >= *min
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        }
    }
    // AWS access key id: AKIA/ASIA + 16 upper-case alphanumerics
    if v.len() == 20 && (v.starts_with("AKIA") || v.starts_with("ASIA")) {
        return v[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    }
    false
}

/// Shannon entropy in bits per character.
pub fn entropy(v: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in v.bytes() {
        counts[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let nf = f64::from(n);
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / nf;
            -p * p.log2()
        })
        .sum()
}

/// A value that looks like a generated secret: 12+ characters without spaces,
/// letters and digits mixed, entropy at least 3 bits per character.
fn looks_secret(v: &str) -> bool {
    v.len() >= 12
        && !v.contains(' ')
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_alphabetic())
        && entropy(v) >= 3.0
}

/// The masked sample of a classified value that may be kept: card numbers to
/// BIN and last four, emails to first letter and domain, phones to the last
/// two digits, IBANs to country and last four, everything else entirely.
pub fn mask_sample(class: DataClass, value: &str) -> String {
    let v = value.trim();
    match class {
        DataClass::CardNumber => sensitive::mask_pan(v),
        DataClass::Email => match v.split_once('@') {
            Some((l, d)) => {
                let first: String = l.chars().take(1).collect();
                format!("{first}***@{d}")
            }
            None => sensitive::mask_secret(v),
        },
        DataClass::Phone => {
            let digits: Vec<char> = v.chars().filter(char::is_ascii_digit).collect();
            let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
            format!("{}***{tail}", if v.starts_with('+') { "+" } else { "" })
        }
        DataClass::Iban => {
            let s: String = v.chars().filter(|c| *c != ' ').collect();
            let cc: String = s.chars().take(2).collect();
            let n = s.chars().count();
            let tail: String = s.chars().skip(n.saturating_sub(4)).collect();
            format!("{cc}**{tail}")
        }
        DataClass::Jwt => "eyJ[jwt]".to_string(),
        _ => sensitive::mask_secret(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_no_raw_value() {
        assert_eq!(
            mask_sample(DataClass::CardNumber, "4111111111111111"),
            "411111******1111"
        );
        assert_eq!(
            mask_sample(DataClass::Email, "jane@example.com"),
            "j***@example.com"
        );
        assert_eq!(mask_sample(DataClass::Phone, "+14155550123"), "+***23");
        assert_eq!(
            mask_sample(DataClass::Iban, "GB82 WEST 1234 5698 7654 32"),
            "GB**5432"
        );
        assert_eq!(mask_sample(DataClass::Password, "hunter2"), "[secret:7]");
    }
}
