//! Configuration of the detection engine (`DetectConfig`), validated by
//! [`DetectConfig::build`] into a runtime [`crate::Engine`].
//!
//! The config is plain data read from the operator's file; it holds no
//! compiled state. Defaults are tuned for JSON APIs: `balanced` sensitivity,
//! bounds that fit payment traffic with room to spare.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How readily the engine blocks: the anomaly score at which a request is
/// blocked. See `docs/detection.md`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Blocks only near-certain attacks (score ≥ 9).
    Low,
    /// The default for APIs (score ≥ 7): one confident high-severity finding.
    #[default]
    Balanced,
    /// Score ≥ 5: one medium finding blocks.
    High,
    /// Score ≥ 3: any low finding blocks; expect false positives.
    Paranoid,
}

impl Sensitivity {
    /// The score at or above which a request is blocked.
    pub fn threshold(self) -> u32 {
        match self {
            Sensitivity::Low => 9,
            Sensitivity::Balanced => 7,
            Sensitivity::High => 5,
            Sensitivity::Paranoid => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Low => "low",
            Sensitivity::Balanced => "balanced",
            Sensitivity::High => "high",
            Sensitivity::Paranoid => "paranoid",
        }
    }
}

/// Bounds on extraction and decoding. What exceeds one is a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Body bytes inspected; the rest is reported (`limits.body`).
    pub max_body: usize,
    /// Values extracted from one request.
    pub max_values: usize,
    /// Bytes of one value inspected.
    pub max_value_len: usize,
    /// JSON / XML nesting depth.
    pub max_depth: usize,
    /// Headers inspected.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 1024 * 1024,
            max_values: 2048,
            max_value_len: 64 * 1024,
            max_depth: 64,
            max_headers: 128,
        }
    }
}

/// A finding to ignore, scoped as narrowly as the operator needs. Every field
/// given must match; a finding matched by any exclusion is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    /// Gateway route name.
    #[serde(default)]
    pub route: Option<String>,
    /// Endpoint: path, exact or with a trailing `*` as prefix (`/v1/notes/*`).
    #[serde(default)]
    pub path: Option<String>,
    /// HTTP method.
    #[serde(default)]
    pub method: Option<String>,
    /// Finding location (`body.note`, `query.q`, `header.x-*`); `*` matches any run.
    #[serde(default)]
    pub location: Option<String>,
    /// Rule id or detector kind (`xss`, `sqli.lexer`, `user.block-admin`), `*` allowed.
    #[serde(default)]
    pub rule: Option<String>,
}

/// The detection engine's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    pub sensitivity: Sensitivity,
    pub limits: Limits,
    pub exclusions: Vec<Exclusion>,
    /// User rule files (`.toml`, `.yaml`, `.yml`).
    pub rules: Vec<PathBuf>,
    /// Sensitivity per gateway route name, overriding `sensitivity`.
    pub route_sensitivity: BTreeMap<String, Sensitivity>,
    /// Whether the built-in rules are loaded.
    pub builtin_rules: bool,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            sensitivity: Sensitivity::Balanced,
            limits: Limits::default(),
            exclusions: Vec::new(),
            rules: Vec::new(),
            route_sensitivity: BTreeMap::new(),
            builtin_rules: true,
        }
    }
}

/// Glob match with `*` as "any run of characters"; case-sensitive.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    if pieces.is_empty() {
        return rest.is_empty();
    }
    for (i, p) in pieces.iter().enumerate() {
        if i == pieces.len() - 1 {
            return rest.ends_with(p);
        }
        match rest.find(p) {
            Some(at) => rest = &rest[at + p.len()..],
            None => return false,
        }
    }
    true
}

impl Exclusion {
    pub(crate) fn matches(
        &self,
        route: Option<&str>,
        method: &str,
        path: &str,
        rule_id: &str,
        kind: &str,
        location: &str,
    ) -> bool {
        if let Some(r) = &self.route
            && route != Some(r.as_str())
        {
            return false;
        }
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        if let Some(p) = &self.path
            && !glob(p, path)
        {
            return false;
        }
        if let Some(l) = &self.location
            && !glob(l, location)
        {
            return false;
        }
        if let Some(r) = &self.rule
            && !(glob(r, rule_id) || glob(r, kind))
        {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob("/v1/notes/*", "/v1/notes/12"));
        assert!(!glob("/v1/notes/*", "/v1/note"));
        assert!(glob("header.x-*", "header.x-trace"));
        assert!(glob("body.items.*.name", "body.items.3.name"));
        assert!(glob("xss", "xss"));
        assert!(!glob("xss", "xss.lexer"));
        assert!(glob("*", "anything"));
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let c: Result<DetectConfig, _> = toml::from_str("sensitivity = \"high\"\nsensitivty = 1\n");
        assert!(c.is_err());
        let c: DetectConfig = toml::from_str("sensitivity = \"paranoid\"\n[[exclusions]]\npath = \"/v1/notes/*\"\nlocation = \"body.text\"\n").unwrap();
        assert_eq!(c.sensitivity, Sensitivity::Paranoid);
        assert_eq!(c.exclusions.len(), 1);
    }
}
