//! [`ActorsConfig`]: thresholds, durations, the allowlist and the detectors'
//! settings, validated by [`ActorsConfig::build`] into an [`ActorTracker`].
//! Every problem is reported at once, each naming the field and the fix.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;
use palisade_core::{ActorKey, HashId, KeyedHasher};
use serde::{Deserialize, Serialize};

use crate::ActorsError;
use crate::detectors::DetectorsConfig;
use crate::keys::strong_hash;
use crate::tracker::ActorTracker;

/// Risk levels at which each response starts, and how long blocks last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseConfig {
    /// Recorded and shown, nothing enforced.
    pub watch_at: u8,
    /// 429 with `Retry-After`.
    pub rate_limit_at: u8,
    /// Forwarded after a delay.
    pub tarpit_at: u8,
    /// 403 for `block_secs`.
    pub block_at: u8,
    pub retry_after_secs: u64,
    pub tarpit_delay_ms: u64,
    pub block_secs: u64,
    /// After this many blocks within `deny_window_secs` the actor is denied for
    /// `deny_secs`.
    pub deny_after_blocks: u32,
    pub deny_window_secs: u64,
    pub deny_secs: u64,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        Self {
            watch_at: 25,
            rate_limit_at: 50,
            tarpit_at: 65,
            block_at: 80,
            retry_after_secs: 60,
            tarpit_delay_ms: 2_000,
            block_secs: 900,
            deny_after_blocks: 3,
            deny_window_secs: 86_400,
            deny_secs: 86_400,
        }
    }
}

/// How much a finding of each phase weighs in the risk score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhaseWeights {
    pub recon: f32,
    pub probing: f32,
    pub exploitation: f32,
    pub abuse: f32,
}

impl Default for PhaseWeights {
    fn default() -> Self {
        Self {
            recon: 0.5,
            probing: 1.0,
            exploitation: 1.5,
            abuse: 1.5,
        }
    }
}

/// The actors configuration (the `[actors]` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActorsConfig {
    /// At most this many actors are tracked; the least recently seen, least
    /// risky are evicted first (actors under an active block last).
    pub max_actors: usize,
    pub max_campaigns: usize,
    /// Bound of each global counter map (per fingerprint, account, BIN, endpoint).
    pub max_tracked_keys: usize,
    /// Risk halves every `half_life_secs` without new findings.
    pub half_life_secs: u64,
    /// The most one request can add to an actor's risk.
    pub max_risk_per_request: u8,
    /// A phase is the actor's current phase for this long after its last finding.
    pub phase_window_secs: u64,
    pub phase_weights: PhaseWeights,
    pub responses: ResponseConfig,
    /// A fingerprint is rare when at most this share of the actors seen with
    /// it are established customers (a strong identifier and a successful
    /// answer without findings). Only a campaign on a rare fingerprint is
    /// blocked by it, and there one suspicious act suffices to join it.
    pub rare_fingerprint_max_good_share: f32,
    /// Whether a campaign on a rare fingerprint is blocked by that fingerprint
    /// (catching its next, never-seen IPs).
    pub fingerprint_blocks: bool,
    /// Checked before everything else: IPs (`192.0.2.7`), networks
    /// (`10.0.0.0/8`), hashed identifiers (`token:0123456789abcdef`, also
    /// `api_key:`, `session:`, `device:`) or raw ones hashed at build time
    /// (`token=VALUE`, `api_key=VALUE`).
    pub allowlist: Vec<String>,
    pub detectors: DetectorsConfig,
    /// When false, actors are tracked, scored and shown, but no decision
    /// reaches the gateway (a watch-only rollout, or replaying a corpus from
    /// one address). The allowlist still applies.
    pub enforce: bool,
}

impl Default for ActorsConfig {
    fn default() -> Self {
        Self {
            max_actors: 1_000_000,
            max_campaigns: 10_000,
            max_tracked_keys: 200_000,
            half_life_secs: 900,
            max_risk_per_request: 40,
            phase_window_secs: 1_800,
            phase_weights: PhaseWeights::default(),
            responses: ResponseConfig::default(),
            rare_fingerprint_max_good_share: 0.05,
            fingerprint_blocks: true,
            allowlist: Vec::new(),
            detectors: DetectorsConfig::default(),
            enforce: true,
        }
    }
}

/// The parsed allowlist.
#[derive(Debug, Default, Clone)]
pub(crate) struct Allowlist {
    pub nets: Vec<IpNet>,
    pub keys: HashSet<u64>,
}

impl Allowlist {
    pub(crate) fn matches(&self, keys: &[ActorKey]) -> bool {
        if self.nets.is_empty() && self.keys.is_empty() {
            return false;
        }
        keys.iter().any(|k| match k {
            ActorKey::Ip(ip) => self.nets.iter().any(|n| n.contains(ip)),
            _ => strong_hash(k).is_some_and(|h| self.keys.contains(&h)),
        })
    }
}

fn key_of(kind: &str, h: HashId) -> Option<ActorKey> {
    Some(match kind {
        "token" => ActorKey::Token(h),
        "api_key" => ActorKey::ApiKey(h),
        "session" => ActorKey::Session(h),
        "device" => ActorKey::Device(h),
        _ => return None,
    })
}

fn parse_allow(entry: &str, hasher: &KeyedHasher) -> Result<Allow, String> {
    let e = entry.trim();
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Ok(Allow::Net(IpNet::from(ip)));
    }
    if let Ok(net) = e.parse::<IpNet>() {
        return Ok(Allow::Net(net.trunc()));
    }
    if let Some((kind, raw)) = e.split_once('=') {
        let kind = kind.trim();
        let h = hasher.hash_str(kind, raw);
        return key_of(kind, h)
            .and_then(|k| strong_hash(&k))
            .map(Allow::Key)
            .ok_or_else(|| format!("allowlist entry `{e}`: unknown kind `{kind}` (use token, api_key, session or device)"));
    }
    if let Some((kind, hex)) = e.split_once(':') {
        let kind = kind.trim();
        let h = hex.trim().parse::<HashId>().map_err(|_| {
            format!("allowlist entry `{kind}:{hex}`: the hash must be 16 hex digits")
        })?;
        return key_of(kind, h)
            .and_then(|k| strong_hash(&k))
            .map(Allow::Key)
            .ok_or_else(|| format!("allowlist entry `{e}`: unknown kind `{kind}` (use token, api_key, session or device)"));
    }
    Err(format!(
        "allowlist entry `{e}`: expected an IP, a CIDR network, `token:<16 hex>` or `token=<raw value>`"
    ))
}

enum Allow {
    Net(IpNet),
    Key(u64),
}

impl ActorsConfig {
    /// Validates the configuration and builds the tracker. All problems are
    /// reported together.
    pub fn build(&self, hasher: KeyedHasher) -> Result<ActorTracker, ActorsError> {
        let mut errs = Vec::new();
        let allow = self.validate(&hasher, &mut errs);
        if !errs.is_empty() {
            return Err(ActorsError::Config(errs));
        }
        Ok(ActorTracker::new(self.clone(), hasher, allow))
    }

    fn validate(&self, hasher: &KeyedHasher, errs: &mut Vec<String>) -> Allowlist {
        if self.max_actors == 0 {
            errs.push("max_actors = 0: must be at least 1".into());
        }
        if self.max_campaigns == 0 {
            errs.push("max_campaigns = 0: must be at least 1".into());
        }
        if self.max_tracked_keys < 8 {
            errs.push(format!(
                "max_tracked_keys = {}: must be at least 8",
                self.max_tracked_keys
            ));
        }
        if self.half_life_secs == 0 {
            errs.push("half_life_secs = 0: must be at least 1 (risk would vanish at once)".into());
        }
        if self.max_risk_per_request == 0 || self.max_risk_per_request > 100 {
            errs.push(format!(
                "max_risk_per_request = {}: must be 1 to 100",
                self.max_risk_per_request
            ));
        }
        let w = &self.phase_weights;
        for (n, v) in [
            ("recon", w.recon),
            ("probing", w.probing),
            ("exploitation", w.exploitation),
            ("abuse", w.abuse),
        ] {
            if !(0.0..=10.0).contains(&v) || v.is_nan() {
                errs.push(format!("phase_weights.{n} = {v}: must be between 0 and 10"));
            }
        }
        if !(0.0..=1.0).contains(&self.rare_fingerprint_max_good_share)
            || self.rare_fingerprint_max_good_share.is_nan()
        {
            errs.push(format!(
                "rare_fingerprint_max_good_share = {}: must be between 0 and 1",
                self.rare_fingerprint_max_good_share
            ));
        }
        let r = &self.responses;
        let levels = [
            ("watch_at", r.watch_at),
            ("rate_limit_at", r.rate_limit_at),
            ("tarpit_at", r.tarpit_at),
            ("block_at", r.block_at),
        ];
        for (n, v) in levels {
            if v == 0 || v > 100 {
                errs.push(format!("responses.{n} = {v}: must be 1 to 100"));
            }
        }
        for pair in levels.windows(2) {
            if pair[0].1 > pair[1].1 {
                errs.push(format!(
                    "responses.{} = {} is above responses.{} = {}: levels must rise watch <= rate_limit <= tarpit <= block",
                    pair[0].0, pair[0].1, pair[1].0, pair[1].1
                ));
            }
        }
        if r.block_secs == 0 {
            errs.push("responses.block_secs = 0: must be at least 1".into());
        }
        if r.deny_after_blocks == 0 {
            errs.push("responses.deny_after_blocks = 0: must be at least 1".into());
        }
        if r.retry_after_secs == 0 {
            errs.push("responses.retry_after_secs = 0: must be at least 1".into());
        }
        self.detectors.validate(errs);
        let mut allow = Allowlist::default();
        for e in &self.allowlist {
            match parse_allow(e, hasher) {
                Ok(Allow::Net(n)) => allow.nets.push(n),
                Ok(Allow::Key(k)) => {
                    allow.keys.insert(k);
                }
                Err(m) => errs.push(m),
            }
        }
        allow
    }
}
