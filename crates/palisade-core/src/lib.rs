//! Shared vocabulary of Palisade.
//!
//! Every other crate speaks in these types: an [`Exchange`] is one request and
//! its response as seen by any source (the inline gateway or a passive sensor);
//! a [`Finding`] is something an analyser noticed about it; a [`Verdict`] is
//! what the inline path decided; an [`ActorKey`] is one identifier that links a
//! request to an actor; [`Masked`] carries a value whose raw form must never be
//! displayed, logged or stored.
//!
//! This crate does no IO and knows nothing of tokio, HTTP libraries or storage:
//! it is the part every side can agree on. It also holds the few primitives that
//! several analysers need identically (Luhn and card masking, keyed hashing), so
//! that masking happens the same way wherever a value is first extracted.

pub mod actor;
pub mod clock;
pub mod exchange;
pub mod finding;
pub mod hash;
pub mod inspect;
pub mod masked;
pub mod sensitive;
pub mod sink;
pub mod verdict;

pub use actor::{ActorKey, ActorRef};
pub use clock::{Clock, ManualClock, SystemClock, Utc, now_ms, rfc3339};
pub use exchange::{Body, Exchange, RequestPart, ResponsePart, Source, Timings, TlsInfo};
pub use finding::{Finding, Phase, Severity};
pub use hash::{HashId, KeyedHasher};
pub use inspect::{InspectError, Inspector};
pub use masked::{Masked, Redact};
pub use sink::{ExchangeSink, NullSink};
pub use verdict::{Action, Verdict};
