//! Alert delivery: Slack-compatible webhooks and syslog for SIEMs.
//!
//! An [`Alert`] (built from an incident event or a single finding) is handed
//! to the [`Alerter`], which routes it by severity to every configured
//! destination:
//!
//! - **webhooks**: HTTP(S) POST of Slack-compatible JSON (`text` + `blocks`)
//!   or a generic JSON document;
//! - **syslog**: RFC 5424 messages carrying a CEF or JSON payload (or raw
//!   JSON lines), over UDP (one datagram each), TCP or TLS (octet-counted
//!   framing, RFC 6587), with the attack metadata (rule, location, actor,
//!   request id, incident) in structured data as well.
//!
//! Each destination has its own bounded queue and delivery task: `send`
//! never blocks or waits on the network; a full queue sheds the alert and
//! counts it. Failed deliveries are retried with exponential backoff, then
//! counted as failed. [`test_send`] sends one test alert to every destination
//! and reports each result.
//!
//! This crate formats and delivers; it does not decide what is worth an alert
//! (the caller routes incident events here) and it masks nothing itself
//! beyond a last defensive pass over free text: alerts are built from masked
//! data.

#![forbid(unsafe_code)]

pub mod alert;
pub mod alerter;
pub mod config;
pub mod error;
pub mod format;
mod time;
mod transport;

pub use alert::Alert;
pub use alerter::{Alerter, DestinationStats, TestResult, test_send};
pub use config::{
    AlertConfig, SyslogConfig, SyslogFormat, Transport, WebhookConfig, WebhookFormat,
};
pub use error::AlertError;
