//! [`AlertConfig`]: where alerts go, in the `[alerts]` section of the config.
//!
//! ```toml
//! [alerts]
//! queue_size = 1024        # per destination; beyond, alerts are shed and counted
//! retries = 3              # after the first attempt
//! backoff_ms = 500         # doubled after each failure, at most 30 s
//! timeout_ms = 5000        # per attempt
//! console_url = "https://palisade.example/console"   # for links in alerts
//!
//! [[alerts.webhooks]]
//! url = "https://hooks.slack.com/services/T000/B000/XXXX"
//! min_severity = "high"
//! format = "slack"         # slack | json
//!
//! [[alerts.syslog]]
//! address = "siem.example:6514"
//! transport = "tls"        # udp | tcp | tls
//! format = "cef"           # cef | json | json_lines
//! min_severity = "medium"
//! ca_file = "/etc/palisade/siem-ca.pem"
//! ```
//!
//! Only the shape is checked here ([`AlertConfig::validate`] reports every
//! problem at once); files (CA bundles) are read when the alerter starts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use palisade_core::Severity;
use serde::{Deserialize, Serialize};

use crate::error::AlertError;

/// The alerts section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    pub webhooks: Vec<WebhookConfig>,
    pub syslog: Vec<SyslogConfig>,
    /// Alerts waiting per destination.
    pub queue_size: usize,
    /// Retries after the first failed attempt.
    pub retries: u32,
    /// First retry delay; doubled each time, capped at 30 s.
    pub backoff_ms: u64,
    /// Bound of one delivery attempt (connect, TLS, send, answer).
    pub timeout_ms: u64,
    /// Base URL of the console, for links (`{console_url}/incidents/{id}`).
    pub console_url: Option<String>,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            webhooks: Vec::new(),
            syslog: Vec::new(),
            queue_size: 1024,
            retries: 3,
            backoff_ms: 500,
            timeout_ms: 5000,
            console_url: None,
        }
    }
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// Slack incoming-webhook JSON: `text` plus Block Kit `blocks` (also
    /// accepted by Mattermost, Rocket.Chat and Discord's `/slack` endpoint).
    #[default]
    Slack,
    /// The alert as a flat JSON object.
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL. It often holds a secret token: it is
    /// never logged nor shown beyond scheme, host and port.
    pub url: String,
    #[serde(default = "default_min")]
    pub min_severity: Severity,
    #[serde(default)]
    pub format: WebhookFormat,
    /// PEM bundle of CAs to trust for `https` (default: the system bundle).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Extra request headers (`Authorization` for a generic JSON receiver).
    /// Values are never logged.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// One RFC 5424 message per datagram (RFC 5426); at most 8 KiB.
    #[default]
    Udp,
    /// Octet-counted framing (RFC 6587); reconnects on failure.
    Tcp,
    /// TCP with TLS (RFC 5425), octet-counted.
    Tls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SyslogFormat {
    /// RFC 5424 message whose text is an ArcSight CEF record.
    #[default]
    Cef,
    /// RFC 5424 message whose text is the alert as JSON.
    Json,
    /// Raw JSON lines (no syslog header), newline-terminated, for SIEM
    /// inputs that read JSON over TCP or UDP.
    JsonLines,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// `host:port`.
    pub address: String,
    #[serde(default)]
    pub transport: Transport,
    #[serde(default)]
    pub format: SyslogFormat,
    #[serde(default = "default_min")]
    pub min_severity: Severity,
    /// PEM bundle of CAs to trust for `tls` (default: the system bundle).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// TLS server name, when it differs from the address's host.
    #[serde(default)]
    pub server_name: Option<String>,
    /// HOSTNAME field (default: this machine's host name).
    #[serde(default)]
    pub hostname: Option<String>,
    /// APP-NAME field.
    #[serde(default = "default_app")]
    pub app_name: String,
    /// Syslog facility number 0-23 (default 10, security/authorization).
    #[serde(default = "default_facility")]
    pub facility: u8,
}

fn default_min() -> Severity {
    Severity::Low
}
fn default_app() -> String {
    "palisade".into()
}
fn default_facility() -> u8 {
    10
}

impl SyslogConfig {
    /// A destination with defaults for the rest.
    pub fn new(address: &str, transport: Transport, format: SyslogFormat) -> Self {
        Self {
            address: address.to_string(),
            transport,
            format,
            min_severity: default_min(),
            ca_file: None,
            server_name: None,
            hostname: None,
            app_name: default_app(),
            facility: default_facility(),
        }
    }
}

impl WebhookConfig {
    pub fn new(url: &str, format: WebhookFormat) -> Self {
        Self {
            url: url.to_string(),
            min_severity: default_min(),
            format,
            ca_file: None,
            headers: BTreeMap::new(),
        }
    }
}

/// `scheme://host:port`, without path or query (a webhook URL's path is
/// often its secret).
pub(crate) fn redact_url(url: &str) -> String {
    match url.parse::<http::Uri>() {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme_str().unwrap_or("?"),
            u.host().unwrap_or("?"),
            u.port_u16().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "<invalid url>".into(),
    }
}

impl AlertConfig {
    /// Every problem in the configuration, at once.
    pub fn validate(&self) -> Result<(), AlertError> {
        let mut errs = Vec::new();
        if self.queue_size == 0 {
            errs.push("alerts.queue_size = 0: must be at least 1".to_string());
        }
        if self.timeout_ms == 0 {
            errs.push("alerts.timeout_ms = 0: must be at least 1".to_string());
        }
        if self.retries > 20 {
            errs.push(format!(
                "alerts.retries = {}: at most 20 (hint: backoff doubles each time)",
                self.retries
            ));
        }
        for (i, w) in self.webhooks.iter().enumerate() {
            match w.url.parse::<http::Uri>() {
                Ok(u) => {
                    if !matches!(u.scheme_str(), Some("http") | Some("https")) {
                        errs.push(format!(
                            "alerts.webhooks[{i}].url: scheme must be http or https (got {})",
                            redact_url(&w.url)
                        ));
                    }
                    if u.host().is_none_or(str::is_empty) {
                        errs.push(format!("alerts.webhooks[{i}].url: no host"));
                    }
                }
                Err(_) => errs.push(format!(
                    "alerts.webhooks[{i}].url: not a URL (hint: https://hooks.example/path)"
                )),
            }
            for (name, value) in &w.headers {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    errs.push(format!(
                        "alerts.webhooks[{i}].headers: `{name}` is not a header name"
                    ));
                } else if http::HeaderValue::from_str(value).is_err() {
                    errs.push(format!(
                        "alerts.webhooks[{i}].headers.{name}: the value is not a valid header value (printable ASCII)"
                    ));
                }
            }
        }
        for (i, s) in self.syslog.iter().enumerate() {
            match s.address.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
                _ => errs.push(format!(
                    "alerts.syslog[{i}].address `{}`: expected host:port (hint: siem.example:514, [::1]:6514)",
                    s.address
                )),
            }
            if s.facility > 23 {
                errs.push(format!(
                    "alerts.syslog[{i}].facility = {}: must be 0-23",
                    s.facility
                ));
            }
            if s.app_name.is_empty()
                || s.app_name.len() > 48
                || !s.app_name.bytes().all(|b| (33..=126).contains(&b))
            {
                errs.push(format!(
                    "alerts.syslog[{i}].app_name: 1-48 printable ASCII characters without spaces"
                ));
            }
            if s.transport != Transport::Tls && (s.ca_file.is_some() || s.server_name.is_some()) {
                errs.push(format!(
                    "alerts.syslog[{i}]: ca_file and server_name apply only to transport = \"tls\""
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(AlertError::Config(errs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_rejected_and_problems_listed() {
        let e = serde_json::from_str::<AlertConfig>(r#"{"webhook": []}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let cfg: AlertConfig = serde_json::from_str(
            r#"{"queue_size": 0, "webhooks": [{"url": "ftp://x/secret-token"}],
                "syslog": [{"address": "nohost", "facility": 30}]}"#,
        )
        .unwrap();
        let msg = cfg.validate().unwrap_err().to_string();
        assert!(msg.contains("queue_size"), "{msg}");
        assert!(msg.contains("scheme must be http"), "{msg}");
        assert!(msg.contains("host:port"), "{msg}");
        assert!(msg.contains("0-23"), "{msg}");
        assert!(!msg.contains("secret-token"), "{msg}");
    }

    #[test]
    fn redacts_webhook_paths() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/x"),
            "http://127.0.0.1:8080"
        );
    }
}
