//! The configuration file (`palisade.toml`): its shape, loading, and
//! diagnostics that name the file, the line and the fix.
//!
//! Loading never stops at the first problem it can get past: syntax errors
//! come from the TOML parser (one, with its position), then every semantic
//! problem of every section is collected and reported together.

use std::path::{Path, PathBuf};
use std::time::Duration;

use palisade_gateway::config::ConfigIssue;
use palisade_gateway::{GatewayConfig, Mode, RouteConfig, Routes, Settings};
use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub gateway: GatewayConfig,
    #[serde(default)]
    pub route: Vec<RouteConfig>,
    #[serde(default)]
    pub console: ConsoleConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub pipeline: PipelineSection,
    #[serde(default)]
    pub log: LogConfig,
    /// Attack detection: sensitivity, limits, exclusions, user rules.
    #[serde(default)]
    pub detect: palisade_detect::DetectConfig,
    /// Actor tracking, risk, responses, allowlist and abuse detectors.
    #[serde(default)]
    pub actors: palisade_actors::ActorsConfig,
    /// API discovery.
    #[serde(default)]
    pub catalog: palisade_catalog::CatalogConfig,
    /// The team's declared API.
    #[serde(default)]
    pub spec: SpecSection,
    /// Schema enforcement per endpoint (off, log, block).
    #[serde(default)]
    pub schema: palisade_catalog::SchemaConfig,
    /// Learned per-endpoint baselines.
    #[serde(default)]
    pub baseline: palisade_catalog::BaselineConfig,
    /// Incident grouping.
    #[serde(default)]
    pub incidents: palisade_incidents::EngineConfig,
    /// Alert delivery: webhooks and syslog.
    #[serde(default)]
    pub alerts: palisade_alerts::AlertConfig,
    /// Cluster mode: actor state shared between gateways through Redis.
    #[serde(default)]
    pub cluster: palisade_cluster::ClusterConfig,
}

/// `[spec]`: OpenAPI documents to compare traffic with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecSection {
    /// OpenAPI 3.0 / 3.1 files (JSON or YAML).
    #[serde(default)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Where the console (REST API, metrics, health) listens; "" disables it.
    #[serde(default = "default_console")]
    pub listen: String,
}

fn default_console() -> String {
    "127.0.0.1:9090".into()
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            listen: default_console(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Data directory (database, keys).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Exchanges older than this are deleted.
    #[serde(
        default = "default_retention",
        with = "palisade_gateway::config::humantime_serde_compat"
    )]
    pub retention: Duration,
    /// Upper bound on the database size, in MiB.
    #[serde(default = "default_max_mib")]
    pub max_size_mib: u64,
    /// A PostgreSQL URL (`postgres://USER:PASSWORD@HOST:5432/DATABASE`):
    /// exchanges, findings, incidents, the catalog, users, tokens, sessions
    /// and the audit log go there instead of SQLite. `hash.key` stays in
    /// `data_dir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
}

impl StoreConfig {
    /// Where the store is: PostgreSQL when `postgres` is set, else SQLite in
    /// `data_dir`.
    pub fn spec(&self) -> palisade_store::StoreSpec {
        palisade_store::StoreSpec::from_parts(&self.data_dir, self.postgres.as_deref())
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./palisade-data")
}
fn default_retention() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
fn default_max_mib() -> u64 {
    1024
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            retention: default_retention(),
            max_size_mib: default_max_mib(),
            postgres: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    /// Exchanges that may wait for analysis before new ones are shed.
    #[serde(default = "default_capacity")]
    pub capacity: usize,
}

fn default_capacity() -> usize {
    65_536
}

impl Default for PipelineSection {
    fn default() -> Self {
        Self {
            capacity: default_capacity(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug`, `trace`, or a tracing filter.
    #[serde(default = "default_level")]
    pub level: String,
    /// `text` or `json`.
    #[serde(default = "default_format")]
    pub format: String,
}

fn default_level() -> String {
    "info".into()
}
fn default_format() -> String {
    "text".into()
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: default_level(),
            format: default_format(),
        }
    }
}

/// A problem with the configuration, placed in its file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub file: String,
    pub line: Option<usize>,
    pub issue: ConfigIssue,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.issue),
            None => write!(f, "{}: {}", self.file, self.issue),
        }
    }
}

/// Everything wrong with a configuration.
#[derive(Debug)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} problem(s) in the configuration:", self.0.len())?;
        for d in &self.0 {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// A validated configuration, ready to run.
#[derive(Debug, Clone)]
pub struct Validated {
    pub config: Config,
    pub settings: Settings,
    pub routes: Routes,
    pub console: Option<std::net::SocketAddr>,
}

impl Config {
    /// Reads and parses a file; a syntax error names the line and column.
    pub fn load(path: &Path) -> Result<(Config, String), Diagnostics> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics(vec![Diagnostic {
                file: file.clone(),
                line: None,
                issue: ConfigIssue {
                    field: "(file)".into(),
                    message: format!("cannot read: {e}"),
                    hint: "check the path given to --config".into(),
                },
            }])
        })?;
        Self::parse(&src, &file).map(|c| (c, src))
    }

    pub fn parse(src: &str, file: &str) -> Result<Config, Diagnostics> {
        toml::from_str::<Config>(src).map_err(|e| {
            let line = e
                .span()
                .map(|s| src[..s.start.min(src.len())].matches('\n').count() + 1);
            Diagnostics(vec![Diagnostic {
                file: file.into(),
                line,
                issue: ConfigIssue {
                    field: "(syntax)".into(),
                    message: e.message().trim().to_string(),
                    hint: "see docs/configuration.md for every section and key".into(),
                },
            }])
        })
    }

    /// Checks every section; all problems at once.
    pub fn validate(self, src: Option<&str>, file: &str) -> Result<Validated, Diagnostics> {
        let mut issues = Vec::new();
        let settings = self.gateway.build(&mut issues);
        let routes = Routes::build(&self.route, self.gateway.mode, &mut issues);
        let console = if self.console.listen.is_empty() {
            None
        } else {
            match self.console.listen.parse() {
                Ok(a) => Some(a),
                Err(_) => {
                    issues.push(ConfigIssue {
                        field: "console.listen".into(),
                        message: format!("`{}` is not an address with a port", self.console.listen),
                        hint: "write it like \"127.0.0.1:9090\", or \"\" to disable the console"
                            .into(),
                    });
                    None
                }
            }
        };
        if !matches!(self.log.format.as_str(), "text" | "json") {
            issues.push(ConfigIssue {
                field: "log.format".into(),
                message: format!("unknown format `{}`", self.log.format),
                hint: "use \"text\" or \"json\"".into(),
            });
        }
        if self.pipeline.capacity == 0 {
            issues.push(ConfigIssue {
                field: "pipeline.capacity".into(),
                message: "must be at least 1".into(),
                hint: "the default, 65536, suits most deployments".into(),
            });
        }
        if let Err(e) = self
            .actors
            .build(palisade_core::KeyedHasher::insecure_for_tests())
        {
            issues.push(ConfigIssue {
                field: "actors".into(),
                message: e.to_string(),
                hint: "see docs/actors.md for every key and its range".into(),
            });
        }
        if let Err(e) = self.catalog.build() {
            issues.push(ConfigIssue {
                field: "catalog".into(),
                message: e.to_string(),
                hint: "see docs/catalog.md for every key".into(),
            });
        }
        for (i, f) in self.spec.files.iter().enumerate() {
            if let Err(e) = palisade_catalog::Spec::from_file(f) {
                issues.push(ConfigIssue {
                    field: format!("spec.files[{i}]"),
                    message: e.to_string(),
                    hint: "give an OpenAPI 3.0 or 3.1 document (JSON or YAML)".into(),
                });
            }
        }
        for (key, message) in self.baseline.problems() {
            issues.push(ConfigIssue {
                field: format!("baseline.{key}"),
                message,
                hint: "see docs/configuration.md ([baseline])".into(),
            });
        }
        for (key, message) in self.schema.problems() {
            issues.push(ConfigIssue {
                field: format!("schema.endpoints.\"{key}\""),
                message,
                hint: "write \"METHOD /path\" = \"off\", \"log\" or \"block\"".into(),
            });
        }
        if let Err(e) = self.alerts.validate() {
            issues.push(ConfigIssue {
                field: "alerts".into(),
                message: e.to_string(),
                hint: "see docs/incidents.md for webhook and syslog settings".into(),
            });
        }
        if self.store.max_size_mib == 0 {
            issues.push(ConfigIssue {
                field: "store.max_size_mib".into(),
                message: "must be at least 1".into(),
                hint: "the default is 1024".into(),
            });
        }
        if let Some(url) = &self.store.postgres
            && let Err(e) = palisade_store::check_postgres_url(url)
        {
            issues.push(ConfigIssue {
                field: "store.postgres".into(),
                message: e,
                hint: "write it like \"postgres://USER:PASSWORD@HOST:5432/DATABASE\", or remove it to keep the SQLite store".into(),
            });
        }
        for p in self.cluster.problems() {
            issues.push(ConfigIssue {
                field: format!("cluster.{}", p.field),
                message: p.message,
                hint: p.hint,
            });
        }
        match (settings, issues.is_empty()) {
            (Some(settings), true) => Ok(Validated {
                config: self,
                settings,
                routes,
                console,
            }),
            _ => Err(Diagnostics(
                issues
                    .into_iter()
                    .map(|issue| Diagnostic {
                        file: file.into(),
                        line: src.and_then(|s| {
                            locate_quoted_key(s, &issue.field).or_else(|| locate(s, &issue.field))
                        }),
                        issue,
                    })
                    .collect(),
            )),
        }
    }
}

/// The configuration as JSON for the console's settings page, with what
/// could be secret masked: webhook URLs keep only scheme and host, webhook
/// headers their names, and the allowlist's raw tokens are dropped.
pub fn masked_settings(c: &Config) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(hooks) = v["alerts"]["webhooks"].as_array_mut() {
        for h in hooks {
            if let Some(url) = h["url"].as_str() {
                let shown = match url.split_once("://") {
                    Some((scheme, rest)) => {
                        format!("{scheme}://{}/…", rest.split('/').next().unwrap_or(""))
                    }
                    None => "…".to_string(),
                };
                h["url"] = serde_json::Value::String(shown);
            }
            if let Some(obj) = h["headers"].as_object_mut() {
                for (_, val) in obj.iter_mut() {
                    *val = serde_json::Value::String("[secret]".into());
                }
            }
        }
    }
    if let Some(url) = c.store.postgres.as_deref() {
        v["store"]["postgres"] = serde_json::Value::String(palisade_store::mask_postgres_url(url));
    }
    if !c.cluster.redis.is_empty() {
        v["cluster"]["redis"] =
            serde_json::Value::String(palisade_cluster::mask_url(c.cluster.redis.trim()));
    }
    if let Some(list) = v["actors"]["allowlist"].as_array_mut() {
        for item in list.iter_mut() {
            if item.as_str().is_some_and(|s| s.contains('=')) {
                *item = serde_json::Value::String("[raw identifier hidden]".into());
            }
        }
    }
    v
}

/// The line of a quoted key named in a field (`schema.endpoints."GET /x"`):
/// the first line where it is written.
fn locate_quoted_key(src: &str, field: &str) -> Option<usize> {
    let start = field.find('"')?;
    let key = &field[start..];
    src.lines().position(|l| l.contains(key)).map(|i| i + 1)
}

/// Finds the line of a dotted field path (`route[1].upstream`,
/// `gateway.tls.cert`) in TOML source: the table header, then the key.
pub fn locate(src: &str, field: &str) -> Option<usize> {
    let parts: Vec<&str> = field.split('.').collect();
    let key = *parts.last()?;
    let key = key.split('[').next().unwrap_or(key);
    let (table, index) = {
        let t = parts[..parts.len().saturating_sub(1)].join(".");
        match t.split_once('[') {
            Some((name, rest)) => (
                name.to_string(),
                rest.trim_end_matches(']').parse::<usize>().ok(),
            ),
            None => (t, None),
        }
    };
    let lines: Vec<&str> = src.lines().collect();
    let mut start = 0usize;
    if !table.is_empty() {
        let header = match index {
            Some(_) => format!("[[{table}]]"),
            None => format!("[{table}]"),
        };
        let mut seen = 0usize;
        let mut found = None;
        for (i, l) in lines.iter().enumerate() {
            if l.trim().replace(' ', "") == header {
                if seen == index.unwrap_or(0) {
                    found = Some(i);
                    break;
                }
                seen += 1;
            }
        }
        start = found?;
    }
    for (i, l) in lines
        .iter()
        .enumerate()
        .skip(start + usize::from(!table.is_empty()))
    {
        let t = l.trim();
        if t.starts_with('[') && !table.is_empty() {
            break;
        }
        if let Some(rest) = t.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(i + 1);
        }
    }
    (!table.is_empty()).then_some(start + 1)
}

/// The configuration `palisade gateway` builds from its flags.
pub fn from_flags(
    listen: &str,
    upstream: &str,
    mode: Mode,
    console: &str,
    data_dir: &Path,
) -> Config {
    Config {
        gateway: GatewayConfig {
            listen: listen.into(),
            mode,
            ..Default::default()
        },
        route: vec![RouteConfig {
            name: Some("default".into()),
            host: None,
            path_prefix: "/".into(),
            upstream: upstream.into(),
            mode: None,
            preserve_host: true,
        }],
        console: ConsoleConfig {
            listen: console.into(),
        },
        store: StoreConfig {
            data_dir: data_dir.to_path_buf(),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[gateway]
listen = "127.0.0.1:8080"
max_body_bytes = 65536

[[route]]
path_prefix = "/"
upstream = "http://127.0.0.1:9000"

[[route]]
host = "pay.example"
upstream = "http://127.0.0.1:9001"
mode = "detect"
"#;

    #[test]
    fn settings_shown_in_the_console_hide_secrets() {
        let src = "[[route]]\nupstream = \"http://127.0.0.1:1\"\n\n[[alerts.webhooks]]\nurl = \"https://hooks.slack.example/services/T000/B000/XXXXSECRET\"\nheaders = { Authorization = \"Bearer s3cr3t-value\" }\n\n[actors]\nallowlist = [\"10.0.0.0/8\", \"token=raw-token-value\"]\n";
        let c = Config::parse(src, "p.toml").unwrap();
        let shown = masked_settings(&c).to_string();
        for secret in ["XXXXSECRET", "s3cr3t-value", "raw-token-value"] {
            assert!(!shown.contains(secret), "{secret} shown: {shown}");
        }
        assert!(shown.contains("https://hooks.slack.example/"), "{shown}");
        assert!(shown.contains("10.0.0.0/8"), "{shown}");
    }

    #[test]
    fn cluster_problems_name_the_line_and_hide_the_password() {
        let src = "[[route]]\nupstream = \"http://127.0.0.1:1\"\n\n[cluster]\nredis = \"http://:hunter2@10.0.0.5:6379\"\nqueue = 0\n";
        let c = Config::parse(src, "p.toml").unwrap();
        let s = c.validate(Some(src), "p.toml").unwrap_err().to_string();
        assert!(s.contains("p.toml:5: cluster.redis"), "{s}");
        assert!(s.contains("fix") || s.contains("redis://"), "{s}");
        assert!(s.contains("p.toml:6: cluster.queue"), "{s}");
        assert!(!s.contains("hunter2"), "{s}");
        let ok = "[[route]]\nupstream = \"http://127.0.0.1:1\"\n\n[cluster]\nredis = \"redis://:hunter2@10.0.0.5:6379/0\"\n";
        let c = Config::parse(ok, "p.toml").unwrap();
        let shown = masked_settings(&c).to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("10.0.0.5:6379"), "{shown}");
        assert!(c.validate(Some(ok), "p.toml").is_ok());
    }

    #[test]
    fn a_good_file_validates() {
        let c = Config::parse(GOOD, "p.toml").unwrap();
        let v = c.validate(Some(GOOD), "p.toml").unwrap();
        assert_eq!(v.routes.len(), 2);
        assert_eq!(v.settings.max_body_bytes, 65536);
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let src = "[gateway]\nlisten = \"127.0.0.1:1\"\nlisten_port = 5\n";
        let e = Config::parse(src, "p.toml").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("p.toml:3:"), "{s}");
        assert!(s.contains("listen_port"), "{s}");
    }

    #[test]
    fn every_semantic_problem_is_reported_with_its_line() {
        let src = "[gateway]\nlisten = \"nope\"\n\n[[route]]\nupstream = \"http://127.0.0.1:1\"\n\n[[route]]\npath_prefix = \"/x\"\nupstream = \"localhost\"\n\n[console]\nlisten = \"bad\"\n";
        let c = Config::parse(src, "p.toml").unwrap();
        let e = c.validate(Some(src), "p.toml").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("p.toml:2: gateway.listen"), "{s}");
        assert!(s.contains("p.toml:9: route[1].upstream"), "{s}");
        assert!(s.contains("p.toml:12: console.listen"), "{s}");
        assert_eq!(e.0.len(), 3, "{s}");
    }

    #[test]
    fn store_postgres_is_checked_and_its_password_masked() {
        let src = "[[route]]\nupstream = \"http://127.0.0.1:1\"\n\n[store]\npostgres = \"postgres://app:pg-s3cret@db.internal:5432/palisade\"\n";
        let c = Config::parse(src, "p.toml").unwrap();
        assert!(c.store.spec().is_postgres());
        let shown = masked_settings(&c).to_string();
        assert!(!shown.contains("pg-s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db.internal:5432/palisade"),
            "{shown}"
        );
        c.validate(Some(src), "p.toml").unwrap();

        let bad = "[[route]]\nupstream = \"http://127.0.0.1:1\"\n\n[store]\npostgres = \"mysql://app:pg-s3cret@db/x\"\n";
        let e = Config::parse(bad, "p.toml")
            .unwrap()
            .validate(Some(bad), "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.toml:5: store.postgres"), "{e}");
        assert!(e.contains("(fix: write it like"), "{e}");
        assert!(!e.contains("pg-s3cret"), "{e}");
    }

    #[test]
    fn schema_and_baseline_problems_name_their_lines() {
        let src = "[[route]]\nupstream = \"http://127.0.0.1:1\"\n\n[schema]\nmode = \"log\"\nendpoints = { \"POST /api/v1/charges\" = \"block\", \"charges\" = \"log\" }\n\n[baseline]\nwindow = \"soon\"\nmin_actors = 0\n";
        let c = Config::parse(src, "p.toml").unwrap();
        let e = c.validate(Some(src), "p.toml").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("p.toml:6: schema.endpoints"), "{s}");
        assert!(s.contains("charges"), "{s}");
        assert!(s.contains("p.toml:9: baseline.window"), "{s}");
        assert!(s.contains("p.toml:10: baseline.min_actors"), "{s}");
        assert_eq!(e.0.len(), 3, "{s}");
        let e = Config::parse("[schema]\nmode = \"blocc\"\n", "p.toml").unwrap_err();
        assert!(e.to_string().contains("p.toml:2:"), "{e}");
    }
}
