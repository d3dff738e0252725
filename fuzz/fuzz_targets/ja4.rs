//! Fingerprints: JA4 from a raw TLS ClientHello record and JA4H from a
//! request head never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_core::RequestPart;

fuzz_target!(|data: &[u8]| {
    if let Ok(fp) = palisade_actors::ja4::ja4_from_client_hello(data) {
        assert!(fp.is_ascii(), "{fp}");
    }
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let target = lines.next().unwrap_or("/").to_string();
    let headers = lines
        .take(64)
        .map(|l| match l.split_once(':') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect();
    let req = RequestPart {
        method: "GET".into(),
        target,
        version: "HTTP/1.1".into(),
        headers,
        ..Default::default()
    };
    let h = palisade_actors::ja4h::ja4h(&req);
    let _ = palisade_actors::ja4h::ja4h_stable(&h);
});
