//! nginx JSON access logs: one object per line, written by a `log_format`
//! declared with `escape=json` (docs/sensor.md gives the recommended one).
//!
//! Fields are matched by nginx variable name (`remote_addr`, `request`,
//! `status`, ...), with or without a leading `$`; `http_*` become request
//! headers and `sent_http_*` response headers, in log order. Unknown fields are
//! ignored. Lines written with nginx's default escaping (`\x22` for `"`,
//! `\xC3\xA9` for non-ASCII) are repaired before parsing, so a JSON-shaped
//! log_format that forgot `escape=json` still reads. This module does not read
//! nginx's default text (combined) log format.

use palisade_core::{Exchange, RequestPart, ResponsePart, Source, Timings, TlsInfo};

use crate::error::Error;
use crate::fields;
use crate::json::{self, Members, Value};
use crate::time;

const FIX_JSON: &str =
    "declare the log_format with `escape=json` and one JSON object per line (see docs/sensor.md)";

#[derive(Default)]
struct Seen<'a> {
    msec: Option<&'a Value<'a>>,
    iso: Option<&'a Value<'a>>,
    local: Option<&'a Value<'a>>,
    time_any: Option<(&'a str, &'a Value<'a>)>,
    remote_addr: Option<&'a Value<'a>>,
    remote_port: Option<&'a Value<'a>>,
    request: Option<&'a Value<'a>>,
    method: Option<&'a Value<'a>>,
    request_uri: Option<&'a Value<'a>>,
    uri: Option<&'a Value<'a>>,
    args: Option<&'a Value<'a>>,
    protocol: Option<&'a Value<'a>>,
    status: Option<&'a Value<'a>>,
    body_bytes_sent: Option<&'a Value<'a>>,
    request_time: Option<&'a Value<'a>>,
    upstream_time: Option<&'a Value<'a>>,
    http_host: Option<&'a Value<'a>>,
    host: Option<&'a Value<'a>>,
    request_id: Option<&'a Value<'a>>,
    request_body: Option<&'a Value<'a>>,
    response_body: Option<&'a Value<'a>>,
    content_length: Option<&'a Value<'a>>,
    xff: Option<&'a Value<'a>>,
    tls: TlsInfo,
    https: bool,
}

pub(crate) fn parse(record: &str) -> Result<Exchange, Error> {
    let fixed: String;
    let Members(members) = match json::members(record, FIX_JSON) {
        Ok(m) => m,
        // a log_format without `escape=json` writes `\x22` for `"`: repair it
        Err(e) => match unescape_default(record) {
            Some(f) => {
                fixed = f;
                json::members(&fixed, FIX_JSON).map_err(|_| e)?
            }
            None => return Err(e),
        },
    };
    let mut s = Seen::default();
    let mut req_headers: Vec<(String, String)> = Vec::new();
    let mut resp_headers: Vec<(String, String)> = Vec::new();
    let text_of = |v: &Value| json::text(v).map(|t| t.into_owned());
    for (k, v) in &members {
        let key: &str = k;
        let key = key.strip_prefix('$').unwrap_or(key);
        match key {
            "msec" => s.msec = Some(v),
            "time_iso8601" => s.iso = Some(v),
            "time_local" => s.local = Some(v),
            "time" | "timestamp" | "@timestamp" | "ts" => s.time_any = Some((key, v)),
            "remote_addr" | "client_ip" | "client" => s.remote_addr = Some(v),
            "remote_port" => s.remote_port = Some(v),
            "request" => s.request = Some(v),
            "request_method" | "method" => s.method = Some(v),
            "request_uri" => s.request_uri = Some(v),
            "uri" => s.uri = Some(v),
            "args" | "query_string" => s.args = Some(v),
            "server_protocol" | "protocol" => s.protocol = Some(v),
            "status" => s.status = Some(v),
            "body_bytes_sent" => s.body_bytes_sent = Some(v),
            "request_time" => s.request_time = Some(v),
            "upstream_response_time" => s.upstream_time = Some(v),
            "host" => s.host = Some(v),
            "request_id" => s.request_id = Some(v),
            "request_body" => s.request_body = Some(v),
            "response_body" | "resp_body" => s.response_body = Some(v),
            "ssl_protocol" => s.tls.version = text_of(v).map(|t| fields::normalize_tls_version(&t)),
            "ssl_server_name" => s.tls.sni = text_of(v),
            "ssl_alpn_protocol" => s.tls.alpn = text_of(v),
            "ja4" | "ssl_ja4" => s.tls.ja4 = text_of(v),
            "scheme" => s.https = json::text(v).is_some_and(|t| t.eq_ignore_ascii_case("https")),
            "https" => s.https = json::text(v).is_some_and(|t| t.eq_ignore_ascii_case("on")),
            "content_length" | "content_type" | "user_agent" | "referer" | "cookie" => {
                if key == "content_length" {
                    s.content_length = Some(v);
                }
                if let Some(t) = json::text(v) {
                    req_headers.push((fields::header_name(key), t.into_owned()));
                }
            }
            "x_forwarded_for" => {
                s.xff = Some(v);
                if let Some(t) = json::text(v) {
                    req_headers.push(("x-forwarded-for".into(), t.into_owned()));
                }
            }
            _ => {
                if let Some(h) = key.strip_prefix("http_") {
                    match h {
                        "host" => s.http_host = Some(v),
                        "x_forwarded_for" => s.xff = Some(v),
                        "content_length" => s.content_length = Some(v),
                        _ => {}
                    }
                    if let Some(t) = json::text(v) {
                        req_headers.push((fields::header_name(h), t.into_owned()));
                    }
                } else if let Some(h) = key.strip_prefix("sent_http_")
                    && let Some(t) = json::text(v)
                {
                    resp_headers.push((fields::header_name(h), t.into_owned()));
                }
            }
        }
    }

    // durations first: the log time is the end of the request
    let total = dur_secs(s.request_time, "request_time")?;
    let upstream = dur_secs(s.upstream_time, "upstream_response_time")?;
    let end_ms = log_time(&s)?;
    let ts_ms = end_ms.saturating_sub(total.map_or(0, |us| (us / 1000) as i64));

    let (method, target, version) = request_line(&s)?;

    let response = match s.status.map(json::count).transpose() {
        Err(()) => {
            return Err(Error::field(
                "status",
                "is not an HTTP status code",
                "log `$status` as is (a number like 200)",
            ));
        }
        Ok(None) | Ok(Some(None)) | Ok(Some(Some(0))) => None,
        Ok(Some(Some(code))) => {
            let status = u16::try_from(code)
                .ok()
                .filter(|c| *c <= 999)
                .ok_or_else(|| {
                    Error::field("status", "is out of range", "log `$status` as is (100-599)")
                })?;
            let sent = size(s.body_bytes_sent, "body_bytes_sent")?;
            let body = match s.response_body.and_then(json::text) {
                Some(t) => fields::body_text(&t, sent),
                None => fields::body_size_only(sent.unwrap_or(0)),
            };
            Some(ResponsePart {
                status,
                headers: resp_headers,
                body,
            })
        }
    };

    let content_length = size(s.content_length, "content_length").unwrap_or(None);
    let body = match s.request_body.and_then(json::text) {
        Some(t) => fields::body_text(&t, content_length),
        None => fields::body_size_only(content_length.unwrap_or(0)),
    };

    let addr = s
        .remote_addr
        .and_then(json::text)
        .and_then(|t| fields::parse_addr(&t));
    let xff_ip = s
        .xff
        .and_then(json::text)
        .and_then(|t| fields::first_forwarded(&t));
    let (client_ip, mut peer) = match addr {
        Some((ip, sock)) => (ip, sock),
        None => (xff_ip.unwrap_or(fields::UNKNOWN_IP), None),
    };
    if peer.is_none()
        && addr.is_some()
        && let Some(Ok(Some(port))) = s.remote_port.map(json::count)
        && let Ok(port) = u16::try_from(port)
    {
        peer = Some(std::net::SocketAddr::new(client_ip, port));
    }

    let has_tls = s.tls.version.is_some()
        || s.tls.sni.is_some()
        || s.tls.alpn.is_some()
        || s.tls.ja4.is_some();
    let tls = if has_tls {
        Some(s.tls)
    } else if s.https {
        Some(TlsInfo::default())
    } else {
        None
    };
    let id = match s.request_id.and_then(json::text) {
        Some(t) => t.into_owned(),
        None => fields::generated_id(record.as_bytes()),
    };
    let host = s
        .http_host
        .and_then(json::text)
        .or_else(|| s.host.and_then(json::text))
        .map(|h| fields::host_without_port(&h));

    Ok(Exchange {
        id,
        ts_ms,
        source: Source::Sensor,
        client_ip,
        peer,
        tls,
        request: RequestPart {
            method,
            target,
            host,
            version,
            headers: req_headers,
            body,
        },
        response,
        timings: Timings {
            total_us: total.unwrap_or(0),
            upstream_us: upstream,
            inspect_us: 0,
        },
        ..Default::default()
    })
}

fn dur_secs(v: Option<&Value>, name: &str) -> Result<Option<u64>, Error> {
    match v.map(json::duration).transpose() {
        Ok(d) => Ok(d.flatten().map(fields::secs_to_us)),
        Err(()) => Err(Error::field(
            name,
            "is not a duration in seconds",
            format!("log `${name}` as is (e.g. \"0.005\")"),
        )),
    }
}

fn size(v: Option<&Value>, name: &str) -> Result<Option<u64>, Error> {
    match v.map(json::count).transpose() {
        Ok(n) => Ok(n.flatten()),
        Err(()) => Err(Error::field(
            name,
            "is not a byte count",
            format!("log `${name}` as is (a whole number)"),
        )),
    }
}

fn log_time(s: &Seen<'_>) -> Result<i64, Error> {
    type Parser = fn(&str) -> Option<i64>;
    let tries: [(&str, Option<&Value>, Parser, &str); 3] = [
        (
            "msec",
            s.msec,
            time::parse_epoch,
            "log `$msec` as is (e.g. \"1763706296.123\")",
        ),
        (
            "time_iso8601",
            s.iso,
            time::parse_rfc3339,
            "log `$time_iso8601` as is (e.g. \"2026-11-21T06:24:56+00:00\")",
        ),
        (
            "time_local",
            s.local,
            time::parse_nginx_local,
            "log `$time_local` as is (e.g. \"21/Nov/2026:06:24:56 +0000\")",
        ),
    ];
    for (name, v, parse, fix) in tries {
        if let Some(v) = v {
            return json::text(v)
                .and_then(|t| parse(&t))
                .ok_or_else(|| Error::field(name, "is not a time", fix));
        }
    }
    if let Some((name, v)) = s.time_any {
        return json::text(v)
            .and_then(|t| time::parse_any(&t))
            .ok_or_else(|| {
                Error::field(
                    name,
                    "is not a time",
                    "use ISO 8601, nginx `$time_local` or epoch seconds (`$msec`)",
                )
            });
    }
    Err(Error::missing(
        "msec",
        "log the time: `$msec` (preferred, millisecond precision), `$time_iso8601` or `$time_local`",
    ))
}

fn request_line(s: &Seen<'_>) -> Result<(String, String, String), Error> {
    let protocol = s
        .protocol
        .and_then(json::text)
        .map(|p| fields::normalize_version(&p));
    if let Some(line) = s.request.and_then(json::text) {
        return match fields::split_request_line(&line) {
            Some((m, t, v)) => Ok((
                m.to_string(),
                t.to_string(),
                protocol.unwrap_or_else(|| fields::normalize_version(v)),
            )),
            None => Err(Error::field(
                "request",
                "is not a request line (\"METHOD TARGET PROTOCOL\")",
                "log `$request` as is; a client that sent no valid request line (e.g. TLS to a plain port) cannot be analysed",
            )),
        };
    }
    let Some(method) = s.method.and_then(json::text) else {
        return Err(Error::missing(
            "request",
            "log `$request`, or `$request_method` with `$request_uri` and `$server_protocol`",
        ));
    };
    let target = match (
        s.request_uri.and_then(json::text),
        s.uri.and_then(json::text),
    ) {
        (Some(t), _) => t.into_owned(),
        (None, Some(u)) => match s.args.and_then(json::text) {
            Some(a) => format!("{u}?{a}"),
            None => u.into_owned(),
        },
        (None, None) => {
            return Err(Error::missing(
                "request_uri",
                "log `$request_uri` next to `$request_method` (or log `$request`)",
            ));
        }
    };
    Ok((
        method.into_owned(),
        target,
        protocol.unwrap_or_else(|| "HTTP/1.1".into()),
    ))
}

/// Rewrites nginx's default `\xHH` escapes as JSON: runs of escaped bytes
/// are decoded (UTF-8 where valid, U+FFFD where not) and re-escaped for JSON.
/// `None` when the line has no such escape.
fn unescape_default(line: &str) -> Option<String> {
    if !line.contains("\\x") {
        return None;
    }
    let b = line.as_bytes();
    let hex = |i: usize| -> Option<u8> {
        let h = b.get(i..i + 2)?;
        u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    };
    let mut out = String::with_capacity(line.len());
    let mut run: Vec<u8> = Vec::new();
    let mut i = 0;
    let mut plain_from = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(byte) = hex(i + 2)
        {
            if run.is_empty() {
                out.push_str(&line[plain_from..i]);
            }
            run.push(byte);
            i += 4;
            plain_from = i;
            continue;
        }
        if !run.is_empty() {
            push_json_escaped(&mut out, &String::from_utf8_lossy(&run));
            run.clear();
        }
        // keep other escapes (`\\`, `\"`) whole
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    if !run.is_empty() {
        push_json_escaped(&mut out, &String::from_utf8_lossy(&run));
    }
    out.push_str(line.get(plain_from..).unwrap_or(""));
    Some(out)
}

fn push_json_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_escaping_is_repaired() {
        let line = r#"{"msec":"1.5","remote_addr":"192.0.2.1","request":"GET /?q=\x22caf\xC3\xA9\x22\x5C\x01\xFF HTTP/1.1","status":"200"}"#;
        let ex = parse(line).unwrap();
        assert_eq!(ex.request.target, "/?q=\"café\"\\\u{1}\u{FFFD}");
        assert!(unescape_default("{}").is_none());
    }
}
