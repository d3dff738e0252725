//! `palisade demo`: the demo payments API, the gateway in front of it, the
//! console, and simulated customers, in one process with one command.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use palisade_sim::traffic::{Scenario, SimOptions};
use tokio::sync::watch;

use crate::config;
use crate::node;

pub struct DemoOptions {
    pub duration: Option<Duration>,
    pub listen: String,
    pub console: String,
    pub upstream_listen: String,
    pub data_dir: PathBuf,
    pub rate: f64,
}

pub async fn run(o: DemoOptions) -> anyhow::Result<()> {
    let api = tokio::net::TcpListener::bind(&o.upstream_listen)
        .await
        .with_context(|| {
            format!(
                "cannot start the demo API on {} (choose another with --upstream-listen)",
                o.upstream_listen
            )
        })?;
    let api_addr = api.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let api_stop = stop_rx.clone();
    let api_task = tokio::spawn(palisade_sim::upstream::serve(api, async move {
        let mut rx = api_stop;
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                break;
            }
        }
    }));

    let cfg = config::from_flags(
        &o.listen,
        &format!("http://{api_addr}"),
        palisade_gateway::Mode::Block,
        &o.console,
        &o.data_dir,
    );
    let v = cfg
        .validate(None, "(demo)")
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let node = node::start(v, None, stop_rx.clone()).await?;
    node::settle().await;
    let gw = node.bound.gateway;
    println!("Palisade demo is running.");
    println!("  demo payments API   http://{api_addr}");
    println!("  gateway (send here) http://{gw}");
    if let Some(c) = node.bound.console {
        println!("  console             http://{c}  (try /api/v1/exchanges, /metrics)");
    }
    println!("  data                {}", o.data_dir.display());
    println!(
        "Simulated customers are browsing, ordering and paying; from a few seconds in, a card-testing\nbotnet, a credential stuffer, an account enumerator and a scanner attack. Ctrl-C to stop."
    );

    let mut opts = SimOptions::new(&format!("http://{gw}"))?;
    opts.duration = o.duration.unwrap_or(Duration::from_secs(365 * 24 * 3600));
    opts.customer_rate = o.rate;
    let sim = tokio::spawn(async move { palisade_sim::traffic::run(Scenario::Mixed, &opts).await });

    let stats = node.pipeline.stats();
    let ticker = tokio::spawn(async move {
        let mut t = tokio::time::interval(Duration::from_secs(10));
        t.tick().await;
        loop {
            t.tick().await;
            println!(
                "  … {} exchanges analysed, {} stored, {} shed",
                stats.analysed.load(Ordering::Relaxed),
                stats.stored.load(Ordering::Relaxed),
                stats.shed.load(Ordering::Relaxed)
            );
        }
    });

    let report = tokio::select! {
        r = sim => r.ok(),
        _ = node::shutdown_signal() => None,
    };
    ticker.abort();
    let endpoints = node.live.endpoints.load_full();
    let actors = node.live.actors.load_full();
    println!("API catalog: {} endpoint(s) learned", endpoints.len());
    for e in endpoints.iter().take(12) {
        println!(
            "  {:<7} {:<32} {:>6} req  risk {:>3}",
            e.method, e.template, e.requests, e.posture.score
        );
    }
    println!("Actors: {} tracked; riskiest:", actors.len());
    for a in actors.iter().take(5) {
        println!(
            "  {:<24} risk {:>3}  {:?}  {} request(s)",
            a.name, a.risk, a.level, a.requests
        );
    }
    let _ = stop_tx.send(true);
    node.finished().await;
    let _ = api_task.await;
    if let Some(r) = report {
        println!("{r}");
    }
    println!("Demo stopped; exchanges are in {}.", o.data_dir.display());
    Ok(())
}
