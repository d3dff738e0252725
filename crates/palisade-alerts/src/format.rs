//! Wire formats: Slack JSON, generic JSON, CEF, RFC 5424 and RFC 6587
//! framing. Pure functions of a (sanitized) [`Alert`]; no IO.

use palisade_core::Severity;
use serde_json::{Value, json};

use crate::alert::{Alert, clip};
use crate::time::rfc3339;

/// Slack's mrkdwn needs `&`, `<` and `>` escaped.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Slack incoming-webhook JSON: a `text` fallback plus Block Kit `blocks`
/// (header, summary, fields with the attack metadata, context with time and
/// link).
pub fn slack(a: &Alert) -> Value {
    let sev = a.severity.as_str().to_uppercase();
    let head = match &a.incident_id {
        Some(id) => format!("[{sev}] {} ({id})", a.title),
        None => format!("[{sev}] {}", a.title),
    };
    let mut fields =
        vec![json!({"type": "mrkdwn", "text": format!("*Severity*\n{}", a.severity.as_str())})];
    let mut field = |name: &str, v: &Option<String>, code: bool| {
        if let Some(v) = v {
            let v = slack_escape(&clip(v, 200));
            let v = if code {
                format!("`{}`", v.replace('`', "'"))
            } else {
                v
            };
            fields.push(json!({"type": "mrkdwn", "text": format!("*{name}*\n{v}")}));
        }
    };
    field("Phase", &a.phase.map(|p| p.as_str().to_string()), false);
    field("Rule", &a.rule, true);
    field("Location", &a.location, true);
    field("Actor", &a.actor, false);
    field("Client", &a.client_ip.map(|i| i.to_string()), false);
    field("Endpoint", &a.endpoint, true);
    field("Request id", &a.request_id, true);
    field("Action", &a.action, false);
    fields.truncate(10); // Slack's limit per section
    let mut context = format!("Palisade · {} · {}", a.kind, rfc3339(a.timestamp_ms));
    if let Some(l) = &a.link {
        context.push_str(&format!(
            " · <{}|Open in console>",
            l.replace(['|', '>', '<'], "")
        ));
    }
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": clip(&head, 145)}
    })];
    if !a.summary.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": clip(&slack_escape(&a.summary), 2900)}
        }));
    }
    blocks.push(json!({"type": "section", "fields": fields}));
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
    json!({ "text": slack_escape(&head), "blocks": blocks })
}

/// The alert as one flat JSON object (also the JSON syslog payload).
pub fn json(a: &Alert) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert("source".into(), Value::String("palisade".into()));
        o.insert("timestamp".into(), Value::String(rfc3339(a.timestamp_ms)));
    }
    v
}

/// CEF severity 0-10.
pub fn cef_severity(s: Severity) -> u8 {
    match s {
        Severity::Info => 1,
        Severity::Low => 3,
        Severity::Medium => 5,
        Severity::High => 8,
        Severity::Critical => 10,
    }
}

/// Escapes a CEF header field: `\` and `|`; line breaks become spaces.
pub fn cef_header_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '|' => o.push_str("\\|"),
            '\r' | '\n' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Escapes a CEF extension value: `\`, `=`, and line breaks as `\n` / `\r`.
pub fn cef_value_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '=' => o.push_str("\\="),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o
}

/// An ArcSight CEF record:
/// `CEF:0|Palisade|Palisade|<version>|<rule>|<title>|<0-10>|<extension>`.
pub fn cef(a: &Alert) -> String {
    let sig = a
        .rule
        .clone()
        .unwrap_or_else(|| format!("palisade.{}", a.kind));
    let mut ext: Vec<(&str, String)> =
        vec![("rt", a.timestamp_ms.to_string()), ("cat", a.kind.clone())];
    if let Some(ip) = a.client_ip {
        ext.push(("src", ip.to_string()));
    }
    if let Some(actor) = &a.actor {
        ext.push(("suser", actor.clone()));
    }
    if let Some(ep) = &a.endpoint {
        match ep.split_once(' ') {
            Some((m, p)) => {
                ext.push(("requestMethod", m.to_string()));
                ext.push(("request", p.to_string()));
            }
            None => ext.push(("request", ep.clone())),
        }
    }
    if let Some(act) = &a.action {
        ext.push(("act", act.clone()));
    }
    if let Some(id) = &a.request_id {
        ext.push(("externalId", id.clone()));
    }
    let mut custom = |n: u8, label: &str, v: &Option<String>| {
        if let Some(v) = v {
            let (lk, vk) = match n {
                1 => ("cs1Label", "cs1"),
                2 => ("cs2Label", "cs2"),
                3 => ("cs3Label", "cs3"),
                4 => ("cs4Label", "cs4"),
                5 => ("cs5Label", "cs5"),
                _ => ("cs6Label", "cs6"),
            };
            ext.push((lk, label.to_string()));
            ext.push((vk, v.clone()));
        }
    };
    custom(1, "rule", &a.rule);
    custom(2, "location", &a.location);
    custom(3, "incident", &a.incident_id);
    custom(4, "phase", &a.phase.map(|p| p.as_str().to_string()));
    custom(5, "link", &a.link);
    if !a.summary.is_empty() {
        ext.push(("msg", clip(&a.summary, 1000)));
    }
    let ext: Vec<String> = ext
        .into_iter()
        .map(|(k, v)| format!("{k}={}", cef_value_escape(&v)))
        .collect();
    format!(
        "CEF:0|Palisade|Palisade|{}|{}|{}|{}|{}",
        env!("CARGO_PKG_VERSION"),
        cef_header_escape(&sig),
        cef_header_escape(&a.title),
        cef_severity(a.severity),
        ext.join(" ")
    )
}

/// Syslog severity (RFC 5424 table 2) of an alert severity.
pub fn syslog_severity(s: Severity) -> u8 {
    match s {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
        Severity::Info => 6,
    }
}

/// Escapes an SD-PARAM value: `"`, `\` and `]`.
pub fn sd_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// A header field: printable ASCII without spaces, at most `max`; `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let v: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if v.is_empty() { "-".into() } else { v }
}

/// The RFC 5424 header fields a destination sets.
#[derive(Debug, Clone)]
pub struct SyslogHeader {
    pub facility: u8,
    pub hostname: String,
    pub app_name: String,
}

/// One RFC 5424 message (without transport framing):
/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [palisade@32473 ...] MSG`.
/// The structured data repeats the attack metadata so that a SIEM can use it
/// without parsing the payload. (32473 is the documentation enterprise
/// number of RFC 5612.)
pub fn rfc5424(h: &SyslogHeader, a: &Alert, msg: &str) -> String {
    let pri = u16::from(h.facility.min(23)) * 8 + u16::from(syslog_severity(a.severity));
    let mut sd = String::from("[palisade@32473");
    let mut param = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            sd.push_str(&format!(" {k}=\"{}\"", sd_escape(v)));
        }
    };
    param("severity", &Some(a.severity.as_str().to_string()));
    param("kind", &Some(a.kind.clone()));
    param("rule", &a.rule);
    param("location", &a.location);
    param("actor", &a.actor);
    param("src", &a.client_ip.map(|i| i.to_string()));
    param("requestId", &a.request_id);
    param("incident", &a.incident_id);
    param("endpoint", &a.endpoint);
    sd.push(']');
    format!(
        "<{pri}>1 {} {} {} - {} {sd} {msg}",
        rfc3339(a.timestamp_ms),
        header_field(&h.hostname, 255),
        header_field(&h.app_name, 48),
        header_field(&a.kind, 32),
    )
}

/// Octet-counting framing for TCP and TLS (RFC 6587 §3.4.1): `LEN SP MSG`.
pub fn octet_frame(msg: &str) -> Vec<u8> {
    let mut v = format!("{} ", msg.len()).into_bytes();
    v.extend_from_slice(msg.as_bytes());
    v
}

/// Cuts a message to at most `max` bytes on a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}
