//! Property tests: no input makes the parsers panic, and every non-blank
//! line of a line format is accounted for (parsed or malformed, never lost).

use palisade_sensor::{Format, parse_batch, read_exchanges};
use proptest::prelude::*;

fn non_blank_lines(input: &[u8]) -> u64 {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .filter(|l| {
            !String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l))
                .trim()
                .is_empty()
        })
        .count() as u64
}

const NGINX_KEYS: [&str; 14] = [
    "msec",
    "time_local",
    "time_iso8601",
    "remote_addr",
    "request",
    "request_method",
    "request_uri",
    "status",
    "body_bytes_sent",
    "request_time",
    "upstream_response_time",
    "http_host",
    "sent_http_content_type",
    "request_body",
];
const ENVOY_KEYS: [&str; 10] = [
    "start_time",
    "method",
    "path",
    "protocol",
    "response_code",
    "bytes_sent",
    "duration",
    "downstream_remote_address",
    "REQ(X-A)",
    "upstream_service_time",
];

fn json_line(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    let value = prop_oneof![
        any::<u32>().prop_map(|n| n.to_string()),
        "[ -~]{0,24}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("\"-\"".to_string()),
        // raw, unescaped text: invalid JSON and nginx's default `\x22` escapes
        "[ -~]{0,24}".prop_map(|s| format!("\"{s}\"")),
        Just(r#""GET /?q=\x22a\xC3\xA9\x5C HTTP/1.1""#.to_string()),
        Just("null".to_string()),
        Just("\"GET /a?b=1 HTTP/1.1\"".to_string()),
        Just("\"2026-11-21T06:24:56Z\"".to_string()),
        Just("\"[::1]:80\"".to_string()),
        (0.0f64..1e12).prop_map(|f| f.to_string()),
    ];
    prop::collection::vec((prop::sample::select(keys), value), 0..10).prop_map(|kv| {
        let body: Vec<String> = kv
            .into_iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", body.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..2048)) {
        for f in Format::ALL {
            let (ex, report) = parse_batch(&input, f);
            prop_assert_eq!(ex.len() as u64, report.parsed);
            let mut n = 0u64;
            let streamed = read_exchanges(&input[..], f, |_| n += 1).unwrap();
            prop_assert_eq!(n, streamed.parsed);
            let starts_array = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&input).iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
            if f != Format::Har && !starts_array {
                prop_assert_eq!(report.parsed + report.malformed, non_blank_lines(&input));
            }
        }
    }

    #[test]
    fn log_shaped_lines_are_all_accounted_for(
        nginx in prop::collection::vec(json_line(&NGINX_KEYS), 1..20),
        envoy in prop::collection::vec(json_line(&ENVOY_KEYS), 1..20),
    ) {
        for (lines, f) in [(nginx, Format::NginxJson), (envoy, Format::Envoy)] {
            let input = lines.join("\n");
            let (ex, report) = parse_batch(input.as_bytes(), f);
            prop_assert_eq!(report.parsed + report.malformed, lines.len() as u64);
            for e in ex {
                prop_assert_eq!(e.source, palisade_core::Source::Sensor);
                prop_assert!(!e.id.is_empty());
            }
        }
    }
}
