//! HAR 1.2 documents (`log.entries[]`) as browsers, proxies and API tools
//! export them: each entry becomes one exchange.
//!
//! A HAR is one JSON document, so it is read whole (bounded by the document
//! limit); entries are then parsed one by one so a bad entry is reported by
//! index and the others still count. The client address is unknown in a HAR
//! (it was recorded at the client): `0.0.0.0` unless an `X-Forwarded-For` or
//! `X-Real-IP` request header names one. `serverIPAddress` has no place in an
//! exchange and is not read; neither are cookies arrays (the `Cookie` header
//! carries the same), cache data or pages.

use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::value::RawValue;

use palisade_core::{Exchange, RequestPart, ResponsePart, Source, Timings, TlsInfo};

use crate::error::Error;
use crate::fields;
use crate::json;

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow)]
    log: Option<Log<'a>>,
}

#[derive(Deserialize)]
struct Log<'a> {
    #[serde(borrow, default)]
    entries: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    started_date_time: String,
    #[serde(default)]
    time: Option<f64>,
    request: Req,
    #[serde(default)]
    response: Option<Resp>,
    #[serde(default)]
    timings: Option<HarTimings>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Req {
    method: String,
    url: String,
    #[serde(default)]
    http_version: Option<String>,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    query_string: Vec<NameValue>,
    #[serde(default)]
    post_data: Option<PostData>,
    #[serde(default)]
    body_size: Option<f64>,
}

#[derive(Deserialize)]
struct NameValue {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostData {
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    params: Vec<NameValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resp {
    status: i64,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    #[serde(default)]
    size: Option<f64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
}

#[derive(Deserialize)]
struct HarTimings {
    #[serde(default)]
    wait: Option<f64>,
}

/// Splits a document into its entries; `Err` (with the line of the fault)
/// when the document itself is unusable.
pub(crate) fn entries(doc: &str) -> Result<Vec<&RawValue>, (usize, Error)> {
    let d: Doc<'_> = serde_json::from_str(doc).map_err(|e| {
        (
            e.line(),
            Error::Json {
                detail: json::json_detail(&e),
                fix: "a HAR file is one JSON document {\"log\": {\"entries\": [...]}}; export it again if it was cut".into(),
            },
        )
    })?;
    let log = d.log.ok_or((
        1,
        Error::missing(
            "log",
            "a HAR file is {\"log\": {\"version\": \"1.2\", \"entries\": [...]}}",
        ),
    ))?;
    log.entries.ok_or((
        1,
        Error::missing(
            "log.entries",
            "a HAR file lists its requests in `log.entries`",
        ),
    ))
}

/// One entry to an exchange.
pub(crate) fn parse_entry(raw: &str) -> Result<Exchange, Error> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let e: Entry = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let inner = err.inner();
        let detail = json::json_detail(inner);
        let parent = err.path().to_string();
        let parent = if parent == "." { String::new() } else { parent };
        let field = match detail.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
            Some(name) if parent.is_empty() => name.to_string(),
            Some(name) => format!("{parent}.{name}"),
            None if parent.is_empty() => "(entry)".to_string(),
            None => parent,
        };
        let problem = if detail.starts_with("missing field") { "is missing".to_string() } else { detail };
        Error::field(field, problem, "see the HAR 1.2 spec for the field's type (http://www.softwareishard.com/blog/har-12-spec/)")
    })?;

    let ts_ms = crate::time::parse_rfc3339(e.started_date_time.trim()).ok_or_else(|| {
        Error::field(
            "startedDateTime",
            "is not an ISO 8601 time",
            "export the HAR again; the value must look like 2026-11-21T06:24:56.123Z",
        )
    })?;

    let (url_host, mut target, https) = split_url(&e.request.url);
    if e.request.url.trim().is_empty() {
        return Err(Error::field(
            "request.url",
            "is empty",
            "each entry needs the full request URL",
        ));
    }
    if !target.contains('?') && !e.request.query_string.is_empty() {
        target.push('?');
        target.push_str(&encode_pairs(&e.request.query_string));
    }

    let mut headers = Vec::with_capacity(e.request.headers.len());
    let mut authority = None;
    for h in e.request.headers {
        let value = h.value.unwrap_or_default();
        if h.name.eq_ignore_ascii_case(":authority") {
            authority = Some(value);
        } else if !h.name.starts_with(':') {
            // lower case, as the gateway (hyper) records names
            headers.push((h.name.to_ascii_lowercase(), value));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let host = url_host
        .or(authority)
        .or_else(|| header("host").map(str::to_string))
        .map(|h| fields::host_without_port(&h));
    let client_ip = header("x-forwarded-for")
        .and_then(fields::first_forwarded)
        .or_else(|| header("x-real-ip").and_then(fields::first_forwarded))
        .unwrap_or(fields::UNKNOWN_IP);
    let mut id = header("x-request-id").map(str::to_string);
    let declared = e.request.body_size.filter(|s| *s > 0.0).map(|s| s as u64);
    let body = match e.request.post_data {
        Some(p) => {
            if header("content-type").is_none()
                && let Some(m) = p.mime_type.filter(|m| !m.is_empty())
            {
                headers.push(("content-type".into(), m));
            }
            match p.text {
                Some(t) if !t.is_empty() => fields::body_text(&t, declared),
                _ if !p.params.is_empty() => fields::body_text(&encode_pairs(&p.params), declared),
                _ => fields::body_size_only(declared.unwrap_or(0)),
            }
        }
        None => fields::body_size_only(declared.unwrap_or(0)),
    };

    let response = match e.response {
        Some(r) if r.status > 0 => {
            let status = u16::try_from(r.status)
                .ok()
                .filter(|s| *s <= 999)
                .ok_or_else(|| {
                    Error::field(
                        "response.status",
                        "is out of range",
                        "give an HTTP status 100-599 (0 means no response)",
                    )
                })?;
            let headers: Vec<(String, String)> = r
                .headers
                .into_iter()
                .filter(|h| !h.name.starts_with(':'))
                .map(|h| (h.name.to_ascii_lowercase(), h.value.unwrap_or_default()))
                .collect();
            if let Some((_, v)) = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
            {
                id = Some(v.clone());
            }
            let body = match r.content {
                Some(c) => {
                    let size = c.size.filter(|s| *s > 0.0).map(|s| s as u64);
                    match (c.text, c.encoding.as_deref()) {
                        (Some(t), Some(enc)) if enc.eq_ignore_ascii_case("base64") => {
                            let clean: Vec<u8> =
                                t.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
                            let data = base64::engine::general_purpose::STANDARD
                                .decode(&clean)
                                .map_err(|_| Error::field("response.content.text", "is not valid base64 although `encoding` is \"base64\"", "export the HAR again, or drop `encoding` if the text is plain"))?;
                            fields::body_bytes(data, size)
                        }
                        (Some(t), _) if !t.is_empty() => fields::body_text(&t, size),
                        _ => fields::body_size_only(size.unwrap_or(0)),
                    }
                }
                None => Default::default(),
            };
            Some(ResponsePart {
                status,
                headers,
                body,
            })
        }
        _ => None,
    };

    let version = fields::normalize_version(e.request.http_version.as_deref().unwrap_or(""));
    let tls = https.then(|| TlsInfo {
        sni: host.clone(),
        alpn: match version.as_str() {
            "HTTP/2" => Some("h2".into()),
            "HTTP/3" => Some("h3".into()),
            _ => None,
        },
        ..Default::default()
    });
    let ms = |v: Option<f64>| {
        v.filter(|t| t.is_finite() && *t >= 0.0)
            .map(|t| fields::secs_to_us(t / 1000.0))
    };

    Ok(Exchange {
        id: id
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| fields::generated_id(raw.as_bytes())),
        ts_ms,
        source: Source::Sensor,
        client_ip,
        tls,
        request: RequestPart {
            method: e.request.method,
            target,
            host,
            version,
            headers,
            body,
        },
        response,
        timings: Timings {
            total_us: ms(e.time).unwrap_or(0),
            upstream_us: ms(e.timings.and_then(|t| t.wait)),
            inspect_us: 0,
        },
        ..Default::default()
    })
}

/// `https://user@api.example:8443/v1/x?y#f` → (host, target, https).
fn split_url(url: &str) -> (Option<String>, String, bool) {
    let url = url.trim();
    let url = url.split('#').next().unwrap_or("");
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let (rest, https) = if lower.starts_with("https://") {
        (&url[8..], true)
    } else if lower.starts_with("http://") {
        (&url[7..], false)
    } else {
        let t = if url.is_empty() { "/" } else { url };
        return (None, t.to_string(), false);
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let path = &rest[end..];
    let target = match path.as_bytes().first() {
        None => "/".to_string(),
        Some(b'?') => format!("/{path}"),
        Some(_) => path.to_string(),
    };
    ((!host.is_empty()).then(|| host.to_string()), target, https)
}

const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode_pairs(pairs: &[NameValue]) -> String {
    let mut out = String::new();
    for (i, p) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.extend(utf8_percent_encode(&p.name, COMPONENT));
        out.push('=');
        out.extend(utf8_percent_encode(
            p.value.as_deref().unwrap_or(""),
            COMPONENT,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("https://u@api.example:8443/v1/x?y=1#f"),
            (Some("api.example:8443".into()), "/v1/x?y=1".into(), true)
        );
        assert_eq!(
            split_url("http://api.example"),
            (Some("api.example".into()), "/".into(), false)
        );
        assert_eq!(
            split_url("HTTP://api.example?x"),
            (Some("api.example".into()), "/?x".into(), false)
        );
        assert_eq!(split_url("/rel?q"), (None, "/rel?q".into(), false));
    }
}
