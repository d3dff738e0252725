//! A running node: store, analysis pipeline, gateway and console, wired
//! together, with signals (Ctrl-C and SIGTERM stop, SIGHUP reloads).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use palisade_actors::DecisionSnapshot;
use palisade_analysis::{ActorsAnalyzer, CatalogAnalyzer, LiveViews};
use palisade_analysis::{Pipeline, PipelineConfig};
use palisade_console::ConsoleState;

use crate::engine::NodeEngine;
use palisade_gateway::Gateway;
use palisade_store::{Retention, Store};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{self, Validated};

/// Where a started node listens.
#[derive(Debug, Clone)]
pub struct Bound {
    pub gateway: SocketAddr,
    pub tls: Option<SocketAddr>,
    pub console: Option<SocketAddr>,
}

pub fn init_logging(cfg: &config::LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.level));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if cfg.format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Installs the Prometheus recorder once per process.
fn metrics_handle() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .ok()
        })
        .clone()
}

/// Starts a node and runs it until `shutdown` resolves.
pub async fn run(
    v: Validated,
    config_path: Option<PathBuf>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let node = start(v, config_path, stop_rx).await?;
    eprintln!(
        "palisade gateway on http://{}{}",
        node.bound.gateway,
        node.bound
            .console
            .map(|c| format!(", console on http://{c}"))
            .unwrap_or_default()
    );
    shutdown.await;
    eprintln!("shutting down");
    let _ = stop_tx.send(true);
    node.finished().await;
    Ok(())
}

/// A started node.
pub struct Node {
    pub bound: Bound,
    pub live: Arc<LiveViews>,
    pub pipeline: Arc<Pipeline>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Node {
    /// Waits for the servers to stop, then drains the pipeline.
    pub async fn finished(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        if let Ok(p) = Arc::try_unwrap(self.pipeline) {
            let _ = tokio::task::spawn_blocking(move || p.shutdown()).await;
        }
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// The analysis side of a node: pipeline (with its analysers and the store)
/// and the handles the inline path and the console read.
pub struct Analysis {
    pub pipeline: Pipeline,
    pub incidents: palisade_analysis::incidents::SharedIncidents,
    pub live: Arc<LiveViews>,
    pub decisions: Arc<ArcSwap<DecisionSnapshot>>,
    pub hasher: palisade_core::KeyedHasher,
    /// The compiled schema the inline check reads (`[schema]`).
    pub schema: Arc<ArcSwap<palisade_catalog::SchemaSnapshot>>,
}

/// Opens the store and starts the analysis pipeline a configuration asks for.
pub fn start_analysis(config: &config::Config) -> anyhow::Result<Analysis> {
    start_analysis_with(config, None)
}

/// [`start_analysis`], with the actors analyser linked to the other gateways
/// of a cluster when `cluster` is given.
pub fn start_analysis_with(
    config: &config::Config,
    cluster: Option<Box<dyn palisade_analysis::actors::ActorsLink>>,
) -> anyhow::Result<Analysis> {
    let data_dir = &config.store.data_dir;
    let spec = config.store.spec();
    let store = Store::open_spec(&spec)
        .with_context(|| format!("opening the store {}", spec.describe()))?;
    let hasher = crate::engine::load_or_create_key(data_dir)?;
    let live = LiveViews::new();
    let decisions = Arc::new(ArcSwap::from_pointee(DecisionSnapshot::empty()));
    let tracker = config
        .actors
        .build(hasher.clone())
        .map_err(|e| anyhow::anyhow!("[actors]: {e}"))?;
    let schema = Arc::new(ArcSwap::from_pointee(
        palisade_catalog::SchemaSnapshot::empty(),
    ));
    let mut catalog = CatalogAnalyzer::load(&config.catalog, &store, live.clone())
        .and_then(|c| c.with_baselines(&config.baseline, &store))
        .map_err(|e| anyhow::anyhow!("[catalog]: {e}"))?
        .with_schema(config.schema.clone(), schema.clone());
    for f in &config.spec.files {
        let spec = palisade_catalog::Spec::from_file(f).map_err(|e| anyhow::anyhow!("{e}"))?;
        catalog.catalog_mut().import_spec(spec);
    }
    catalog.publish_schema();
    let alerter = if config.alerts.webhooks.is_empty() && config.alerts.syslog.is_empty() {
        None
    } else {
        Some(
            palisade_alerts::Alerter::start(&config.alerts)
                .map_err(|e| anyhow::anyhow!("[alerts]: {e}"))?,
        )
    };
    let incidents = palisade_analysis::IncidentsAnalyzer::load(
        config.incidents.clone(),
        &store,
        live.clone(),
        alerter,
    );
    let shared_incidents = incidents.shared();
    // Order matters: actors set `ex.actor`, which the incidents group by.
    let analyzers: Vec<Box<dyn palisade_analysis::Analyzer>> = vec![
        Box::new({
            let a = ActorsAnalyzer::new(tracker, decisions.clone(), live.clone());
            match cluster {
                Some(link) => a.with_link(link),
                None => a,
            }
        }),
        Box::new(catalog),
        Box::new(incidents),
    ];
    let pipeline = Pipeline::start(
        PipelineConfig {
            capacity: config.pipeline.capacity,
            retention: Retention {
                max_age: config.store.retention,
                max_bytes: config.store.max_size_mib * 1024 * 1024,
            },
            ..Default::default()
        },
        store,
        analyzers,
    );
    Ok(Analysis {
        pipeline,
        incidents: shared_incidents,
        live,
        decisions,
        hasher,
        schema,
    })
}

/// Starts the servers of a node; they stop when `stop` turns true.
pub async fn start(
    mut v: Validated,
    config_path: Option<PathBuf>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Node> {
    let data_dir = v.config.store.data_dir.clone();
    // The rule file the console edits: the first configured one, else
    // `<data dir>/rules.toml`, created empty and loaded (and watched) like any.
    let rules_file = match v.config.detect.rules.first() {
        Some(f) => f.clone(),
        None => {
            let f = data_dir.join("rules.toml");
            if !f.exists() {
                std::fs::create_dir_all(&data_dir)?;
                std::fs::write(&f, crate::rules_ctl::EMPTY_RULES)
                    .with_context(|| format!("creating {}", f.display()))?;
            }
            v.config.detect.rules.push(f.clone());
            f
        }
    };
    let cluster = start_cluster(&v)?;
    let cluster_link = match &cluster {
        Some(c) => Some(Box::new(c.link()?) as Box<dyn palisade_analysis::actors::ActorsLink>),
        None => None,
    };
    let remote = cluster.as_ref().map(|c| c.remote_decisions());
    let Analysis {
        pipeline,
        incidents,
        live,
        decisions,
        hasher,
        schema,
    } = start_analysis_with(&v.config, cluster_link)?;
    let pipeline = Arc::new(pipeline);
    let detect = v
        .config
        .detect
        .build()
        .map_err(|d| anyhow::anyhow!("[detect]:\n{d}"))?;
    let detect = Arc::new(detect);
    let detect_for_ingest = detect.clone();
    let engine = NodeEngine {
        hasher: hasher.clone(),
        decisions: decisions.clone(),
        remote: remote.clone(),
        detect: Some(detect),
        schema: schema.clone(),
    };
    let reloader = Reloader {
        hasher,
        decisions,
        remote,
        schema,
        rule_files: v.config.detect.rules.clone(),
    };
    let detect_cfg = v.config.detect.clone();
    let reloader = Arc::new(reloader);
    let metrics = metrics_handle();
    let gateway = Gateway::new(
        v.settings.clone(),
        v.routes.clone(),
        Box::new(engine),
        Arc::new(pipeline.sink()),
    )?
    .with_tls_fingerprinter(Arc::new(|hello: &[u8]| {
        palisade_actors::ja4::ja4_from_client_hello(hello).ok()
    }));

    let listen = v.settings.listen.context("gateway.listen is required")?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (gateway.listen)"))?;
    let mut bound = Bound {
        gateway: listener.local_addr()?,
        tls: None,
        console: None,
    };
    let tls = match (&v.settings.tls, v.settings.tls_listen) {
        (Some(t), Some(addr)) => {
            let acceptor = palisade_gateway::tls::acceptor(t)?;
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (gateway.tls.listen)"))?;
            bound.tls = Some(l.local_addr()?);
            Some((l, acceptor))
        }
        _ => None,
    };

    let mut tasks = Vec::new();
    if let Some(addr) = v.console {
        let l = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (console.listen)"))?;
        bound.console = Some(l.local_addr()?);
        // First start without users: an admin with a password shown once.
        let dir = data_dir.clone();
        let spec = v.config.store.spec();
        let first = tokio::task::spawn_blocking(move || {
            palisade_console::users::ensure_first_admin_in(&spec, &dir)
        })
        .await?
        .map_err(|e| anyhow::anyhow!("creating the first admin: {}", e.message))?;
        if let Some(pw) = first {
            eprintln!(
                "first start: console user `admin` created with password {pw}\n(also in {}; it is deleted when the password is changed)",
                data_dir
                    .join(palisade_console::users::INITIAL_PASSWORD_FILE)
                    .display()
            );
        }
        let mut state = ConsoleState::new(data_dir.clone());
        state.store = v.config.store.spec();
        state.metrics = metrics;
        state.pipeline = Some(pipeline.stats());
        state.live = Some(live.clone());
        state.incidents = Some(incidents.clone());
        state.settings = Some(crate::config::masked_settings(&v.config));
        state.rules = Some(Arc::new(crate::rules_ctl::NodeRules {
            file: rules_file.clone(),
            base: detect_cfg.clone(),
            apply: {
                let gw = gateway.clone();
                let r = reloader.clone();
                Arc::new(move |cfg: &palisade_detect::DetectConfig| r.apply_detect(cfg, &gw))
            },
        }));
        state.ingest = Some(Arc::new(crate::engine::InspectingSink {
            engine: detect_for_ingest.clone(),
            sink: pipeline.sink(),
        }));
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = palisade_console::serve(l, state, stopped(stop)).await {
                tracing::error!(error = %e, "console stopped");
            }
        }));
    }

    // SIGHUP reloads the file; rule files are also watched for changes.
    #[cfg(unix)]
    {
        let gw = gateway.clone();
        let stop = stop.clone();
        let r = reloader.clone();
        let path = config_path.clone();
        tasks.push(tokio::spawn(async move {
            reload_on_hup(path, gw, r, stop).await
        }));
    }
    {
        let gw = gateway.clone();
        let stop = stop.clone();
        let r = reloader.clone();
        let cfg = v.config.detect.clone();
        tasks.push(tokio::spawn(
            async move { watch_rules(cfg, gw, r, stop).await },
        ));
    }

    if let Some(c) = cluster {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            stopped(stop).await;
            c.shutdown().await;
        }));
    }

    let gw = gateway.clone();
    let stop_gw = stop.clone();
    tasks.push(tokio::spawn(async move {
        gw.serve(listener, tls, stopped(stop_gw)).await
    }));
    Ok(Node {
        bound,
        live,
        pipeline,
        tasks,
    })
}

/// Joins the cluster `[cluster]` names, if any. Never waits for Redis: the
/// node serves with local state until it is reachable.
fn start_cluster(v: &Validated) -> anyhow::Result<Option<palisade_cluster::Cluster>> {
    let cfg = &v.config.cluster;
    if !cfg.enabled() {
        return Ok(None);
    }
    // The cluster's gauges and counters go to /metrics from the start.
    let _ = metrics_handle();
    let hasher = crate::engine::load_or_create_key(&v.config.store.data_dir)?;
    let node = if cfg.node_id.is_empty() {
        default_node_id(v.settings.listen.map(|a| a.port()).unwrap_or(0))
    } else {
        cfg.node_id.clone()
    };
    let c = palisade_cluster::Cluster::start(cfg, &node, hasher)?;
    tracing::info!(
        node = %node,
        redis = %palisade_cluster::mask_url(cfg.redis.trim()),
        "cluster mode: sharing actor observations and decisions"
    );
    Ok(Some(c))
}

/// `hostname:port` (the gateway's configured port; the process id when the
/// port is chosen at start).
fn default_node_id(port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "palisade".into());
    if port == 0 {
        format!("{host}:pid{}", std::process::id())
    } else {
        format!("{host}:{port}")
    }
}

/// What a reload needs to rebuild the inline engine.
pub(crate) struct Reloader {
    hasher: palisade_core::KeyedHasher,
    decisions: Arc<ArcSwap<DecisionSnapshot>>,
    remote: Option<Arc<ArcSwap<DecisionSnapshot>>>,
    schema: Arc<ArcSwap<palisade_catalog::SchemaSnapshot>>,
    rule_files: Vec<PathBuf>,
}

impl Reloader {
    /// Builds a new engine from a detect config and swaps it in; requests in
    /// flight finish with the old one. An invalid config is refused whole.
    pub(crate) fn apply_detect(&self, cfg: &palisade_detect::DetectConfig, gw: &Gateway) -> bool {
        match cfg.build() {
            Ok(detect) => {
                gw.set_inspector(Box::new(NodeEngine {
                    hasher: self.hasher.clone(),
                    decisions: self.decisions.clone(),
                    remote: self.remote.clone(),
                    detect: Some(Arc::new(detect)),
                    schema: self.schema.clone(),
                }));
                true
            }
            Err(d) => {
                tracing::error!("rules not reloaded, keeping the running ones:\n{d}");
                false
            }
        }
    }
}

#[cfg(unix)]
async fn reload_on_hup(
    path: Option<PathBuf>,
    gw: Gateway,
    r: Arc<Reloader>,
    stop: watch::Receiver<bool>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    let stopping = stopped(stop);
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            _ = hup.recv() => reload(path.as_deref(), &gw, &r),
            _ = &mut stopping => return,
        }
    }
}

/// Re-reads the file; applies it only when it is valid whole. Without a file
/// (flags only), re-reads the rule files.
fn reload(path: Option<&Path>, gw: &Gateway, r: &Reloader) {
    let Some(path) = path else {
        let cfg = palisade_detect::DetectConfig {
            rules: r.rule_files.clone(),
            ..Default::default()
        };
        if r.apply_detect(&cfg, gw) {
            tracing::info!("rules reloaded");
        }
        return;
    };
    match config::Config::load(path)
        .and_then(|(c, src)| c.validate(Some(&src), &path.display().to_string()))
    {
        Ok(v) => {
            if r.apply_detect(&v.config.detect, gw) {
                gw.set_routes(v.routes);
                tracing::info!(file = %path.display(), "configuration reloaded");
            }
        }
        Err(d) => {
            tracing::error!(file = %path.display(), "reload refused, keeping the running configuration:\n{d}")
        }
    }
}

/// Polls the rule files' modification times every two seconds and reloads
/// the engine when one changes.
async fn watch_rules(
    cfg: palisade_detect::DetectConfig,
    gw: Gateway,
    r: Arc<Reloader>,
    stop: watch::Receiver<bool>,
) {
    if cfg.rules.is_empty() {
        return;
    }
    let mtimes = |files: &[PathBuf]| -> Vec<Option<std::time::SystemTime>> {
        files
            .iter()
            .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
            .collect()
    };
    let mut last = mtimes(&cfg.rules);
    let stopping = stopped(stop);
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = &mut stopping => return,
        }
        let now = mtimes(&cfg.rules);
        if now != last {
            last = now;
            if r.apply_detect(&cfg, &gw) {
                tracing::info!("rule files changed; rules reloaded");
            }
        }
    }
}

/// Gives servers a moment to bind before clients start (demo only).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}
