//! Body extraction with an arbitrary Content-Type (so multipart boundaries,
//! charsets and parameters are fuzzed too), and the JSON and XML extractors
//! called directly: never panic, respect `Limits`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_core::{Body, RequestPart};
use palisade_detect::Limits;
use palisade_detect::extract::{self, Extracted, Part};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(n).min(rest.len());
    let (ct, body) = rest.split_at(split);
    let ct = String::from_utf8_lossy(ct).into_owned();
    let limits = Limits {
        max_values: 64,
        max_depth: 8,
        max_value_len: 256,
        ..Limits::default()
    };
    let req = RequestPart {
        method: "POST".into(),
        target: "/".into(),
        headers: vec![("Content-Type".into(), ct)],
        body: Body::new(body.to_vec()),
        ..Default::default()
    };
    let ex = extract::body(&req, &limits);
    assert!(ex.values.len() <= limits.max_values);
    assert!(
        ex.values
            .iter()
            .all(|v| v.raw.len() <= limits.max_value_len)
    );
    let text = String::from_utf8_lossy(body);
    let mut j = Extracted::default();
    let _ = extract::json(&text, &limits, &mut j);
    assert!(j.values.len() <= limits.max_values);
    let mut x = Extracted::default();
    extract::xml(&text, &limits, &mut x);
    assert!(x.values.len() <= limits.max_values);
    let mut q = Extracted::default();
    extract::pairs(&text, Part::Query, &limits, &mut q);
    assert!(q.values.len() <= limits.max_values);
});
