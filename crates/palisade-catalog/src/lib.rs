//! The API catalog: what endpoints a platform really exposes, learned from
//! traffic.
//!
//! From each [`palisade_core::Exchange`] the [`Catalog`] learns a path
//! *template* per host ([`template`]), the endpoint's facts (methods,
//! parameters with types and formats, content types, status mix, sizes,
//! latency, first/last seen), the authentication presented ([`auth`]), and the
//! sensitive data classes flowing in requests and responses ([`classify`],
//! validated, stored only as class, location and masked sample). A declared
//! OpenAPI 3.0/3.1 [`Spec`] can be imported: endpoints are then matched to
//! declared operations and reported shadow, zombie, unused or drifting
//! ([`SpecReport`]); the learned catalog exports as OpenAPI 3.0.3. Each
//! endpoint carries a posture score with its reasons, and `observe` returns a
//! change feed ([`Change`]).
//!
//! The crate is pure and deterministic: no IO except reading the spec files
//! or strings handed to it, no tokio, no clock (time comes in as `now_ms`).
//! Memory is bounded by [`CatalogConfig`] (nodes, endpoints, parameters and
//! samples per endpoint). It is *not* a detector of attacks. [`Baselines`]
//! learn each endpoint's normal from clean traffic of many distinct actors
//! and report deviations (`baseline.*` findings); [`SchemaSnapshot`] is the
//! compiled declared and learned schema the gateway enforces inline
//! (`schema.*` findings, log or block per endpoint). Terms are defined in
//! `docs/catalog.md`.
//!
//! ```
//! use palisade_catalog::{CatalogConfig, Spec};
//! use palisade_core::{Exchange, RequestPart, ResponsePart};
//!
//! let mut cat = CatalogConfig::default().build().unwrap();
//! let ex = Exchange {
//!     request: RequestPart { target: "/v1/customers/cus_9aK2xY".into(), host: Some("api.example".into()), ..Default::default() },
//!     response: Some(ResponsePart { status: 200, ..Default::default() }),
//!     ..Default::default()
//! };
//! let changes = cat.observe(&ex, 1_700_000_000_000);
//! assert_eq!(changes.len(), 1); // new_endpoint
//! assert_eq!(cat.template_of(Some("api.example"), "/v1/customers/cus_Zz81").as_deref(), Some("/v1/customers/{customer}"));
//! let spec = Spec::parse(r#"{"openapi":"3.1.0","paths":{"/v1/charges":{"get":{}}}}"#, "team.json").unwrap();
//! cat.import_spec(spec);
//! let report = cat.spec_report();
//! assert_eq!((report.shadow.len(), report.unused.len()), (1, 1));
//! ```

pub mod auth;
pub mod baseline;
mod catalog;
pub mod classify;
mod config;
mod endpoint;
mod export;
mod extract;
pub mod schema;
mod spec;
pub mod template;

pub use auth::{AuthScheme, AuthSeen};
pub use baseline::{BaselineConfig, BaselineView, Baselines, EndpointKey};
pub use catalog::{Catalog, Change, EndpointRef, SpecReport, SpecReportEntry};
pub use classify::{DataClass, classify_value};
pub use config::{CatalogConfig, PathRule};
pub use endpoint::{EndpointId, EndpointView, Posture, PostureReason};
pub use extract::{Location, ValueType};
pub use schema::{SchemaConfig, SchemaMode, SchemaSnapshot, SchemaSource};
pub use spec::{Operation, Spec, SpecParam};

/// The one error type of this crate.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The configuration is invalid; every problem is listed.
    #[error("invalid catalog config: {}", .0.join("; "))]
    Config(Vec<String>),
    /// A spec could not be read or is not a usable OpenAPI 3 document; every
    /// problem is listed with its JSON pointer.
    #[error("spec {origin}: {}", problems.iter().map(|p| format!("at {}: {}", if p.0.is_empty() { "/" } else { &p.0 }, p.1)).collect::<Vec<_>>().join("; "))]
    Spec {
        origin: String,
        /// `(JSON pointer, message)` pairs.
        problems: Vec<(String, String)>,
    },
    /// A snapshot does not fit this version of the catalog.
    #[error("catalog snapshot: {0}")]
    Snapshot(String),
}
