//! [`IncidentEngine`]: groups flagged exchanges into incidents.
//!
//! Grouping, in order of precedence:
//!
//! 1. the group's own incident, or the incident it was merged into (an
//!    **alias**: a merged key keeps routing to the survivor while it is
//!    active; the alias map is bounded by `max_aliases`);
//! 2. the **attack**: an exchange whose behavioural abuse finding (card
//!    testing, credential stuffing, ...) names the same kind on the same
//!    endpoint as an active incident within `target_window_ms` joins that
//!    incident, whatever campaign id or actor it comes with; recon from the
//!    same network (/24, /64) joins the network's scan incident. Two
//!    incidents found to be the same attack are merged;
//! 3. the actor's **campaign**, when the actors analyser linked it into one
//!    (an actor incident opened before the link is merged into it);
//! 4. a **target** incident, when at least `target_min_actors` distinct
//!    actors (or addresses) without a campaign sent flagged requests to one
//!    endpoint within `target_window_ms` (their single-endpoint incidents are
//!    merged into it; actors that also attack elsewhere keep their own);
//! 5. the **actor**;
//! 6. the **client address**, for findings with no actor attributed.
//!
//! When groups join, the incident keeps the key that says most about who is
//! behind it ([`GroupKey::rank`]): a campaign, else the target endpoint
//! (unrelated actors doing the same abuse on one endpoint), else the network
//! (several scanners of one network), else the actor.
//!
//! Only exchanges with findings (other than tags and info-level notes) or
//! that were stopped inline count. An incident stops grouping ("quiet") after
//! `quiet_after_ms` without activity, or when it is resolved or marked false
//! positive; later activity of the same group opens a new incident.
//!
//! Everything is bounded: open incidents (the least recently active is
//! quietened), kept inactive incidents (the oldest is dropped), and inside an
//! incident the actors, addresses, endpoints, kinds, timeline and evidence.
//! This module holds no clock and does no IO.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::IpAddr;

use palisade_core::{Exchange, Finding, Phase, Severity, Verdict};
use serde::{Deserialize, Serialize};

use crate::error::IncidentError;
use crate::lookup::{Lookup, fallback_template};
use crate::model::*;
use crate::narrative;
use crate::timefmt;

/// Engine settings. Zero values are raised to 1 when the engine is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// An incident without activity for this long stops grouping.
    pub quiet_after_ms: i64,
    /// Most incidents grouping at once; beyond, the least recently active
    /// is quietened.
    pub max_open: usize,
    /// Most inactive incidents kept (quiet, resolved, false positive); the
    /// oldest is dropped. Persist them elsewhere for longer history.
    pub max_closed: usize,
    /// Evidence kept per incident: the first request and the most severe.
    pub max_evidence: usize,
    /// Timeline entries per incident; status changes are always kept.
    pub max_timeline: usize,
    /// Distinct actors on one endpoint that make a target incident (2-256).
    pub target_min_actors: usize,
    /// The window in which they are counted.
    pub target_window_ms: i64,
    /// Endpoints whose actors are counted at once.
    pub max_targets: usize,
    /// Finding kinds that never make or feed an incident.
    pub ignore_kinds: Vec<String>,
    /// Findings below this severity are ignored.
    pub min_severity: Severity,
    /// Merged or joined group keys remembered (each routes to the incident
    /// it joined); the oldest is forgotten first.
    pub max_aliases: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            quiet_after_ms: 30 * 60_000,
            max_open: 1000,
            max_closed: 2000,
            max_evidence: 6,
            max_timeline: 64,
            target_min_actors: 8,
            target_window_ms: 10 * 60_000,
            max_targets: 512,
            ignore_kinds: vec!["tag".into()],
            min_severity: Severity::Low,
            max_aliases: 4096,
        }
    }
}

const MAX_ACTORS: usize = 32;
const MAX_IPS: usize = 64;
const MAX_SET: usize = 4096;
const MAX_FPS: usize = 16;
const MAX_UAS: usize = 8;
const MAX_ENDPOINTS: usize = 64;
const MAX_KINDS: usize = 32;
const MAX_CAMPAIGNS: usize = 16;
const MAX_NOTES: usize = 200;
const MAX_TARGET_KEYS: usize = 256;
/// The finding kind the inline path adds for an actor under a decision.
const DECISION_KIND: &str = "actor";

/// Per-incident state that is not shown: distinct sets for counting.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Internals {
    ips: HashSet<IpAddr>,
    actors: HashSet<String>,
    /// Processing time (`now_ms`) of the last activity: what quietening
    /// compares with, so that replayed old traffic groups as live traffic.
    #[serde(default)]
    active_ms: i64,
}

/// What makes two groups one attack.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AttackSig {
    /// A behavioural abuse kind (card testing, credential stuffing, ...)
    /// against one endpoint (`METHOD template`).
    Abuse { kind: String, ep: String },
    /// Recon (scanners, probing paths) from one network.
    Recon { net: String },
}

impl AttackSig {
    /// The key a group of unrelated actors doing this attack gets.
    fn group_key(&self) -> GroupKey {
        match self {
            AttackSig::Abuse { ep, .. } => GroupKey::Target(ep.clone()),
            AttackSig::Recon { net } => GroupKey::Network(net.clone()),
        }
    }

    fn describe(&self) -> String {
        match self {
            AttackSig::Abuse { kind, ep } => {
                format!("{} on {ep}", narrative::kind_label(kind).to_lowercase())
            }
            AttackSig::Recon { net } => format!("recon from {net}"),
        }
    }
}

/// The network of an address: /24 for IPv4, /64 for IPv6 (as the actors
/// crate's network keys).
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Distinct groups that hit one endpoint recently.
#[derive(Debug, Default)]
struct TargetWindow {
    keys: HashMap<GroupKey, i64>,
    last_ms: i64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct IncidentEngine {
    cfg: EngineConfig,
    next_seq: u64,
    incidents: BTreeMap<u64, Incident>,
    internals: HashMap<u64, Internals>,
    /// Active incidents by group.
    open: HashMap<GroupKey, u64>,
    /// Inactive incidents, oldest first (may hold stale entries).
    inactive: VecDeque<u64>,
    targets: HashMap<String, TargetWindow>,
    /// Endpoints in `targets`, oldest first.
    target_order: VecDeque<String>,
    /// Incidents whose summary and next steps are out of date.
    dirty: HashSet<u64>,
    /// Active incidents by (last activity, seq): the oldest first, for
    /// quietening in O(log n).
    activity: BTreeSet<(i64, u64)>,
    /// Exchanges ignored because nothing in them counts.
    ignored: u64,
    /// Keys of merged or joined groups → the incident they now feed.
    aliases: HashMap<GroupKey, u64>,
    /// Keys in `aliases`, oldest first (may hold stale entries).
    alias_order: VecDeque<GroupKey>,
    /// The incident each recent attack feeds, with when it last did
    /// (processing time).
    attacks: HashMap<AttackSig, (u64, i64)>,
    /// Keys in `attacks`, oldest first (may hold stale entries).
    attack_order: VecDeque<AttackSig>,
}

/// What the engine holds, for the console and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EngineStats {
    pub open: usize,
    pub kept: usize,
    pub ignored: u64,
    pub next_seq: u64,
    /// Merged or joined group keys remembered (at most `max_aliases`).
    pub aliases: usize,
    /// Recent attacks remembered (at most `max_targets`).
    pub attacks: usize,
}

#[derive(Serialize, Deserialize)]
struct SnapshotRepr {
    version: u32,
    next_seq: u64,
    incidents: Vec<Incident>,
    #[serde(default)]
    internals: Vec<(String, Internals)>,
    /// Merged group keys and the incident they route to.
    #[serde(default)]
    aliases: Vec<(GroupKey, String)>,
}

impl Default for IncidentEngine {
    fn default() -> Self {
        Self::new(EngineConfig::default())
    }
}

/// Facts about one exchange, computed once.
struct Seen<'a> {
    ex: &'a Exchange,
    findings: Vec<&'a Finding>,
    stopped: bool,
    success: bool,
    method: String,
    endpoint: String,
    ep_key: String,
    template_known: bool,
}

impl Seen<'_> {
    fn top(&self) -> Option<&Finding> {
        self.findings
            .iter()
            .copied()
            .max_by_key(|f| (f.severity, f.phase, f.score))
    }
}

impl IncidentEngine {
    pub fn new(mut cfg: EngineConfig) -> Self {
        cfg.max_open = cfg.max_open.max(1);
        cfg.max_closed = cfg.max_closed.max(1);
        cfg.max_evidence = cfg.max_evidence.max(1);
        cfg.max_timeline = cfg.max_timeline.max(4);
        cfg.target_min_actors = cfg.target_min_actors.clamp(2, MAX_TARGET_KEYS);
        cfg.max_targets = cfg.max_targets.max(1);
        cfg.quiet_after_ms = cfg.quiet_after_ms.max(1);
        cfg.max_aliases = cfg.max_aliases.max(1);
        Self {
            cfg,
            next_seq: 1,
            incidents: BTreeMap::new(),
            internals: HashMap::new(),
            open: HashMap::new(),
            inactive: VecDeque::new(),
            targets: HashMap::new(),
            target_order: VecDeque::new(),
            dirty: HashSet::new(),
            activity: BTreeSet::new(),
            ignored: 0,
            aliases: HashMap::new(),
            alias_order: VecDeque::new(),
            attacks: HashMap::new(),
            attack_order: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Groups one analysed exchange. Returns what changed (opened,
    /// escalated, first success, merged), in order.
    pub fn observe(
        &mut self,
        ex: &Exchange,
        lookup: &dyn Lookup,
        now_ms: i64,
    ) -> Vec<IncidentEvent> {
        let mut events = Vec::new();
        let findings: Vec<&Finding> = ex
            .findings
            .iter()
            .filter(|f| {
                f.severity >= self.cfg.min_severity && !self.cfg.ignore_kinds.contains(&f.kind)
            })
            .collect();
        let stopped = ex.enforced && ex.verdict.is_stop();
        if findings.is_empty() && !stopped {
            self.ignored += 1;
            return events;
        }
        let path = ex.request.path();
        let method: String = ex.request.method.chars().take(16).collect();
        let host = ex.request.host.as_deref();
        let (endpoint, template_known) = match lookup.template(host, &method, path) {
            Some(t) => (t, true),
            None => (fallback_template(path), false),
        };
        let ep_key = format!("{method} {endpoint}");
        let success = !stopped && ex.status().is_some_and(|s| (200..300).contains(&s));
        let seen = Seen {
            ex,
            findings,
            stopped,
            success,
            method,
            endpoint,
            ep_key,
            template_known,
        };

        self.expire_quiet(now_ms, &mut events);

        let base = base_key(ex);
        let sig = attack_sig(&seen);
        let own = self.resolve(&base);
        let owner = sig.as_ref().and_then(|s| self.sig_owner(s, now_ms));
        // merges wait until the exchange is absorbed, so that a new
        // incident's `Opened` event comes first and carries its request
        let mut to_merge: Vec<u64> = Vec::new();
        let seq = match (own, owner) {
            (Some(seq), _) => seq,
            // a new group doing what an open incident's groups do: the same
            // attack (another campaign id of one botnet, an actor not yet
            // linked, a second scanner of one network)
            (None, Some(o)) => self.join(o, &base, sig.as_ref(), &seen, now_ms, &mut events),
            (None, None) => match &base {
                GroupKey::Campaign(_) => self.get_or_open(&base, &seen, now_ms, &mut events),
                // recon is grouped by network, not by the endpoint it probes
                _ if matches!(sig, Some(AttackSig::Recon { .. })) => {
                    self.get_or_open(&base, &seen, now_ms, &mut events)
                }
                _ => {
                    let tk = GroupKey::Target(seen.ep_key.clone());
                    let mut t = self.resolve(&tk);
                    if t.is_none() {
                        self.count_target(&seen.ep_key, &base, now_ms);
                        if self.target_ready(&seen.ep_key) {
                            to_merge = self.open_target(&seen, now_ms, &mut events);
                            t = self.resolve(&tk);
                        }
                    }
                    match t {
                        Some(t) => t,
                        None => self.get_or_open(&base, &seen, now_ms, &mut events),
                    }
                }
            },
        };
        // an actor seen alone before it was linked into a campaign: its
        // incident (or the endpoint's target incident it fed) is this one
        if matches!(base, GroupKey::Campaign(_))
            && let Some(a) = ex.actor.as_ref().filter(|a| !a.id.is_empty())
            && let Some(y) = self.resolve(&GroupKey::Actor(clip(&a.id, 64)))
            && y != seq
            && self.incidents.get(&y).is_some_and(|i| match &i.key {
                GroupKey::Actor(_) | GroupKey::Ip(_) => true,
                GroupKey::Target(t) => *t == seen.ep_key,
                _ => false,
            })
            && !to_merge.contains(&y)
        {
            to_merge.push(y);
        }
        self.absorb(seq, &seen, lookup, now_ms, &mut events);
        let mut cur = seq;
        for from in to_merge {
            cur = self.merge_pair(cur, from, None, now_ms, &mut events);
        }
        if let Some(s) = &sig {
            // two incidents found to be one attack become one
            if let Some(o) = self.sig_owner(s, now_ms)
                && o != cur
                && self.eligible(cur, s)
            {
                cur = self.merge_pair(cur, o, Some(s), now_ms, &mut events);
            }
            self.register_sig(s.clone(), cur, now_ms);
        }
        events
    }

    /// Periodic work: quietens incidents without recent activity and
    /// refreshes summaries. Returns the quiet events.
    pub fn tick(&mut self, now_ms: i64) -> Vec<IncidentEvent> {
        let mut events = Vec::new();
        self.expire_quiet(now_ms, &mut events);
        let cutoff = now_ms - self.cfg.target_window_ms;
        self.targets.retain(|_, w| w.last_ms >= cutoff);
        let targets = &self.targets;
        self.target_order.retain(|k| targets.contains_key(k));
        let incidents = &self.incidents;
        self.attacks
            .retain(|_, (seq, at)| *at >= cutoff && incidents.get(seq).is_some_and(|i| i.active));
        let attacks = &self.attacks;
        self.attack_order.retain(|k| attacks.contains_key(k));
        self.aliases
            .retain(|_, seq| incidents.get(seq).is_some_and(|i| i.active));
        let aliases = &self.aliases;
        self.alias_order.retain(|k| aliases.contains_key(k));
        self.refresh_dirty();
        events
    }

    /// Merges the open incidents of these actors (campaign members linked
    /// after their first findings) into the campaign's incident, when it is
    /// open. Returns the merge events.
    pub fn link_campaign(
        &mut self,
        campaign_id: &str,
        actor_ids: &[String],
        now_ms: i64,
    ) -> Vec<IncidentEvent> {
        let mut events = Vec::new();
        let Some(mut into) = self.resolve(&GroupKey::Campaign(clip(campaign_id, 64))) else {
            return events;
        };
        for a in actor_ids {
            if let Some(from) = self.resolve(&GroupKey::Actor(clip(a, 64)))
                && from != into
                && self
                    .incidents
                    .get(&from)
                    .is_some_and(|i| matches!(i.key, GroupKey::Actor(_) | GroupKey::Ip(_)))
            {
                into = self.merge_pair(into, from, None, now_ms, &mut events);
            }
        }
        events
    }

    /// One incident, with its summary and next steps up to date.
    pub fn get(&self, id: &str) -> Option<Incident> {
        let seq = seq_of(id)?;
        let inc = self.incidents.get(&seq)?;
        let mut inc = inc.clone();
        if self.dirty.contains(&seq) {
            narrative::refresh(&mut inc);
        }
        Some(inc)
    }

    /// Every incident kept, most recently active first.
    pub fn incidents(&self) -> Vec<Incident> {
        let mut all: Vec<Incident> = self
            .incidents
            .iter()
            .map(|(seq, inc)| {
                let mut inc = inc.clone();
                if self.dirty.contains(seq) {
                    narrative::refresh(&mut inc);
                }
                inc
            })
            .collect();
        all.sort_by(|a, b| b.last_seen_ms.cmp(&a.last_seen_ms).then(b.id.cmp(&a.id)));
        all
    }

    /// List rows of every incident kept, most recently active first
    /// (titles up to date; cheaper than [`IncidentEngine::incidents`]).
    pub fn briefs(&self) -> Vec<IncidentBrief> {
        let mut all: Vec<IncidentBrief> = self
            .incidents
            .iter()
            .map(|(seq, inc)| {
                let mut b = inc.brief();
                if self.dirty.contains(seq) {
                    b.title = narrative::title(inc);
                }
                b
            })
            .collect();
        all.sort_by(|a, b| b.last_seen_ms.cmp(&a.last_seen_ms).then(b.id.cmp(&a.id)));
        all
    }

    /// The ids of the incidents currently grouping activity.
    pub fn open_ids(&self) -> Vec<String> {
        let mut v: Vec<u64> = self.open.values().copied().collect();
        v.sort_unstable();
        v.into_iter().map(id_of).collect()
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            open: self.open.len(),
            kept: self.incidents.len(),
            ignored: self.ignored,
            next_seq: self.next_seq,
            aliases: self.aliases.len(),
            attacks: self.attacks.len(),
        }
    }

    /// Checks the engine's internal indexes agree (for tests and fuzzing):
    /// every grouping incident is active and indexed by its last activity,
    /// and nothing else is.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.open.len() != self.activity.len() {
            return Err(format!(
                "{} grouping, {} indexed",
                self.open.len(),
                self.activity.len()
            ));
        }
        for (key, seq) in &self.open {
            let inc = self
                .incidents
                .get(seq)
                .ok_or_else(|| format!("{key}: {seq} missing"))?;
            if !inc.active || &inc.key != key || inc.status.is_closed() {
                return Err(format!(
                    "{}: grouping but inactive, closed or rekeyed",
                    inc.id
                ));
            }
            let at = self.internals.get(seq).map_or(i64::MIN, |i| i.active_ms);
            if !self.activity.contains(&(at, *seq)) {
                return Err(format!("{}: not indexed at {at}", inc.id));
            }
        }
        if let Some(i) = self
            .incidents
            .iter()
            .find(|(s, i)| i.active && self.open.get(&i.key) != Some(s))
        {
            return Err(format!("{}: active but not grouping", i.1.id));
        }
        if self.aliases.len() > self.cfg.max_aliases {
            return Err(format!(
                "{} aliases over the bound {}",
                self.aliases.len(),
                self.cfg.max_aliases
            ));
        }
        if let Some(k) = self.aliases.keys().find(|k| self.open.contains_key(*k)) {
            return Err(format!("{k}: both grouping and an alias"));
        }
        if self.attacks.len() > self.cfg.max_targets {
            return Err(format!("{} attacks remembered", self.attacks.len()));
        }
        Ok(())
    }

    /// Changes an incident's status, with a note and who did it. Marking a
    /// false positive computes exclusion proposals
    /// ([`Incident::exclusion_proposals`]). Resolved and false-positive
    /// incidents stop grouping; reopening one makes it group again when no
    /// other incident has taken its group meanwhile.
    pub fn set_status(
        &mut self,
        id: &str,
        status: Status,
        who: &str,
        note: &str,
        now_ms: i64,
    ) -> Result<IncidentEvent, IncidentError> {
        let who = who.trim();
        if who.is_empty() {
            return Err(IncidentError::MissingWho);
        }
        let seq = seq_of(id)
            .filter(|s| self.incidents.contains_key(s))
            .ok_or_else(|| IncidentError::NotFound(id.to_string()))?;
        let inc = self.incidents.get_mut(&seq).expect("checked above");
        let from = inc.status;
        if !from.allowed_next().contains(&status) {
            return Err(IncidentError::Transition {
                id: id.to_string(),
                from,
                to: status,
                allowed: from
                    .allowed_next()
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        inc.status = status;
        let who_s = clip(who, 64);
        let note_s = clip(note.trim(), 2000);
        if inc.notes.len() >= MAX_NOTES {
            inc.notes.remove(0);
        }
        inc.notes.push(Note {
            ts_ms: now_ms,
            who: who_s.clone(),
            text: note_s.clone(),
            status: Some(status),
        });
        let text = if note_s.is_empty() {
            format!("Status {from} → {status} by {who_s}")
        } else {
            format!(
                "Status {from} → {status} by {who_s}: {}",
                clip(&note_s, 200)
            )
        };
        push_timeline(
            inc,
            self.cfg.max_timeline,
            TimelineEntry {
                ts_ms: now_ms,
                kind: TimelineKind::StatusChanged,
                text,
                request_id: None,
                who: Some(who_s),
            },
        );
        if status == Status::FalsePositive {
            inc.exclusion_proposals = narrative::exclusion_proposals(inc);
        }
        let key = inc.key.clone();
        if status.is_closed() {
            if self.open.get(&key) == Some(&seq) {
                self.open.remove(&key);
                self.deactivate(seq);
            }
        } else if !inc.active && !self.open.contains_key(&key) && status == Status::Open {
            inc.active = true;
            let mut quiet = Vec::new();
            while self.open.len() >= self.cfg.max_open {
                if !self.quiet_oldest(now_ms, &mut quiet) {
                    break;
                }
            }
            self.aliases.remove(&key);
            self.open.insert(key, seq);
            self.reindex(seq, now_ms);
        }
        let inc = self.incidents.get_mut(&seq).expect("checked above");
        narrative::refresh(inc);
        self.dirty.remove(&seq);
        let inc = &self.incidents[&seq];
        let ev = event(
            EventKind::StatusChanged,
            inc,
            None,
            format!("status {from} → {status}"),
            now_ms,
        );
        self.evict_inactive();
        Ok(ev)
    }

    /// Adds a note without changing the status.
    pub fn add_note(
        &mut self,
        id: &str,
        who: &str,
        text: &str,
        now_ms: i64,
    ) -> Result<(), IncidentError> {
        let who = who.trim();
        if who.is_empty() {
            return Err(IncidentError::MissingWho);
        }
        let inc = seq_of(id)
            .and_then(|s| self.incidents.get_mut(&s))
            .ok_or_else(|| IncidentError::NotFound(id.to_string()))?;
        if inc.notes.len() >= MAX_NOTES {
            inc.notes.remove(0);
        }
        inc.notes.push(Note {
            ts_ms: now_ms,
            who: clip(who, 64),
            text: clip(text.trim(), 2000),
            status: None,
        });
        Ok(())
    }

    /// The engine's state as JSON, for persistence.
    pub fn to_snapshot(&self) -> serde_json::Value {
        let repr = SnapshotRepr {
            version: 1,
            next_seq: self.next_seq,
            incidents: self.incidents(),
            internals: self
                .internals
                .iter()
                .map(|(s, i)| (id_of(*s), i.clone()))
                .collect(),
            aliases: self
                .alias_order
                .iter()
                .filter_map(|k| {
                    let seq = *self.aliases.get(k)?;
                    self.incidents
                        .get(&seq)
                        .filter(|i| i.active)
                        .map(|_| (k.clone(), id_of(seq)))
                })
                .collect(),
        };
        serde_json::to_value(&repr).unwrap_or(serde_json::Value::Null)
    }

    /// Restores an engine from [`IncidentEngine::to_snapshot`]. Incidents
    /// that were grouping keep grouping; target windows start empty.
    pub fn from_snapshot(
        cfg: EngineConfig,
        snapshot: &serde_json::Value,
    ) -> Result<Self, IncidentError> {
        let repr: SnapshotRepr = serde_json::from_value(snapshot.clone())
            .map_err(|e| IncidentError::Snapshot(e.to_string()))?;
        if repr.version != 1 {
            return Err(IncidentError::Snapshot(format!(
                "version {} is not 1",
                repr.version
            )));
        }
        let mut eng = Self::new(cfg);
        eng.next_seq = repr.next_seq.max(1);
        let mut incs = repr.incidents;
        incs.sort_by_key(|i| i.last_seen_ms);
        for inc in incs {
            let Some(seq) = seq_of(&inc.id) else {
                continue;
            };
            eng.next_seq = eng.next_seq.max(seq + 1);
            if inc.active && !inc.status.is_closed() && !eng.open.contains_key(&inc.key) {
                eng.open.insert(inc.key.clone(), seq);
            } else {
                eng.inactive.push_back(seq);
            }
            let mut inc = inc;
            inc.active = eng.open.get(&inc.key) == Some(&seq);
            eng.incidents.insert(seq, inc);
        }
        for (id, i) in repr.internals {
            if let Some(seq) = seq_of(&id).filter(|s| eng.incidents.contains_key(s)) {
                eng.internals.insert(seq, i);
            }
        }
        let open: Vec<u64> = eng.open.values().copied().collect();
        for seq in open {
            let last = eng.incidents.get(&seq).map_or(0, |i| i.last_seen_ms);
            let int = eng.internals.entry(seq).or_default();
            if int.active_ms == 0 {
                int.active_ms = last;
            }
            eng.activity.insert((int.active_ms, seq));
        }
        while eng.open.len() > eng.cfg.max_open {
            if !eng.quiet_oldest(0, &mut Vec::new()) {
                break;
            }
        }
        eng.evict_inactive();
        for (key, id) in repr.aliases {
            if let Some(seq) =
                seq_of(&id).filter(|s| eng.incidents.get(s).is_some_and(|i| i.active))
            {
                eng.add_alias(key, seq);
            }
        }
        Ok(eng)
    }

    // ---- internals ----

    /// The active incident a group feeds: its own, or the one it was
    /// merged into or joined. Forgets aliases of inactive incidents.
    fn resolve(&mut self, key: &GroupKey) -> Option<u64> {
        if let Some(&seq) = self.open.get(key) {
            return Some(seq);
        }
        let seq = *self.aliases.get(key)?;
        if self.incidents.get(&seq).is_some_and(|i| i.active) {
            Some(seq)
        } else {
            self.aliases.remove(key);
            None
        }
    }

    /// Routes `key` to incident `seq` from now on (bounded: the oldest
    /// alias is forgotten first).
    fn add_alias(&mut self, key: GroupKey, seq: u64) {
        if self.open.contains_key(&key) {
            return;
        }
        if self.aliases.insert(key.clone(), seq).is_none() {
            self.alias_order.push_back(key);
        }
        while self.aliases.len() > self.cfg.max_aliases {
            match self.alias_order.pop_front() {
                Some(old) => {
                    self.aliases.remove(&old);
                }
                None => break,
            }
        }
        if self.alias_order.len() > 2 * self.cfg.max_aliases + 16 {
            let aliases = &self.aliases;
            let mut seen = HashSet::new();
            self.alias_order
                .retain(|k| aliases.contains_key(k) && seen.insert(k.clone()));
        }
    }

    /// Whether incident `seq` can stand for attack `sig`: a campaign for
    /// abuse on its main endpoint (the one with most findings: a stuffing
    /// campaign reading accounts after a login does not stand for an
    /// enumeration of accounts), a target incident for abuse on its
    /// endpoint, an actor or address only when it did nothing but this
    /// endpoint; for recon, an incident whose addresses are all in the
    /// network.
    fn eligible(&self, seq: u64, sig: &AttackSig) -> bool {
        let Some(inc) = self.incidents.get(&seq) else {
            return false;
        };
        match sig {
            AttackSig::Abuse { ep, .. } => match &inc.key {
                GroupKey::Campaign(_) => inc
                    .endpoints
                    .iter()
                    .max_by_key(|e| e.findings)
                    .is_none_or(|e| *ep == e.label()),
                GroupKey::Target(t) => t == ep,
                GroupKey::Network(_) => false,
                GroupKey::Actor(_) | GroupKey::Ip(_) => self.only_on(seq, ep),
            },
            AttackSig::Recon { net } => match &inc.key {
                GroupKey::Campaign(_) | GroupKey::Target(_) => false,
                GroupKey::Network(n) => n == net,
                GroupKey::Actor(_) | GroupKey::Ip(_) => {
                    inc.counts.ips as usize == inc.ips.len()
                        && inc.ips.iter().all(|ip| network_of(*ip) == *net)
                }
            },
        }
    }

    /// The active incident that fed attack `sig` within the target window.
    fn sig_owner(&self, sig: &AttackSig, now_ms: i64) -> Option<u64> {
        let &(seq, at) = self.attacks.get(sig)?;
        let active = self.incidents.get(&seq).is_some_and(|i| i.active);
        (active && at >= now_ms - self.cfg.target_window_ms && self.eligible(seq, sig))
            .then_some(seq)
    }

    /// Records that incident `seq` feeds attack `sig` now (bounded by
    /// `max_targets`, forgotten first-in first-out).
    fn register_sig(&mut self, sig: AttackSig, seq: u64, now_ms: i64) {
        if !self.eligible(seq, &sig) {
            return;
        }
        if let Some(cur) = self.attacks.get(&sig).copied()
            && cur.0 != seq
            && self.sig_owner(&sig, now_ms) == Some(cur.0)
        {
            // another incident holds it (this one could not be merged)
            return;
        }
        if self.attacks.insert(sig.clone(), (seq, now_ms)).is_none() {
            self.attack_order.push_back(sig);
        }
        while self.attacks.len() > self.cfg.max_targets {
            match self.attack_order.pop_front() {
                Some(old) => {
                    self.attacks.remove(&old);
                }
                None => break,
            }
        }
        if self.attack_order.len() > 2 * self.cfg.max_targets + 16 {
            let attacks = &self.attacks;
            let mut seen = HashSet::new();
            self.attack_order
                .retain(|k| attacks.contains_key(k) && seen.insert(k.clone()));
        }
    }

    /// The key of an incident that groups `a` and `b`, found to be one
    /// attack: the key of highest rank; two single actors (or addresses)
    /// become the attack's group (the target endpoint, or the network).
    fn union_key(a: &GroupKey, b: &GroupKey, sig: Option<&AttackSig>) -> GroupKey {
        let best = if b.rank() > a.rank() { b } else { a };
        match sig {
            Some(s) if a != b && best.rank() <= GroupKey::Actor(String::new()).rank() => {
                s.group_key()
            }
            _ => best.clone(),
        }
    }

    /// A group without an incident joins incident `o`, which feeds the same
    /// attack. Returns the incident to absorb the exchange into.
    fn join(
        &mut self,
        o: u64,
        base: &GroupKey,
        sig: Option<&AttackSig>,
        seen: &Seen<'_>,
        now_ms: i64,
        events: &mut Vec<IncidentEvent>,
    ) -> u64 {
        let Some(okey) = self.incidents.get(&o).map(|i| i.key.clone()) else {
            return o;
        };
        let union = Self::union_key(&okey, base, sig);
        let what = sig.map(|s| s.describe()).unwrap_or_default();
        let into = if union != okey {
            self.rekey(o, union, &what, seen.ex.ts_ms, now_ms, events)
        } else {
            o
        };
        let final_key = self.incidents.get(&into).map(|i| i.key.clone());
        if final_key.as_ref() != Some(base) {
            self.add_alias(base.clone(), into);
        }
        if let GroupKey::Campaign(c) = base
            && final_key.as_ref() != Some(base)
        {
            let max_tl = self.cfg.max_timeline;
            if let Some(inc) = self.incidents.get_mut(&into) {
                push_timeline(
                    inc,
                    max_tl,
                    TimelineEntry {
                        ts_ms: seen.ex.ts_ms,
                        kind: TimelineKind::Merged,
                        text: clip(
                            &format!("Campaign {c} joined: the same attack ({what})"),
                            300,
                        ),
                        request_id: Some(clip(&seen.ex.id, 64)),
                        who: None,
                    },
                );
                events.push(event(
                    EventKind::Merged,
                    inc,
                    Some(seen),
                    format!("campaign {c} joined ({what})"),
                    now_ms,
                ));
            }
        }
        into
    }

    /// Gives incident `seq` a new group key (the old one becomes an alias).
    /// When another incident already groups by that key, `seq` is merged
    /// into it instead. Returns the incident that holds the key.
    fn rekey(
        &mut self,
        seq: u64,
        key: GroupKey,
        what: &str,
        ts_ms: i64,
        now_ms: i64,
        events: &mut Vec<IncidentEvent>,
    ) -> u64 {
        if let Some(other) = self.resolve(&key)
            && other != seq
        {
            return self.merge_pair(other, seq, None, now_ms, events);
        }
        let max_tl = self.cfg.max_timeline;
        let Some(inc) = self.incidents.get_mut(&seq) else {
            return seq;
        };
        let old = std::mem::replace(&mut inc.key, key.clone());
        let text = if what.is_empty() {
            format!("Grouped by {key} (was {old})")
        } else {
            format!("Grouped by {key} (was {old}): the same attack, {what}")
        };
        push_timeline(
            inc,
            max_tl,
            TimelineEntry {
                ts_ms: ts_ms.max(inc.opened_ms),
                kind: TimelineKind::Merged,
                text: clip(&text, 300),
                request_id: None,
                who: None,
            },
        );
        inc.title = narrative::title(inc);
        narrative::refresh(inc);
        events.push(event(
            EventKind::Merged,
            inc,
            None,
            format!("grouped by {key} (was {old})"),
            now_ms,
        ));
        if self.open.get(&old) == Some(&seq) {
            self.open.remove(&old);
        }
        self.aliases.remove(&key);
        self.open.insert(key, seq);
        self.add_alias(old, seq);
        seq
    }

    /// Merges two active incidents found to be one attack: the one whose
    /// key ranks higher (else the older) survives, with the union's key.
    /// Returns the survivor.
    fn merge_pair(
        &mut self,
        a: u64,
        b: u64,
        sig: Option<&AttackSig>,
        now_ms: i64,
        events: &mut Vec<IncidentEvent>,
    ) -> u64 {
        if a == b {
            return a;
        }
        let (Some(ka), Some(kb)) = (
            self.incidents.get(&a).map(|i| i.key.clone()),
            self.incidents.get(&b).map(|i| i.key.clone()),
        ) else {
            return if self.incidents.contains_key(&a) {
                a
            } else {
                b
            };
        };
        let (from, into) = if kb.rank() > ka.rank() || (kb.rank() == ka.rank() && b < a) {
            (a, b)
        } else {
            (b, a)
        };
        let union = if into == a {
            Self::union_key(&ka, &kb, sig)
        } else {
            Self::union_key(&kb, &ka, sig)
        };
        self.merge(from, into, now_ms, events);
        let cur = self
            .incidents
            .get(&into)
            .map(|i| (i.key.clone(), i.last_seen_ms));
        if let Some((k, ts)) = cur
            && k != union
        {
            let what = sig.map(|s| s.describe()).unwrap_or_default();
            return self.rekey(into, union, &what, ts, now_ms, events);
        }
        into
    }

    fn get_or_open(
        &mut self,
        key: &GroupKey,
        seen: &Seen<'_>,
        now_ms: i64,
        events: &mut Vec<IncidentEvent>,
    ) -> u64 {
        if let Some(&seq) = self.open.get(key) {
            return seq;
        }
        self.open_new(key.clone(), seen, now_ms, events)
    }

    fn open_new(
        &mut self,
        key: GroupKey,
        seen: &Seen<'_>,
        now_ms: i64,
        events: &mut Vec<IncidentEvent>,
    ) -> u64 {
        while self.open.len() >= self.cfg.max_open {
            if !self.quiet_oldest(now_ms, events) {
                break;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let ex = seen.ex;
        let first_phase = seen
            .findings
            .iter()
            .filter(|f| f.kind != DECISION_KIND)
            .map(|f| f.phase)
            .min()
            .or_else(|| seen.findings.iter().map(|f| f.phase).min())
            .unwrap_or(Phase::Abuse);
        let mut inc = Incident {
            id: id_of(seq),
            key: key.clone(),
            title: String::new(),
            severity: Severity::Info,
            status: Status::Open,
            phase: first_phase,
            phases: Vec::new(),
            opened_ms: ex.ts_ms,
            last_seen_ms: ex.ts_ms,
            active: true,
            timeline: Vec::new(),
            timeline_dropped: 0,
            actors: Vec::new(),
            campaigns: Vec::new(),
            ips: Vec::new(),
            fingerprints: Vec::new(),
            user_agents: Vec::new(),
            endpoints: Vec::new(),
            kinds: Vec::new(),
            counts: Counts::default(),
            blast_radius: BlastRadius::default(),
            evidence: Vec::new(),
            notes: Vec::new(),
            exclusion_proposals: Vec::new(),
            merged_from: Vec::new(),
            summary: String::new(),
            next_steps: Vec::new(),
        };
        push_timeline(
            &mut inc,
            self.cfg.max_timeline,
            TimelineEntry {
                ts_ms: ex.ts_ms,
                kind: TimelineKind::FirstSeen,
                text: first_seen_text(&key, seen),
                request_id: Some(clip(&ex.id, 64)),
                who: None,
            },
        );
        self.incidents.insert(seq, inc);
        self.internals.insert(seq, Internals::default());
        self.aliases.remove(&key);
        self.open.insert(key, seq);
        self.reindex(seq, now_ms.max(ex.ts_ms));
        // `Opened` is emitted after the first exchange is absorbed, so it
        // carries the right severity and title: see `absorb`.
        seq
    }

    fn absorb(
        &mut self,
        seq: u64,
        seen: &Seen<'_>,
        lookup: &dyn Lookup,
        now_ms: i64,
        events: &mut Vec<IncidentEvent>,
    ) {
        let max_tl = self.cfg.max_timeline;
        let max_ev = self.cfg.max_evidence;
        let Some(inc) = self.incidents.get_mut(&seq) else {
            return;
        };
        let internals = self.internals.entry(seq).or_default();
        let ex = seen.ex;
        let is_new = inc.counts.exchanges == 0;
        // exchanges reach analysis in the order they finish, not the order
        // they started: one that started before everything the incident
        // holds is its first request now
        let predates = !is_new && ex.ts_ms < inc.opened_ms;
        if predates {
            let text = first_seen_text(&inc.key, seen);
            if let Some(t) = inc
                .timeline
                .iter_mut()
                .find(|t| t.kind == TimelineKind::FirstSeen)
            {
                t.ts_ms = ex.ts_ms;
                t.text = text;
                t.request_id = req_id_of(ex);
            }
            inc.timeline.sort_by_key(timeline_order);
        }
        // the first exchange's lowest phase is where the incident starts
        let before_phase = inc.phase;
        let before_sev = inc.severity;
        let req_id = Some(clip(&ex.id, 64));

        inc.last_seen_ms = inc.last_seen_ms.max(ex.ts_ms);
        inc.opened_ms = inc.opened_ms.min(ex.ts_ms);
        inc.counts.exchanges += 1;
        inc.counts.findings += seen.findings.len() as u64;

        // who
        if let Some(a) = &ex.actor {
            if internals.actors.len() < MAX_SET {
                internals.actors.insert(a.id.clone());
            }
            inc.counts.actors = inc.counts.actors.max(internals.actors.len() as u64);
            match inc.actors.iter().position(|s| s.id == a.id) {
                Some(i) => {
                    let s = &mut inc.actors[i];
                    s.risk = s.risk.max(a.risk);
                    s.requests += 1;
                }
                None if inc.actors.len() < MAX_ACTORS => inc.actors.push(ActorSeen {
                    id: clip(&a.id, 64),
                    name: clip(&a.name, 64),
                    risk: a.risk,
                    requests: 1,
                }),
                None => {}
            }
            if let Some(c) = &a.campaign
                && !inc.campaigns.contains(c)
                && inc.campaigns.len() < MAX_CAMPAIGNS
            {
                inc.campaigns.push(clip(c, 64));
            }
        }
        if internals.ips.len() < MAX_SET {
            internals.ips.insert(ex.client_ip);
        }
        inc.counts.ips = inc.counts.ips.max(internals.ips.len() as u64);
        if !inc.ips.contains(&ex.client_ip) && inc.ips.len() < MAX_IPS {
            inc.ips.push(ex.client_ip);
        }
        if let Some(ja4) = ex.tls.as_ref().and_then(|t| t.ja4.as_deref())
            && !inc.fingerprints.iter().any(|f| f == ja4)
            && inc.fingerprints.len() < MAX_FPS
        {
            inc.fingerprints.push(clip(ja4, 64));
        }
        if let Some(ua) = ex.request.header("user-agent") {
            let ua = clip(
                &palisade_core::sensitive::mask_header("user-agent", ua),
                160,
            );
            if !inc.user_agents.contains(&ua) && inc.user_agents.len() < MAX_UAS {
                inc.user_agents.push(ua);
            }
        }

        // where
        let ep_idx = match inc
            .endpoints
            .iter()
            .position(|e| e.method == seen.method && e.endpoint == seen.endpoint)
        {
            Some(i) => Some(i),
            None if inc.endpoints.len() < MAX_ENDPOINTS => {
                let host = ex.request.host.as_deref();
                let (data_classes, services) = if seen.template_known {
                    (
                        bounded(lookup.data_classes(host, &seen.method, &seen.endpoint), 16),
                        bounded(lookup.services(host, &seen.method, &seen.endpoint), 16),
                    )
                } else {
                    (Vec::new(), Vec::new())
                };
                inc.endpoints.push(EndpointHit {
                    method: seen.method.clone(),
                    endpoint: seen.endpoint.clone(),
                    requests: 0,
                    findings: 0,
                    stopped: 0,
                    success_2xx: 0,
                    first_2xx_ms: None,
                    data_classes,
                    services,
                });
                Some(inc.endpoints.len() - 1)
            }
            None => None,
        };
        if let Some(i) = ep_idx {
            let e = &mut inc.endpoints[i];
            // the catalog may learn the endpoint's data after the first
            // request: look again now and then (1, 2, 4, 8, ... requests)
            if e.data_classes.is_empty()
                && seen.template_known
                && (e.requests + 1).is_power_of_two()
            {
                let host = ex.request.host.as_deref();
                e.data_classes =
                    bounded(lookup.data_classes(host, &seen.method, &seen.endpoint), 16);
                if e.services.is_empty() {
                    e.services = bounded(lookup.services(host, &seen.method, &seen.endpoint), 16);
                }
            }
            let e = &inc.endpoints[i];
            let (dc, label) = (e.data_classes.clone(), e.label());
            let b = &mut inc.blast_radius;
            push_bounded(&mut b.endpoints_targeted, &label, MAX_ENDPOINTS);
            for d in dc {
                push_bounded(&mut b.data_at_risk, &d, 32);
            }
            if !seen.stopped {
                b.requests_not_stopped += 1;
            }
            let e = &mut inc.endpoints[i];
            e.requests += 1;
            e.findings += seen.findings.len() as u64;
            if seen.stopped {
                e.stopped += 1;
            }
            if seen.success {
                e.success_2xx += 1;
                e.first_2xx_ms.get_or_insert(ex.ts_ms);
            }
        }

        // what: a blocked actor's decision findings say what Palisade did,
        // not how far the attacker got; they set the phase only while the
        // incident knows nothing else
        let decision_only = seen.findings.iter().all(|f| f.kind == DECISION_KIND)
            && inc.kinds.iter().all(|k| k.kind == DECISION_KIND);
        for f in &seen.findings {
            match inc.kinds.iter().position(|k| k.kind == f.kind) {
                Some(i) => {
                    let k = &mut inc.kinds[i];
                    k.count += 1;
                    k.max_severity = k.max_severity.max(f.severity);
                    k.phase = k.phase.max(f.phase);
                    k.first_ms = k.first_ms.min(ex.ts_ms);
                    k.last_ms = k.last_ms.max(ex.ts_ms);
                    push_bounded(&mut k.rules, &f.rule_id, 8);
                    push_bounded(&mut k.locations, &f.location, 8);
                }
                None if inc.kinds.len() < MAX_KINDS => {
                    inc.kinds.push(KindStat {
                        kind: clip(&f.kind, 64),
                        rules: vec![clip(&f.rule_id, 96)],
                        locations: vec![clip(&f.location, 96)],
                        count: 1,
                        max_severity: f.severity,
                        phase: f.phase,
                        first_ms: ex.ts_ms,
                        last_ms: ex.ts_ms,
                    });
                    if !is_new && !predates {
                        let text = format!(
                            "New finding kind: {} ({}) at {} on {}",
                            narrative::kind_label(&f.kind),
                            f.rule_id,
                            f.location,
                            seen.ep_key
                        );
                        push_timeline(
                            inc,
                            max_tl,
                            TimelineEntry {
                                ts_ms: ex.ts_ms,
                                kind: TimelineKind::NewFindingKind,
                                text: clip(&text, 300),
                                request_id: req_id.clone(),
                                who: None,
                            },
                        );
                    }
                }
                None => {}
            }
            if f.kind == DECISION_KIND && !decision_only {
                continue;
            }
            match inc.phases.iter_mut().find(|p| p.phase == f.phase) {
                Some(p) => {
                    p.findings += 1;
                    p.first_ms = p.first_ms.min(ex.ts_ms);
                }
                None => {
                    inc.phases.push(PhaseSeen {
                        phase: f.phase,
                        first_ms: ex.ts_ms,
                        findings: 1,
                    });
                    inc.phases.sort_by_key(|p| p.phase);
                }
            }
        }
        let max_phase = inc.phases.iter().map(|p| p.phase).max();
        if let Some(p) = max_phase {
            inc.phase = inc.phase.max(p);
        }
        if inc.phase > before_phase {
            push_timeline(
                inc,
                max_tl,
                TimelineEntry {
                    ts_ms: ex.ts_ms,
                    kind: TimelineKind::PhaseEscalation,
                    text: format!(
                        "Phase escalated: {} → {}",
                        before_phase.as_str(),
                        inc.phase.as_str()
                    ),
                    request_id: req_id.clone(),
                    who: None,
                },
            );
        }

        // outcome
        if seen.stopped {
            let first = inc.counts.blocked + inc.counts.rate_limited == 0;
            match ex.verdict {
                Verdict::RateLimit { .. } => inc.counts.rate_limited += 1,
                _ => inc.counts.blocked += 1,
            }
            if first {
                push_timeline(
                    inc,
                    max_tl,
                    TimelineEntry {
                        ts_ms: ex.ts_ms,
                        kind: TimelineKind::FirstBlock,
                        text: format!(
                            "First {} on {}: {}",
                            if matches!(ex.verdict, Verdict::RateLimit { .. }) {
                                "rate limit"
                            } else {
                                "block"
                            },
                            seen.ep_key,
                            clip(ex.verdict.reason().unwrap_or(""), 160)
                        ),
                        request_id: req_id.clone(),
                        who: None,
                    },
                );
            }
        }
        let mut first_success = false;
        if seen.success {
            first_success = inc.counts.success_2xx == 0;
            inc.counts.success_2xx += 1;
            inc.blast_radius.attack_succeeded = true;
            if ep_idx.is_some() {
                push_bounded(&mut inc.blast_radius.endpoints_reached, &seen.ep_key, 64);
            }
            if let Some(i) = ep_idx {
                let (dc, sv) = (
                    inc.endpoints[i].data_classes.clone(),
                    inc.endpoints[i].services.clone(),
                );
                for d in dc {
                    push_bounded(&mut inc.blast_radius.data_classes, &d, 32);
                }
                for s in sv {
                    push_bounded(&mut inc.blast_radius.services, &s, 32);
                }
            }
            if first_success {
                push_timeline(
                    inc,
                    max_tl,
                    TimelineEntry {
                        ts_ms: ex.ts_ms,
                        kind: TimelineKind::AttackSucceeded,
                        text: format!(
                            "First flagged request answered {} on {}",
                            ex.status().unwrap_or(200),
                            seen.ep_key
                        ),
                        request_id: req_id.clone(),
                        who: None,
                    },
                );
            }
        }

        // severity and evidence
        inc.severity = narrative::severity(inc);
        if inc.severity > before_sev && !is_new {
            push_timeline(
                inc,
                max_tl,
                TimelineEntry {
                    ts_ms: ex.ts_ms,
                    kind: TimelineKind::SeverityRaised,
                    text: format!(
                        "Severity raised: {} → {}",
                        before_sev.as_str(),
                        inc.severity.as_str()
                    ),
                    request_id: req_id.clone(),
                    who: None,
                },
            );
        }
        consider_evidence(inc, seen, is_new, predates, max_ev);

        // events
        let changed =
            is_new || inc.phase > before_phase || inc.severity > before_sev || first_success;
        if changed {
            inc.title = narrative::title(inc);
            narrative::refresh(inc);
            self.dirty.remove(&seq);
        } else {
            self.dirty.insert(seq);
        }
        if is_new {
            events.push(event(
                EventKind::Opened,
                inc,
                Some(seen),
                format!("opened in phase {}", inc.phase.as_str()),
                now_ms,
            ));
        } else if inc.phase > before_phase || inc.severity > before_sev {
            let mut parts = Vec::new();
            if inc.phase > before_phase {
                parts.push(format!(
                    "phase {} → {}",
                    before_phase.as_str(),
                    inc.phase.as_str()
                ));
            }
            if inc.severity > before_sev {
                parts.push(format!(
                    "severity {} → {}",
                    before_sev.as_str(),
                    inc.severity.as_str()
                ));
            }
            events.push(event(
                EventKind::Escalated,
                inc,
                Some(seen),
                parts.join(", "),
                now_ms,
            ));
        }
        if first_success {
            events.push(event(
                EventKind::AttackSucceeded,
                inc,
                Some(seen),
                format!(
                    "flagged request answered {} on {}",
                    ex.status().unwrap_or(200),
                    seen.ep_key
                ),
                now_ms,
            ));
        }
        self.reindex(seq, now_ms.max(ex.ts_ms));
    }

    /// Records activity at processing time `at_ms` (never going back) and
    /// moves the incident in the activity index.
    fn reindex(&mut self, seq: u64, at_ms: i64) {
        let int = self.internals.entry(seq).or_default();
        self.activity.remove(&(int.active_ms, seq));
        int.active_ms = int.active_ms.max(at_ms);
        if self.incidents.get(&seq).is_some_and(|i| i.active) {
            self.activity.insert((int.active_ms, seq));
        }
    }

    /// Counts `key` among the recent groups with findings on `ep_key`.
    /// Cheap: windows are pruned only when they could reach the threshold,
    /// and endpoints are forgotten first-in first-out beyond `max_targets`.
    fn count_target(&mut self, ep_key: &str, key: &GroupKey, now_ms: i64) {
        if !self.targets.contains_key(ep_key) {
            while self.targets.len() >= self.cfg.max_targets {
                match self.target_order.pop_front() {
                    Some(old) => {
                        self.targets.remove(&old);
                    }
                    None => break,
                }
            }
            self.target_order.push_back(ep_key.to_string());
        }
        let w = self.targets.entry(ep_key.to_string()).or_default();
        w.last_ms = w.last_ms.max(now_ms);
        w.keys.insert(key.clone(), now_ms);
        if w.keys.len() >= self.cfg.target_min_actors {
            let cutoff = now_ms - self.cfg.target_window_ms;
            w.keys.retain(|_, ts| *ts >= cutoff);
        }
    }

    fn target_ready(&self, ep_key: &str) -> bool {
        self.targets
            .get(ep_key)
            .is_some_and(|w| w.keys.len() >= self.cfg.target_min_actors)
    }

    /// Opens a target incident; returns the open incidents of the
    /// contributors that touched only this endpoint, to fold into it.
    fn open_target(
        &mut self,
        seen: &Seen<'_>,
        now_ms: i64,
        events: &mut Vec<IncidentEvent>,
    ) -> Vec<u64> {
        let tk = GroupKey::Target(seen.ep_key.clone());
        let contributors: Vec<GroupKey> = self
            .targets
            .get(&seen.ep_key)
            .map(|w| {
                let mut v: Vec<GroupKey> = w.keys.keys().cloned().collect();
                v.sort();
                v
            })
            .unwrap_or_default();
        let t = self.open_new(tk, seen, now_ms, events);
        let mut out = Vec::new();
        for k in &contributors {
            if let Some(own) = self.resolve(k)
                && own != t
                && !out.contains(&own)
                && self.only_on(own, &seen.ep_key)
                && self
                    .incidents
                    .get(&own)
                    .is_some_and(|i| matches!(i.key, GroupKey::Actor(_) | GroupKey::Ip(_)))
            {
                out.push(own);
            }
        }
        out
    }

    fn only_on(&self, seq: u64, ep_key: &str) -> bool {
        self.incidents.get(&seq).is_some_and(|i| {
            i.endpoints
                .iter()
                .all(|e| format!("{} {}", e.method, e.endpoint) == ep_key)
        })
    }

    /// Folds incident `from` into `into`; `from` disappears.
    fn merge(&mut self, from: u64, into: u64, now_ms: i64, events: &mut Vec<IncidentEvent>) {
        if from == into {
            return;
        }
        let Some(src) = self.incidents.remove(&from) else {
            return;
        };
        let src_int = self.internals.remove(&from).unwrap_or_default();
        self.activity.remove(&(src_int.active_ms, from));
        let src_active_ms = src_int.active_ms;
        if self.open.get(&src.key) == Some(&from) {
            self.open.remove(&src.key);
        }
        self.dirty.remove(&from);
        // the merged group and everything that fed it keep routing here
        for v in self.aliases.values_mut() {
            if *v == from {
                *v = into;
            }
        }
        for v in self.attacks.values_mut() {
            if v.0 == from {
                v.0 = into;
            }
        }
        self.add_alias(src.key.clone(), into);
        let max_tl = self.cfg.max_timeline;
        let max_ev = self.cfg.max_evidence;
        let Some(dst) = self.incidents.get_mut(&into) else {
            return;
        };
        let dint = self.internals.entry(into).or_default();
        let before_phase = dst.phase;
        let before_sev = dst.severity;
        for ip in src_int.ips {
            if dint.ips.len() < MAX_SET {
                dint.ips.insert(ip);
            }
        }
        for a in src_int.actors {
            if dint.actors.len() < MAX_SET {
                dint.actors.insert(a);
            }
        }
        dst.opened_ms = dst.opened_ms.min(src.opened_ms);
        dst.last_seen_ms = dst.last_seen_ms.max(src.last_seen_ms);
        let c = &mut dst.counts;
        c.exchanges += src.counts.exchanges;
        c.findings += src.counts.findings;
        c.blocked += src.counts.blocked;
        c.rate_limited += src.counts.rate_limited;
        c.success_2xx += src.counts.success_2xx;
        c.ips = c.ips.max(dint.ips.len() as u64);
        c.actors = c.actors.max(dint.actors.len() as u64);
        for a in src.actors {
            match dst.actors.iter().position(|s| s.id == a.id) {
                Some(i) => {
                    let s = &mut dst.actors[i];
                    s.risk = s.risk.max(a.risk);
                    s.requests += a.requests;
                }
                None if dst.actors.len() < MAX_ACTORS => dst.actors.push(a),
                None => {}
            }
        }
        for c in src.campaigns {
            push_bounded(&mut dst.campaigns, &c, MAX_CAMPAIGNS);
        }
        for ip in src.ips {
            if !dst.ips.contains(&ip) && dst.ips.len() < MAX_IPS {
                dst.ips.push(ip);
            }
        }
        for f in src.fingerprints {
            push_bounded(&mut dst.fingerprints, &f, MAX_FPS);
        }
        for u in src.user_agents {
            push_bounded(&mut dst.user_agents, &u, MAX_UAS);
        }
        for e in src.endpoints {
            match dst
                .endpoints
                .iter()
                .position(|d| d.method == e.method && d.endpoint == e.endpoint)
            {
                Some(i) => {
                    let d = &mut dst.endpoints[i];
                    d.requests += e.requests;
                    d.findings += e.findings;
                    d.stopped += e.stopped;
                    d.success_2xx += e.success_2xx;
                    d.first_2xx_ms = match (d.first_2xx_ms, e.first_2xx_ms) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                None if dst.endpoints.len() < MAX_ENDPOINTS => dst.endpoints.push(e),
                None => {}
            }
        }
        // an incident that knew only a blocked actor's decisions has no
        // phase of its own to bring (see `absorb`)
        let decisions_only = |kinds: &[KindStat]| kinds.iter().all(|k| k.kind == DECISION_KIND);
        let (src_dec, dst_dec) = (decisions_only(&src.kinds), decisions_only(&dst.kinds));
        let mut src_phases = src.phases;
        if src_dec && !dst_dec {
            src_phases.clear();
        } else if dst_dec && !src_dec {
            dst.phases.clear();
            dst.phase = src_phases
                .iter()
                .map(|p| p.phase)
                .min()
                .unwrap_or(dst.phase);
        }
        for k in src.kinds {
            match dst.kinds.iter().position(|d| d.kind == k.kind) {
                Some(i) => {
                    let d = &mut dst.kinds[i];
                    d.count += k.count;
                    d.max_severity = d.max_severity.max(k.max_severity);
                    d.phase = d.phase.max(k.phase);
                    d.first_ms = d.first_ms.min(k.first_ms);
                    d.last_ms = d.last_ms.max(k.last_ms);
                    for r in &k.rules {
                        push_bounded(&mut d.rules, r, 8);
                    }
                    for l in &k.locations {
                        push_bounded(&mut d.locations, l, 8);
                    }
                }
                None if dst.kinds.len() < MAX_KINDS => dst.kinds.push(k),
                None => {}
            }
        }
        for p in src_phases {
            match dst.phases.iter_mut().find(|d| d.phase == p.phase) {
                Some(d) => {
                    d.findings += p.findings;
                    d.first_ms = d.first_ms.min(p.first_ms);
                }
                None => dst.phases.push(p),
            }
        }
        dst.phases.sort_by_key(|p| p.phase);
        if let Some(p) = dst.phases.iter().map(|p| p.phase).max() {
            dst.phase = dst.phase.max(p);
        }
        let b = &mut dst.blast_radius;
        b.attack_succeeded |= src.blast_radius.attack_succeeded;
        b.requests_not_stopped += src.blast_radius.requests_not_stopped;
        for e in src.blast_radius.endpoints_targeted {
            push_bounded(&mut b.endpoints_targeted, &e, MAX_ENDPOINTS);
        }
        for d in src.blast_radius.data_at_risk {
            push_bounded(&mut b.data_at_risk, &d, 32);
        }
        for e in src.blast_radius.endpoints_reached {
            push_bounded(&mut b.endpoints_reached, &e, 64);
        }
        for d in src.blast_radius.data_classes {
            push_bounded(&mut b.data_classes, &d, 32);
        }
        for s in src.blast_radius.services {
            push_bounded(&mut b.services, &s, 32);
        }
        // evidence: keep the earliest as first, then the best ranked
        let mut ev: Vec<Evidence> = dst.evidence.drain(..).chain(src.evidence).collect();
        ev.sort_by_key(|e| e.ts_ms);
        for (i, e) in ev.iter_mut().enumerate() {
            e.first = i == 0;
        }
        if ev.len() > max_ev {
            let first = ev.remove(0);
            ev.sort_by_key(|e| std::cmp::Reverse(evidence_rank(e)));
            ev.truncate(max_ev - 1);
            ev.push(first);
            ev.sort_by_key(|e| e.ts_ms);
        }
        dst.evidence = ev;
        let mut notes: Vec<Note> = dst.notes.drain(..).chain(src.notes).collect();
        notes.sort_by_key(|n| n.ts_ms);
        if notes.len() > MAX_NOTES {
            notes.drain(..notes.len() - MAX_NOTES);
        }
        dst.notes = notes;
        // timeline: the source's first-seen entry is kept as it tells
        // when that part of the attack started
        let mut tl: Vec<TimelineEntry> = dst.timeline.drain(..).chain(src.timeline).collect();
        tl.sort_by_key(timeline_order);
        dst.timeline_dropped += src.timeline_dropped;
        dst.timeline = Vec::new();
        for t in tl {
            push_timeline(dst, max_tl, t);
        }
        push_bounded(&mut dst.merged_from, &src.id, 256);
        for m in src.merged_from {
            push_bounded(&mut dst.merged_from, &m, 256);
        }
        push_timeline(
            dst,
            max_tl,
            TimelineEntry {
                ts_ms: now_ms.max(src.last_seen_ms),
                kind: TimelineKind::Merged,
                text: format!("Merged {} ({}) into this incident", src.id, src.key),
                request_id: None,
                who: None,
            },
        );
        dst.severity = narrative::severity(dst).max(before_sev);
        dst.title = narrative::title(dst);
        narrative::refresh(dst);
        let mut detail = format!("merged {} ({})", src.id, src.key);
        if dst.phase > before_phase {
            detail.push_str(&format!(
                ", phase {} → {}",
                before_phase.as_str(),
                dst.phase.as_str()
            ));
        }
        events.push(event(EventKind::Merged, dst, None, detail, now_ms));
        self.reindex(into, src_active_ms);
    }

    fn expire_quiet(&mut self, now_ms: i64, events: &mut Vec<IncidentEvent>) {
        let cutoff = now_ms.saturating_sub(self.cfg.quiet_after_ms);
        let stale: Vec<u64> = self
            .activity
            .iter()
            .take_while(|(last, _)| *last <= cutoff)
            .map(|(_, seq)| *seq)
            .collect();
        if stale.is_empty() {
            return;
        }
        for seq in stale {
            self.quiet(seq, now_ms, events);
        }
        self.evict_inactive();
    }

    fn quiet_oldest(&mut self, now_ms: i64, events: &mut Vec<IncidentEvent>) -> bool {
        match self.activity.iter().next().map(|(_, seq)| *seq) {
            Some(seq) => {
                self.quiet(seq, now_ms, events);
                self.evict_inactive();
                true
            }
            None => false,
        }
    }

    fn quiet(&mut self, seq: u64, now_ms: i64, events: &mut Vec<IncidentEvent>) {
        let max_tl = self.cfg.max_timeline;
        let Some(inc) = self.incidents.get_mut(&seq) else {
            // never expected: drop a stale index entry so callers progress
            self.activity.retain(|(_, s)| *s != seq);
            return;
        };
        if self.open.get(&inc.key) == Some(&seq) {
            self.open.remove(&inc.key);
        }
        let text = format!(
            "Quiet: no activity since {}",
            timefmt::utc(inc.last_seen_ms)
        );
        push_timeline(
            inc,
            max_tl,
            TimelineEntry {
                ts_ms: now_ms.max(inc.last_seen_ms),
                kind: TimelineKind::Quiet,
                text,
                request_id: None,
                who: None,
            },
        );
        inc.active = false;
        narrative::refresh(inc);
        self.dirty.remove(&seq);
        events.push(event(
            EventKind::Quiet,
            inc,
            None,
            "no recent activity".into(),
            now_ms,
        ));
        self.deactivate(seq);
    }

    fn deactivate(&mut self, seq: u64) {
        if let Some(inc) = self.incidents.get_mut(&seq) {
            inc.active = false;
        }
        if let Some(int) = self.internals.remove(&seq) {
            self.activity.remove(&(int.active_ms, seq));
        }
        self.inactive.push_back(seq);
        if self.inactive.len() > 4 * self.cfg.max_closed + 16 {
            let incidents = &self.incidents;
            let mut seen = HashSet::new();
            self.inactive
                .retain(|s| incidents.get(s).is_some_and(|i| !i.active) && seen.insert(*s));
        }
    }

    fn evict_inactive(&mut self) {
        while self.incidents.len().saturating_sub(self.open.len()) > self.cfg.max_closed {
            let Some(seq) = self.inactive.pop_front() else {
                break;
            };
            if self.incidents.get(&seq).is_some_and(|i| !i.active) {
                self.incidents.remove(&seq);
                self.internals.remove(&seq);
                self.dirty.remove(&seq);
            }
        }
    }

    fn refresh_dirty(&mut self) {
        for seq in std::mem::take(&mut self.dirty) {
            if let Some(inc) = self.incidents.get_mut(&seq) {
                inc.title = narrative::title(inc);
                narrative::refresh(inc);
            }
        }
    }
}

fn base_key(ex: &Exchange) -> GroupKey {
    match &ex.actor {
        Some(a) => match &a.campaign {
            Some(c) if !c.is_empty() => GroupKey::Campaign(clip(c, 64)),
            _ if !a.id.is_empty() => GroupKey::Actor(clip(&a.id, 64)),
            _ => GroupKey::Ip(ex.client_ip),
        },
        None => GroupKey::Ip(ex.client_ip),
    }
}

/// What attack an exchange is part of, beyond its group: its behavioural
/// abuse finding (the kind that best names the attack) on its endpoint, or
/// recon from its network.
fn attack_sig(seen: &Seen<'_>) -> Option<AttackSig> {
    let abuse = seen
        .findings
        .iter()
        .filter(|f| {
            f.location == "actor" && f.kind != DECISION_KIND && f.phase >= Phase::Exploitation
        })
        .max_by_key(|f| (narrative::abuse_rank(&f.kind), std::cmp::Reverse(&f.kind)));
    if let Some(f) = abuse {
        return Some(AttackSig::Abuse {
            kind: clip(&f.kind, 64),
            ep: seen.ep_key.clone(),
        });
    }
    seen.findings
        .iter()
        .any(|f| f.phase == Phase::Recon && f.kind != DECISION_KIND)
        .then(|| AttackSig::Recon {
            net: network_of(seen.ex.client_ip),
        })
}

/// `First seen: card_testing by keen-goose from 127.11.0.8 on POST /v1/charges`.
fn first_seen_text(key: &GroupKey, seen: &Seen<'_>) -> String {
    let ex = seen.ex;
    let kinds: Vec<&str> = dedup(seen.findings.iter().map(|f| f.kind.as_str()));
    let who = match (key, &ex.actor) {
        (GroupKey::Target(t), _) => format!("many actors against {t}"),
        (_, Some(a)) => format!("{} from {}", a.name, ex.client_ip),
        _ => ex.client_ip.to_string(),
    };
    let what = if kinds.is_empty() {
        "a request stopped inline".to_string()
    } else {
        kinds.join(", ")
    };
    clip(
        &format!("First seen: {what} by {who} on {}", seen.ep_key),
        300,
    )
}

fn id_of(seq: u64) -> String {
    format!("inc-{seq:06}")
}

fn seq_of(id: &str) -> Option<u64> {
    id.strip_prefix("inc-")?.parse().ok()
}

/// Cuts a string to at most `max` characters.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => {
            let mut o = s[..i].to_string();
            o.push('…');
            o
        }
        None => s.to_string(),
    }
}

fn push_bounded(v: &mut Vec<String>, s: &str, max: usize) {
    if v.len() < max && !v.iter().any(|x| x == s) {
        v.push(clip(s, 160));
    }
}

fn bounded(mut v: Vec<String>, max: usize) -> Vec<String> {
    v.truncate(max);
    for s in v.iter_mut() {
        *s = clip(s, 64);
    }
    v
}

fn dedup<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for s in it {
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

/// Timeline order: by time, a first-seen entry before others at the same
/// millisecond.
fn timeline_order(t: &TimelineEntry) -> (i64, bool) {
    (t.ts_ms, t.kind != TimelineKind::FirstSeen)
}

fn req_id_of(ex: &Exchange) -> Option<String> {
    Some(clip(&ex.id, 64))
}

/// Appends to the timeline; when full, drops the oldest of the least
/// telling entries and counts it: merges first, then new finding kinds and
/// the first-seen entries of merged incidents, then other events (phase
/// escalations, first block, first success, ...). Status changes, notes and
/// the incident's own first-seen entry go last.
fn push_timeline(inc: &mut Incident, max: usize, e: TimelineEntry) {
    inc.timeline.push(e);
    inc.timeline.sort_by_key(timeline_order);
    while inc.timeline.len() > max {
        let first_seen = inc
            .timeline
            .iter()
            .position(|t| t.kind == TimelineKind::FirstSeen);
        let keep = |i: usize, t: &TimelineEntry| -> u8 {
            match t.kind {
                TimelineKind::StatusChanged | TimelineKind::Note => 3,
                TimelineKind::FirstSeen if Some(i) == first_seen => 3,
                TimelineKind::Merged => 0,
                TimelineKind::NewFindingKind | TimelineKind::FirstSeen => 1,
                _ => 2,
            }
        };
        let idx = inc
            .timeline
            .iter()
            .enumerate()
            .min_by_key(|(i, t)| (keep(*i, t), *i))
            .map_or(0, |(i, _)| i);
        inc.timeline.remove(idx);
        inc.timeline_dropped += 1;
    }
}

fn evidence_rank(e: &Evidence) -> (Severity, bool, u32, std::cmp::Reverse<i64>) {
    let success = e.status.is_some_and(|s| (200..300).contains(&s)) && !e.enforced;
    (e.max_severity, success, e.score, std::cmp::Reverse(e.ts_ms))
}

fn consider_evidence(
    inc: &mut Incident,
    seen: &Seen<'_>,
    is_first: bool,
    predates: bool,
    max: usize,
) {
    if predates {
        // the incident's first request now: it is kept, in place of the
        // weakest piece when full
        for e in inc.evidence.iter_mut() {
            e.first = false;
        }
        if inc.evidence.len() >= max
            && let Some((i, _)) = inc
                .evidence
                .iter()
                .enumerate()
                .min_by(|a, b| evidence_rank(a.1).cmp(&evidence_rank(b.1)))
        {
            inc.evidence.remove(i);
        }
    }
    let is_first = is_first || predates;
    let max_sev = seen
        .findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Medium);
    let score: u32 = seen.findings.iter().map(|f| f.score).sum();
    let status = seen.ex.status();
    let new_kind = seen.findings.iter().any(|f| {
        !inc.evidence
            .iter()
            .any(|e| e.findings.iter().any(|g| g.kind == f.kind))
    });
    let cand_rank = (
        max_sev,
        seen.success,
        score,
        std::cmp::Reverse(seen.ex.ts_ms),
    );
    let replace: Option<usize> = if is_first || inc.evidence.len() < max {
        None
    } else {
        // the weakest non-first piece
        let (idx, weakest) = match inc
            .evidence
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.first)
            .min_by(|a, b| evidence_rank(a.1).cmp(&evidence_rank(b.1)))
        {
            Some((i, e)) => (i, evidence_rank(e)),
            None => return,
        };
        if cand_rank > weakest || (new_kind && cand_rank.0 >= weakest.0) {
            Some(idx)
        } else {
            return;
        }
    };
    let m = seen.ex.masked();
    let body = if m.request.body.data.is_empty() {
        String::new()
    } else {
        match m.request.body.text() {
            Some(t) => clip(t, 1024),
            None => format!("[binary: {} bytes]", m.request.body.size),
        }
    };
    let ev = Evidence {
        request_id: clip(&m.id, 64),
        ts_ms: m.ts_ms,
        client_ip: m.client_ip,
        method: seen.method.clone(),
        target: clip(&m.request.target, 512),
        user_agent: m.request.header("user-agent").map(|u| clip(u, 160)),
        body,
        status,
        action: m.verdict.action().as_str().to_string(),
        enforced: m.enforced,
        findings: seen
            .findings
            .iter()
            .take(8)
            .map(|f| EvidenceFinding {
                kind: clip(&f.kind, 64),
                rule_id: clip(&f.rule_id, 96),
                location: clip(&f.location, 96),
                fragment: clip(f.fragment.as_str(), 160),
                severity: f.severity,
                phase: f.phase,
            })
            .collect(),
        max_severity: max_sev,
        score,
        first: is_first,
    };
    match replace {
        Some(i) => inc.evidence[i] = ev,
        None => inc.evidence.push(ev),
    }
    inc.evidence.sort_by_key(|e| e.ts_ms);
}

fn event(
    kind: EventKind,
    inc: &Incident,
    seen: Option<&Seen<'_>>,
    detail: String,
    now_ms: i64,
) -> IncidentEvent {
    let top = seen.and_then(|s| s.top());
    let ex = seen.map(|s| s.ex);
    IncidentEvent {
        kind,
        incident_id: inc.id.clone(),
        title: inc.title.clone(),
        severity: inc.severity,
        phase: inc.phase,
        status: inc.status,
        ts_ms: ex.map_or(now_ms, |e| e.ts_ms),
        detail,
        rule: top
            .map(|f| f.rule_id.clone())
            .or_else(|| narrative::top_rule(inc)),
        location: top.map(|f| clip(&f.location, 96)),
        actor: ex
            .and_then(|e| e.actor.as_ref())
            .map(|a| format!("{} ({})", a.name, a.id)),
        client_ip: ex.map(|e| e.client_ip),
        request_id: ex.map(|e| clip(&e.id, 64)),
        endpoint: seen.map(|s| s.ep_key.clone()),
        summary: inc.summary.clone(),
    }
}
