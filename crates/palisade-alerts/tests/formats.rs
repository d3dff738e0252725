//! Format vectors (`testdata/formats.json`) through one `check` helper:
//! exact CEF records, RFC 5424 prefixes, Slack text and content, and
//! strings that must never appear in any format.

use palisade_alerts::Alert;
use palisade_alerts::format::{self, SyslogHeader};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    alert: Alert,
    hostname: String,
    facility: u8,
    #[serde(default)]
    cef: Option<String>,
    #[serde(default)]
    syslog_prefix: Option<String>,
    #[serde(default)]
    slack_text: Option<String>,
    #[serde(default)]
    slack_contains: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
}

fn check(c: &Case) {
    let a = c.alert.sanitized();
    let cef = format::cef(&a);
    if let Some(want) = &c.cef {
        assert_eq!(&cef, want, "{}: cef", c.name);
    }
    assert!(!cef.contains('\n'), "{}: a CEF record is one line", c.name);
    let h = SyslogHeader {
        facility: c.facility,
        hostname: c.hostname.clone(),
        app_name: "palisade".into(),
    };
    let line = format::rfc5424(&h, &a, &cef);
    if let Some(p) = &c.syslog_prefix {
        assert!(
            line.starts_with(p.as_str()),
            "{}: syslog\n got {line}\nwant {p}",
            c.name
        );
    }
    let framed = format::octet_frame(&line);
    let (len, rest) = std::str::from_utf8(&framed)
        .unwrap()
        .split_once(' ')
        .unwrap();
    assert_eq!(
        len.parse::<usize>().unwrap(),
        rest.len(),
        "{}: octet count",
        c.name
    );
    let slack = format::slack(&a);
    let slack_s = slack.to_string();
    if let Some(t) = &c.slack_text {
        assert_eq!(slack["text"].as_str().unwrap(), t, "{}: slack text", c.name);
    }
    assert!(
        slack["blocks"].as_array().is_some_and(|b| b.len() >= 2),
        "{}: blocks",
        c.name
    );
    assert_eq!(slack["blocks"][0]["type"], "header", "{}", c.name);
    for s in &c.slack_contains {
        assert!(
            slack_s.contains(s.as_str()),
            "{}: slack lacks {s:?}: {slack_s}",
            c.name
        );
    }
    let json = format::json(&a).to_string();
    for s in &c.absent {
        for (what, text) in [
            ("cef", &cef),
            ("syslog", &line),
            ("slack", &slack_s),
            ("json", &json),
        ] {
            assert!(
                !text.contains(s.as_str()),
                "{}: {s:?} leaked into {what}",
                c.name
            );
        }
    }
}

#[test]
fn format_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/formats.json");
    let cases: Vec<Case> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() >= 4);
    for c in &cases {
        check(c);
    }
}

#[test]
fn severities_map_in_order() {
    use palisade_core::Severity::*;
    let cef: Vec<u8> = [Info, Low, Medium, High, Critical]
        .iter()
        .map(|s| format::cef_severity(*s))
        .collect();
    assert!(
        cef.windows(2).all(|w| w[0] < w[1]) && cef[4] == 10,
        "{cef:?}"
    );
    let sys: Vec<u8> = [Info, Low, Medium, High, Critical]
        .iter()
        .map(|s| format::syslog_severity(*s))
        .collect();
    assert!(sys.windows(2).all(|w| w[0] > w[1]), "{sys:?}");
}
