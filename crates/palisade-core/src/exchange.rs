//! [`Exchange`]: one request and its response, as seen by any source.
//!
//! The gateway builds one per proxied request; the passive sensor builds the
//! same from access logs, HAR files or NDJSON. Analysis cannot tell them apart.
//! The serde form of this type *is* the documented NDJSON exchange format (see
//! `docs/exchange-format.md`), so it stays backward compatible: new fields are
//! optional with defaults.
//!
//! Bodies are samples, bounded by the source (the gateway's inspection limit);
//! `size` is the full size seen and `truncated` says whether the sample is cut.
//! An exchange in memory may hold raw values (the engine must inspect them);
//! it is masked (`Exchange::masked`) before anything stores or shows it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::finding::Finding;
use crate::sensitive;
use crate::verdict::Verdict;

/// Where an exchange was observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Inline, by the gateway: the verdict was (or could have been) enforced.
    #[default]
    Gateway,
    /// Passively, by the sensor from logs or captures: nothing was enforced.
    Sensor,
}

/// TLS facts, when the source terminated TLS or the log recorded them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TlsInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// JA4 fingerprint of the ClientHello.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
}

/// A bounded body sample.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body {
    pub data: Bytes,
    /// The full size seen (may exceed `data.len()` when truncated).
    pub size: u64,
    pub truncated: bool,
}

impl Body {
    pub fn new(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        Self {
            size: data.len() as u64,
            data,
            truncated: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.size == 0
    }

    /// The sample as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum BodyRepr {
    Text(String),
    Full {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base64: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        truncated: bool,
    },
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let exact = !self.truncated && self.size == self.data.len() as u64;
        match (self.text(), exact) {
            (Some(t), true) => BodyRepr::Text(t.to_string()).serialize(s),
            (text, _) => BodyRepr::Full {
                text: text.map(str::to_string),
                base64: match text {
                    Some(_) => None,
                    None => Some(base64::engine::general_purpose::STANDARD.encode(&self.data)),
                },
                size: Some(self.size),
                truncated: self.truncated,
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match BodyRepr::deserialize(d)? {
            BodyRepr::Text(t) => Ok(Body::new(t)),
            BodyRepr::Full {
                text,
                base64,
                size,
                truncated,
            } => {
                let data: Bytes = match (text, base64) {
                    (Some(t), None) => t.into(),
                    (None, Some(b)) => base64::engine::general_purpose::STANDARD
                        .decode(b.as_bytes())
                        .map_err(|e| serde::de::Error::custom(format!("body.base64: {e}")))?
                        .into(),
                    (None, None) => Bytes::new(),
                    (Some(_), Some(_)) => {
                        return Err(serde::de::Error::custom(
                            "body: give either `text` or `base64`, not both",
                        ));
                    }
                };
                Ok(Body {
                    size: size.unwrap_or(data.len() as u64).max(data.len() as u64),
                    data,
                    truncated,
                })
            }
        }
    }
}

/// Headers in arrival order, names as received; `[[name, value], ...]` in JSON.
pub type Headers = Vec<(String, String)>;

fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The request side of an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestPart {
    pub method: String,
    /// The raw request-target: `/path?query` (origin form) as received.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default = "default_version")]
    pub version: String,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default, skip_serializing_if = "Body::is_empty")]
    pub body: Body,
}

fn default_version() -> String {
    "HTTP/1.1".to_string()
}

impl Default for RequestPart {
    fn default() -> Self {
        Self {
            method: "GET".into(),
            target: "/".into(),
            host: None,
            version: default_version(),
            headers: Vec::new(),
            body: Body::default(),
        }
    }
}

impl RequestPart {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        let t = self.target.split(['?', '#']).next().unwrap_or("/");
        // absolute-form targets (`http://host/path`) keep only the path
        if let Some(rest) = t
            .strip_prefix("http://")
            .or_else(|| t.strip_prefix("https://"))
        {
            return rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
        }
        t
    }

    /// The raw query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        let t = self.target.split('#').next().unwrap_or("");
        t.split_once('?').map(|(_, q)| q)
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
}

/// The response side of an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ResponsePart {
    pub status: u16,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default, skip_serializing_if = "Body::is_empty")]
    pub body: Body,
}

impl ResponsePart {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// Durations in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Timings {
    /// From the first byte of the request to the last byte of the response head.
    #[serde(default)]
    pub total_us: u64,
    /// Time spent waiting on the upstream, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_us: Option<u64>,
    /// Time the inline engine spent deciding.
    #[serde(default)]
    pub inspect_us: u64,
}

/// One request and its response, as seen by a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request id (`x-request-id`).
    #[serde(default)]
    pub id: String,
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub ts_ms: i64,
    #[serde(default)]
    pub source: Source,
    /// The client address (the TCP peer, or the address a trusted proxy gave).
    pub client_ip: IpAddr,
    /// The TCP peer, when the source knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<SocketAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsInfo>,
    /// The name of the gateway route that handled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    pub request: RequestPart,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponsePart>,
    #[serde(default)]
    pub timings: Timings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub verdict: Verdict,
    /// Whether the verdict was enforced (block mode) or only recorded.
    #[serde(default)]
    pub enforced: bool,
    /// The actor analysis attributed this exchange to (set off the request path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<crate::actor::ActorRef>,
}

impl Default for Exchange {
    fn default() -> Self {
        Self {
            id: String::new(),
            ts_ms: 0,
            source: Source::Gateway,
            client_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            peer: None,
            tls: None,
            route: None,
            request: RequestPart::default(),
            response: None,
            timings: Timings::default(),
            findings: Vec::new(),
            verdict: Verdict::Allow,
            enforced: false,
            actor: None,
        }
    }
}

impl Exchange {
    /// The response status, when there was a response.
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status)
    }

    /// A copy safe to store or show: target, headers and bodies masked
    /// (secret-named parameters and headers entirely, card numbers to BIN and
    /// last four, JWTs and known key formats removed).
    pub fn masked(&self) -> Exchange {
        let mut e = self.clone();
        e.request.target = sensitive::mask_target(&self.request.target);
        mask_headers(&mut e.request.headers);
        e.request.body = mask_body(&self.request.body, self.request.content_type());
        if let Some(resp) = e.response.as_mut() {
            let ct = resp.header("content-type").map(str::to_string);
            mask_headers(&mut resp.headers);
            resp.body = mask_body(&resp.body, ct.as_deref());
        }
        e
    }
}

fn mask_headers(h: &mut Headers) {
    for (n, v) in h.iter_mut() {
        *v = sensitive::mask_header(n, v);
    }
}

fn mask_body(b: &Body, ct: Option<&str>) -> Body {
    if b.data.is_empty() {
        return b.clone();
    }
    let text = if b.truncated {
        // a cut JSON document does not parse: mask it as text
        match std::str::from_utf8(&b.data) {
            Ok(t) => sensitive::mask_text(t),
            Err(_) => format!("[binary:{} bytes]", b.data.len()),
        }
    } else {
        sensitive::mask_body(ct, &b.data)
    };
    Body {
        data: Bytes::from(text),
        size: b.size,
        truncated: b.truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Exchange {
        Exchange {
            id: "r1".into(),
            ts_ms: 1_700_000_000_000,
            client_ip: "198.51.100.7".parse().unwrap(),
            request: RequestPart {
                method: "POST".into(),
                target: "/v1/charges?card=4111111111111111&expand=x".into(),
                host: Some("api.example".into()),
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    (
                        "Authorization".into(),
                        "Bearer sk_live_abcdefghijklmnop".into(),
                    ),
                ],
                body: Body::new(
                    r#"{"card":{"number":"4242424242424242","cvc":"123"},"amount":100}"#,
                ),
                ..Default::default()
            },
            response: Some(ResponsePart {
                status: 402,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: Body::new(r#"{"error":"card_declined"}"#),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn ndjson_round_trip() {
        let e = sample();
        let line = serde_json::to_string(&e).unwrap();
        let back: Exchange = serde_json::from_str(&line).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn minimal_input_line_parses() {
        let e: Exchange = serde_json::from_str(
            r#"{"ts_ms":1,"client_ip":"127.0.0.1","request":{"method":"GET","target":"/a?b=1"}}"#,
        )
        .unwrap();
        assert_eq!(e.request.path(), "/a");
        assert_eq!(e.request.query(), Some("b=1"));
        assert_eq!(e.request.version, "HTTP/1.1");
    }

    #[test]
    fn binary_and_truncated_bodies_survive() {
        let mut e = sample();
        e.request.body = Body {
            data: Bytes::from_static(&[0, 159, 146, 150]),
            size: 10_000,
            truncated: true,
        };
        let back: Exchange = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back.request.body, e.request.body);
    }

    #[test]
    fn masked_copy_holds_no_secret() {
        let m = sample().masked();
        let json = serde_json::to_string(&m).unwrap();
        for secret in [
            "4111111111111111",
            "4242424242424242",
            "sk_live_abcdefghijklmnop",
            "\"123\"",
        ] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(json.contains("424242******4242"));
        assert!(json.contains("card_declined"));
    }

    #[test]
    fn absolute_form_path() {
        let r = RequestPart {
            target: "http://example.com/a/b?x".into(),
            ..Default::default()
        };
        assert_eq!(r.path(), "/a/b");
    }
}
