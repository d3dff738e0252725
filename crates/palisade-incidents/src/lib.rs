//! Incidents: findings grouped into what a security engineer triages.
//!
//! The [`IncidentEngine`] sees every analysed [`palisade_core::Exchange`] and
//! groups those that carry findings (or were stopped inline) into
//! [`Incident`]s: one per *attack*. An exchange goes to its campaign's (else
//! actor's, else client address's) incident, or to the incident that group
//! was merged into; a group without one joins the incident of the same
//! attack (the same behavioural abuse on the same endpoint, or recon from
//! the same network, within a window), so a botnet the actors layer splits
//! into several campaign ids, or sees before linking it, is one incident;
//! many unrelated actors on one endpoint make a *target* incident. Each
//! incident keeps its phase progression (recon, probing, exploitation, abuse),
//! a timeline of key events, the actors, addresses and fingerprints involved,
//! the endpoints targeted and the blast radius, a few pieces of masked
//! evidence, a generated summary and next steps (including exact rule and
//! exclusion text), and a status workflow with notes.
//!
//! The engine is pure and deterministic: it does no IO, reads no clock (time
//! is the `now_ms` argument) and is bounded in memory (open and closed
//! incidents, evidence, timeline, actors and addresses are all capped). What it
//! knows of the API catalog (templates, data classes, called services) comes
//! through the [`Lookup`] trait, so this crate depends on `palisade-core` only.
//!
//! ```
//! use palisade_core::{ActorRef, Exchange, Finding, Phase, Severity};
//! use palisade_incidents::{EventKind, IncidentEngine, NoLookup, Status};
//!
//! let mut engine = IncidentEngine::default();
//! let mut ex: Exchange = serde_json::from_str(
//!     r#"{"id":"r1","ts_ms":1700000000000,"client_ip":"203.0.113.9",
//!         "request":{"method":"GET","target":"/v1/search?q=1%27%20or%201=1--"},
//!         "response":{"status":200}}"#,
//! ).unwrap();
//! ex.findings.push(Finding::new("sqli", "sqli.shape", "query.q")
//!     .severity(Severity::Critical).phase(Phase::Exploitation).fragment("1' or 1=1--"));
//! ex.actor = Some(ActorRef { id: "a1".into(), name: "brave-otter".into(), risk: 60, campaign: None });
//!
//! let events = engine.observe(&ex, &NoLookup, ex.ts_ms);
//! assert_eq!(events[0].kind, EventKind::Opened);
//! let id = events[0].incident_id.clone();
//! let inc = engine.get(&id).unwrap();
//! assert!(inc.title.starts_with("SQL injection against GET /v1/search by actor brave-otter"));
//! assert!(inc.blast_radius.attack_succeeded);
//! assert!(inc.next_steps.iter().any(|s| s.action == "add_rule"));
//!
//! engine.set_status(&id, Status::FalsePositive, "alice", "search box accepts quotes", ex.ts_ms + 60_000).unwrap();
//! let toml = &engine.get(&id).unwrap().exclusion_proposals[0].toml;
//! assert!(toml.contains("location = \"query.q\""));
//! ```
//!
//! It is not a store (the caller persists [`IncidentEngine::to_snapshot`]) and
//! it does not deliver alerts (`palisade-alerts` does, from the
//! [`IncidentEvent`]s that [`IncidentEngine::observe`] returns).

#![forbid(unsafe_code)]

pub mod engine;
pub mod error;
pub mod lookup;
pub mod model;
pub mod narrative;
mod timefmt;

pub use engine::{EngineConfig, EngineStats, IncidentEngine};
pub use error::IncidentError;
pub use lookup::{FnLookup, Lookup, NoLookup, fallback_template};
pub use model::{
    ActorSeen, BlastRadius, Counts, EndpointHit, EventKind, Evidence, EvidenceFinding,
    ExclusionProposal, GroupKey, Incident, IncidentBrief, IncidentEvent, KindStat, NextStep, Note,
    PhaseSeen, Status, TimelineEntry, TimelineKind,
};
