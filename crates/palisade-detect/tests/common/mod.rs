//! The one `check` helper of this crate's tests: builds a request carrying a
//! value in a given place, runs the engine, and checks what it says.

#![allow(dead_code)]

use palisade_core::{Body, Exchange, RequestPart, Verdict};
use palisade_detect::{DetectConfig, Engine};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Vector {
    pub name: String,
    /// Where the value goes: query, raw-query, json, json-raw, form, raw-form,
    /// cookie, header:NAME, path, xml-body, headers-raw.
    #[serde(rename = "where")]
    pub place: String,
    pub value: String,
    /// The detector kind that must block it; `null` for a value that must pass.
    pub expect: Option<String>,
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An exchange carrying `value` at `place`.
pub fn exchange(place: &str, value: &str) -> Exchange {
    let mut req = RequestPart {
        method: "GET".into(),
        target: "/v1/items".into(),
        headers: vec![
            ("Host".into(), "api.example".into()),
            ("User-Agent".into(), "okhttp/4.12.0".into()),
            ("Accept".into(), "application/json".into()),
        ],
        ..Default::default()
    };
    let body = |req: &mut RequestPart, ct: &str, b: String| {
        req.method = "POST".into();
        req.headers.push(("Content-Type".into(), ct.into()));
        req.body = Body::new(b);
    };
    match place {
        "query" => req.target = format!("/v1/items?q={}", pct(value)),
        "raw-query" => req.target = format!("/v1/items?{value}"),
        "path" => req.target = value.to_string(),
        "json" => body(
            &mut req,
            "application/json",
            serde_json::json!({ "note": value }).to_string(),
        ),
        "json-raw" => body(&mut req, "application/json", value.to_string()),
        "form" => body(
            &mut req,
            "application/x-www-form-urlencoded",
            format!("note={}", pct(value)),
        ),
        "raw-form" => body(
            &mut req,
            "application/x-www-form-urlencoded",
            value.to_string(),
        ),
        "xml-body" => body(&mut req, "application/xml", value.to_string()),
        "cookie" => req.headers.push(("Cookie".into(), format!("pref={value}"))),
        "headers-raw" => {
            req.method = "POST".into();
            for h in value.split('|') {
                if let Some((n, v)) = h.split_once(':') {
                    req.headers.push((n.trim().into(), v.trim().into()));
                }
            }
            req.body = Body::new("{\"a\":\"1234567\"}");
        }
        p if p.starts_with("header:") => {
            let name = &p["header:".len()..];
            req.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            req.headers.push((name.to_string(), value.to_string()));
        }
        other => panic!("unknown place {other}"),
    }
    Exchange {
        request: req,
        ..Default::default()
    }
}

pub fn engine() -> Engine {
    DetectConfig::default()
        .build()
        .unwrap_or_else(|d| panic!("{d}"))
}

/// Runs one vector; `Err` describes the failure.
pub fn check(engine: &Engine, v: &Vector) -> Result<(), String> {
    let mut ex = exchange(&v.place, &v.value);
    let verdict = engine.inspect(&mut ex);
    let fired: Vec<String> = ex
        .findings
        .iter()
        .map(|f| format!("{}@{}(+{})", f.rule_id, f.location, f.score))
        .collect();
    let blocked = matches!(verdict, Verdict::Block { .. });
    match &v.expect {
        Some(kind) if !blocked || !ex.findings.iter().any(|f| &f.kind == kind) => Err(format!(
            "{}: expected {kind} to block, got {verdict:?} with {fired:?}",
            v.name
        )),
        None if blocked => Err(format!(
            "{}: expected to pass, blocked with {fired:?}",
            v.name
        )),
        _ => Ok(()),
    }
}

/// Loads the vectors of one detector from `testdata/vectors/<kind>.jsonl`.
pub fn vectors(kind: &str) -> Vec<Vector> {
    let path = format!(
        "{}/testdata/vectors/{kind}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}: {l}")))
        .collect()
}
