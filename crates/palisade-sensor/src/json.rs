//! JSON plumbing shared by the log formats: an order-preserving object reader,
//! lenient scalar readers (nginx and Envoy write numbers as strings and `-` for
//! "none"), and the redaction of serde error messages.
//!
//! It is not a schema: each format module decides which fields it wants.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::error::Error;

/// A JSON object's members in document order (log field order is the best
/// approximation of header order a log gives).
pub(crate) struct Members(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(24).min(256));
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses one log record as a JSON object, with a hint for the usual cause.
pub(crate) fn members(line: &str, fix: &str) -> Result<Members, Error> {
    serde_json::from_str::<Members>(line).map_err(|e| Error::Json {
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
                if names_field
                    && inner.len() <= 64
                    && inner
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    && !inner.bytes().all(|b| b.is_ascii_digit())
                {
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
pub(crate) fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => {
            let t = s.as_str();
            if t.is_empty() || t == "-" {
                None
            } else {
                Some(Cow::Borrowed(t))
            }
        }
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// A count (status, sizes): a non-negative integer as a number or a string.
/// `Ok(None)` when absent (`-`, empty, null); `Err` when not a count.
pub(crate) fn count(v: &Value) -> Result<Option<u64>, ()> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or(()),
        Value::Null => Ok(None),
        Value::String(s) => {
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
pub(crate) fn duration(v: &Value) -> Result<Option<f64>, ()> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(Some)
            .ok_or(()),
        Value::Null => Ok(None),
        Value::String(s) => {
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
        assert_eq!(
            redact("unknown variant `sk_live_x`, expected `gateway` or `sensor`"),
            "unknown variant `…`, expected `…` or `…`"
        );
        assert_eq!(redact("string \"a\\\"b\" x"), "string \"…\" x");
    }

    #[test]
    fn lenient_numbers() {
        use serde_json::json;
        assert_eq!(count(&json!("200")), Ok(Some(200)));
        assert_eq!(count(&json!(200)), Ok(Some(200)));
        assert_eq!(count(&json!("-")), Ok(None));
        assert_eq!(count(&json!("x")), Err(()));
        let d = duration(&json!("0.002, 0.003 : -")).unwrap().unwrap();
        assert!((d - 0.005).abs() < 1e-9);
        assert_eq!(duration(&json!("-")), Ok(None));
        assert_eq!(duration(&json!("-1")), Err(()));
    }
}
