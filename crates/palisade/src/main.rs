//! `palisade`: the one binary. CLI, configuration, wiring, signals.
//!
//! Each subcommand is a thin layer over the library crates: `gateway` and
//! `run` start a node (gateway + analysis pipeline + store + console), `demo`
//! adds the demo payments API and the traffic simulator in front of it, and
//! the other commands are tools over the same pieces.

mod admin_cmd;
mod catalog_cmd;
mod config;
mod demo;
mod engine;
mod ingest;
mod node;
mod rules_ctl;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use palisade_gateway::Mode;

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Self-hosted API protection for payment and fintech APIs."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a gateway in front of one upstream, from flags (no file needed).
    Gateway {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// The upstream URL, e.g. http://127.0.0.1:9000.
        #[arg(long)]
        upstream: Option<String>,
        /// A configuration file; flags given explicitly override it.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Console address ("" to disable).
        #[arg(long)]
        console: Option<String>,
        /// block, detect or off.
        #[arg(long)]
        mode: Option<Mode>,
    },
    /// Start everything the configuration file describes.
    Run {
        #[arg(long, default_value = "palisade.toml")]
        config: PathBuf,
    },
    /// Check a configuration file and report every problem.
    CheckConfig {
        #[arg(long, default_value = "palisade.toml")]
        config: PathBuf,
    },
    /// Start the demo: payments API, gateway, console and traffic.
    Demo {
        /// Stop after this long (e.g. 60s); runs until Ctrl-C otherwise.
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<Duration>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long, default_value = "127.0.0.1:9090")]
        console: String,
        #[arg(long, default_value = "127.0.0.1:9000")]
        upstream_listen: String,
        #[arg(long, default_value = "./palisade-data")]
        data_dir: PathBuf,
        /// Customer requests per second.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
    },
    /// Drive a traffic scenario against a target on loopback.
    Simulate {
        /// customers, card-testing, credential-stuffing, enumeration, scanner or mixed
        scenario: String,
        #[arg(long)]
        target: String,
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Requests per second (customers).
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// Requests per second of each attack campaign.
        #[arg(long, default_value_t = 10.0)]
        attack_rate: f64,
        /// Stop after this many requests.
        #[arg(long)]
        max_requests: Option<u64>,
    },
    /// Passive sensor: analyse recorded traffic (NDJSON exchanges, nginx or
    /// Envoy JSON access logs, HAR) into the store, as the gateway would.
    Ingest {
        /// A file, or - for standard input.
        input: PathBuf,
        /// ndjson, nginx-json, envoy or har (guessed from the content when absent).
        #[arg(long)]
        format: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Alerts: send a test alert to every configured webhook and syslog destination.
    Alerts {
        #[command(subcommand)]
        action: AlertsAction,
    },
    /// Custom rules: validate them, or see what fires on recorded traffic.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Detection quality: replay labelled corpora (JSONL) through the engine
    /// in process and print true / false positive rates per category.
    Quality {
        /// Corpus files (the format of shared/data/README.md).
        files: Vec<PathBuf>,
        /// low, balanced, high or paranoid.
        #[arg(long, default_value = "balanced")]
        sensitivity: String,
        /// Print every false positive and missed attack.
        #[arg(long)]
        details: bool,
    },
    /// The learned API catalog (endpoints, data, auth, shadow / zombie / unused).
    Catalog {
        #[command(subcommand)]
        action: CatalogAction,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Serve the demo payments API alone (an upstream for trials and benchmarks).
    DemoApi {
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: String,
    },
    /// Console users.
    User {
        #[command(subcommand)]
        action: UserAction,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// API tokens for automation (sent as `Authorization: Bearer`).
    Token {
        #[command(subcommand)]
        action: TokenAction,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the offline commands find the store: the node's data directory
/// (SQLite), or the PostgreSQL server a node with `[store] postgres` uses.
#[derive(clap::Args)]
struct StoreArgs {
    #[arg(long, default_value = "./palisade-data", global = true)]
    data_dir: PathBuf,
    /// The node's `[store] postgres` URL (the store is then PostgreSQL).
    #[arg(long, env = "PALISADE_STORE_POSTGRES", global = true)]
    postgres: Option<String>,
}

impl StoreArgs {
    fn spec(&self) -> anyhow::Result<palisade_store::StoreSpec> {
        if let Some(url) = &self.postgres {
            palisade_store::check_postgres_url(url).map_err(|e| {
                anyhow::anyhow!(
                    "--postgres: {e} (fix: write it like postgres://USER:PASSWORD@HOST:5432/DATABASE)"
                )
            })?;
        }
        Ok(palisade_store::StoreSpec::from_parts(
            &self.data_dir,
            self.postgres.as_deref(),
        ))
    }
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user; the password is read from PALISADE_PASSWORD, the terminal
    /// (not echoed) or standard input.
    Add {
        name: String,
        /// viewer, analyst or admin.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print it once.
    Create {
        /// viewer, analyst or admin.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute the hash chain: exit 0 with the count, or 1 naming the
    /// first broken entry.
    Verify,
}

#[derive(Subcommand)]
enum AlertsAction {
    /// Send one test alert to each destination of `[alerts]` and report per destination.
    Test {
        #[arg(long, default_value = "palisade.toml")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum RulesAction {
    /// Check rule files; every problem with file, line and hint.
    Check { files: Vec<PathBuf> },
    /// Run the engine with these rules over recorded requests (exchange NDJSON
    /// or corpus JSONL) and show what fires on each.
    Test { rules: PathBuf, requests: PathBuf },
}

#[derive(Subcommand)]
enum CatalogAction {
    /// List endpoints.
    List,
    /// Show one endpoint (by id or template).
    Show { endpoint: String },
    /// Export the learned catalog.
    Export {
        /// openapi or json.
        #[arg(long, default_value = "openapi")]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import the team's OpenAPI 3 spec (JSON or YAML) to compare traffic with.
    ImportSpec { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Gateway {
            listen,
            upstream,
            config,
            data_dir,
            console,
            mode,
        } => {
            let (mut cfg, src, file) = match &config {
                Some(p) => match config::Config::load(p) {
                    Ok((c, s)) => (c, Some(s), p.display().to_string()),
                    Err(d) => return Ok(report(&d)),
                },
                None => {
                    let Some(up) = &upstream else {
                        eprintln!(
                            "error: give --upstream URL (e.g. --upstream http://127.0.0.1:9000) or --config FILE"
                        );
                        return Ok(ExitCode::from(2));
                    };
                    let c = config::from_flags(
                        &listen,
                        up,
                        mode.unwrap_or_default(),
                        console.as_deref().unwrap_or("127.0.0.1:9090"),
                        data_dir
                            .as_deref()
                            .unwrap_or(std::path::Path::new("./palisade-data")),
                    );
                    (c, None, "(flags)".to_string())
                }
            };
            if config.is_some() {
                // Flags given explicitly override the file.
                if listen != "127.0.0.1:8080" {
                    cfg.gateway.listen = listen;
                }
                if let Some(up) = upstream {
                    cfg.route =
                        config::from_flags("", &up, Mode::Block, "", std::path::Path::new("."))
                            .route;
                }
                if let Some(d) = data_dir {
                    cfg.store.data_dir = d;
                }
                if let Some(c) = console {
                    cfg.console.listen = c;
                }
                if let Some(m) = mode {
                    cfg.gateway.mode = m;
                    for r in cfg.route.iter_mut() {
                        r.mode = None;
                    }
                }
            }
            let v = match cfg.validate(src.as_deref(), &file) {
                Ok(v) => v,
                Err(d) => return Ok(report(&d)),
            };
            node::init_logging(&v.config.log);
            node::run(v, config, node::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config } => {
            let v = match load_validated(&config) {
                Ok(v) => v,
                Err(code) => return Ok(code),
            };
            node::init_logging(&v.config.log);
            node::run(v, Some(config), node::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { config } => match load_validated(&config) {
            Ok(v) => {
                println!(
                    "{}: ok ({} route(s), mode {})",
                    config.display(),
                    v.routes.len(),
                    v.config.gateway.mode.as_str()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(code) => Ok(code),
        },
        Command::Demo {
            duration,
            listen,
            console,
            upstream_listen,
            data_dir,
            rate,
        } => {
            node::init_logging(&config::LogConfig {
                level: "warn".into(),
                format: "text".into(),
            });
            demo::run(demo::DemoOptions {
                duration,
                listen,
                console,
                upstream_listen,
                data_dir,
                rate,
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate {
            scenario,
            target,
            duration,
            rate,
            attack_rate,
            max_requests,
        } => {
            let scenario = palisade_sim::traffic::Scenario::parse(&scenario)?;
            let mut opts = palisade_sim::traffic::SimOptions::new(&target)?;
            opts.duration = duration;
            opts.customer_rate = rate;
            opts.attack_rate = attack_rate;
            if let Some(n) = max_requests {
                opts.max_requests = n;
            }
            let report = palisade_sim::traffic::run(scenario, &opts).await;
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest {
            input,
            format,
            config,
            data_dir,
        } => {
            let format = match format {
                Some(f) => Some(
                    f.parse::<palisade_sensor::Format>()
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                ),
                None => None,
            };
            let mut cfg = match &config {
                Some(p) => match config::Config::load(p) {
                    Ok((c, _)) => c,
                    Err(d) => return Ok(report(&d)),
                },
                None => config::Config::default(),
            };
            if let Some(d) = data_dir {
                cfg.store.data_dir = d;
            }
            node::init_logging(&config::LogConfig {
                level: "warn".into(),
                format: "text".into(),
            });
            ingest::run(&input, format, cfg).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Alerts {
            action: AlertsAction::Test { config },
        } => {
            let v = match load_validated(&config) {
                Ok(v) => v,
                Err(code) => return Ok(code),
            };
            let results = palisade_alerts::test_send(&v.config.alerts, palisade_core::now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if results.is_empty() {
                println!("no destination is configured under [alerts]");
            }
            let mut failed = false;
            for r in &results {
                match &r.error {
                    None => println!("ok     {} ({} ms)", r.destination, r.elapsed_ms),
                    Some(e) => println!("FAILED {}: {e}", r.destination),
                }
                failed |= !r.ok;
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Rules { action } => match action {
            RulesAction::Check { files } => {
                let cfg = palisade_detect::DetectConfig {
                    rules: files.clone(),
                    ..Default::default()
                };
                match cfg.build() {
                    Ok(e) => {
                        println!(
                            "ok: {} rule(s) loaded ({} file(s) plus the built-in rules)",
                            e.rules().len(),
                            files.len()
                        );
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(d) => {
                        eprint!("{d}");
                        Ok(ExitCode::from(2))
                    }
                }
            }
            RulesAction::Test { rules, requests } => {
                let cfg = palisade_detect::DetectConfig {
                    rules: vec![rules],
                    ..Default::default()
                };
                let engine = match cfg.build() {
                    Ok(e) => e,
                    Err(d) => {
                        eprint!("{d}");
                        return Ok(ExitCode::from(2));
                    }
                };
                let report = palisade_detect::harness::rules_test(&engine, &requests)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", requests.display()))?;
                println!("{report}");
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Quality {
            files,
            sensitivity,
            details,
        } => {
            let s: palisade_detect::Sensitivity = serde_json::from_value(
                serde_json::Value::String(sensitivity.clone()),
            )
            .map_err(|_| {
                anyhow::anyhow!(
                    "unknown sensitivity `{sensitivity}` (fix: low, balanced, high or paranoid)"
                )
            })?;
            let cfg = palisade_detect::DetectConfig {
                sensitivity: s,
                ..Default::default()
            };
            let engine = cfg.build().map_err(|d| anyhow::anyhow!("{d}"))?;
            for f in files {
                let report = palisade_detect::harness::run_corpus(&engine, &f)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                println!("== {}\n{report}", f.display());
                if details {
                    println!("{}", report.details());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Catalog { action, store } => {
            let spec = store.spec()?;
            match action {
                CatalogAction::List => catalog_cmd::list(&spec)?,
                CatalogAction::Show { endpoint } => catalog_cmd::show(&spec, &endpoint)?,
                CatalogAction::Export { format, out } => {
                    catalog_cmd::export(&spec, &format, out.as_deref())?
                }
                CatalogAction::ImportSpec { file } => catalog_cmd::import_spec(&spec, &file)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::DemoApi { listen } => {
            let l = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            println!("demo payments API on http://{}", l.local_addr()?);
            palisade_sim::upstream::serve(l, node::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            action: UserAction::Add { name, role },
            store,
        } => admin_cmd::user_add(&store.spec()?, &name, &role),
        Command::Token {
            action: TokenAction::Create { role, name },
            store,
        } => admin_cmd::token_create(&store.spec()?, &role, &name),
        Command::Audit {
            action: AuditAction::Verify,
            store,
        } => admin_cmd::audit_verify(&store.spec()?),
    }
}

fn load_validated(path: &std::path::Path) -> Result<config::Validated, ExitCode> {
    let (cfg, src) = config::Config::load(path).map_err(|d| report(&d))?;
    cfg.validate(Some(&src), &path.display().to_string())
        .map_err(|d| report(&d))
}

fn report(d: &config::Diagnostics) -> ExitCode {
    eprint!("error: {d}");
    ExitCode::from(2)
}
