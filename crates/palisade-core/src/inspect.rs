//! The inline decision, as phases of one trait.
//!
//! Modelled on Pingora's `ProxyHttp`: each phase is a method with a default
//! body, so an inspector implements only what it needs. The per-request context
//! is the [`Exchange`] being built: findings go into `exchange.findings`, and
//! the returned [`Verdict`] says what to do. The trait is synchronous and free
//! of IO: it must decide in microseconds from in-memory state (snapshots), so
//! any proxy (or a test, or a replay) can carry it.

use crate::exchange::Exchange;
use crate::verdict::Verdict;

/// The engine failed (not: the request is bad). The gateway then fails open
/// or closed as configured, and counts it.
#[derive(Debug, thiserror::Error)]
#[error("{inspector}: {message}")]
pub struct InspectError {
    pub inspector: &'static str,
    pub message: String,
}

impl InspectError {
    pub fn new(inspector: &'static str, message: impl Into<String>) -> Self {
        Self {
            inspector,
            message: message.into(),
        }
    }
}

/// The phases of the inline decision.
pub trait Inspector: Send + Sync {
    /// A short name for metrics and errors.
    fn name(&self) -> &'static str;

    /// The request head has arrived (method, target, headers, peer, TLS); the
    /// body has not been read. Return a stopping verdict to answer now.
    fn request_filter(&self, _ex: &mut Exchange) -> Result<Verdict, InspectError> {
        Ok(Verdict::Allow)
    }

    /// The request body (bounded sample) is in `ex.request.body`.
    fn request_body_filter(&self, _ex: &mut Exchange) -> Result<Verdict, InspectError> {
        Ok(Verdict::Allow)
    }

    /// The upstream's response head is in `ex.response`. Inspectors may add
    /// findings (data leaks, error pages); the response is already committed.
    fn response_filter(&self, _ex: &mut Exchange) -> Result<(), InspectError> {
        Ok(())
    }
}

/// Runs several inspectors in order; the strongest verdict wins, and a
/// stopping verdict ends the phase early.
pub struct Chain(pub Vec<Box<dyn Inspector>>);

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.0.iter().map(|i| i.name()).collect();
        f.debug_tuple("Chain").field(&names).finish()
    }
}

impl Inspector for Chain {
    fn name(&self) -> &'static str {
        "chain"
    }

    fn request_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        let mut v = Verdict::Allow;
        for i in &self.0 {
            v = v.max(i.request_filter(ex)?);
            if v.is_stop() {
                break;
            }
        }
        Ok(v)
    }

    fn request_body_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        let mut v = Verdict::Allow;
        for i in &self.0 {
            v = v.max(i.request_body_filter(ex)?);
            if v.is_stop() {
                break;
            }
        }
        Ok(v)
    }

    fn response_filter(&self, ex: &mut Exchange) -> Result<(), InspectError> {
        for i in &self.0 {
            i.response_filter(ex)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct BlockAdmin;
    impl Inspector for BlockAdmin {
        fn name(&self) -> &'static str {
            "block-admin"
        }
        fn request_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
            Ok(if ex.request.path().starts_with("/admin") {
                Verdict::block("admin")
            } else {
                Verdict::Allow
            })
        }
    }
    struct Fails;
    impl Inspector for Fails {
        fn name(&self) -> &'static str {
            "fails"
        }
        fn request_filter(&self, _: &mut Exchange) -> Result<Verdict, InspectError> {
            Err(InspectError::new("fails", "boom"))
        }
    }

    #[test]
    fn chain_stops_at_first_block_and_propagates_errors() {
        let chain = Chain(vec![Box::new(BlockAdmin), Box::new(Fails)]);
        let mut ex = Exchange::default();
        ex.request.target = "/admin/x".into();
        assert!(chain.request_filter(&mut ex).unwrap().is_stop());
        ex.request.target = "/ok".into();
        assert!(chain.request_filter(&mut ex).is_err());
    }
}
