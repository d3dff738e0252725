//! [`CatalogConfig`]: the catalog's settings as written by a user, validated
//! by [`CatalogConfig::build`] into a runtime [`Catalog`].
//!
//! Not here: the spec to compare with (imported at run time) and where the
//! catalog is persisted (the store's business).

use serde::{Deserialize, Serialize};

use crate::CatalogError;
use crate::catalog::Catalog;
use crate::template::Forced;

/// A user rule over paths: `pattern` is a path whose segments are literals,
/// `{name}` (a variable), `*` (any one segment, learned as usual) or, last,
/// `...` (any remaining segments, learned as usual).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    /// The host it applies to; every host when absent.
    #[serde(default)]
    pub host: Option<String>,
    pub pattern: String,
}

/// The catalog's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Distinct plain-string values under one parent beyond which they merge
    /// into one variable.
    pub string_cardinality: usize,
    /// The same for value-like strings (with digits, capitals, dots: `US`,
    /// `SUMMER24`), which merge sooner than lower-case words.
    pub value_cardinality: usize,
    /// Most endpoints kept; new ones beyond are counted and dropped.
    pub max_endpoints: usize,
    /// Most path-tree nodes over all hosts.
    pub max_nodes: usize,
    /// Most parameters kept per endpoint.
    pub max_params_per_endpoint: usize,
    /// Most data-class sightings (class and location) kept per endpoint.
    pub max_data_per_endpoint: usize,
    /// Most path segments considered.
    pub max_segments: usize,
    /// Requests an endpoint must have had before a new accepted auth scheme is
    /// reported as `auth_changed` (before, it is still being learned).
    pub auth_baseline_requests: u64,
    /// Whether responses 404/405/501 and enforced blocks may create endpoints
    /// (they update known endpoints either way). Off by default, so scanners
    /// do not fill the catalog with paths that do not exist.
    pub learn_from_not_found: bool,
    /// Paths whose `{var}` segments merge values into one variable.
    pub merge: Vec<PathRule>,
    /// Paths whose literal segments must stay literal (split from a variable).
    pub split: Vec<PathRule>,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self {
            string_cardinality: 12,
            value_cardinality: 4,
            max_endpoints: 20_000,
            max_nodes: 200_000,
            max_params_per_endpoint: 128,
            max_data_per_endpoint: 32,
            max_segments: 16,
            auth_baseline_requests: 20,
            learn_from_not_found: false,
            merge: Vec::new(),
            split: Vec::new(),
        }
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub host: Option<String>,
    pub segs: Vec<RuleSeg>,
    pub tail: bool,
    pub split: bool,
    pub literals: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum RuleSeg {
    Lit(String),
    Var(String),
    Any,
}

impl Rule {
    fn compile(r: &PathRule, split: bool, idx: usize, problems: &mut Vec<String>) -> Option<Rule> {
        let list = if split { "split" } else { "merge" };
        if !r.pattern.starts_with('/') {
            problems.push(format!(
                "{list}[{idx}].pattern `{}` must start with `/`",
                r.pattern
            ));
            return None;
        }
        let parts: Vec<&str> = r.pattern.split('/').filter(|s| !s.is_empty()).collect();
        let mut segs = Vec::new();
        let mut tail = false;
        for (i, p) in parts.iter().enumerate() {
            if *p == "..." {
                if i + 1 != parts.len() {
                    problems.push(format!("{list}[{idx}].pattern: `...` must be last"));
                    return None;
                }
                tail = true;
            } else if *p == "*" {
                segs.push(RuleSeg::Any);
            } else if p.starts_with('{') && p.ends_with('}') && p.len() > 2 {
                segs.push(RuleSeg::Var(p[1..p.len() - 1].to_string()));
            } else if p.contains(['{', '}']) {
                problems.push(format!(
                    "{list}[{idx}].pattern: segment `{p}` mixes text and a variable; use `{{name}}` alone"
                ));
                return None;
            } else {
                segs.push(RuleSeg::Lit((*p).to_string()));
            }
        }
        let literals = segs.iter().filter(|s| matches!(s, RuleSeg::Lit(_))).count();
        Some(Rule {
            host: r.host.as_ref().map(|h| crate::catalog::norm_host(Some(h))),
            segs,
            tail,
            split,
            literals,
        })
    }

    /// The forced pieces for `path` on `host`, when the rule matches.
    pub fn forced(&self, host: &str, segs: &[&str]) -> Option<Vec<Forced>> {
        if self.host.as_deref().is_some_and(|h| h != host) {
            return None;
        }
        if segs.len() < self.segs.len() || (!self.tail && segs.len() != self.segs.len()) {
            return None;
        }
        let mut out = Vec::with_capacity(segs.len());
        for (rs, s) in self.segs.iter().zip(segs) {
            match rs {
                RuleSeg::Lit(l) if l == s => out.push(Forced::Literal(l.clone())),
                RuleSeg::Lit(_) => return None,
                RuleSeg::Var(n) => out.push(Forced::Var(n.clone())),
                RuleSeg::Any => out.push(Forced::Free),
            }
        }
        Some(out)
    }
}

impl CatalogConfig {
    /// Validates the configuration (reporting every problem) into a catalog.
    pub fn build(&self) -> Result<Catalog, CatalogError> {
        let rules = self.validate()?;
        Ok(Catalog::new(self.clone(), rules))
    }

    pub(crate) fn validate(&self) -> Result<Vec<Rule>, CatalogError> {
        let mut problems = Vec::new();
        if self.string_cardinality < 2 {
            problems.push("string_cardinality must be at least 2".to_string());
        }
        if self.value_cardinality < 2 {
            problems.push("value_cardinality must be at least 2".to_string());
        }
        if self.max_endpoints == 0 {
            problems.push("max_endpoints must be at least 1".to_string());
        }
        if self.max_nodes < 16 {
            problems.push("max_nodes must be at least 16".to_string());
        }
        if self.max_segments == 0 || self.max_segments > 64 {
            problems.push("max_segments must be between 1 and 64".to_string());
        }
        let mut rules = Vec::new();
        for (i, r) in self.merge.iter().enumerate() {
            rules.extend(Rule::compile(r, false, i, &mut problems));
        }
        for (i, r) in self.split.iter().enumerate() {
            rules.extend(Rule::compile(r, true, i, &mut problems));
        }
        if problems.is_empty() {
            // most specific first; on a tie, split rules first
            rules.sort_by(|a, b| {
                (b.literals, b.segs.len(), b.split).cmp(&(a.literals, a.segs.len(), a.split))
            });
            Ok(rules)
        } else {
            Err(CatalogError::Config(problems))
        }
    }
}
