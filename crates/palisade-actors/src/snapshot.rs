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

/// A decision with the index hashes that select it, as one gateway shares it
/// with the others (cluster mode). The hashes are the snapshot's own: the
/// strong keys and IP + fingerprint combinations of the actor (or of the
/// campaign's members), and the campaign's fingerprint when it is blocked by
/// it. They mean the same on every gateway that shares the installation key
/// (`hash.key`), and nothing without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedDecision {
    pub decision: Decision,
    pub keys: Vec<u64>,
    pub fingerprints: Vec<u64>,
}

impl DecisionSnapshot {
    /// Every decision with the hashes that select it (for sharing between
    /// gateways). The allowlist is not exported: each gateway has its own.
    pub fn export(&self) -> Vec<ExportedDecision> {
        let inner = &*self.inner;
        let mut out: Vec<ExportedDecision> = inner
            .entries
            .iter()
            .map(|d| ExportedDecision {
                decision: d.clone(),
                keys: Vec::new(),
                fingerprints: Vec::new(),
            })
            .collect();
        for (k, i) in inner.by_key.iter() {
            if let Some(e) = out.get_mut(*i as usize) {
                e.keys.push(*k);
            }
        }
        for (k, i) in inner.by_fp.iter() {
            if let Some(e) = out.get_mut(*i as usize) {
                e.fingerprints.push(*k);
            }
        }
        for e in &mut out {
            e.keys.sort_unstable();
            e.fingerprints.sort_unstable();
        }
        out
    }

    /// A snapshot of decisions received from other gateways, without an
    /// allowlist (the local snapshot answers that first). When two decisions
    /// claim one hash, the stronger verdict keeps it.
    pub fn from_exported(items: impl IntoIterator<Item = ExportedDecision>, built_ms: i64) -> Self {
        let mut inner = Inner {
            built_ms,
            ..Default::default()
        };
        for item in items {
            let idx = inner.entries.len() as u32;
            let action = item.decision.verdict.action();
            inner.entries.push(item.decision);
            let entries = &inner.entries;
            let stronger = |cur: Option<&u32>| {
                cur.and_then(|i| entries.get(*i as usize))
                    .is_none_or(|d| d.verdict.action() < action)
            };
            let mut put_key = Vec::new();
            for k in item.keys {
                if stronger(inner.by_key.get(&k)) {
                    put_key.push(k);
                }
            }
            let mut put_fp = Vec::new();
            for k in item.fingerprints {
                if stronger(inner.by_fp.get(&k)) {
                    put_fp.push(k);
                }
            }
            for k in put_key {
                inner.by_key.insert(k, idx);
            }
            for k in put_fp {
                inner.by_fp.insert(k, idx);
            }
        }
        Self::from_inner(inner)
    }
}
