//! [`Alert`]: one notification, self-contained.
//!
//! Built by the caller from an incident event (the fields map one to one to
//! `palisade_incidents::IncidentEvent`) or from a single finding with
//! [`Alert::from_finding`]. Every text field holds masked data; [`Alert::sanitized`]
//! runs the masking once more and bounds the lengths before formatting.

use std::net::IpAddr;

use palisade_core::sensitive::mask_text;
use palisade_core::{Exchange, Finding, Phase, Severity};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// What happened: `opened`, `escalated`, `attack_succeeded`, `finding`,
    /// `test`...
    pub kind: String,
    pub title: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Rule or detector id (`sqli.shape`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Where in the request (`query.q`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `name (id)` of the actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `METHOD /path` (template or masked path, no query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Action taken inline (`block`, `log`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    pub summary: String,
    /// When it happened, milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// Where to read more (the console), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Alert {
    /// A bare alert; set the other fields directly.
    pub fn new(kind: &str, title: &str, severity: Severity, timestamp_ms: i64) -> Self {
        Self {
            kind: kind.to_string(),
            title: title.to_string(),
            severity,
            phase: None,
            rule: None,
            location: None,
            actor: None,
            client_ip: None,
            request_id: None,
            endpoint: None,
            action: None,
            incident_id: None,
            summary: String::new(),
            timestamp_ms,
            link: None,
        }
    }

    /// An alert about one finding of one exchange: rule, location, masked
    /// fragment, actor, request id, masked path.
    pub fn from_finding(ex: &Exchange, f: &Finding) -> Self {
        let path = palisade_core::sensitive::mask_text(ex.request.path());
        let mut a = Alert::new(
            "finding",
            &format!(
                "{} at {} on {} {}",
                f.kind, f.location, ex.request.method, path
            ),
            f.severity,
            ex.ts_ms,
        );
        a.phase = Some(f.phase);
        a.rule = Some(f.rule_id.clone());
        a.location = Some(f.location.clone());
        a.actor = ex.actor.as_ref().map(|r| format!("{} ({})", r.name, r.id));
        a.client_ip = Some(ex.client_ip);
        a.request_id = Some(ex.id.clone());
        a.endpoint = Some(format!("{} {}", ex.request.method, path));
        a.action = Some(ex.verdict.action().as_str().to_string());
        a.summary = if f.message.is_empty() {
            format!("fragment: {}", f.fragment.as_str())
        } else {
            format!("{} (fragment: {})", f.message, f.fragment.as_str())
        };
        a
    }

    /// A copy with free text (title, summary, endpoint, location) masked
    /// again and every field bounded. Identifiers (actor and request ids,
    /// which may be long digit strings) are only bounded.
    pub fn sanitized(&self) -> Alert {
        let t = |s: &str, n: usize| clip(&mask_text(s), n);
        let m = |s: &Option<String>, n: usize| s.as_deref().map(|v| t(v, n));
        let o = |s: &Option<String>, n: usize| s.as_deref().map(|v| clip(v, n));
        Alert {
            kind: clip(&self.kind, 32),
            title: t(&self.title, 200),
            severity: self.severity,
            phase: self.phase,
            rule: o(&self.rule, 128),
            location: m(&self.location, 128),
            actor: o(&self.actor, 128),
            client_ip: self.client_ip,
            request_id: o(&self.request_id, 128),
            endpoint: m(&self.endpoint, 300),
            action: o(&self.action, 32),
            incident_id: o(&self.incident_id, 64),
            summary: t(&self.summary, 3000),
            timestamp_ms: self.timestamp_ms,
            link: o(&self.link, 500),
        }
    }
}

pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
