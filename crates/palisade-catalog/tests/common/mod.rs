//! Shared helpers of the integration tests: the one `check` helper that runs
//! data-driven vectors from `testdata/`, and exchange builders.
#![allow(dead_code)]

use std::path::PathBuf;

use palisade_core::{Body, Exchange, RequestPart, ResponsePart};
use serde::de::DeserializeOwned;

pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Loads `testdata/<file>` (a JSON array of vectors, each with a `name`),
/// runs `f` on every vector and fails once with every vector that failed.
pub fn check<T: DeserializeOwned>(file: &str, f: impl Fn(&T) -> Result<(), String>) {
    let src = std::fs::read_to_string(testdata(file)).unwrap();
    let raw: Vec<serde_json::Value> = serde_json::from_str(&src).unwrap();
    assert!(!raw.is_empty(), "{file} has no vectors");
    let mut failures = Vec::new();
    for v in raw {
        let name = v["name"].as_str().unwrap_or("?").to_string();
        let vector: T = serde_json::from_value(v).unwrap_or_else(|e| panic!("{file}/{name}: {e}"));
        if let Err(e) = f(&vector) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{file}: {} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

pub fn get(host: &str, target: &str, status: u16) -> Exchange {
    req(host, "GET", target, &[], "", status, "")
}

pub fn req(
    host: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
    status: u16,
    resp_body: &str,
) -> Exchange {
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if !body.is_empty()
        && !hs
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        hs.push(("content-type".into(), "application/json".into()));
    }
    Exchange {
        ts_ms: 1_700_000_000_000,
        client_ip: "198.51.100.7".parse().unwrap(),
        request: RequestPart {
            method: method.into(),
            target: target.into(),
            host: if host.is_empty() {
                None
            } else {
                Some(host.into())
            },
            headers: hs,
            body: Body::new(body.to_string()),
            ..Default::default()
        },
        response: Some(ResponsePart {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Body::new(resp_body.to_string()),
        }),
        ..Default::default()
    }
}
