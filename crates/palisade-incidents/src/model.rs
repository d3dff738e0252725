//! The incident data model: [`Incident`] and its parts, the status workflow
//! ([`Status`]) and the events the engine emits ([`IncidentEvent`]).
//!
//! These are plain serde types (the console serves them as they are, and the
//! snapshot stores them). Every string that came from traffic is masked before
//! it is put here; nothing in this module masks again.

use std::fmt;
use std::net::IpAddr;

use palisade_core::{Phase, Severity};
use serde::{Deserialize, Serialize};

/// What an incident groups by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum GroupKey {
    /// A campaign of linked actors (the actors crate's campaign id).
    Campaign(String),
    /// One actor (actor id).
    Actor(String),
    /// A client address, for findings with no actor attributed.
    Ip(IpAddr),
    /// Many unrelated actors against one endpoint: `METHOD template`.
    Target(String),
    /// Several actors of one network (`203.0.113.0/24`, `2001:db8:1:2::/64`)
    /// scanning at the same time.
    Network(String),
}

impl GroupKey {
    /// How much a key says about who is behind an incident: when two
    /// incidents turn out to be one attack, the survivor keeps the key of
    /// highest rank (campaign, then target, network, actor, address).
    pub fn rank(&self) -> u8 {
        match self {
            GroupKey::Campaign(_) => 4,
            GroupKey::Target(_) => 3,
            GroupKey::Network(_) => 2,
            GroupKey::Actor(_) => 1,
            GroupKey::Ip(_) => 0,
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupKey::Campaign(c) => write!(f, "campaign {c}"),
            GroupKey::Actor(a) => write!(f, "actor {a}"),
            GroupKey::Ip(ip) => write!(f, "address {ip}"),
            GroupKey::Target(t) => write!(f, "target {t}"),
            GroupKey::Network(n) => write!(f, "network {n}"),
        }
    }
}

/// Where an incident is in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// New, nobody has looked yet.
    #[default]
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Handled: the attack is stopped or was harmless.
    Resolved,
    /// Not an attack: legitimate traffic that was flagged.
    FalsePositive,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
            Status::FalsePositive => "false_positive",
        }
    }

    /// The statuses this one may change to. Resolved and false-positive
    /// incidents can only be reopened.
    pub fn allowed_next(self) -> &'static [Status] {
        match self {
            Status::Open => &[
                Status::Acknowledged,
                Status::Resolved,
                Status::FalsePositive,
            ],
            Status::Acknowledged => &[Status::Open, Status::Resolved, Status::FalsePositive],
            Status::Resolved | Status::FalsePositive => &[Status::Open],
        }
    }

    /// Whether the incident is closed for triage (new activity of the same
    /// group opens a new incident).
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Resolved | Status::FalsePositive)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" | "reopen" => Ok(Status::Open),
            "acknowledged" | "ack" => Ok(Status::Acknowledged),
            "resolved" => Ok(Status::Resolved),
            "false_positive" | "false-positive" | "fp" => Ok(Status::FalsePositive),
            other => Err(format!(
                "unknown status `{other}` (hint: open, acknowledged, resolved, false_positive)"
            )),
        }
    }
}

/// When a phase was first seen, and how many findings were in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseSeen {
    pub phase: Phase,
    pub first_ms: i64,
    pub findings: u64,
}

/// What a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    FirstSeen,
    NewFindingKind,
    FirstBlock,
    PhaseEscalation,
    SeverityRaised,
    AttackSucceeded,
    Merged,
    StatusChanged,
    Note,
    Quiet,
    Reactivated,
}

/// One key event. Only key events are recorded (first of each kind), so a
/// timeline stays short however long the attack runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub ts_ms: i64,
    pub kind: TimelineKind,
    pub text: String,
    /// The request that caused it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Who did it, for status changes and notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
}

/// An actor involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorSeen {
    pub id: String,
    pub name: String,
    /// Highest risk seen.
    pub risk: u8,
    pub requests: u64,
}

/// One endpoint targeted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointHit {
    pub method: String,
    /// The template (`/v1/accounts/{id}`), or a fallback template of the path.
    pub endpoint: String,
    pub requests: u64,
    pub findings: u64,
    /// Requests stopped inline (blocked or rate-limited, enforced).
    pub stopped: u64,
    /// Flagged requests answered 2xx.
    pub success_2xx: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_2xx_ms: Option<i64>,
    /// Data classes the endpoint carries (from the catalog).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_classes: Vec<String>,
    /// Services the endpoint calls (from the service graph).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}

impl EndpointHit {
    /// `POST /v1/charges`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.endpoint)
    }
}

/// Findings of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindStat {
    pub kind: String,
    /// Rule or detector ids seen (at most 8).
    pub rules: Vec<String>,
    /// Locations seen (at most 8).
    pub locations: Vec<String>,
    pub count: u64,
    pub max_severity: Severity,
    pub phase: Phase,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// Tallies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Exchanges grouped into the incident.
    pub exchanges: u64,
    pub findings: u64,
    /// Enforced blocks.
    pub blocked: u64,
    /// Enforced rate limits.
    pub rate_limited: u64,
    /// Flagged requests answered 2xx.
    pub success_2xx: u64,
    /// Distinct addresses (exact up to 4096, then a lower bound).
    pub ips: u64,
    /// Distinct actors (exact up to 4096, then a lower bound).
    pub actors: u64,
}

/// What the attack aimed at and what it reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlastRadius {
    /// Endpoints that received flagged requests (`METHOD template`, at
    /// most 64): what was at risk, whether or not anything got through.
    #[serde(default)]
    pub endpoints_targeted: Vec<String>,
    /// Data classes carried by the endpoints targeted (from the catalog).
    #[serde(default)]
    pub data_at_risk: Vec<String>,
    /// Flagged requests that were not stopped inline (they reached the
    /// upstream, whatever it answered).
    #[serde(default)]
    pub requests_not_stopped: u64,
    /// Endpoints where a flagged request was answered 2xx.
    pub endpoints_reached: Vec<String>,
    /// Data classes carried by the endpoints reached.
    pub data_classes: Vec<String>,
    /// Whether any attack request got a 2xx answer.
    pub attack_succeeded: bool,
    /// Services called by the endpoints reached (service graph).
    pub services: Vec<String>,
}

/// A finding as shown in evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFinding {
    pub kind: String,
    pub rule_id: String,
    pub location: String,
    /// Masked.
    pub fragment: String,
    pub severity: Severity,
    pub phase: Phase,
}

/// One masked request kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub request_id: String,
    pub ts_ms: i64,
    pub client_ip: IpAddr,
    pub method: String,
    /// Path and query, masked.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Request body sample, masked, at most 1 KiB.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The verdict's action (`block`, `log`, ...).
    pub action: String,
    pub enforced: bool,
    pub findings: Vec<EvidenceFinding>,
    pub max_severity: Severity,
    /// Total score of the findings, for ranking.
    pub score: u32,
    /// Whether this was the incident's first request.
    pub first: bool,
}

/// A note on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub ts_ms: i64,
    pub who: String,
    pub text: String,
    /// The status set with this note, when it came with a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// An exclusion proposed after a false-positive verdict, in the format of
/// `docs/detection.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionProposal {
    /// Endpoint path, exact or with `*` globs.
    pub path: String,
    pub method: String,
    /// The finding location (`body.html`), when findings were in one place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Detector kind or rule id.
    pub rule: String,
    /// Findings in this incident it would have dropped.
    pub findings: u64,
    /// The exact TOML to add to the detection config.
    pub toml: String,
}

/// A recommended next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextStep {
    /// `block_actor`, `block_campaign`, `add_rule`, `add_exclusion`,
    /// `review_exposure`, `reset_credentials`, `watch`.
    pub action: String,
    pub text: String,
    /// Exact configuration text (a rule or an exclusion), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

/// An incident. See the crate documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub key: GroupKey,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    /// The furthest phase reached.
    pub phase: Phase,
    /// Each phase seen, in phase order, with when it was first seen.
    pub phases: Vec<PhaseSeen>,
    pub opened_ms: i64,
    pub last_seen_ms: i64,
    /// Still grouping new activity (not quiet, not closed).
    pub active: bool,
    pub timeline: Vec<TimelineEntry>,
    /// Timeline entries dropped once the timeline was full.
    #[serde(default)]
    pub timeline_dropped: u64,
    /// Actors, at most 32 (see `counts.actors` for the total).
    pub actors: Vec<ActorSeen>,
    /// Campaign ids involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub campaigns: Vec<String>,
    /// Addresses, at most 64 (see `counts.ips`).
    pub ips: Vec<IpAddr>,
    /// TLS fingerprints (JA4), at most 16.
    pub fingerprints: Vec<String>,
    /// User agents, masked, at most 8.
    pub user_agents: Vec<String>,
    /// Endpoints targeted, at most 64.
    pub endpoints: Vec<EndpointHit>,
    pub kinds: Vec<KindStat>,
    pub counts: Counts,
    pub blast_radius: BlastRadius,
    /// The first request and the most severe few, masked.
    pub evidence: Vec<Evidence>,
    pub notes: Vec<Note>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusion_proposals: Vec<ExclusionProposal>,
    /// Incidents merged into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// Generated plain-language summary (refreshed on every change).
    pub summary: String,
    /// Generated next steps (refreshed on every change).
    pub next_steps: Vec<NextStep>,
}

/// What happened to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Opened,
    /// Phase or severity went up.
    Escalated,
    /// A flagged request was answered 2xx for the first time.
    AttackSucceeded,
    /// Another incident was folded into this one.
    Merged,
    /// No activity for the quiet period: no longer grouping.
    Quiet,
    StatusChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Escalated => "escalated",
            EventKind::AttackSucceeded => "attack_succeeded",
            EventKind::Merged => "merged",
            EventKind::Quiet => "quiet",
            EventKind::StatusChanged => "status_changed",
        }
    }
}

/// An event for alerting and the console: self-contained, so that an alert
/// can be built without reading the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentEvent {
    pub kind: EventKind,
    pub incident_id: String,
    pub title: String,
    pub severity: Severity,
    pub phase: Phase,
    pub status: Status,
    pub ts_ms: i64,
    /// What changed, in one line (`phase probing → exploitation`).
    pub detail: String,
    /// The rule or detector of the most severe finding of the triggering request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `name (id)` of the actor of the triggering request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `METHOD endpoint` of the triggering request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub summary: String,
}

/// A list row for an incident (the console's incident list): what to sort
/// and filter by, without timeline, evidence or notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentBrief {
    pub id: String,
    pub key: GroupKey,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub phase: Phase,
    pub opened_ms: i64,
    pub last_seen_ms: i64,
    pub active: bool,
    pub counts: Counts,
    pub endpoints: usize,
    pub attack_succeeded: bool,
}

impl Incident {
    /// The list row of this incident.
    pub fn brief(&self) -> IncidentBrief {
        IncidentBrief {
            id: self.id.clone(),
            key: self.key.clone(),
            title: self.title.clone(),
            severity: self.severity,
            status: self.status,
            phase: self.phase,
            opened_ms: self.opened_ms,
            last_seen_ms: self.last_seen_ms,
            active: self.active,
            counts: self.counts.clone(),
            endpoints: self.endpoints.len(),
            attack_succeeded: self.blast_radius.attack_succeeded,
        }
    }
}
