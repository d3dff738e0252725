//! The one error type of this crate.
//!
//! Configuration problems are reported all at once; delivery failures of
//! single alerts are not errors of the alerter (they are retried, then
//! counted), only of [`crate::test_send`]'s per-destination results.

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// Every problem found in the configuration, one per line.
    #[error("alert config:\n{}", .0.join("\n"))]
    Config(Vec<String>),
    /// The alerter needs a tokio runtime to run its delivery tasks.
    #[error(
        "the alerter must be started inside a tokio runtime (hint: call it from async code or pass a runtime handle to `Alerter::start_on`)"
    )]
    NoRuntime,
    /// One delivery attempt failed.
    #[error("{0}")]
    Delivery(String),
}
