//! [`DecisionSnapshot`]: the immutable table of actor decisions that analysis
//! publishes (through `arc-swap`) and the inline path reads without waiting.
//!
//! Lookup order in [`DecisionSnapshot::decide`]: the allowlist; then the
//! request's strong keys (session, token, API key, device id); then the
//! actor's own IP + fingerprint combination; then the fingerprint of a
//! campaign that is blocked by its rare fingerprint. A bare IP, a /24 or a
//! common fingerprint never selects a decision on its own.

use std::sync::Arc;

use palisade_core::{ActorKey, Verdict};

use crate::config::Allowlist;
use crate::ids::{ActorId, CampaignId};
use crate::keys::{combo_hash, fingerprint_of, ip_of, strong_hash};
use crate::sketch::IdMap;

/// What the inline path should do with a request from a known actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The actor; for a campaign-wide decision, the campaign's id as an actor id.
    pub actor_id: ActorId,
    pub actor_name: String,
    /// `RateLimit`, `Tarpit` or `Block`; `Allow` when the request is allowlisted.
    pub verdict: Verdict,
    /// The decision holds until then (`i64::MAX` for the allowlist).
    pub until_ms: i64,
    pub reason: String,
    /// Set when the decision is the campaign's (a member key or its fingerprint).
    pub campaign_id: Option<CampaignId>,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub allow: Arc<Allowlist>,
    pub by_key: IdMap<u64, u32>,
    pub by_fp: IdMap<u64, u32>,
    pub entries: Vec<Decision>,
    pub built_ms: i64,
}

/// An immutable table of actor decisions. Cheap to clone (one `Arc`).
#[derive(Debug, Clone, Default)]
pub struct DecisionSnapshot {
    inner: Arc<Inner>,
}

impl DecisionSnapshot {
    /// A snapshot that decides nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// How many decisions it holds.
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    /// When analysis built it.
    pub fn built_ms(&self) -> i64 {
        self.inner.built_ms
    }

    /// Whether the keys match the allowlist.
    pub fn is_allowlisted(&self, keys: &[ActorKey]) -> bool {
        self.inner.allow.matches(keys)
    }

    /// The decision for a request's keys, if any. An allowlisted request gets
    /// `Verdict::Allow` (skip everything else); an unknown or harmless one
    /// `None`. Of several matching decisions the strongest wins.
    pub fn decide(&self, keys: &[ActorKey], now_ms: i64) -> Option<Decision> {
        let inner = &*self.inner;
        if inner.allow.matches(keys) {
            return Some(Decision {
                actor_id: ActorId(0),
                actor_name: String::new(),
                verdict: Verdict::Allow,
                until_ms: i64::MAX,
                reason: "allowlisted".into(),
                campaign_id: None,
            });
        }
        if inner.entries.is_empty() {
            return None;
        }
        let mut best: Option<&Decision> = None;
        let mut consider = |idx: Option<&u32>| {
            if let Some(d) = idx.and_then(|i| inner.entries.get(*i as usize))
                && d.until_ms > now_ms
                && best.is_none_or(|b| d.verdict.action() > b.verdict.action())
            {
                best = Some(d);
            }
        };
        for k in keys {
            if let Some(h) = strong_hash(k) {
                consider(inner.by_key.get(&h));
            }
        }
        let fp = fingerprint_of(keys);
        consider(inner.by_key.get(&combo_hash(ip_of(keys), fp)));
        consider(inner.by_fp.get(&fp));
        best.cloned()
    }
}
