//! The node's inline engine: the [`Inspector`] the gateway carries.
//!
//! Order is the product's promise: the allowlist first (an allowlisted client
//! is never inspected), then the actor decision published by analysis (a
//! blocked actor is stopped before anything else is spent on it), then the
//! detection engine on the head and the body, then the schema check on the
//! body (the compiled schema analysis publishes; `[schema]`). Everything here
//! reads in-memory snapshots; nothing waits on analysis or storage.

use std::sync::Arc;

use arc_swap::ArcSwap;
use palisade_actors::{DecisionSnapshot, request_keys};
use palisade_core::{
    Exchange, Finding, InspectError, Inspector, KeyedHasher, Phase, Severity, Verdict, now_ms,
};

/// See the module documentation.
pub struct NodeEngine {
    pub hasher: KeyedHasher,
    pub decisions: Arc<ArcSwap<DecisionSnapshot>>,
    /// Decisions taken by the other gateways of a cluster (`[cluster]`),
    /// consulted after this node's own; the stronger verdict wins.
    pub remote: Option<Arc<ArcSwap<DecisionSnapshot>>>,
    /// The detection engine (`None` runs actor decisions only). The whole
    /// `NodeEngine` is rebuilt and swapped when rules are reloaded.
    pub detect: Option<Arc<dyn Inspector>>,
    /// The compiled schema (declared and learned), published by analysis.
    pub schema: Arc<ArcSwap<palisade_catalog::SchemaSnapshot>>,
}

impl NodeEngine {
    fn allowlisted(&self, ex: &Exchange) -> bool {
        let keys = request_keys(ex, &self.hasher);
        self.decisions.load().is_allowlisted(&keys)
    }
}

impl Inspector for NodeEngine {
    fn name(&self) -> &'static str {
        "node"
    }

    fn request_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        let keys = request_keys(ex, &self.hasher);
        let snapshot = self.decisions.load();
        let now = now_ms();
        let mut decision = snapshot.decide(&keys, now);
        if let Some(remote) = &self.remote
            && decision
                .as_ref()
                .is_none_or(|d| d.verdict != Verdict::Allow)
            && let Some(r) = remote.load().decide(&keys, now)
            && decision
                .as_ref()
                .is_none_or(|d| r.verdict.action() > d.verdict.action())
        {
            decision = Some(r);
        }
        if let Some(d) = decision {
            if snapshot.is_allowlisted(&keys) {
                return Ok(Verdict::Allow);
            }
            if d.verdict != Verdict::Allow {
                let kind = match d.verdict {
                    Verdict::Block { .. } => "block",
                    Verdict::RateLimit { .. } => "rate_limit",
                    Verdict::Tarpit { .. } => "tarpit",
                    _ => "watch",
                };
                ex.findings.push(
                    Finding::new("actor", &format!("actor.{kind}"), "actor")
                        .fragment(&d.actor_name)
                        .severity(Severity::High)
                        .confidence(90)
                        .phase(Phase::Abuse)
                        .message(format!(
                            "actor {} is under a {kind} decision: {}",
                            d.actor_name, d.reason
                        )),
                );
                if d.verdict.is_stop() {
                    return Ok(d.verdict);
                }
                let v = d.verdict.clone();
                let detect = match &self.detect {
                    Some(e) => e.request_filter(ex)?,
                    None => Verdict::Allow,
                };
                return Ok(v.max(detect));
            }
        }
        match &self.detect {
            Some(e) => e.request_filter(ex),
            None => Ok(Verdict::Allow),
        }
    }

    fn request_body_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        let schema = self.schema.load();
        if (self.detect.is_none() && schema.is_empty()) || self.allowlisted(ex) {
            return Ok(Verdict::Allow);
        }
        let v = match &self.detect {
            Some(e) => e.request_body_filter(ex)?,
            None => Verdict::Allow,
        };
        if v.is_stop() {
            return Ok(v);
        }
        Ok(v.max(schema.check(ex)))
    }

    fn response_filter(&self, ex: &mut Exchange) -> Result<(), InspectError> {
        match &self.detect {
            Some(e) => e.response_filter(ex),
            None => Ok(()),
        }
    }
}

/// Loads the installation's hashing key from the data directory, creating it
/// (random, mode 0600) on first start. Losing it only unlinks old hashes.
pub fn load_or_create_key(data_dir: &std::path::Path) -> anyhow::Result<KeyedHasher> {
    use anyhow::Context as _;
    let path = data_dir.join("hash.key");
    if let Ok(bytes) = std::fs::read(&path) {
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!(
                "{} is not a 32-byte key (fix: delete it; a new one is made at start)",
                path.display()
            )
        })?;
        return Ok(KeyedHasher::new(key));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let key: [u8; 32] = rand::random();
    let tmp = data_dir.join("hash.key.tmp");
    std::fs::write(&tmp, key).with_context(|| format!("writing {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(KeyedHasher::new(key))
}

/// The sink for passive sources: runs the detection engine on each exchange
/// (recording, never enforcing), then offers it to analysis.
pub struct InspectingSink<S> {
    pub engine: Arc<palisade_detect::Engine>,
    pub sink: S,
}

impl<S: palisade_core::ExchangeSink> palisade_core::ExchangeSink for InspectingSink<S> {
    fn offer(&self, mut ex: Exchange) -> bool {
        passive_inspect(&self.engine, &mut ex);
        self.sink.offer(ex)
    }
}

/// Detection on an exchange that was observed, not intercepted.
pub fn passive_inspect(engine: &palisade_detect::Engine, ex: &mut Exchange) {
    if ex.findings.is_empty() {
        ex.verdict = engine.inspect(ex);
    }
    ex.enforced = false;
}
