//! What the inline path decides for a request.
//!
//! A verdict is a value, not an error: blocking is a normal outcome. `Err`
//! anywhere in the engine means the system failed (and the gateway then fails
//! open or closed as configured).

use serde::{Deserialize, Serialize};

/// The action taken (or that would have been taken in detect-only mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Log,
    Tarpit,
    RateLimit,
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Log => "log",
            Action::Tarpit => "tarpit",
            Action::RateLimit => "rate_limit",
            Action::Block => "block",
        }
    }
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Verdict {
    /// Forward the request.
    #[default]
    Allow,
    /// Forward, but record that something was noticed.
    Log { reason: String },
    /// Forward after a delay.
    Tarpit { delay_ms: u64, reason: String },
    /// Answer 429 with `Retry-After`.
    RateLimit {
        retry_after_secs: u64,
        reason: String,
    },
    /// Answer 403 (or `status`).
    Block { status: u16, reason: String },
}

impl Verdict {
    pub fn block(reason: impl Into<String>) -> Self {
        Verdict::Block {
            status: 403,
            reason: reason.into(),
        }
    }

    pub fn action(&self) -> Action {
        match self {
            Verdict::Allow => Action::Allow,
            Verdict::Log { .. } => Action::Log,
            Verdict::Tarpit { .. } => Action::Tarpit,
            Verdict::RateLimit { .. } => Action::RateLimit,
            Verdict::Block { .. } => Action::Block,
        }
    }

    /// Whether the request is stopped (not forwarded).
    pub fn is_stop(&self) -> bool {
        matches!(self, Verdict::Block { .. } | Verdict::RateLimit { .. })
    }

    /// The stronger of two verdicts (block > rate-limit > tarpit > log > allow).
    pub fn max(self, other: Verdict) -> Verdict {
        if other.action() > self.action() {
            other
        } else {
            self
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Allow => None,
            Verdict::Log { reason }
            | Verdict::Tarpit { reason, .. }
            | Verdict::RateLimit { reason, .. }
            | Verdict::Block { reason, .. } => Some(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_prefers_the_stronger_action() {
        let log = Verdict::Log { reason: "x".into() };
        let block = Verdict::block("sqli");
        assert_eq!(log.clone().max(block.clone()), block);
        assert_eq!(block.clone().max(log.clone()), block);
        assert_eq!(Verdict::Allow.max(log.clone()), log);
        assert!(block.is_stop());
        assert!(!log.is_stop());
    }

    #[test]
    fn serialises_with_an_action_tag() {
        let v = serde_json::to_value(Verdict::block("x")).unwrap();
        assert_eq!(v["action"], "block");
        assert_eq!(v["status"], 403);
    }
}
