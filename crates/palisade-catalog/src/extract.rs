//! Extraction of the named values of one exchange: query parameters, request
//! body members (JSON flattened to dotted names, form fields), non-standard
//! request headers, and response body members.
//!
//! Values are borrowed or held only for the duration of one `observe`; the
//! catalog keeps types, formats, classes and masked samples, never the values.
//! Bounded: depth, members per body and array elements inspected are capped.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use palisade_core::Exchange;

/// Where a parameter was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    Path,
    Query,
    Header,
    Body,
    Response,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Body => "body",
            Location::Response => "response",
        }
    }
}

/// The JSON type of a value (strings from queries and forms are typed by
/// their text: `42` is an integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl ValueType {
    pub const ALL: [ValueType; 7] = [
        ValueType::Null,
        ValueType::Boolean,
        ValueType::Integer,
        ValueType::Number,
        ValueType::String,
        ValueType::Array,
        ValueType::Object,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Null => "null",
            ValueType::Boolean => "boolean",
            ValueType::Integer => "integer",
            ValueType::Number => "number",
            ValueType::String => "string",
            ValueType::Array => "array",
            ValueType::Object => "object",
        }
    }
    /// This type's bit in a type set (`1 << (self as u8)`).
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// One extracted value.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub loc: Location,
    pub name: Cow<'a, str>,
    pub ty: ValueType,
    /// The scalar as text (empty for objects and arrays).
    pub text: Cow<'a, str>,
}

/// The body shape of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    None,
    Json,
    Form,
    Other,
}

/// Everything extracted from one exchange.
#[derive(Debug, Default)]
pub struct Extracted<'a> {
    pub items: Vec<Item<'a>>,
    pub body_kind: Option<BodyKind>,
    pub req_ct: Option<String>,
    pub resp_ct: Option<String>,
}

const MAX_DEPTH: usize = 6;
const MAX_ITEMS: usize = 256;
const MAX_ARRAY: usize = 8;

/// Standard headers that are not parameters of the API.
const STANDARD_HEADERS: &[&str] = &[
    "host",
    "user-agent",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "content-length",
    "content-type",
    "cache-control",
    "pragma",
    "origin",
    "referer",
    "cookie",
    "authorization",
    "proxy-authorization",
    "te",
    "upgrade-insecure-requests",
    "dnt",
    "via",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-real-ip",
    "x-request-id",
    "traceparent",
    "tracestate",
    "if-none-match",
    "if-modified-since",
    "sec-fetch-site",
    "sec-fetch-mode",
    "sec-fetch-dest",
    "sec-fetch-user",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "priority",
    "keep-alive",
    "transfer-encoding",
    "expect",
    "x-amzn-trace-id",
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-sampled",
    "x-b3-parentspanid",
    "x-envoy-expected-rq-timeout-ms",
    "x-envoy-attempt-count",
];

/// The media type without parameters, lower case.
pub fn media_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Types a textual value (query, form, header).
pub fn text_type(v: &str) -> ValueType {
    let b = v.as_bytes();
    if b.is_empty() {
        return ValueType::String;
    }
    let digits = if b[0] == b'-' { &b[1..] } else { b };
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        if digits.len() > 1 && digits[0] == b'0' {
            return ValueType::String; // a zero-padded code, not a number
        }
        return ValueType::Integer;
    }
    if v.len() <= 32
        && v.contains('.')
        && v.parse::<f64>().is_ok_and(f64::is_finite)
        && !v.starts_with('.')
        && !v.ends_with('.')
    {
        return ValueType::Number;
    }
    if matches!(v, "true" | "false") {
        return ValueType::Boolean;
    }
    ValueType::String
}

fn decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
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
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Normalises a form/query name: `card[number]` becomes `card.number`,
/// `items[]` / `items[0]` become `items[]`.
fn norm_form_name(name: &str) -> Cow<'_, str> {
    if !name.contains('[') {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    if let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
    }
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(end) = stripped.find(']') else {
            out.push_str(rest);
            break;
        };
        let key = &stripped[..end];
        if key.is_empty() || key.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("[]");
        } else {
            out.push('.');
            out.push_str(key);
        }
        rest = &stripped[end + 1..];
    }
    Cow::Owned(out)
}

fn push_pairs<'a>(items: &mut Vec<Item<'a>>, loc: Location, s: &'a str) {
    for pair in s.split('&') {
        if pair.is_empty() || items.len() >= MAX_ITEMS {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let name = match decode(k) {
            Cow::Borrowed(b) => norm_form_name(b),
            Cow::Owned(o) => Cow::Owned(norm_form_name(&o).into_owned()),
        };
        if name.is_empty() {
            continue;
        }
        let text = decode(v);
        let ty = text_type(&text);
        items.push(Item {
            loc,
            name,
            ty,
            text,
        });
    }
}

fn flatten<'a>(
    items: &mut Vec<Item<'a>>,
    loc: Location,
    prefix: &mut String,
    v: serde_json::Value,
    depth: usize,
) {
    use serde_json::Value;
    if items.len() >= MAX_ITEMS {
        return;
    }
    let (ty, text): (ValueType, Cow<'a, str>) = match v {
        Value::Null => (ValueType::Null, Cow::Borrowed("")),
        Value::Bool(b) => (
            ValueType::Boolean,
            Cow::Borrowed(if b { "true" } else { "false" }),
        ),
        Value::Number(n) => (
            if n.is_f64() {
                ValueType::Number
            } else {
                ValueType::Integer
            },
            Cow::Owned(n.to_string()),
        ),
        Value::String(s) => (ValueType::String, Cow::Owned(s)),
        Value::Array(a) => {
            if !prefix.is_empty() {
                items.push(Item {
                    loc,
                    name: Cow::Owned(prefix.clone()),
                    ty: ValueType::Array,
                    text: Cow::Borrowed(""),
                });
            }
            if depth < MAX_DEPTH {
                let len = prefix.len();
                prefix.push_str("[]");
                for e in a.into_iter().take(MAX_ARRAY) {
                    flatten(items, loc, prefix, e, depth + 1);
                }
                prefix.truncate(len);
            }
            return;
        }
        Value::Object(m) => {
            if !prefix.is_empty() {
                items.push(Item {
                    loc,
                    name: Cow::Owned(prefix.clone()),
                    ty: ValueType::Object,
                    text: Cow::Borrowed(""),
                });
            }
            if depth < MAX_DEPTH {
                let len = prefix.len();
                for (k, val) in m {
                    if len > 0 {
                        prefix.push('.');
                    }
                    prefix.push_str(&k);
                    flatten(items, loc, prefix, val, depth + 1);
                    prefix.truncate(len);
                }
            }
            return;
        }
    };
    if prefix.is_empty() {
        return; // a bare scalar body has no name
    }
    items.push(Item {
        loc,
        name: Cow::Owned(prefix.clone()),
        ty,
        text,
    });
}

fn json_items<'a>(items: &mut Vec<Item<'a>>, loc: Location, data: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(v) => {
            let mut prefix = String::with_capacity(64);
            flatten(items, loc, &mut prefix, v, 0);
            true
        }
        Err(_) => false,
    }
}

/// Extracts the named values of `ex` (at most 256 per exchange).
pub fn extract(ex: &Exchange) -> Extracted<'_> {
    let mut out = Extracted::default();
    if let Some(q) = ex.request.query() {
        push_pairs(&mut out.items, Location::Query, q);
    }
    for (name, value) in &ex.request.headers {
        if STANDARD_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
            || name
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("sec-"))
        {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if out.items.len() >= MAX_ITEMS {
            break;
        }
        out.items.push(Item {
            loc: Location::Header,
            ty: text_type(value),
            name: Cow::Owned(lower),
            text: Cow::Borrowed(value.as_str()),
        });
    }
    let req_ct = ex.request.content_type().map(media_type);
    let body = &ex.request.body;
    out.body_kind = Some(if body.data.is_empty() {
        BodyKind::None
    } else {
        let ct = req_ct.as_deref().unwrap_or("");
        let first = body.data.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if (ct.contains("json") || (ct.is_empty() && matches!(first, Some(b'{' | b'['))))
            && !body.truncated
            && json_items(&mut out.items, Location::Body, &body.data)
        {
            BodyKind::Json
        } else if ct == "application/x-www-form-urlencoded" {
            match body.text() {
                Some(t) => {
                    push_pairs(&mut out.items, Location::Body, t);
                    BodyKind::Form
                }
                None => BodyKind::Other,
            }
        } else {
            BodyKind::Other
        }
    });
    out.req_ct = req_ct;
    if let Some(resp) = &ex.response {
        let ct = resp.header("content-type").map(media_type);
        if !resp.body.data.is_empty()
            && !resp.body.truncated
            && ct.as_deref().is_none_or(|c| c.contains("json"))
        {
            json_items(&mut out.items, Location::Response, &resp.body.data);
        }
        out.resp_ct = ct;
    }
    out
}

/// A string format recognised in a value (OpenAPI `format`).
pub fn string_format(v: &str) -> Option<&'static str> {
    use crate::template::{SegKind, seg_kind};
    if v.len() < 7 || v.len() > 256 || !v.bytes().any(|b| matches!(b, b'@' | b'-' | b':' | b'.')) {
        return None;
    }
    if crate::classify::is_email(v) {
        return Some("email");
    }
    match seg_kind(v) {
        SegKind::Uuid => return Some("uuid"),
        SegKind::Date => return Some(if v.len() == 10 { "date" } else { "date-time" }),
        _ => {}
    }
    if (v.starts_with("https://") || v.starts_with("http://")) && !v.contains(' ') {
        return Some("uri");
    }
    if v.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some("ipv4");
    }
    if v.contains(':') && v.parse::<std::net::Ipv6Addr>().is_ok() {
        return Some("ipv6");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_names_normalise() {
        assert_eq!(norm_form_name("card[number]"), "card.number");
        assert_eq!(norm_form_name("items[0][price]"), "items[].price");
        assert_eq!(norm_form_name("expand[]"), "expand[]");
        assert_eq!(text_type("42"), ValueType::Integer);
        assert_eq!(text_type("007"), ValueType::String);
        assert_eq!(text_type("1.5"), ValueType::Number);
        assert_eq!(decode("a%40b.com+x"), "a@b.com x");
    }
}
