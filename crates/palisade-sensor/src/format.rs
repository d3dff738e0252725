//! [`Format`]: which kind of input a stream holds, by name or by sniffing.
//!
//! Detection only looks at the first bytes (the first record's field names);
//! it is a convenience for `--format auto`, not a validator: a detected format
//! can still yield malformed records.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// An input format the sensor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One `palisade_core::Exchange` per line (docs/exchange-format.md).
    Ndjson,
    /// nginx access log written with `log_format ... escape=json '{...}'`.
    NginxJson,
    /// Envoy JSON access log (`json_format`, default field names).
    Envoy,
    /// HAR 1.2 document (`log.entries[]`), as browsers and proxies export it.
    Har,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::Ndjson,
        Format::NginxJson,
        Format::Envoy,
        Format::Har,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::NginxJson => "nginx-json",
            Format::Envoy => "envoy",
            Format::Har => "har",
        }
    }

    /// Guesses the format from the first bytes of an input (a few KiB is
    /// plenty): a HAR document opens with a `log` member; otherwise the first
    /// records' field names (within the first 8 KiB) tell NDJSON exchanges (`ts_ms`), Envoy
    /// (`start_time`, `response_code`, ...) and nginx (`remote_addr`,
    /// `time_local`, ...) apart. `None` when nothing fits.
    pub fn detect(first_bytes: &[u8]) -> Option<Format> {
        let s = first_bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(first_bytes);
        let s = trim_start(s);
        let s = match s.first()? {
            b'[' => trim_start(&s[1..]),
            b'{' => s,
            _ => return None,
        };
        if !s.starts_with(b"{") {
            return None;
        }
        if trim_start(&s[1..]).starts_with(b"\"log\"") {
            return Some(Format::Har);
        }
        // the first record's keys; a pretty-printed array spreads them over lines
        let head = &s[..s.len().min(8 * 1024)];
        let has = |k: &str| memchr::memmem::find(head, k.as_bytes()).is_some();
        if has("\"ts_ms\"") && has("\"request\"") {
            return Some(Format::Ndjson);
        }
        const ENVOY: [&str; 6] = [
            "\"start_time\"",
            "\"response_code\"",
            "\"downstream_remote_address\"",
            "\"upstream_service_time\"",
            "\"response_flags\"",
            "\"bytes_received\"",
        ];
        if ENVOY.iter().filter(|k| has(k)).count() >= 2 {
            return Some(Format::Envoy);
        }
        const NGINX: [&str; 9] = [
            "\"remote_addr\"",
            "\"time_local\"",
            "\"time_iso8601\"",
            "\"request_uri\"",
            "\"body_bytes_sent\"",
            "\"msec\"",
            "\"request_time\"",
            "\"http_user_agent\"",
            "\"request\"",
        ];
        if NGINX.iter().filter(|k| has(k)).count() >= 2 {
            return Some(Format::NginxJson);
        }
        None
    }
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "nginx-json" | "nginx_json" | "nginx" => Ok(Format::NginxJson),
            "envoy" | "envoy-json" => Ok(Format::Envoy),
            "har" => Ok(Format::Har),
            _ => Err(Error::UnknownFormat {
                given: s.chars().take(40).collect(),
            }),
        }
    }
}
