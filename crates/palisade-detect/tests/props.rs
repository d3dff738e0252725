//! Properties the fuzz targets check, run on stable with proptest: nothing
//! panics on input, bounds hold, decoding is idempotent at its fixed point.

use palisade_core::{Body, Exchange, RequestPart};
use palisade_detect::{DetectConfig, Limits, decode, extract};
use proptest::prelude::*;

fn interesting() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "%", "%25", "%2e", "%c0%ae", "%u002e", "&#", "&#x3c;", "&lt", "\\u00", "\\x3", "/*", "*/",
        "${", "}", "{", "[", "]", "\"", "'", ":", ",", "<", ">", "../", "=", "&", "+", "a", "é",
        "\u{3002}", "\n", "\r", "\0", "select", "script", "jndi:", "http://", "--XX\r\n",
        "\r\n\r\n",
    ]);
    prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn decoding_terminates_and_reaches_a_fixed_point(s in interesting()) {
        let (d, _) = decode::decode(&s);
        let n = decode::normalize(&d);
        prop_assert!(!n.contains("  "));
        let _ = decode::base64_text(&s);
    }

    #[test]
    fn extraction_respects_bounds(s in interesting(), sel in 0usize..5) {
        let ct = ["application/json", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=XX", "text/plain"][sel];
        let req = RequestPart {
            method: "POST".into(),
            target: format!("/a?{s}"),
            headers: vec![("Content-Type".into(), ct.into()), ("Cookie".into(), s.clone())],
            body: Body::new(s.clone()),
            ..Default::default()
        };
        let limits = Limits { max_values: 16, max_depth: 4, max_value_len: 64, ..Limits::default() };
        for ex in [extract::head(&req, &limits), extract::body(&req, &limits)] {
            prop_assert!(ex.values.len() <= 16);
            prop_assert!(ex.values.iter().all(|v| v.raw.len() <= 64));
        }
    }

    #[test]
    fn the_engine_never_panics(s in interesting(), t in interesting()) {
        let engine = DetectConfig::default().build().unwrap();
        let mut ex = Exchange {
            request: RequestPart {
                method: "PUT".into(),
                target: format!("/{t}?{s}"),
                headers: vec![("User-Agent".into(), t.clone()), ("Content-Type".into(), "application/json".into())],
                body: Body::new(s),
                ..Default::default()
            },
            ..Default::default()
        };
        let _ = engine.inspect(&mut ex);
    }
}
