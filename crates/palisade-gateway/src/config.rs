//! Gateway configuration: what the operator writes (`GatewayConfig`, `RouteConfig`)
//! and its validation into the runtime form ([`crate::routes::Routes`]).
//!
//! Config is separate from runtime: these types mirror the TOML file with
//! `deny_unknown_fields`, and `build()` checks everything at once, returning one
//! [`ConfigIssue`] per problem with the field path (and line, when the caller
//! has the source) and a hint for the fix.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// How a route treats what the engine decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Enforce verdicts: block, rate-limit, tarpit.
    #[default]
    Block,
    /// Inspect and record, never interfere.
    Detect,
    /// Forward without inspecting (for comparison and emergencies).
    Off,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "block" => Ok(Mode::Block),
            "detect" => Ok(Mode::Detect),
            "off" => Ok(Mode::Off),
            other => Err(format!(
                "unknown mode `{other}`: use `block`, `detect` or `off`"
            )),
        }
    }
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Block => "block",
            Mode::Detect => "detect",
            Mode::Off => "off",
        }
    }
}

/// TLS termination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Where to accept TLS connections.
    pub listen: String,
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// One route: requests whose host and path match go to `upstream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// A name for logs and the console; defaults to `host` + `path_prefix`.
    #[serde(default)]
    pub name: Option<String>,
    /// Host to match (without port); `*.example.com` matches subdomains;
    /// absent matches any host.
    #[serde(default)]
    pub host: Option<String>,
    /// Path prefix to match, on segment boundaries (`/api` matches `/api/x`,
    /// not `/apix`).
    #[serde(default = "default_prefix")]
    pub path_prefix: String,
    /// `http://host:port` (or `https://`) of the upstream.
    pub upstream: String,
    /// Overrides the gateway's default mode for this route.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Keep the client's `Host` header (default) or send the upstream's.
    #[serde(default = "yes")]
    pub preserve_host: bool,
}

fn default_prefix() -> String {
    "/".to_string()
}
fn yes() -> bool {
    true
}

/// The `[gateway]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Plain HTTP listener (HTTP/1.1 and h2c).
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Default mode for routes.
    #[serde(default)]
    pub mode: Mode,
    /// Largest request body buffered for inspection; larger bodies get 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Largest response body sample kept for analysis (the response itself is
    /// streamed whole).
    #[serde(default = "default_response_sample")]
    pub response_sample_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed (addresses or CIDRs).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Forward when the engine fails (true) or answer 503 (false).
    #[serde(default = "yes")]
    pub fail_open: bool,
    /// PEM bundle of CA certificates trusted for `https://` upstreams, in
    /// addition to the Mozilla roots (a private CA in front of the API).
    #[serde(default)]
    pub upstream_ca: Option<PathBuf>,
    /// Time to connect to an upstream.
    #[serde(default = "d5s", with = "humantime_serde_compat")]
    pub connect_timeout: Duration,
    /// Time for the upstream to send its response head.
    #[serde(default = "d30s", with = "humantime_serde_compat")]
    pub upstream_timeout: Duration,
    /// Time for a client to send its request head.
    #[serde(default = "d10s", with = "humantime_serde_compat")]
    pub header_timeout: Duration,
    /// Time for a client to send its request body.
    #[serde(default = "d30s", with = "humantime_serde_compat")]
    pub body_timeout: Duration,
    /// Time given to open connections to finish on shutdown.
    #[serde(default = "d10s", with = "humantime_serde_compat")]
    pub shutdown_grace: Duration,
    /// Largest request head (HTTP/1.1) in bytes.
    #[serde(default = "default_max_header")]
    pub max_header_bytes: usize,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_max_body() -> usize {
    1024 * 1024
}
fn default_response_sample() -> usize {
    64 * 1024
}
fn default_max_header() -> usize {
    64 * 1024
}
fn d5s() -> Duration {
    Duration::from_secs(5)
}
fn d10s() -> Duration {
    Duration::from_secs(10)
}
fn d30s() -> Duration {
    Duration::from_secs(30)
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            tls: None,
            mode: Mode::Block,
            max_body_bytes: default_max_body(),
            response_sample_bytes: default_response_sample(),
            trusted_proxies: Vec::new(),
            fail_open: true,
            upstream_ca: None,
            connect_timeout: d5s(),
            upstream_timeout: d30s(),
            header_timeout: d10s(),
            body_timeout: d30s(),
            shutdown_grace: d10s(),
            max_header_bytes: default_max_header(),
        }
    }
}

/// Durations as humantime strings (`"30s"`, `"1m 30s"`).
pub mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration `{s}`: {e} (write it like \"30s\", \"500ms\" or \"2m\")"
            ))
        })
    }
}

/// One problem found while validating configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted path of the field: `route[2].upstream`.
    pub field: String,
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (fix: {})", self.field, self.message, self.hint)
    }
}

/// Validated runtime settings of the gateway.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: Option<SocketAddr>,
    pub tls: Option<TlsConfig>,
    pub tls_listen: Option<SocketAddr>,
    pub max_body_bytes: usize,
    pub response_sample_bytes: usize,
    pub trusted_proxies: Vec<IpNet>,
    pub fail_open: bool,
    pub upstream_ca: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub upstream_timeout: Duration,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub shutdown_grace: Duration,
    pub max_header_bytes: usize,
}

impl GatewayConfig {
    /// Validates the section, collecting every problem.
    pub fn build(&self, issues: &mut Vec<ConfigIssue>) -> Option<Settings> {
        let before = issues.len();
        let listen = parse_addr("gateway.listen", &self.listen, issues);
        let tls_listen = self
            .tls
            .as_ref()
            .and_then(|t| parse_addr("gateway.tls.listen", &t.listen, issues));
        if let Some(t) = &self.tls {
            for (field, p) in [("gateway.tls.cert", &t.cert), ("gateway.tls.key", &t.key)] {
                if !p.is_file() {
                    issues.push(ConfigIssue {
                        field: field.into(),
                        message: format!("file `{}` does not exist", p.display()),
                        hint: "give the path of a PEM file, relative to the working directory"
                            .into(),
                    });
                }
            }
        }
        let mut trusted = Vec::new();
        for (i, p) in self.trusted_proxies.iter().enumerate() {
            match parse_net(p) {
                Some(n) => trusted.push(n),
                None => issues.push(ConfigIssue {
                    field: format!("gateway.trusted_proxies[{i}]"),
                    message: format!("`{p}` is not an IP address or CIDR"),
                    hint: "write an address like \"10.0.0.5\" or a network like \"10.0.0.0/8\""
                        .into(),
                }),
            }
        }
        if self.max_body_bytes == 0 || self.max_body_bytes > 256 * 1024 * 1024 {
            issues.push(ConfigIssue {
                field: "gateway.max_body_bytes".into(),
                message: format!("{} is out of range", self.max_body_bytes),
                hint: "choose between 1 and 268435456 bytes (default 1048576)".into(),
            });
        }
        if self.max_header_bytes < 1024 {
            issues.push(ConfigIssue {
                field: "gateway.max_header_bytes".into(),
                message: format!("{} is too small", self.max_header_bytes),
                hint: "allow at least 1024 bytes (default 65536)".into(),
            });
        }
        if let Some(ca) = &self.upstream_ca
            && let Err(e) = crate::proxy::upstream_tls(Some(ca))
        {
            issues.push(ConfigIssue {
                field: "gateway.upstream_ca".into(),
                message: e.message,
                hint: "give the path of a PEM file holding the CA certificates of the upstream's TLS server".into(),
            });
        }
        if issues.len() > before {
            return None;
        }
        Some(Settings {
            listen,
            tls: self.tls.clone(),
            tls_listen,
            max_body_bytes: self.max_body_bytes,
            response_sample_bytes: self.response_sample_bytes,
            trusted_proxies: trusted,
            fail_open: self.fail_open,
            upstream_ca: self.upstream_ca.clone(),
            connect_timeout: self.connect_timeout,
            upstream_timeout: self.upstream_timeout,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            shutdown_grace: self.shutdown_grace,
            max_header_bytes: self.max_header_bytes,
        })
    }
}

fn parse_addr(field: &str, s: &str, issues: &mut Vec<ConfigIssue>) -> Option<SocketAddr> {
    match s.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            issues.push(ConfigIssue {
                field: field.into(),
                message: format!("`{s}` is not an address with a port"),
                hint: "write it like \"127.0.0.1:8080\" or \"[::1]:8080\"".into(),
            });
            None
        }
    }
}

/// Parses `10.0.0.0/8` or a bare address (as a host network).
pub fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_problem() {
        let cfg = GatewayConfig {
            listen: "nope".into(),
            trusted_proxies: vec!["10.0.0.0/8".into(), "bad".into()],
            max_body_bytes: 0,
            ..Default::default()
        };
        let mut issues = Vec::new();
        assert!(cfg.build(&mut issues).is_none());
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "gateway.listen",
                "gateway.trusted_proxies[1]",
                "gateway.max_body_bytes"
            ]
        );
    }

    #[test]
    fn durations_parse_from_strings() {
        let cfg: GatewayConfig = toml::from_str("upstream_timeout = \"2s\"").unwrap();
        assert_eq!(cfg.upstream_timeout, Duration::from_secs(2));
        let err = toml::from_str::<GatewayConfig>("upstream_timeout = \"soon\"").unwrap_err();
        assert!(err.to_string().contains("invalid duration"), "{err}");
    }
}
