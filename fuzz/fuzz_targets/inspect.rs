//! The whole engine on arbitrary requests never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade_core::{Body, Exchange, RequestPart};
use palisade_detect::{DetectConfig, Engine};

static ENGINE: OnceLock<Engine> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| {
        DetectConfig::default()
            .build()
            .expect("default config builds")
    });
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let target = parts.next().unwrap_or("/").to_string();
    let header = parts.next().unwrap_or("").to_string();
    let ct = parts.next().unwrap_or("").to_string();
    let body = parts.next().unwrap_or("").to_string();
    let mut ex = Exchange {
        request: RequestPart {
            method: "POST".into(),
            target,
            headers: vec![
                ("User-Agent".into(), header.clone()),
                ("X-Custom".into(), header),
                ("Content-Type".into(), ct),
            ],
            body: Body::new(body),
            ..Default::default()
        },
        ..Default::default()
    };
    let _ = engine.inspect(&mut ex);
});
