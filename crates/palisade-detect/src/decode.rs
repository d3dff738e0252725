//! Decoding of every layer an attacker can hide a payload behind.
//!
//! [`decode`] peels percent (single, double, `%uXXXX`), HTML entities
//! (named, decimal, hex, with or without `;`), `\uXXXX` / `\xXX` escapes and
//! overlong UTF-8 until a fixed point (bounded passes), noting which layers
//! were seen. [`normalize`] then lower-cases, turns comments into spaces and
//! folds whitespace, so `un/**/ion%2520select` reads `un ion select` and, with
//! comments removed, `union select`. [`base64_text`] decodes a value that *is*
//! base64 of printable text.
//!
//! Everything here is linear in the input, allocation-free when there is
//! nothing to decode, and never panics. It does not decide anything: the
//! detectors do.

use std::borrow::Cow;

use base64::Engine as _;

/// Which encoding layers were seen while decoding a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layers {
    pub percent: u8,
    pub html: bool,
    pub escapes: bool,
    pub overlong: bool,
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    pub invalid: bool,
    pub null_byte: bool,
}

/// Decoding passes at most; each pass peels one layer of every kind.
pub const MAX_PASSES: usize = 4;

/// Decodes `raw` through every layer until nothing changes.
pub fn decode(raw: &str) -> (Cow<'_, str>, Layers) {
    let mut layers = Layers::default();
    if !needs_decoding(raw) {
        if raw.contains('\0') {
            layers.null_byte = true;
        }
        if let Some(folded) = fold_lookalikes(raw) {
            layers.escapes = true;
            return (Cow::Owned(folded), layers);
        }
        return (Cow::Borrowed(raw), layers);
    }
    let mut cur: Cow<'_, str> = Cow::Borrowed(raw);
    for _ in 0..MAX_PASSES {
        let mut changed = false;
        if let Some(s) = percent_once(&cur, &mut layers) {
            layers.percent = layers.percent.saturating_add(1);
            cur = Cow::Owned(s);
            changed = true;
        }
        if let Some(s) = html_once(&cur) {
            layers.html = true;
            cur = Cow::Owned(s);
            changed = true;
        }
        if let Some(s) = escapes_once(&cur) {
            layers.escapes = true;
            cur = Cow::Owned(s);
            changed = true;
        }
        if !changed || !needs_decoding(&cur) {
            break;
        }
    }
    if let Some(s) = fold_lookalikes(&cur) {
        layers.escapes = true;
        cur = Cow::Owned(s);
    }
    if cur.contains('\0') {
        layers.null_byte = true;
    }
    (cur, layers)
}

/// Characters a server may turn into ASCII markup on its own: fullwidth
/// forms (`＜script＞`, best-fit mapped by some stacks) and the UTF-7
/// spellings of `<`, `>`, `"`, `'` (`+ADw-script+AD4-`). `None` when there
/// are none.
fn fold_lookalikes(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if (s.is_ascii() && memchr::memchr(b'+', b).is_none())
        || memchr::memchr2(0xEF, b'+', b).is_none()
    {
        return None;
    }
    // fullwidth forms are EF BC xx / EF BD xx in UTF-8
    let fullwidth = memchr::memchr(0xEF, b).is_some()
        && s.chars().any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c));
    let utf7 = memchr::memchr(b'+', b).is_some()
        && (memchr::memmem::find(b, b"+AD").is_some() || memchr::memmem::find(b, b"+AC").is_some());
    if !fullwidth && !utf7 {
        return None;
    }
    let mut out: String = if fullwidth {
        s.chars()
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => {
                    char::from_u32(u32::from(c) - 0xFF01 + 0x21).unwrap_or(c)
                }
                _ => c,
            })
            .collect()
    } else {
        s.to_string()
    };
    if utf7 {
        for (from, to) in [
            ("+ADw-", "<"),
            ("+AD4-", ">"),
            ("+ACI-", "\""),
            ("+ACc-", "'"),
        ] {
            if out.contains(from) {
                out = out.replace(from, to);
            }
        }
    }
    (out != s).then_some(out)
}

fn needs_decoding(s: &str) -> bool {
    // short values (most) are cheaper to scan than to set up a vector search
    if s.len() < 64 {
        s.bytes().any(|b| matches!(b, b'%' | b'&' | b'\\'))
    } else {
        memchr::memchr3(b'%', b'&', b'\\', s.as_bytes()).is_some()
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex_n(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        v = v * 16 + u32::from(hex(c)?);
    }
    Some(v)
}

/// One pass of percent decoding (`%XX`, `%uXXXX`). `None` when nothing changed.
pub fn percent_once(s: &str, layers: &mut Layers) -> Option<String> {
    let b = s.as_bytes();
    memchr::memchr(b'%', b)?;
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut changed = false;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                out.push(h * 16 + l);
                i += 3;
                changed = true;
                continue;
            }
            if matches!(b.get(i + 1), Some(b'u' | b'U'))
                && let Some(v) = b.get(i + 2..i + 6).and_then(hex_n)
            {
                let c = char::from_u32(v).unwrap_or('\u{fffd}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 6;
                changed = true;
                continue;
            }
            layers.invalid = true;
        }
        out.push(b[i]);
        i += 1;
    }
    if !changed {
        return None;
    }
    Some(utf8_lenient(&out, layers))
}

/// Bytes to text: valid UTF-8 as is, overlong encodings of ASCII folded to
/// the character they spell (`C0 AE` is `.`), other invalid bytes as Latin-1.
pub fn utf8_lenient(b: &[u8], layers: &mut Layers) -> String {
    if let Ok(s) = std::str::from_utf8(b) {
        return s.to_string();
    }
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match std::str::from_utf8(&b[i..]) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let good = e.valid_up_to();
                if let Ok(s) = std::str::from_utf8(&b[i..i + good]) {
                    out.push_str(s);
                }
                i += good;
                let Some(&c0) = b.get(i) else { break };
                // overlong two-byte (C0/C1 xx) and three-byte (E0 80..9F xx)
                if (c0 == 0xC0 || c0 == 0xC1)
                    && let Some(&c1) = b.get(i + 1)
                    && c1 & 0xC0 == 0x80
                {
                    let v = (u32::from(c0 & 0x1F) << 6) | u32::from(c1 & 0x3F);
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                    layers.overlong = true;
                    i += 2;
                    continue;
                }
                if c0 == 0xE0
                    && let (Some(&c1), Some(&c2)) = (b.get(i + 1), b.get(i + 2))
                    && c1 & 0xE0 == 0x80
                    && c2 & 0xC0 == 0x80
                {
                    let v = (u32::from(c1 & 0x3F) << 6) | u32::from(c2 & 0x3F);
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                    layers.overlong = true;
                    i += 3;
                    continue;
                }
                layers.invalid = true;
                out.push(char::from(c0));
                i += 1;
            }
        }
    }
    out
}

const ENTITIES: &[(&str, char)] = &[
    ("lt", '<'),
    ("gt", '>'),
    ("amp", '&'),
    ("quot", '"'),
    ("apos", '\''),
    ("colon", ':'),
    ("semi", ';'),
    ("lpar", '('),
    ("rpar", ')'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("nbsp", ' '),
    ("equals", '='),
    ("num", '#'),
    ("period", '.'),
    ("comma", ','),
    ("excl", '!'),
    ("grave", '`'),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lbrace", '{'),
    ("rbrace", '}'),
    ("dollar", '$'),
    ("percnt", '%'),
    ("plus", '+'),
    ("vert", '|'),
    ("ast", '*'),
];

/// One pass of HTML entity decoding. `None` when nothing changed.
pub fn html_once(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let first = memchr::memchr(b'&', b)?;
    let mut out = String::with_capacity(s.len());
    out.push_str(s.get(..first).unwrap_or(""));
    let mut i = first;
    let mut changed = false;
    while i < b.len() {
        if b[i] == b'&'
            && let Some((c, used)) = entity_at(&b[i + 1..])
        {
            out.push(c);
            i += 1 + used;
            changed = true;
            continue;
        }
        // copy one char
        let ch_len = utf8_len(b[i]);
        out.push_str(s.get(i..i + ch_len).unwrap_or("\u{fffd}"));
        i += ch_len.max(1);
    }
    changed.then_some(out)
}

fn utf8_len(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// The entity after `&`: its character and how many bytes it used.
fn entity_at(b: &[u8]) -> Option<(char, usize)> {
    if b.first() == Some(&b'#') {
        let (radix, start) = match b.get(1) {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        let mut v: u32 = 0;
        let mut n = 0;
        // leading zeros are allowed by browsers (`&#0000060`)
        while let Some(&c) = b.get(start + n) {
            let d = match (radix, c) {
                (10, b'0'..=b'9') => u32::from(c - b'0'),
                (16, _) => match hex(c) {
                    Some(d) => u32::from(d),
                    None => break,
                },
                _ => break,
            };
            v = v.saturating_mul(radix).saturating_add(d);
            n += 1;
            if n > 12 {
                return None;
            }
        }
        if n == 0 {
            return None;
        }
        let mut used = start + n;
        if b.get(used) == Some(&b';') {
            used += 1;
        }
        return Some((char::from_u32(v).unwrap_or('\u{fffd}'), used));
    }
    let name_len = b
        .iter()
        .take(10)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if name_len == 0 {
        return None;
    }
    let name = std::str::from_utf8(b.get(..name_len)?).ok()?;
    let (_, c) = ENTITIES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))?;
    // named entities need their `;`, except the classic five
    if b.get(name_len) == Some(&b';') {
        Some((*c, name_len + 1))
    } else if matches!(name, "lt" | "gt" | "amp" | "quot" | "LT" | "GT") {
        Some((*c, name_len))
    } else {
        None
    }
}

/// One pass of `\uXXXX`, `\u{X..}`, `\xXX` escape decoding.
pub fn escapes_once(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let first = memchr::memchr(b'\\', b)?;
    let mut out = String::with_capacity(s.len());
    out.push_str(s.get(..first).unwrap_or(""));
    let mut i = first;
    let mut changed = false;
    while i < b.len() {
        if b[i] == b'\\' {
            match b.get(i + 1) {
                Some(b'u' | b'U') => {
                    if b.get(i + 2) == Some(&b'{')
                        && let Some(end) = b
                            .get(i + 3..)
                            .and_then(|r| r.iter().take(8).position(|&c| c == b'}'))
                        && let Some(v) = b.get(i + 3..i + 3 + end).and_then(hex_n)
                    {
                        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                        i += 4 + end;
                        changed = true;
                        continue;
                    }
                    if let Some(v) = b.get(i + 2..i + 6).and_then(hex_n) {
                        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                        i += 6;
                        changed = true;
                        continue;
                    }
                }
                Some(b'x' | b'X') => {
                    if let Some(v) = b.get(i + 2..i + 4).and_then(hex_n) {
                        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                        i += 4;
                        changed = true;
                        continue;
                    }
                }
                _ => {}
            }
        }
        let ch_len = utf8_len(b[i]);
        out.push_str(s.get(i..i + ch_len).unwrap_or("\u{fffd}"));
        i += ch_len.max(1);
    }
    changed.then_some(out)
}

/// Lower-cased, comments (`/*..*/`, `<!--..-->`) turned into spaces, control
/// characters and whitespace runs folded to one space, NUL removed.
pub fn normalize(s: &str) -> String {
    /// By byte: the lower-cased copy of printable ASCII other
    /// than the comment characters `/` and `*`; a space for the ASCII blanks
    /// that fold to one (space, tab, line feed, carriage return, form feed,
    /// vertical tab, other control characters but NUL, DEL); 0 for the bytes it
    /// looks at more closely.
    static LOWER_PLAIN: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut c = 1;
        while c < 0x80 {
            t[c] = if c <= 0x20 || c == 0x7f {
                b' '
            } else if c == b'/' as usize || c == b'*' as usize {
                0
            } else {
                (c as u8).to_ascii_lowercase()
            };
            c += 1;
        }
        t
    };
    // built as bytes (whole characters only, so always UTF-8)
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut last_space = false;
    while i < b.len() {
        // the longest run that maps byte for byte: printable ASCII other
        // than `/` and `*` (lower-cased) and single blanks (as a space)
        let mut blank_before = last_space;
        let rest = b.get(i..).unwrap_or(&[]);
        let run = rest
            .iter()
            .position(|&c| {
                let m = LOWER_PLAIN[usize::from(c)];
                let blank = m == b' ';
                let stop = m == 0 || (blank && blank_before);
                blank_before = blank;
                stop
            })
            .unwrap_or(rest.len());
        if let Some(r) = rest.get(..run)
            && let Some(&last) = r.last()
        {
            out.extend(r.iter().map(|&c| LOWER_PLAIN[usize::from(c)]));
            last_space = LOWER_PLAIN[usize::from(last)] == b' ';
            i += run;
            continue;
        }
        let c = b[i];
        if LOWER_PLAIN[usize::from(c)] == b' ' {
            // a blank after a blank
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            // MySQL `/*!50000 select*/` executes its content: keep it
            let bang = b.get(i + 2) == Some(&b'!');
            let end = memchr::memmem::find(b.get(i + 2..).unwrap_or(&[]), b"*/").map(|e| i + 2 + e);
            if bang {
                let mut j = i + 3;
                while b.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
                i = j;
                push_space(&mut out, &mut last_space);
                continue;
            }
            push_space(&mut out, &mut last_space);
            i = end.map_or(b.len(), |e| e + 2);
            continue;
        }
        if c == b'*' && b.get(i + 1) == Some(&b'/') {
            push_space(&mut out, &mut last_space);
            i += 2;
            continue;
        }
        if c.is_ascii_whitespace() || c == 0x0b || (c < 0x20) || c == 0x7f {
            if c != 0 {
                push_space(&mut out, &mut last_space);
            }
            i += 1;
            continue;
        }
        if c < 0x80 {
            out.push(c.to_ascii_lowercase());
            last_space = false;
            i += 1;
            continue;
        }
        let ch_len = utf8_len(c);
        if let Some(chunk) = s.get(i..i + ch_len) {
            for ch in chunk.chars() {
                if ch.is_whitespace() {
                    push_space(&mut out, &mut last_space);
                } else {
                    let mut enc = [0u8; 4];
                    for l in ch.to_lowercase() {
                        out.extend_from_slice(l.encode_utf8(&mut enc).as_bytes());
                    }
                    last_space = false;
                }
            }
        }
        i += ch_len.max(1);
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn push_space(out: &mut Vec<u8>, last_space: &mut bool) {
    if !*last_space {
        out.push(b' ');
        *last_space = true;
    }
}

/// Removes every space from a normalized string (`un ion` → `union`): the
/// view in which comment-split keywords show.
pub fn squeeze(norm: &str) -> String {
    norm.chars().filter(|c| *c != ' ').collect()
}

/// When `s` is base64 (standard or URL-safe, padded or not) of printable
/// text, that text.
pub fn base64_text(s: &str) -> Option<String> {
    let t = s.trim();
    let body = t.trim_end_matches('=');
    // short values only when padded: `JChpZCk=` is `$(id)`, `Payments` a word
    let min = if body.len() < t.len() { 8 } else { 12 };
    if t.len() < min || t.len() > 64 * 1024 || t.len() - body.len() > 2 || body.len() % 4 == 1 {
        return None;
    }
    let urlsafe = body.bytes().any(|c| c == b'-' || c == b'_');
    let ok = body.bytes().all(|c| {
        c.is_ascii_alphanumeric()
            || if urlsafe {
                c == b'-' || c == b'_'
            } else {
                c == b'+' || c == b'/'
            }
    });
    // one-case words and numbers are words, not base64 (unless padded);
    // mixed-case letters (`JyBvciAxPTEtLQ`) are decoded and judged by what
    // they decode to
    let padded = body.len() < t.len();
    if !ok
        || (!padded
            && (body.bytes().all(|c| c.is_ascii_lowercase())
                || body.bytes().all(|c| c.is_ascii_uppercase())))
        || body.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let engine = if urlsafe {
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
    } else {
        &base64::engine::general_purpose::STANDARD_NO_PAD
    };
    let bytes = engine.decode(body).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    (printable * 100 >= text.chars().count() * 95).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullwidth_and_utf7_markup_is_folded() {
        assert_eq!(decode("%uff1cscript%uff1e").0, "<script>");
        assert_eq!(decode("\u{FF1C}script \u{FF1E}").0, "<script >");
        assert_eq!(decode("+ADw-script+AD4-").0, "<script>");
        assert!(matches!(decode("a+b c").0, Cow::Borrowed(_)));
        assert!(matches!(decode("Café ß").0, Cow::Borrowed(_)));
    }

    #[test]
    fn base64_of_text_padded_or_not() {
        assert_eq!(base64_text("JyBvciAxPTEtLQ").as_deref(), Some("' or 1=1--"));
        assert_eq!(base64_text("JChpZCk=").as_deref(), Some("$(id)"));
        assert_eq!(base64_text("Payments"), None);
        assert_eq!(base64_text("PaymentIntentSucceeded"), None);
        assert_eq!(base64_text("cus_NffrFeUfNV2Hib"), None);
    }

    #[test]
    fn peels_double_percent_and_comments() {
        let (d, l) = decode("un/**/ion%2520select");
        assert_eq!(d, "un/**/ion select");
        assert_eq!(l.percent, 2);
        assert_eq!(squeeze(&normalize(&d)), "unionselect");
    }

    #[test]
    fn entities_escapes_overlong() {
        assert_eq!(decode("&lt;script&gt;").0, "<script>");
        assert_eq!(decode("&#x3C;img&#62").0, "<img>");
        assert_eq!(decode("\\u003cscript\\x3e").0, "<script>");
        let (d, l) = decode("%c0%ae%c0%ae/etc/passwd");
        assert_eq!(d, "../etc/passwd");
        assert!(l.overlong);
        assert_eq!(decode("%u002e%u002e%u2215").0, "..\u{2215}");
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(decode("hello world").0, Cow::Borrowed(_)));
        assert_eq!(decode("50%").0, "50%");
    }

    #[test]
    fn base64_only_when_it_is() {
        assert_eq!(
            base64_text("JyBPUiAxPTEgLS0gLQ==").as_deref(),
            Some("' OR 1=1 -- -")
        );
        assert_eq!(base64_text("correcthorsebatterystaple"), None);
        assert_eq!(base64_text("1234567890123456"), None);
    }
}
