//! NDJSON exchanges: one `palisade_core::Exchange` per record, in its serde
//! form (docs/exchange-format.md).
//!
//! Beyond serde this module only normalises what a passive source must: the
//! source becomes `sensor`, nothing counts as enforced, a missing `id` is
//! generated from the record, and bodies are capped to the sample limit. It
//! does not validate semantics (a status of 999 passes).

use palisade_core::{Exchange, Source};
use serde::Deserialize;

use crate::error::Error;
use crate::fields;
use crate::json;

pub(crate) fn parse(record: &str) -> Result<Exchange, Error> {
    let mut de = serde_json::Deserializer::from_str(record);
    // the fast path: path tracking only when there is an error to explain
    let mut ex = match Exchange::deserialize(&mut de) {
        Ok(ex) => ex,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(record);
            let err = match serde_path_to_error::deserialize::<_, Exchange>(&mut de) {
                Err(e) => explain(&e),
                // cannot happen (same input, same type); say so rather than panic
                Ok(_) => Error::field("(record)", "did not parse", "see docs/exchange-format.md"),
            };
            return Err(err);
        }
    };
    de.end().map_err(|e| Error::Json {
        detail: json::json_detail(&e),
        fix: "put exactly one exchange object per line".into(),
    })?;
    ex.source = Source::Sensor;
    ex.enforced = false;
    if ex.id.is_empty() {
        ex.id = fields::generated_id(record.as_bytes());
    }
    ex.request.body = fields::cap(std::mem::take(&mut ex.request.body));
    if let Some(r) = ex.response.as_mut() {
        r.body = fields::cap(std::mem::take(&mut r.body));
    }
    Ok(ex)
}

fn explain(e: &serde_path_to_error::Error<serde_json::Error>) -> Error {
    let inner = e.inner();
    let detail = json::json_detail(inner);
    if inner.is_syntax() || inner.is_eof() {
        return Error::Json {
            detail,
            fix: "each line must be one complete JSON object (see docs/exchange-format.md)".into(),
        };
    }
    let parent = e.path().to_string();
    let parent = if parent == "." { String::new() } else { parent };
    // serde reports a missing field at its parent: name the field itself
    let field = match detail
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        Some(name) if parent.is_empty() => name.to_string(),
        Some(name) => format!("{parent}.{name}"),
        None if parent.is_empty() => "(record)".to_string(),
        None => parent,
    };
    let fix = hint(&field);
    let problem = if detail.starts_with("missing field") {
        "is missing".to_string()
    } else {
        detail
    };
    Error::field(field, problem, fix)
}

fn hint(field: &str) -> String {
    let h = match field {
        "ts_ms" => {
            "give `ts_ms` as an integer: milliseconds since the Unix epoch, e.g. 1763706296123"
        }
        "client_ip" => "give `client_ip` as an IPv4 or IPv6 address string, e.g. \"203.0.113.9\"",
        "peer" => "give `peer` as \"ip:port\" or leave it out",
        "request" => "give `request` as an object with at least `method` and `target`",
        "request.method" => "give `request.method` as a string, e.g. \"POST\"",
        "request.target" => {
            "give `request.target` as the path and query string, e.g. \"/v1/charges?expand=customer\""
        }
        "request.headers" | "response.headers" => {
            "give headers as [[\"name\", \"value\"], ...] in arrival order"
        }
        "request.body" | "response.body" => {
            "give a body as a string, or {\"text\"|\"base64\": ..., \"size\": n, \"truncated\": bool}"
        }
        "response.status" => "give `response.status` as an integer 100-599",
        "source" => "give `source` as \"gateway\" or \"sensor\", or leave it out",
        "verdict" => "give `verdict` as {\"action\": \"allow\"} (or leave it out)",
        _ => "see docs/exchange-format.md for the field's type",
    };
    h.to_string()
}
