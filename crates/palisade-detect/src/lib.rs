//! Attack detection for Palisade: the inline engine that decides, in
//! microseconds, whether a request carries an injection or exploit attempt.
//!
//! The pipeline for each request phase: [`extract`] every value with its
//! place (path, query, form, JSON, XML, multipart, cookies, headers);
//! [`decode`] each through every encoding layer; run the [`detectors`] (one
//! file each: SQLi, XSS and shell by lexing via `palisade-lexers`, traversal,
//! SSRF, XXE, SSTI, NoSQL, LDAP, JNDI, CRLF, prototype pollution, code
//! injection, scanners, protocol abuse); evaluate the [`rules`] (built-in and
//! user, one format); drop findings matched by an exclusion; and compare the
//! request's anomaly score with the threshold of its sensitivity level.
//!
//! This crate is pure and synchronous: no IO on the request path, no async,
//! no global mutable state, and nothing in it panics on input. It does not
//! enforce verdicts (the gateway does), track actors (`palisade-actors`), or
//! learn what normal traffic looks like (`palisade-analysis`). The
//! [`harness`] replays labelled corpora and recorded traffic through it.

pub mod config;
pub mod decode;
pub mod detectors;
pub mod engine;
pub mod error;
pub mod extract;
pub mod harness;
pub mod rules;

pub use config::{DetectConfig, Exclusion, Limits, Sensitivity};
pub use engine::Engine;
pub use error::{DetectError, Diagnostic, Diagnostics};
