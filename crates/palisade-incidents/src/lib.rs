//! Incidents: findings grouped into what a security engineer triages.
//!
//! The [`IncidentEngine`] sees every analysed [`palisade_core::Exchange`] and
//! groups those that carry findings (or were stopped inline) into
//! [`Incident`]s: one per campaign, else per actor, else per client address,
//! and one per *target* when many unrelated actors hit one endpoint. Each
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
    ExclusionProposal, GroupKey, Incident, IncidentEvent, KindStat, NextStep, Note, PhaseSeen,
    Status, TimelineEntry, TimelineKind,
};
