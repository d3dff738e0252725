//! Extraction of every content type never panics and respects its bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_core::{Body, RequestPart};
use palisade_detect::{Limits, extract};

const TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "multipart/form-data; boundary=XX",
    "text/plain",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let split = rest.len() / 3;
    let (target, body) = rest.split_at(split);
    let limits = Limits {
        max_values: 64,
        max_depth: 16,
        max_value_len: 256,
        ..Limits::default()
    };
    let mut req = RequestPart {
        method: "POST".into(),
        target: format!("/{}", String::from_utf8_lossy(target)),
        headers: vec![(
            "Cookie".into(),
            String::from_utf8_lossy(target).into_owned(),
        )],
        body: Body::new(body.to_vec()),
        ..Default::default()
    };
    let ct = TYPES[usize::from(sel) % TYPES.len()];
    if !ct.is_empty() {
        req.headers.push(("Content-Type".into(), ct.into()));
    }
    for ex in [extract::head(&req, &limits), extract::body(&req, &limits)] {
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
});
