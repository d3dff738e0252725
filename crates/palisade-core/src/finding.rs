//! [`Finding`]: one thing an analyser noticed about a request or an actor.
//!
//! A finding explains itself: which detector or rule, where in the request
//! (`query.q`, `body.card.number`, `header.user-agent`), a masked fragment of
//! the value, and how much it weighs.

use serde::{Deserialize, Serialize};

use crate::masked::Masked;

/// The phase of an attack a finding belongs to, in the order attacks progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Mapping the target: scanners, probe paths, 404 bursts.
    Recon,
    /// Testing whether something works: single payloads, malformed input.
    Probing,
    /// Real attempts to exploit: injection that would work, traversal to files.
    Exploitation,
    /// Using the API as designed, at scale, for harm: card testing, stuffing.
    Abuse,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Recon => "recon",
            Phase::Probing => "probing",
            Phase::Exploitation => "exploitation",
            Phase::Abuse => "abuse",
        }
    }
}

/// How bad a finding is if it is true.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Something noticed about a request or an actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The detector family: `sqli`, `xss`, `cmdi`, `card_testing`, ...
    pub kind: String,
    /// The rule or detector id that fired: `sqli.lexer`, `user.block-admin`.
    pub rule_id: String,
    /// Where in the request: `query.q`, `body.card.number`, `header.user-agent`,
    /// `path`, `actor` for findings about behaviour rather than one value.
    pub location: String,
    /// A masked fragment of the offending value.
    pub fragment: Masked,
    /// Anomaly points this finding adds to the request's score.
    pub score: u32,
    pub severity: Severity,
    /// 0-100: how sure the detector is.
    pub confidence: u8,
    pub phase: Phase,
    /// One plain sentence.
    pub message: String,
}

impl Finding {
    /// A finding with the given identity; the other fields take neutral
    /// defaults and are set with the builder methods.
    pub fn new(kind: &str, rule_id: &str, location: &str) -> Self {
        Self {
            kind: kind.to_string(),
            rule_id: rule_id.to_string(),
            location: location.to_string(),
            fragment: Masked::default(),
            score: 0,
            severity: Severity::Medium,
            confidence: 50,
            phase: Phase::Probing,
            message: String::new(),
        }
    }

    pub fn fragment(mut self, raw: &str) -> Self {
        self.fragment = Masked::truncated(raw, 120);
        self
    }
    pub fn score(mut self, score: u32) -> Self {
        self.score = score;
        self
    }
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }
    pub fn confidence(mut self, c: u8) -> Self {
        self.confidence = c.min(100);
        self
    }
    pub fn phase(mut self, p: Phase) -> Self {
        self.phase = p;
        self
    }
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = m.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_masked_and_bounded() {
        let f = Finding::new("sqli", "sqli.lexer", "body.card.number")
            .fragment(&format!("4111111111111111' OR 1=1-- {}", "x".repeat(500)));
        assert!(
            f.fragment
                .as_str()
                .starts_with("411111******1111' OR 1=1--")
        );
        assert!(f.fragment.as_str().chars().count() <= 121);
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("4111111111111111"));
    }
}
