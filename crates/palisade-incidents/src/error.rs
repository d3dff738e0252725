//! The one error type of this crate: what a caller asked that cannot be done.
//!
//! Observing traffic never fails (bad or odd input is grouped as well as it
//! can be); errors come only from the status workflow and from snapshots.

use crate::model::Status;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IncidentError {
    /// No incident with this id (it may have been evicted from the history).
    #[error("no incident `{0}` (hint: list incidents to see the ids kept)")]
    NotFound(String),
    /// The status workflow does not allow this change.
    #[error("incident `{id}` cannot go from {from} to {to} (hint: allowed from {from}: {allowed})")]
    Transition {
        id: String,
        from: Status,
        to: Status,
        allowed: String,
    },
    /// A status change or note needs to say who made it.
    #[error("a status change or note needs `who` (hint: the user name or token name)")]
    MissingWho,
    /// A snapshot that does not parse.
    #[error(
        "incident snapshot: {0} (hint: it was written by an incompatible version; start empty)"
    )]
    Snapshot(String),
}
