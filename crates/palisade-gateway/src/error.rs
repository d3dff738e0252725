//! The gateway's error type. Like Pingora's, it records which side failed:
//! the client (downstream), the upstream, or the gateway itself.

/// Which side of the proxy failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Downstream,
    Upstream,
    Internal,
}

#[derive(Debug, thiserror::Error)]
#[error("{side:?}: {message}")]
pub struct GatewayError {
    pub side: Side,
    pub message: String,
}

impl GatewayError {
    pub fn config(message: impl Into<String>) -> Self {
        Self {
            side: Side::Internal,
            message: message.into(),
        }
    }
    pub fn io(side: Side, e: impl std::fmt::Display) -> Self {
        Self {
            side,
            message: e.to_string(),
        }
    }
}
