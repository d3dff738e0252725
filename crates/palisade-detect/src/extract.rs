//! Extraction: every value a request carries, each with its place.
//!
//! The head gives the path (whole, and its suspicious segments), the query
//! (repeated keys, `a[b][c]` bracket notation as `a.b.c`), cookies and
//! headers; the body gives form fields, JSON leaves with their paths
//! (`card.number`, `items.0.sku`), XML text and attributes, multipart fields
//! and file names, or the whole text when it is none of these. Values borrow
//! from the request where they can.
//!
//! Everything is bounded by [`Limits`]: what exceeds a bound is recorded as
//! an [`Overflow`] (which becomes a finding), never a crash and never a silent
//! skip. This module does not decode values (see `decode`) nor judge them.

use std::borrow::Cow;

use palisade_core::RequestPart;

use crate::config::Limits;

/// Which part of the request a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Path,
    Query,
    Form,
    Json,
    Xml,
    Multipart,
    Filename,
    Cookie,
    /// A header whose value is free text (user agent, referer, custom headers).
    Header,
    /// A structural header (accept, content-type...): fewer detectors look at it.
    HeaderStructural,
    /// The whole body, when it has no structure we parse.
    Body,
}

impl Part {
    pub fn is_body(self) -> bool {
        matches!(
            self,
            Part::Form | Part::Json | Part::Xml | Part::Multipart | Part::Filename | Part::Body
        )
    }
    pub fn is_header(self) -> bool {
        matches!(self, Part::Header | Part::HeaderStructural)
    }
}

/// One value with its place.
#[derive(Debug, Clone)]
pub struct Value<'a> {
    pub part: Part,
    /// Parameter name, JSON path, header or cookie name; empty for the path and raw body.
    pub name: Cow<'a, str>,
    /// The value as carried (still encoded).
    pub raw: Cow<'a, str>,
    /// The value is a parameter *name* (JSON key, query key).
    pub is_key: bool,
}

impl Value<'_> {
    /// `query.q`, `body.card.number`, `header.user-agent`, `path`,
    /// `cookie.sid`; a parameter name gets `#name` appended.
    pub fn location(&self) -> String {
        location(self.part, &self.name, self.is_key)
    }
}

/// The location string of a value: see [`Value::location`].
pub fn location(part: Part, name: &str, is_key: bool) -> String {
    let mut s = match part {
        Part::Path => {
            if name.is_empty() {
                "path".to_string()
            } else {
                format!("path.{name}")
            }
        }
        Part::Query => format!("query.{name}"),
        Part::Form | Part::Json | Part::Xml | Part::Multipart => {
            if name.is_empty() {
                "body".to_string()
            } else {
                format!("body.{name}")
            }
        }
        Part::Filename => format!("body.{name}.filename"),
        Part::Cookie => format!("cookie.{name}"),
        Part::Header | Part::HeaderStructural => format!("header.{}", name.to_ascii_lowercase()),
        Part::Body => "body".to_string(),
    };
    if is_key {
        s.push_str("#name");
    }
    s
}

/// A bound that was exceeded while extracting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overflow {
    TooManyValues,
    TooDeep,
    ValueTooLong(String),
    BodyTruncated,
    InvalidBody(&'static str),
    /// A multipart part declares a charset the engine does not read
    /// (`utf-7`, `ibm037`...), in its content type or a `_charset_` field.
    PartCharset(String),
}

/// Values and the bounds exceeded.
#[derive(Debug, Default)]
pub struct Extracted<'a> {
    pub values: Vec<Value<'a>>,
    pub overflows: Vec<Overflow>,
}

impl<'a> Extracted<'a> {
    #[inline]
    fn push(&mut self, limits: &Limits, v: Value<'a>) -> bool {
        if self.values.len() >= limits.max_values {
            if !self.overflows.contains(&Overflow::TooManyValues) {
                self.overflows.push(Overflow::TooManyValues);
            }
            return false;
        }
        let v = if v.raw.len() > limits.max_value_len {
            self.overflows.push(Overflow::ValueTooLong(v.location()));
            let cut = floor_char(&v.raw, limits.max_value_len);
            Value {
                raw: Cow::Owned(v.raw.get(..cut).unwrap_or("").to_string()),
                ..v
            }
        } else {
            v
        };
        self.values.push(v);
        true
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Headers whose values are structural: only header-level detectors
/// (JNDI, CRLF, protocol) read them.
const STRUCTURAL_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-charset",
    "authorization",
    "cache-control",
    "connection",
    "content-length",
    "content-type",
    "content-encoding",
    "cookie",
    "host",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "keep-alive",
    "pragma",
    "priority",
    "proxy-authorization",
    "range",
    "te",
    "transfer-encoding",
    "upgrade-insecure-requests",
    "dnt",
    "x-request-id",
    "traceparent",
    "tracestate",
    "idempotency-key",
    "x-api-key",
    "stripe-signature",
    "x-signature",
];

fn is_structural_header(name: &str) -> bool {
    STRUCTURAL_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
        || name.len() > 4
            && name
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("sec-"))
}

/// Values of the request head: path, query, cookies, headers.
pub fn head<'a>(req: &'a RequestPart, limits: &Limits) -> Extracted<'a> {
    let mut ex = Extracted::default();
    let path = req.path();
    ex.push(
        limits,
        Value {
            part: Part::Path,
            name: Cow::Borrowed(""),
            raw: Cow::Borrowed(path),
            is_key: false,
        },
    );
    // segments that could carry a payload on their own (ids in REST paths)
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.len() > 1 {
        for (i, seg) in segments.iter().enumerate() {
            let unusual = seg
                .bytes()
                .any(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')));
            // long mixed-case segments may be base64 of a payload
            let encoded = seg.len() >= 12
                && seg.bytes().any(|b| b.is_ascii_uppercase())
                && seg.bytes().any(|b| b.is_ascii_lowercase());
            if unusual || encoded {
                ex.push(
                    limits,
                    Value {
                        part: Part::Path,
                        name: Cow::Owned(i.to_string()),
                        raw: Cow::Borrowed(seg),
                        is_key: false,
                    },
                );
            }
        }
    }
    if let Some(q) = req.query() {
        pairs(q, Part::Query, limits, &mut ex);
    }
    for (n, v) in req.headers.iter().take(limits.max_headers) {
        if n.eq_ignore_ascii_case("cookie") {
            cookies(v, limits, &mut ex);
        }
        let part = if is_structural_header(n) {
            Part::HeaderStructural
        } else {
            Part::Header
        };
        ex.push(
            limits,
            Value {
                part,
                name: Cow::Borrowed(n),
                raw: Cow::Borrowed(v),
                is_key: false,
            },
        );
    }
    if req.headers.len() > limits.max_headers {
        ex.overflows.push(Overflow::TooManyValues);
    }
    ex
}

/// The head's query and cookie values only: what body-phase rules read of
/// the head (`args`, `arg_names`, `cookies`).
pub fn head_args<'a>(req: &'a RequestPart, limits: &Limits) -> Extracted<'a> {
    let mut ex = Extracted::default();
    if let Some(q) = req.query() {
        pairs(q, Part::Query, limits, &mut ex);
    }
    for (n, v) in req.headers.iter().take(limits.max_headers) {
        if n.eq_ignore_ascii_case("cookie") {
            cookies(v, limits, &mut ex);
        }
    }
    ex
}

fn cookies<'a>(v: &'a str, limits: &Limits, ex: &mut Extracted<'a>) {
    for c in v.split(';') {
        let c = c.trim();
        if c.is_empty() {
            continue;
        }
        let (n, val) = c.split_once('=').unwrap_or(("", c));
        if !ex.push(
            limits,
            Value {
                part: Part::Cookie,
                name: Cow::Borrowed(n.trim()),
                raw: Cow::Borrowed(val),
                is_key: false,
            },
        ) {
            return;
        }
        if unusual_name(n) {
            ex.push(
                limits,
                Value {
                    part: Part::Cookie,
                    name: Cow::Borrowed(n.trim()),
                    raw: Cow::Borrowed(n),
                    is_key: true,
                },
            );
        }
    }
}

/// The `&`-separated pairs of a query or form, except that an `&` opening an
/// HTML character reference (`&#106;`, `&#x6A`, `&lt;`) stays in the value:
/// no parameter name starts with `#` or ends with `;`, so such a split would
/// only cut a payload written with entities into harmless pieces.
fn split_pairs(q: &str) -> impl Iterator<Item = &str> {
    let b = q.as_bytes();
    let mut start = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut from = start;
        loop {
            match memchr::memchr(b'&', b.get(from..).unwrap_or(&[])) {
                Some(o) if entity_follows(b.get(from + o + 1..).unwrap_or(&[])) => {
                    from += o + 1;
                }
                Some(o) => {
                    let piece = q.get(start..from + o).unwrap_or("");
                    start = from + o + 1;
                    return Some(piece);
                }
                None => {
                    done = true;
                    return Some(q.get(start..).unwrap_or(""));
                }
            }
        }
    })
}

/// `#106;`, `#x6A`, `lt;` (`#` also as `%23`): a character reference
/// after an `&`.
fn entity_follows(b: &[u8]) -> bool {
    let numeric =
        |after: Option<&u8>| after.is_some_and(|c| c.is_ascii_digit() || matches!(c, b'x' | b'X'));
    if b.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(b"%23")) {
        return numeric(b.get(3));
    }
    match b.first() {
        Some(b'#') => numeric(b.get(1)),
        Some(c) if c.is_ascii_alphabetic() => {
            let n = b
                .iter()
                .take(11)
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            (2..=10).contains(&n) && b.get(n) == Some(&b';')
        }
        _ => false,
    }
}

/// `name=...` at the start: a form body sent without its content type.
fn starts_with_param_name(text: &str) -> bool {
    text.find('=').is_some_and(|eq| {
        (1..=64).contains(&eq)
            && text.as_bytes()[..eq].iter().all(|&b| {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']' | b'%')
            })
    })
}

/// Whether a parameter name is worth inspecting as a value of its own.
fn unusual_name(n: &str) -> bool {
    n.bytes().any(|b| !NAME_BYTES[usize::from(b)])
}

/// Bytes of a usual parameter name: ASCII letters and digits, `_ - . [ ]`.
static NAME_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']');
        c += 1;
    }
    t
};

/// `a=1&b[c]=2&d[]=3` into values named `a`, `b.c`, `d`.
pub fn pairs<'a>(q: &'a str, part: Part, limits: &Limits, ex: &mut Extracted<'a>) {
    for pair in split_pairs(q) {
        if pair.is_empty() {
            continue;
        }
        let (n, v) = match find_byte(pair, b'=') {
            Some(p) => (pair.get(..p).unwrap_or(""), pair.get(p + 1..).unwrap_or("")),
            None => ("", pair),
        };
        let name = param_name(n);
        let raw = plus_to_space(v);
        // (a name with a `%` is unusual too)
        if unusual_name(n)
            && !ex.push(
                limits,
                Value {
                    part,
                    name: name.clone(),
                    raw: plus_to_space(n),
                    is_key: true,
                },
            )
        {
            return;
        }
        if !ex.push(
            limits,
            Value {
                part,
                name,
                raw,
                is_key: false,
            },
        ) {
            return;
        }
    }
}

/// The first `b` in `s`: short texts (most names and values) byte by byte,
/// longer ones with a vector search.
fn find_byte(s: &str, b: u8) -> Option<usize> {
    if s.len() < 32 {
        s.bytes().position(|c| c == b)
    } else {
        memchr::memchr(b, s.as_bytes())
    }
}

fn plus_to_space(s: &str) -> Cow<'_, str> {
    if find_byte(s, b'+').is_some() {
        Cow::Owned(s.replace('+', " "))
    } else {
        Cow::Borrowed(s)
    }
}

/// Decoded parameter name with bracket notation flattened: `a[b][]` → `a.b`.
fn param_name(n: &str) -> Cow<'_, str> {
    let (mut plus, mut percent, mut bracket) = (false, false, false);
    for c in n.bytes() {
        match c {
            b'+' => plus = true,
            b'%' => percent = true,
            b'[' => bracket = true,
            _ => {}
        }
    }
    let decoded = if plus {
        let spaced = n.replace('+', " ");
        let (d, _) = crate::decode::decode(&spaced);
        Cow::Owned(d.into_owned())
    } else if percent {
        // (what the spaced copy above would decode to: there is no `+`)
        crate::decode::decode(n).0
    } else {
        Cow::Borrowed(n)
    };
    if !(if plus || percent {
        find_byte(&decoded, b'[').is_some()
    } else {
        bracket
    }) {
        return decoded;
    }
    let mut out = String::with_capacity(decoded.len());
    for (i, piece) in decoded.split('[').enumerate() {
        let piece = piece.trim_end_matches(']');
        if i > 0 && piece.is_empty() {
            continue;
        }
        if i > 0 {
            out.push('.');
        }
        out.push_str(piece);
    }
    Cow::Owned(out)
}

/// Values of the request body, by content type (sniffed when absent).
pub fn body<'a>(req: &'a RequestPart, limits: &Limits) -> Extracted<'a> {
    let mut ex = Extracted::default();
    let data = &req.body.data;
    if data.is_empty() {
        return ex;
    }
    if req.body.truncated || data.len() > limits.max_body {
        ex.overflows.push(Overflow::BodyTruncated);
    }
    let data = data.get(..data.len().min(limits.max_body)).unwrap_or(&[]);
    let ct = req.content_type().unwrap_or("").to_ascii_lowercase();
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => {
            // a cut sample may end inside a character
            let good = e.valid_up_to();
            if good + 4 < data.len() && !ct.starts_with("multipart/") {
                ex.overflows
                    .push(Overflow::InvalidBody("body is not UTF-8"));
            }
            std::str::from_utf8(data.get(..good).unwrap_or(&[])).unwrap_or("")
        }
    };
    if ct.starts_with("multipart/") {
        multipart(text, &ct, req.content_type().unwrap_or(""), limits, &mut ex);
        return ex;
    }
    let trimmed = text.trim_start();
    let looks_json = trimmed.starts_with('{') || trimmed.starts_with('[');
    if ct.contains("json") || (ct.is_empty() && looks_json) {
        if json(text, limits, &mut ex).is_err() {
            if !req.body.truncated {
                ex.overflows
                    .push(Overflow::InvalidBody("body is not valid JSON"));
            }
            ex.push(
                limits,
                Value {
                    part: Part::Body,
                    name: Cow::Borrowed(""),
                    raw: Cow::Borrowed(text),
                    is_key: false,
                },
            );
        }
        return ex;
    }
    if ct.contains("xml") || (ct.is_empty() && trimmed.starts_with('<')) {
        xml(text, limits, &mut ex);
        return ex;
    }
    let urlencoded_shape =
        !text.trim_end().contains([' ', '\n', '\t']) && text.contains(['=', '%', '+', '&']);
    if ct.starts_with("application/x-www-form-urlencoded") || (ct.is_empty() && urlencoded_shape) {
        pairs(text, Part::Form, limits, &mut ex);
        return ex;
    }
    // No content type and `name=` first: read it as a lenient form parser
    // would (raw spaces and line breaks kept), and as one raw value too.
    if ct.is_empty() && starts_with_param_name(text) {
        pairs(text, Part::Form, limits, &mut ex);
    }
    ex.push(
        limits,
        Value {
            part: Part::Body,
            name: Cow::Borrowed(""),
            raw: Cow::Borrowed(text),
            is_key: false,
        },
    );
    ex
}

struct Frame {
    array: bool,
    index: usize,
    base: usize,
}

/// The body is not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJson;

/// Walks a JSON document without recursion, emitting string leaves (and
/// unusual keys) with dotted paths. `Err` when it is not JSON.
pub fn json<'a>(s: &'a str, limits: &Limits, ex: &mut Extracted<'a>) -> Result<(), NotJson> {
    let b = s.as_bytes();
    let mut i = 0usize;
    let mut stack: Vec<Frame> = Vec::new();
    let mut path = String::with_capacity(64);
    // the last key, when it is a slice of the body
    let mut key: Option<&'a str> = None;
    // about one string leaf per 48 bytes of typical API JSON
    ex.values
        .reserve((s.len() / 48).min(limits.max_values.saturating_sub(ex.values.len())));
    let mut expect_key = false;
    let mut too_deep = false;
    let mut seen_root = false;
    // after `:` or `,` something must follow before a closing bracket
    let mut need = false;
    loop {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        let Some(&c) = b.get(i) else { break };
        match c {
            b'{' | b'[' => {
                if stack.len() >= limits.max_depth {
                    too_deep = true;
                    break;
                }
                if let Some(top) = stack.last()
                    && top.array
                {
                    let base = top.base;
                    let idx = top.index;
                    path.truncate(base);
                    push_index(&mut path, idx);
                }
                stack.push(Frame {
                    array: c == b'[',
                    index: 0,
                    base: path.len(),
                });
                need = false;
                expect_key = c == b'{';
                seen_root = true;
                i += 1;
            }
            b'}' | b']' => {
                if need {
                    return Err(NotJson);
                }
                let f = stack.pop().ok_or(NotJson)?;
                if f.array != (c == b']') {
                    return Err(NotJson);
                }
                path.truncate(f.base);
                // the container's own path segment belongs to its parent
                if let Some(p) = stack.last() {
                    path.truncate(p.base);
                }
                expect_key = false;
                i += 1;
            }
            b',' => {
                let top = stack.last_mut().ok_or(NotJson)?;
                top.index += 1;
                expect_key = !top.array;
                need = true;
                path.truncate(top.base);
                i += 1;
            }
            b':' => {
                expect_key = false;
                need = true;
                i += 1;
            }
            b'"' => {
                let (text, end) = json_string(s, i).ok_or(NotJson)?;
                i = end;
                need = false;
                seen_root = true;
                let Some(top) = stack.last() else {
                    // a bare string document
                    ex.push(
                        limits,
                        Value {
                            part: Part::Json,
                            name: Cow::Borrowed(""),
                            raw: text,
                            is_key: false,
                        },
                    );
                    continue;
                };
                if expect_key {
                    path.truncate(top.base);
                    push_seg(&mut path, &text);
                    key = match text {
                        Cow::Borrowed(k) => Some(k),
                        Cow::Owned(_) => None,
                    };
                    if unusual_name(&text) || text.starts_with("__") || text.starts_with('$') {
                        ex.push(
                            limits,
                            Value {
                                part: Part::Json,
                                name: Cow::Owned(path.clone()),
                                raw: text,
                                is_key: true,
                            },
                        );
                    }
                } else {
                    if top.array {
                        path.truncate(top.base);
                        push_index(&mut path, top.index);
                    }
                    // a member of the top object is named by its key, which
                    // the body holds
                    let name = match key {
                        Some(k) if stack.len() == 1 && path == k => Cow::Borrowed(k),
                        _ => Cow::Owned(path.clone()),
                    };
                    if !ex.push(
                        limits,
                        Value {
                            part: Part::Json,
                            name,
                            raw: text,
                            is_key: false,
                        },
                    ) {
                        return Ok(());
                    }
                }
            }
            _ => {
                // number, true, false, null
                let start = i;
                while b.get(i).is_some_and(|c| {
                    !matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                }) {
                    i += 1;
                }
                let lit = s.get(start..i).ok_or(NotJson)?;
                // (digits alone always parse)
                let digits = !lit.is_empty() && lit.bytes().all(|c| c.is_ascii_digit());
                if !(digits
                    || matches!(lit, "true" | "false" | "null")
                    || lit.parse::<f64>().is_ok())
                {
                    return Err(NotJson);
                }
                seen_root = true;
                need = false;
            }
        }
    }
    if too_deep {
        ex.overflows.push(Overflow::TooDeep);
        return Ok(());
    }
    if !stack.is_empty() || !seen_root {
        return Err(NotJson);
    }
    Ok(())
}

/// `push_seg` of an array index, without formatting it into a new string.
fn push_index(path: &mut String, idx: usize) {
    if !path.is_empty() {
        path.push('.');
    }
    let mut buf = [0u8; 20];
    let mut k = buf.len();
    let mut n = idx;
    loop {
        k -= 1;
        if let Some(d) = buf.get_mut(k) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || k == 0 {
            break;
        }
    }
    for &d in buf.get(k..).unwrap_or(&[]) {
        path.push(char::from(d));
    }
}

fn push_seg(path: &mut String, seg: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(seg);
}

/// The first `"` or `\\` in `b`. Eight bytes at a time for the short
/// strings JSON is mostly made of (a vector search costs more to set up).
fn quote_or_backslash(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        if i >= 64 {
            return memchr::memchr2(b'"', b'\\', b.get(i..)?).map(|p| i + p);
        }
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let q = x ^ (ONES * u64::from(b'"'));
        let s = x ^ (ONES * u64::from(b'\\'));
        // the lowest flagged byte is the first zero byte of `q` or `s`
        let hit = (q.wrapping_sub(ONES) & !q | s.wrapping_sub(ONES) & !s) & HIGH;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b.get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|p| i + p)
}

/// The JSON string starting at the quote at `start`: its text and the index after it.
fn json_string(s: &str, start: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = s.as_bytes();
    let mut i = start + 1;
    let mut escaped = false;
    // to the closing quote, skipping what a backslash escapes
    loop {
        i += quote_or_backslash(b.get(i..)?)?;
        if b.get(i) == Some(&b'"') {
            break;
        }
        escaped = true;
        i += 2;
    }
    let inner = s.get(start + 1..i)?;
    if !escaped {
        return Some((Cow::Borrowed(inner), i + 1));
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let h: String = chars.by_ref().take(4).collect();
                let v = u32::from_str_radix(&h, 16).ok()?;
                if (0xD800..0xDC00).contains(&v) {
                    // a surrogate pair
                    let rest = chars.as_str();
                    if let Some(lo) = rest
                        .strip_prefix("\\u")
                        .and_then(|r| r.get(..4))
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        && (0xDC00..0xE000).contains(&lo)
                    {
                        let cp = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                        out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        for _ in 0..6 {
                            chars.next();
                        }
                        continue;
                    }
                    out.push('\u{fffd}');
                } else {
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
            }
            other => out.push(other),
        }
    }
    Some((Cow::Owned(out), i + 1))
}

/// XML: text nodes and attribute values named by element path
/// (`Envelope.Body.pay.amount`, `pay.@currency`). DTDs are left to the XXE
/// detector, which reads the raw body.
pub fn xml<'a>(s: &'a str, limits: &Limits, ex: &mut Extracted<'a>) {
    let b = s.as_bytes();
    let mut i = 0usize;
    let mut stack: Vec<&'a str> = Vec::new();
    let path_of = |stack: &Vec<&str>| -> String { stack.join(".") };
    while i < b.len() {
        let Some(lt) = memchr::memchr(b'<', &b[i..]).map(|p| p + i) else {
            let rest = s.get(i..).unwrap_or("").trim();
            if !rest.is_empty() {
                ex.push(
                    limits,
                    Value {
                        part: Part::Xml,
                        name: Cow::Owned(path_of(&stack)),
                        raw: Cow::Borrowed(rest),
                        is_key: false,
                    },
                );
            }
            break;
        };
        let text = s.get(i..lt).unwrap_or("").trim();
        if !text.is_empty()
            && !ex.push(
                limits,
                Value {
                    part: Part::Xml,
                    name: Cow::Owned(path_of(&stack)),
                    raw: Cow::Borrowed(text),
                    is_key: false,
                },
            )
        {
            return;
        }
        let rest = &b[lt..];
        if rest.starts_with(b"<!--") {
            i = memchr::memmem::find(&b[lt..], b"-->").map_or(b.len(), |p| lt + p + 3);
        } else if rest.starts_with(b"<![CDATA[") {
            let end = memchr::memmem::find(&b[lt..], b"]]>").map_or(b.len(), |p| lt + p);
            if let Some(t) = s.get(lt + 9..end) {
                ex.push(
                    limits,
                    Value {
                        part: Part::Xml,
                        name: Cow::Owned(path_of(&stack)),
                        raw: Cow::Borrowed(t),
                        is_key: false,
                    },
                );
            }
            i = (end + 3).min(b.len());
        } else if rest.starts_with(b"<!") {
            // DOCTYPE with an internal subset `[...]`
            let mut depth = 0i32;
            let mut j = lt;
            while let Some(&c) = b.get(j) {
                match c {
                    b'[' => depth += 1,
                    b']' => depth -= 1,
                    b'>' if depth <= 0 => break,
                    _ => {}
                }
                j += 1;
            }
            i = j + 1;
        } else if rest.starts_with(b"<?") {
            i = memchr::memmem::find(&b[lt..], b"?>").map_or(b.len(), |p| lt + p + 2);
        } else if rest.starts_with(b"</") {
            stack.pop();
            i = memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |p| lt + p + 1);
        } else {
            let end = memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |p| lt + p);
            let tag = s.get(lt + 1..end).unwrap_or("");
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name_end = tag.find(|c: char| c.is_whitespace()).unwrap_or(tag.len());
            let name = tag.get(..name_end).unwrap_or("");
            let local = name.rsplit(':').next().unwrap_or(name);
            attributes(
                tag.get(name_end..).unwrap_or(""),
                &path_of(&stack),
                local,
                limits,
                ex,
            );
            if !self_closing {
                if stack.len() >= limits.max_depth {
                    ex.overflows.push(Overflow::TooDeep);
                    return;
                }
                stack.push(local);
            }
            i = end + 1;
        }
    }
}

fn attributes<'a>(
    attrs: &'a str,
    parent: &str,
    elem: &str,
    limits: &Limits,
    ex: &mut Extracted<'a>,
) {
    let mut rest = attrs;
    while let Some(eq) = rest.find('=') {
        let name = rest.get(..eq).unwrap_or("").trim();
        let after = rest.get(eq + 1..).unwrap_or("").trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let body = after.get(1..).unwrap_or("");
        let Some(close) = body.find(q) else { break };
        let val = body.get(..close).unwrap_or("");
        if !name.starts_with("xmlns") {
            let mut loc = String::from(parent);
            push_seg(&mut loc, elem);
            loc.push_str(".@");
            loc.push_str(name);
            ex.push(
                limits,
                Value {
                    part: Part::Xml,
                    name: Cow::Owned(loc),
                    raw: Cow::Borrowed(val),
                    is_key: false,
                },
            );
        }
        rest = body.get(close + 1..).unwrap_or("");
    }
}

fn param<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"'))
    })
}

fn multipart<'a>(
    text: &'a str,
    ct_lower: &str,
    ct: &'a str,
    limits: &Limits,
    ex: &mut Extracted<'a>,
) {
    let _ = ct_lower;
    let Some(boundary) = param(ct, "boundary").filter(|b| !b.is_empty()) else {
        ex.overflows
            .push(Overflow::InvalidBody("multipart body without a boundary"));
        return;
    };
    let delim = format!("--{boundary}");
    let mut parts = text.split(delim.as_str());
    parts.next(); // preamble
    for part in parts {
        if part.starts_with("--") {
            break;
        }
        let part = part
            .strip_prefix("\r\n")
            .or_else(|| part.strip_prefix('\n'))
            .unwrap_or(part);
        let (head, content) = match part.find("\r\n\r\n") {
            Some(p) => (part.get(..p).unwrap_or(""), part.get(p + 4..).unwrap_or("")),
            None => match part.find("\n\n") {
                Some(p) => (part.get(..p).unwrap_or(""), part.get(p + 2..).unwrap_or("")),
                None => {
                    ex.overflows
                        .push(Overflow::InvalidBody("multipart part without headers"));
                    continue;
                }
            },
        };
        let content = content
            .strip_suffix("\r\n")
            .or_else(|| content.strip_suffix('\n'))
            .unwrap_or(content);
        let mut name: &str = "";
        let mut filename: Option<&str> = None;
        let mut binary = false;
        for line in head.lines() {
            let Some((hn, hv)) = line.split_once(':') else {
                continue;
            };
            if hn.trim().eq_ignore_ascii_case("content-disposition") {
                name = param(hv, "name").unwrap_or("");
                filename = param(hv, "filename");
            } else if hn.trim().eq_ignore_ascii_case("content-type") {
                if let Some(cs) = crate::detectors::protocol::charset_param(hv)
                    && crate::detectors::protocol::charset_risk(&cs).is_some()
                {
                    ex.overflows.push(Overflow::PartCharset(cs));
                }
                let v = hv.trim().to_ascii_lowercase();
                binary = !(v.starts_with("text/")
                    || v.contains("json")
                    || v.contains("xml")
                    || v.contains("x-www-form"));
            }
        }
        // HTML forms name the charset of the other fields in `_charset_`
        if name == "_charset_" {
            let cs = content.trim().to_ascii_lowercase();
            if crate::detectors::protocol::charset_risk(&cs).is_some() {
                ex.overflows.push(Overflow::PartCharset(cs));
            }
        }
        if let Some(f) = filename {
            ex.push(
                limits,
                Value {
                    part: Part::Filename,
                    name: Cow::Borrowed(name),
                    raw: Cow::Borrowed(f),
                    is_key: false,
                },
            );
        }
        if (!binary || filename.is_none())
            && !ex.push(
                limits,
                Value {
                    part: Part::Multipart,
                    name: Cow::Borrowed(name),
                    raw: Cow::Borrowed(content),
                    is_key: false,
                },
            )
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ex: &Extracted<'_>) -> Vec<String> {
        ex.values
            .iter()
            .map(|v| format!("{}={}", v.location(), v.raw))
            .collect()
    }

    #[test]
    fn json_paths() {
        let mut ex = Extracted::default();
        json(r#"{"card":{"number":"4242","exp":[1,"x"]},"items":[{"sku":"a"},{"sku":"b"}],"$where":"1"}"#, &Limits::default(), &mut ex).unwrap();
        assert_eq!(
            names(&ex),
            vec![
                "body.card.number=4242",
                "body.card.exp.1=x",
                "body.items.0.sku=a",
                "body.items.1.sku=b",
                "body.$where#name=$where",
                "body.$where=1"
            ]
        );
    }

    #[test]
    fn deep_json_is_an_overflow_not_a_crash() {
        let s = "[".repeat(100_000);
        let mut ex = Extracted::default();
        assert!(json(&s, &Limits::default(), &mut ex).is_ok());
        assert_eq!(ex.overflows, vec![Overflow::TooDeep]);
        for bad in ["{", "{\"a\":}", "[1,]]", "\"unterminated", "{\"a\":tru}"] {
            let mut ex = Extracted::default();
            assert!(json(bad, &Limits::default(), &mut ex).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_brackets_and_repeats() {
        let mut ex = Extracted::default();
        pairs(
            "a=1&a=2&user[name][$ne]=x&list[]=y&q=a+b",
            Part::Query,
            &Limits::default(),
            &mut ex,
        );
        let n = names(&ex);
        assert!(n.contains(&"query.a=1".to_string()) && n.contains(&"query.a=2".to_string()));
        assert!(n.contains(&"query.user.name.$ne=x".to_string()), "{n:?}");
        assert!(n.contains(&"query.list=y".to_string()));
        assert!(n.contains(&"query.q=a b".to_string()));
    }

    #[test]
    fn character_references_do_not_split_a_value() {
        let mut ex = Extracted::default();
        pairs(
            "q=<img src=&#106;&%2397;v&#x61;&lt;x&b=2&amp=3",
            Part::Query,
            &Limits::default(),
            &mut ex,
        );
        let n = names(&ex);
        assert!(
            n.contains(&"query.q=<img src=&#106;&%2397;v&#x61;&lt;x".to_string()),
            "{n:?}"
        );
        assert!(n.contains(&"query.b=2".to_string()), "{n:?}");
        assert!(n.contains(&"query.amp=3".to_string()), "{n:?}");
    }

    #[test]
    fn multipart_part_charsets_are_overflows() {
        let body = "--B\nContent-Disposition: form-data; name=\"u\"\nContent-Type: text/plain; charset=utf-7\n\n+ADw-img+AD4-\n--B\nContent-Disposition: form-data; name=\"_charset_\"\n\nibm037\n--B\nContent-Disposition: form-data; name=\"ok\"\nContent-Type: text/plain; charset=utf-8\n\nhi\n--B--\n";
        let mut ex = Extracted::default();
        multipart(
            body,
            "multipart/form-data; boundary=b",
            "multipart/form-data; boundary=B",
            &Limits::default(),
            &mut ex,
        );
        assert_eq!(
            ex.overflows,
            vec![
                Overflow::PartCharset("utf-7".into()),
                Overflow::PartCharset("ibm037".into())
            ]
        );
    }

    #[test]
    fn quote_or_backslash_finds_the_first() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\');
        for len in 0..90 {
            let base: Vec<u8> = (0..len)
                .map(|k| b"ab\x80\x22\x5c\x01\xffc"[k % 8] ^ 0x40)
                .collect();
            assert_eq!(quote_or_backslash(&base), naive(&base), "{base:?}");
            for at in 0..len {
                for c in [b'"', b'\\', 0x22 ^ 0x80, 0x01, 0x21, 0x23, 0x5b, 0x5d] {
                    let mut v = base.clone();
                    v[at] = c;
                    if at + 1 < len {
                        v[at + 1] = b'"';
                    }
                    assert_eq!(quote_or_backslash(&v), naive(&v), "{v:?}");
                }
            }
        }
    }

    #[test]
    fn json_indices_numbers_and_escapes() {
        // a run of digits of any length is a number, as `f64` parses it
        assert!("9".repeat(400).parse::<f64>().is_ok());
        let body = format!(
            r#"{{"a":[{{"b":"x\"y"}},1,"z",{}],"c":{{"d":[[],["w"]]}},"e":"\u00e9"}}"#,
            "9".repeat(400)
        );
        let mut ex = Extracted::default();
        assert!(json(&body, &Limits::default(), &mut ex).is_ok());
        let got: Vec<(String, String)> = ex
            .values
            .iter()
            .map(|v| (v.name.to_string(), v.raw.to_string()))
            .collect();
        let want: Vec<(String, String)> = [
            ("a.0.b", "x\"y"),
            ("a.2", "z"),
            ("c.d.1.0", "w"),
            ("e", "\u{e9}"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
        let mut p = String::from("x");
        push_index(&mut p, 0);
        push_index(&mut p, 1234567890);
        assert_eq!(p, "x.0.1234567890");
        for bad in [r#"{"a":"b\"}"#, r#"{"a":"b"#, r#"{"a":12x}"#, r#"{"a":"\"#] {
            assert!(
                json(bad, &Limits::default(), &mut Extracted::default()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn xml_and_multipart() {
        let mut ex = Extracted::default();
        xml(
            r#"<?xml version="1.0"?><s:Envelope xmlns:s="x"><s:Body><pay currency="EUR"><amount>10</amount><note><![CDATA[hi <b>]]></note></pay></s:Body></s:Envelope>"#,
            &Limits::default(),
            &mut ex,
        );
        let n = names(&ex);
        assert!(
            n.contains(&"body.Envelope.Body.pay.@currency=EUR".to_string()),
            "{n:?}"
        );
        assert!(
            n.contains(&"body.Envelope.Body.pay.amount=10".to_string()),
            "{n:?}"
        );
        assert!(
            n.contains(&"body.Envelope.Body.pay.note=hi <b>".to_string()),
            "{n:?}"
        );
        let mut ex = Extracted::default();
        let body = "--XX\r\nContent-Disposition: form-data; name=\"memo\"\r\n\r\nhello\r\n--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../../x.php\"\r\nContent-Type: image/png\r\n\r\n\u{1}PNG\r\n--XX--\r\n";
        multipart(
            body,
            "multipart/form-data; boundary=xx",
            "multipart/form-data; boundary=XX",
            &Limits::default(),
            &mut ex,
        );
        assert_eq!(
            names(&ex),
            vec!["body.memo=hello", "body.f.filename=../../x.php"]
        );
    }
}
