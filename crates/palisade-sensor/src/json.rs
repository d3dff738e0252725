//! JSON plumbing shared by the log formats: an order-preserving object reader,
//! lenient scalar readers (nginx and Envoy write numbers as strings and `-` for
//! "none"), and the redaction of serde error messages.
//!
//! It is not a schema: each format module decides which fields it wants.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::Error;

/// A log field's value, borrowed from the line when it has no escapes. Logs
/// hold scalars; nested arrays and objects are skipped (`Other`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Str(Cow<'a, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value<'de>, E> {
                Ok(Value::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value<'de>, E> {
                Ok(Value::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Value<'de>, E> {
                Ok(Value::Str(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value<'de>, E> {
                Ok(Value::U64(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value<'de>, E> {
                Ok(Value::I64(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value<'de>, E> {
                Ok(Value::F64(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Value<'de>, E> {
                Ok(Value::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Value<'de>, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value<'de>, E> {
                Ok(Value::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Value::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Value::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Str(s) => Ok(Key(s)),
            _ => Ok(Key(Cow::Borrowed(""))),
        }
    }
}

/// A JSON object's members in document order (log field order is the best
/// approximation of header order a log gives).
pub(crate) struct Members<'a>(pub Vec<(Cow<'a, str>, Value<'a>)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(24).min(256));
                while let Some((k, v)) = map.next_entry::<Key<'de>, Value<'de>>()? {
                    out.push((k.0, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses one log record as a JSON object, with a hint for the usual cause.
pub(crate) fn members<'a>(line: &'a str, fix: &str) -> Result<Members<'a>, Error> {
    serde_json::from_str::<Members<'a>>(line).map_err(|e| Error::Json {
        detail: json_detail(&e),
        fix: fix.to_string(),
    })
}

/// A serde_json error without the value it quotes and with the column only.
pub(crate) fn json_detail(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = full.strip_suffix(&suffix).unwrap_or(&full);
    let msg = redact(msg);
    if e.line() > 1 {
        format!(
            "{msg} (line {} column {} of the record)",
            e.line(),
            e.column()
        )
    } else if e.column() > 0 {
        format!("{msg} (column {})", e.column())
    } else {
        msg
    }
}

/// Removes values from a serde message: `"..."` strings become `"…"`, and
/// backquoted values become `` `…` `` unless they name a field.
pub(crate) fn redact(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut chars = msg.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let mut escaped = false;
                for (_, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"…\"");
            }
            '`' => {
                let rest = &msg[i + 1..];
                let end = rest.find('`').unwrap_or(rest.len());
                let inner = &rest[..end];
                let names_field =
                    out.ends_with("field ") || out.ends_with("one of ") || out.ends_with(", ");
                // JSON syntax tokens (`expected `,` or `}``) carry no value
                let punctuation =
                    inner.len() == 1 && inner.bytes().all(|b| b.is_ascii_punctuation());
                let field_name = names_field
                    && inner.len() <= 64
                    && inner
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    && !inner.bytes().all(|b| b.is_ascii_digit());
                if punctuation || field_name {
                    out.push('`');
                    out.push_str(inner);
                    out.push('`');
                } else {
                    out.push_str("`…`");
                }
                // skip the inner text and the closing quote
                let skip_to = i + 1 + end + 1;
                while chars.peek().is_some_and(|(j, _)| *j < skip_to) {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A field's text: strings (except empty and nginx's `-`), numbers and
/// booleans as written; `None` for null, `-`, empty, arrays and objects.
pub(crate) fn text<'v>(v: &'v Value<'_>) -> Option<Cow<'v, str>> {
    match v {
        Value::Str(s) => {
            let t: &str = s;
            if t.is_empty() || t == "-" {
                None
            } else {
                Some(Cow::Borrowed(t))
            }
        }
        Value::U64(n) => Some(Cow::Owned(n.to_string())),
        Value::I64(n) => Some(Cow::Owned(n.to_string())),
        Value::F64(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Null | Value::Other => None,
    }
}

/// A count (status, sizes): a non-negative integer as a number or a string.
/// `Ok(None)` when absent (`-`, empty, null); `Err` when not a count.
pub(crate) fn count(v: &Value<'_>) -> Result<Option<u64>, ()> {
    match v {
        Value::U64(n) => Ok(Some(*n)),
        Value::F64(f) if *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19 => Ok(Some(*f as u64)),
        Value::Null => Ok(None),
        Value::Str(s) => {
            let t = s.trim();
            if t.is_empty() || t == "-" {
                Ok(None)
            } else {
                t.parse::<u64>().map(Some).map_err(|_| ())
            }
        }
        _ => Err(()),
    }
}

/// A duration in the field's unit (nginx: seconds, Envoy: milliseconds) as a
/// number or string; nginx lists one value per upstream try (`0.002, 0.004`
/// or `0.002 : 0.004`): they are summed. `-` parts count as zero.
pub(crate) fn duration(v: &Value<'_>) -> Result<Option<f64>, ()> {
    match v {
        Value::U64(n) => Ok(Some(*n as f64)),
        Value::F64(f) if f.is_finite() && *f >= 0.0 => Ok(Some(*f)),
        Value::Null => Ok(None),
        Value::Str(s) => {
            let mut total = 0.0;
            let mut any = false;
            for part in s.split([',', ':']) {
                let p = part.trim();
                if p.is_empty() || p == "-" {
                    continue;
                }
                let f: f64 = p.parse().map_err(|_| ())?;
                if !f.is_finite() || f < 0.0 {
                    return Err(());
                }
                total += f;
                any = true;
            }
            Ok(any.then_some(total))
        }
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(json: &str) -> Value<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn redaction_keeps_field_names_only() {
        assert_eq!(
            redact("invalid type: string \"4111111111111111\", expected u16"),
            "invalid type: string \"…\", expected u16"
        );
        assert_eq!(
            redact("invalid type: integer `4111111111111111`, expected a string"),
            "invalid type: integer `…`, expected a string"
        );
        assert_eq!(redact("missing field `ts_ms`"), "missing field `ts_ms`");
        assert_eq!(redact("expected `,` or `}`"), "expected `,` or `}`");
        assert_eq!(
            redact("unknown variant `sk_live_x`, expected `gateway` or `sensor`"),
            "unknown variant `…`, expected `…` or `…`"
        );
        assert_eq!(redact("string \"a\\\"b\" x"), "string \"…\" x");
    }

    #[test]
    fn lenient_values() {
        assert_eq!(count(&v(r#""200""#)), Ok(Some(200)));
        assert_eq!(count(&v("200")), Ok(Some(200)));
        assert_eq!(count(&v(r#""-""#)), Ok(None));
        assert_eq!(count(&v(r#""x""#)), Err(()));
        assert_eq!(count(&v("-3")), Err(()));
        let d = duration(&v(r#""0.002, 0.003 : -""#)).unwrap().unwrap();
        assert!((d - 0.005).abs() < 1e-9);
        assert_eq!(duration(&v(r#""-""#)), Ok(None));
        assert_eq!(duration(&v(r#""-1""#)), Err(()));
        assert_eq!(
            text(&v("1795242296.123")).as_deref(),
            Some("1795242296.123")
        );
        assert_eq!(text(&v(r#"{"a":[1]}"#)), None);
        // escaped strings are owned, plain ones borrowed
        assert!(matches!(v(r#""a\"b""#), Value::Str(Cow::Owned(_))));
        assert!(matches!(v(r#""ab""#), Value::Str(Cow::Borrowed(_))));
    }
}
