//! Envoy JSON access logs (`json_format` / `JsonFormatter`) using the field
//! names of Envoy's default format (`start_time`, `method`, `path`,
//! `response_code`, `downstream_remote_address`, ...).
//!
//! Custom header fields are read when named after the command that fills them:
//! a key `REQ(CONTENT-TYPE)` or `%REQ(CONTENT-TYPE)%` becomes a request header,
//! `RESP(...)` a response header. Unknown fields are ignored. Envoy's text
//! (non-JSON) default format is not read.

use palisade_core::{Exchange, RequestPart, ResponsePart, Source, Timings, TlsInfo};

use crate::error::Error;
use crate::fields;
use crate::json::{self, Members, Value};
use crate::time;

const FIX_JSON: &str =
    "configure the access log with `json_format` (one JSON object per line; see docs/sensor.md)";

pub(crate) fn parse(record: &str) -> Result<Exchange, Error> {
    let Members(members) = json::members(record, FIX_JSON)?;
    let mut start = None;
    let (mut method, mut path, mut protocol, mut code) = (None, None, None, None);
    let (mut received, mut sent, mut duration, mut upstream) = (None, None, None, None);
    let (mut request_id, mut authority, mut remote, mut direct, mut xff, mut route) =
        (None, None, None, None, None, None);
    let (mut req_body, mut resp_body) = (None, None);
    let mut tls = TlsInfo::default();
    let mut req_headers: Vec<(String, String)> = Vec::new();
    let mut resp_headers: Vec<(String, String)> = Vec::new();
    let text_of = |v: &Value| json::text(v).map(|t| t.into_owned());

    for (k, v) in &members {
        match k.as_ref() {
            "start_time" | "timestamp" | "@timestamp" => start = Some((k.as_ref(), v)),
            "method" => method = Some(v),
            "path" => path = Some(v),
            "protocol" => protocol = Some(v),
            "response_code" => code = Some(v),
            "bytes_received" => received = Some(v),
            "bytes_sent" => sent = Some(v),
            "duration" => duration = Some(v),
            "upstream_service_time" => upstream = Some(v),
            "request_id" | "x_request_id" => request_id = Some(v),
            "authority" => authority = Some(v),
            "downstream_remote_address" => remote = Some(v),
            "downstream_direct_remote_address" => direct = Some(v),
            "route_name" => route = text_of(v),
            "requested_server_name" => tls.sni = text_of(v),
            "downstream_tls_version" | "tls_version" => {
                tls.version = text_of(v).map(|t| fields::normalize_tls_version(&t))
            }
            "ja4" | "downstream_ja4" | "tls_ja4_fingerprint" => tls.ja4 = text_of(v),
            "request_body" => req_body = Some(v),
            "response_body" => resp_body = Some(v),
            "x_forwarded_for" | "user_agent" | "referer" | "content_type" | "content_length"
            | "cookie" | "authorization" => {
                if k == "x_forwarded_for" {
                    xff = Some(v);
                }
                if let Some(t) = json::text(v) {
                    req_headers.push((fields::header_name(k), t.into_owned()));
                }
            }
            other => {
                let bare = other.trim_matches('%');
                if let Some(name) = command_arg(bare, "REQ") {
                    if let Some(t) = json::text(v) {
                        if name.eq_ignore_ascii_case("x-forwarded-for") {
                            xff = Some(v);
                        }
                        req_headers.push((name.to_ascii_lowercase(), t.into_owned()));
                    }
                } else if let Some(name) = command_arg(bare, "RESP")
                    && let Some(t) = json::text(v)
                {
                    resp_headers.push((name.to_ascii_lowercase(), t.into_owned()));
                }
            }
        }
    }

    let Some((time_field, start)) = start else {
        return Err(Error::missing(
            "start_time",
            "add `\"start_time\": \"%START_TIME%\"` to the json_format",
        ));
    };
    let ts_ms = json::text(start)
        .and_then(|t| time::parse_any(&t))
        .ok_or_else(|| {
            Error::field(
                time_field,
                "is not a time",
                "use `%START_TIME%` (RFC 3339) or `%START_TIME(%s.%3f)%`",
            )
        })?;
    let method = method
        .and_then(json::text)
        .ok_or_else(|| Error::missing("method", "add `\"method\": \"%REQ(:METHOD)%\"`"))?
        .into_owned();
    let target = path
        .and_then(json::text)
        .ok_or_else(|| {
            Error::missing(
                "path",
                "add `\"path\": \"%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%\"`",
            )
        })?
        .into_owned();
    let version = fields::normalize_version(&protocol.and_then(json::text).unwrap_or_default());
    let total = ms(duration, "duration", "%DURATION%")?;
    let upstream = ms(
        upstream,
        "upstream_service_time",
        "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    )?;

    let response = match code.map(json::count).transpose() {
        Err(()) => {
            return Err(Error::field(
                "response_code",
                "is not an HTTP status code",
                "use `%RESPONSE_CODE%`",
            ));
        }
        Ok(None) | Ok(Some(None)) | Ok(Some(Some(0))) => None,
        Ok(Some(Some(c))) => {
            let status = u16::try_from(c).ok().filter(|c| *c <= 999).ok_or_else(|| {
                Error::field(
                    "response_code",
                    "is out of range",
                    "use `%RESPONSE_CODE%` (100-599)",
                )
            })?;
            let size = count(sent, "bytes_sent", "%BYTES_SENT%")?;
            let body = match resp_body.and_then(json::text) {
                Some(t) => fields::body_text(&t, size),
                None => fields::body_size_only(size.unwrap_or(0)),
            };
            Some(ResponsePart {
                status,
                headers: resp_headers,
                body,
            })
        }
    };
    let received = count(received, "bytes_received", "%BYTES_RECEIVED%")?;
    let body = match req_body.and_then(json::text) {
        Some(t) => fields::body_text(&t, received),
        None => fields::body_size_only(received.unwrap_or(0)),
    };

    let remote = remote
        .and_then(json::text)
        .and_then(|t| fields::parse_addr(&t));
    let direct = direct
        .and_then(json::text)
        .and_then(|t| fields::parse_addr(&t));
    let xff_ip = xff
        .and_then(json::text)
        .and_then(|t| fields::first_forwarded(&t));
    let client_ip = remote.map(|r| r.0).or(xff_ip).unwrap_or(fields::UNKNOWN_IP);
    let peer = direct.and_then(|d| d.1).or(remote.and_then(|r| r.1));

    let id = match request_id.and_then(json::text) {
        Some(t) => t.into_owned(),
        None => fields::generated_id(record.as_bytes()),
    };
    let has_tls = tls.version.is_some() || tls.sni.is_some() || tls.ja4.is_some();

    Ok(Exchange {
        id,
        ts_ms,
        source: Source::Sensor,
        client_ip,
        peer,
        tls: has_tls.then_some(tls),
        route,
        request: RequestPart {
            method,
            target,
            host: authority
                .and_then(json::text)
                .map(|a| fields::host_without_port(&a)),
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

/// `REQ(USER-AGENT)` → `USER-AGENT`; `REQ(X?Y):10` → `X` (the first
/// alternative, length suffix dropped).
fn command_arg<'a>(key: &'a str, cmd: &str) -> Option<&'a str> {
    let rest = key.strip_prefix(cmd)?.strip_prefix('(')?;
    let inner = &rest[..rest.find(')')?];
    let name = inner.split('?').next()?.trim();
    (!name.is_empty() && !name.starts_with(':')).then_some(name)
}

fn ms(v: Option<&Value>, name: &str, cmd: &str) -> Result<Option<u64>, Error> {
    match v.map(json::duration).transpose() {
        Ok(d) => Ok(d.flatten().map(|ms| fields::secs_to_us(ms / 1000.0))),
        Err(()) => Err(Error::field(
            name,
            "is not a duration in milliseconds",
            format!("use `{cmd}`"),
        )),
    }
}

fn count(v: Option<&Value>, name: &str, cmd: &str) -> Result<Option<u64>, Error> {
    match v.map(json::count).transpose() {
        Ok(n) => Ok(n.flatten()),
        Err(()) => Err(Error::field(
            name,
            "is not a byte count",
            format!("use `{cmd}`"),
        )),
    }
}
