//! [`ExchangeSink`]: where sources hand finished exchanges to analysis.
//!
//! The gateway and the sensor both offer every exchange to a sink; the
//! analysis pipeline implements it with a bounded queue. `offer` never blocks:
//! when the queue is full the exchange is shed (and the sink counts it), so
//! traffic never waits for analysis.

use crate::exchange::Exchange;

pub trait ExchangeSink: Send + Sync {
    /// Hands over one exchange. Returns `false` when it was shed.
    fn offer(&self, ex: Exchange) -> bool;
}

/// A sink that drops everything (for tests and `--mode off` comparisons).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl ExchangeSink for NullSink {
    fn offer(&self, _ex: Exchange) -> bool {
        true
    }
}
