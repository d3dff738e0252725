//! HTTP extraction from a raw request head: the request line and header
//! lines as a client could send them (any bytes) become a `RequestPart`, then
//! query, cookie and header extraction, path templating and JA4H never panic
//! and respect their bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_core::RequestPart;
use palisade_detect::{Limits, extract};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.splitn(3, ' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let version = parts.next().unwrap_or("HTTP/1.1").to_string();
    let headers: Vec<(String, String)> = lines
        .take(256)
        .map(|l| match l.split_once(':') {
            Some((n, v)) => (n.trim().to_string(), v.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect();
    let host = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone());
    let req = RequestPart {
        method,
        target,
        host,
        version,
        headers,
        body: palisade_core::Body::new(body.as_bytes().to_vec()),
    };
    let limits = Limits {
        max_values: 128,
        max_depth: 16,
        max_value_len: 512,
        max_headers: 32,
        ..Limits::default()
    };
    for ex in [
        extract::head(&req, &limits),
        extract::head_args(&req, &limits),
    ] {
        assert!(ex.values.len() <= limits.max_values);
        assert!(
            ex.values
                .iter()
                .all(|v| v.raw.len() <= limits.max_value_len)
        );
        for v in &ex.values {
            let _ = v.location();
        }
    }
    let _ = req.path();
    for seg in palisade_catalog::template::segments(req.path()) {
        let _ = palisade_catalog::template::seg_kind(seg);
        let _ = palisade_catalog::template::is_reserved(seg);
    }
    let _ = palisade_actors::ja4h::ja4h(&req);
});
