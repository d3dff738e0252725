//! Actor tracking for Palisade: who is behind the requests, how risky they
//! are, and what the inline path should do about them.
//!
//! What it is:
//! - fingerprints ([`ja4`] from a raw TLS ClientHello, [`ja4h`] an HTTP
//!   fingerprint in the JA4H spirit) and the [`keys::request_keys`] that the
//!   gateway computes for every request;
//! - identity resolution and linking ([`ActorTracker`]): requests resolve to an
//!   actor by a strong identifier (session, token, API key, device id) or by the
//!   actor's own IP + fingerprint combination, never by a bare network; actors
//!   that share strong identifiers, or a rare fingerprint plus the same abusive
//!   behaviour, link into a campaign;
//! - risk 0-100 that accumulates with findings weighted by phase and decays
//!   exponentially, graduated responses (watch, rate-limit, tarpit, block for a
//!   time, deny after repeated blocks) and an allowlist checked first;
//! - abuse detectors ([`detectors`], one file each) with bounded per-actor and
//!   per-account / BIN / fingerprint counters;
//! - an immutable [`DecisionSnapshot`] that analysis publishes and the inline
//!   path reads without waiting.
//!
//! What it is not: it does no IO, spawns nothing and reads no clock. Time comes
//! in as `now_ms` arguments, so everything here is deterministic and testable
//! without sockets. It never keeps a card number, password or raw secret:
//! identifiers are hashed with the installation's [`palisade_core::KeyedHasher`]
//! at extraction.
//!
//! ```
//! use palisade_actors::{ActorsConfig, request_keys};
//! use palisade_core::{Exchange, KeyedHasher};
//!
//! let hasher = KeyedHasher::insecure_for_tests();
//! let mut tracker = ActorsConfig::default().build(hasher.clone()).unwrap();
//! let ex: Exchange = serde_json::from_str(
//!     r#"{"ts_ms":1,"client_ip":"192.0.2.1","request":{"method":"GET","target":"/"}}"#,
//! ).unwrap();
//! let snapshot = tracker.snapshot(1_000); // analysis: publish through arc-swap
//! let decision = snapshot.decide(&request_keys(&ex, &hasher), 1_000); // gateway, inline
//! assert!(decision.is_none());
//! let obs = tracker.observe(&ex, 1_001); // analysis, after the response
//! assert_eq!(tracker.actor(obs.actor_id, 1_001).unwrap().requests, 1);
//! ```

#![forbid(unsafe_code)]

pub mod config;
pub mod detectors;
mod extract;
mod ids;
pub mod ja4;
pub mod ja4h;
pub mod keys;
pub mod names;
mod risk;
mod sketch;
pub mod snapshot;
pub mod tracker;
pub mod view;

pub use config::{ActorsConfig, ResponseConfig};
pub use ids::{ActorId, CampaignId};
pub use keys::request_keys;
pub use snapshot::{Decision, DecisionSnapshot};
pub use tracker::{ActorTracker, Observation};
pub use view::{ActorView, CampaignView, Level};

/// The one error type of this crate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ActorsError {
    /// The configuration is invalid; every problem is listed, one per line.
    #[error("invalid actors config:\n  - {}", .0.join("\n  - "))]
    Config(Vec<String>),
    /// The bytes are not a parsable TLS ClientHello.
    #[error("not a TLS ClientHello: {0}")]
    ClientHello(&'static str),
}
