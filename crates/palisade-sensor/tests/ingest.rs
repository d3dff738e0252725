//! Data-driven ingest tests: every vector in `testdata/` runs through one
//! `check` helper (see testdata/README.md for the expectation format).

use std::io::BufReader;
use std::path::Path;

use palisade_sensor::{Format, IngestReport, parse_batch, read_exchanges};
use serde_json::Value;

fn testdata(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// `expected` is a subset of `actual` (see testdata/README.md).
fn subset(expected: &Value, actual: Option<&Value>, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Null, None | Some(Value::Null)) => Ok(()),
        (Value::Object(e), Some(Value::String(a))) if e.len() == 1 && e.contains_key("prefix") => {
            let p = e["prefix"].as_str().unwrap_or_default();
            if a.starts_with(p) {
                Ok(())
            } else {
                Err(format!("{at}: {a:?} does not start with {p:?}"))
            }
        }
        (Value::Object(e), Some(Value::Object(a))) => {
            for (k, v) in e {
                subset(v, a.get(k), &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Some(Value::Array(a))) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{at}: expected {} items, got {}: {}",
                    e.len(),
                    a.len(),
                    Value::Array(a.clone())
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, Some(av), &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (e, Some(a)) if e == a => Ok(()),
        (e, a) => Err(format!(
            "{at}: expected {e}, got {}",
            a.map_or("nothing".to_string(), Value::to_string)
        )),
    }
}

fn check(case: &str) {
    let spec: Value =
        serde_json::from_slice(&std::fs::read(testdata(&format!("{case}.expect.json"))).unwrap())
            .unwrap();
    let input = std::fs::read(testdata(spec["input"].as_str().unwrap())).unwrap();
    let format: Format = spec["format"].as_str().unwrap().parse().unwrap();

    if let Some(d) = spec.get("detect").and_then(Value::as_str) {
        let head = &input[..input.len().min(4096)];
        assert_eq!(
            Format::detect(head).map(|f| f.to_string()).as_deref(),
            Some(d),
            "{case}: detect"
        );
    }

    // streamed through a tiny buffer, so records straddle many reads
    let mut streamed = Vec::new();
    let report = read_exchanges(BufReader::with_capacity(7, &input[..]), format, |e| {
        streamed.push(e)
    })
    .unwrap();
    let (batch, batch_report) = parse_batch(&input, format);
    assert_eq!(
        batch, streamed,
        "{case}: parse_batch and read_exchanges disagree"
    );
    assert_eq!(batch_report, report, "{case}: reports disagree");

    let shown = report.to_string();
    assert_eq!(
        report.parsed,
        spec["parsed"].as_u64().unwrap(),
        "{case}: parsed count\n{shown}"
    );
    assert_eq!(report.parsed as usize, streamed.len());
    let malformed = spec["malformed"].as_array().unwrap();
    assert_eq!(
        report.malformed as usize,
        malformed.len(),
        "{case}: malformed count\n{shown}"
    );
    for (m, want) in report.first_errors.iter().zip(malformed) {
        if let Some(line) = want.get("line").and_then(Value::as_u64) {
            assert_eq!(m.line as u64, line, "{case}: line of `{}`", m.message);
        }
        for c in want["contains"].as_array().unwrap() {
            let c = c.as_str().unwrap();
            assert!(
                m.message.contains(c),
                "{case}: line {}: `{}` lacks `{c}`",
                m.line,
                m.message
            );
        }
    }
    for secret in spec
        .get("never_contains")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = secret.as_str().unwrap();
        assert!(!shown.contains(s), "{case}: report leaks {s}:\n{shown}");
    }
    for e in &streamed {
        assert_eq!(e.source, palisade_core::Source::Sensor, "{case}: {}", e.id);
        assert!(!e.id.is_empty());
        assert!(e.request.body.data.len() <= palisade_sensor::BODY_SAMPLE_LIMIT);
    }
    let expected = spec["exchanges"].as_array().unwrap();
    assert!(
        expected.len() <= streamed.len(),
        "{case}: fewer exchanges than expected"
    );
    for (i, (want, got)) in expected.iter().zip(&streamed).enumerate() {
        let got = serde_json::to_value(got).unwrap();
        if let Err(e) = subset(want, Some(&got), &format!("exchange[{i}]")) {
            panic!("{case}: {e}\nactual: {got}");
        }
    }
}

#[test]
fn nginx_json_access_log() {
    check("nginx_access");
}

#[test]
fn envoy_json_access_log() {
    check("envoy_access");
}

#[test]
fn har_of_a_payments_api() {
    check("payments");
}

#[test]
fn ndjson_exchanges() {
    check("exchanges");
}

#[test]
fn json_array_batch() {
    check("nginx_batch");
}

#[test]
fn over_long_lines_are_counted_not_buffered() {
    let good = r#"{"ts_ms":1,"client_ip":"192.0.2.1","request":{"method":"GET","target":"/"}}"#;
    let mut input = format!("{good}\n");
    input.push_str(&format!(
        "{{\"ts_ms\":1,\"pad\":\"{}\"}}\n",
        "x".repeat(palisade_sensor::LINE_LIMIT + 10)
    ));
    input.push_str(good);
    let mut n = 0;
    let report: IngestReport =
        read_exchanges(input.as_bytes(), Format::Ndjson, |_| n += 1).unwrap();
    assert_eq!((report.parsed, report.malformed, n), (2, 1, 2));
    assert_eq!(report.first_errors[0].line, 2);
    assert!(
        report.first_errors[0]
            .message
            .contains("longer than 1048576 bytes")
    );
}

#[test]
fn bodies_are_sampled_with_size_and_truncation() {
    let big = "a".repeat(100_000);
    let line = format!(
        r#"{{"ts_ms":1,"client_ip":"192.0.2.1","request":{{"method":"POST","target":"/","body":"{big}"}}}}"#
    );
    let (ex, report) = parse_batch(line.as_bytes(), Format::Ndjson);
    assert!(report.is_clean());
    let body = &ex[0].request.body;
    assert_eq!(
        (body.data.len(), body.size, body.truncated),
        (palisade_sensor::BODY_SAMPLE_LIMIT, 100_000, true)
    );

    let nginx = format!(
        r#"{{"msec":"1.0","remote_addr":"192.0.2.1","request":"POST / HTTP/1.1","status":"200","request_body":"{big}"}}"#
    );
    let (ex, _) = parse_batch(nginx.as_bytes(), Format::NginxJson);
    assert_eq!(ex[0].request.body.size, 100_000);
    assert!(ex[0].request.body.truncated);
}

#[test]
fn report_keeps_twenty_errors_and_counts_all() {
    let input = "not json\n".repeat(25);
    let (ex, report) = parse_batch(input.as_bytes(), Format::NginxJson);
    assert!(ex.is_empty());
    assert_eq!(report.malformed, 25);
    assert_eq!(
        report.first_errors.len(),
        palisade_sensor::MAX_REPORTED_ERRORS
    );
    assert_eq!(report.first_errors[19].line, 20);
    assert!(report.to_string().contains("and 5 more"));
}

#[test]
fn generated_ids_are_deterministic() {
    let line = br#"{"ts_ms":1,"client_ip":"192.0.2.1","request":{"method":"GET","target":"/"}}"#;
    let (a, _) = parse_batch(line, Format::Ndjson);
    let (b, _) = parse_batch(line, Format::Ndjson);
    assert_eq!(a[0].id, b[0].id);
    assert!(a[0].id.starts_with("s-"));
}

#[test]
fn formats_parse_and_print_by_name() {
    for f in Format::ALL {
        assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
    }
    let e = "xml".parse::<Format>().unwrap_err().to_string();
    assert!(e.contains("ndjson, nginx-json, envoy, har"), "{e}");
    assert_eq!(Format::detect(b"GET / HTTP/1.1"), None);
    assert_eq!(
        Format::detect(b"\xEF\xBB\xBF  {\n \"log\": {"),
        Some(Format::Har)
    );
}

#[test]
fn har_that_is_not_json_is_reported_once() {
    let (ex, report) = parse_batch(b"{\"log\": {\"entries\": [", Format::Har);
    assert!(ex.is_empty());
    assert_eq!(report.malformed, 1);
    assert!(report.first_errors[0].message.contains("HAR"), "{report}");
    let (_, report) = parse_batch(b"{\"notlog\": 1}", Format::Har);
    assert!(
        report.first_errors[0].message.contains("`log` is missing"),
        "{report}"
    );
}

#[test]
fn one_request_reads_the_same_from_every_source() {
    let read = |file: &str, format: Format| {
        let input = std::fs::read(testdata(file)).unwrap();
        let (ex, report) = parse_batch(&input, format);
        assert!(report.is_clean(), "{file}: {report}");
        assert_eq!(ex.len(), 1, "{file}");
        let e = &ex[0];
        let header = |n: &str| e.request.header(n).map(str::to_string);
        serde_json::json!({
            "id": e.id, "ts_ms": e.ts_ms, "client_ip": e.client_ip, "method": e.request.method,
            "target": e.request.target, "host": e.request.host, "version": e.request.version,
            "content_type": header("content-type"), "user_agent": header("user-agent"),
            "status": e.status(), "response_type": e.response.as_ref().and_then(|r| r.header("content-type")),
            "response_size": e.response.as_ref().map(|r| r.body.size),
            "total_us": e.timings.total_us, "upstream_us": e.timings.upstream_us,
            "tls_sni": e.tls.as_ref().and_then(|t| t.sni.clone()),
        })
    };
    let nginx = read("same_request.nginx.log", Format::NginxJson);
    let envoy = read("same_request.envoy.log", Format::Envoy);
    let har = read("same_request.har", Format::Har);
    assert_eq!(nginx, envoy);
    assert_eq!(nginx, har);
}
