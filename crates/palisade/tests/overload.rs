//! Overload at many times the analysis capacity: the real `palisade run` with a
//! tiny pipeline (`[pipeline] capacity = 4`) takes bursts from many clients.
//! Every request is still forwarded (2xx), analysis sheds and counts
//! (`palisade_pipeline_shed_total`), offered = stored + shed once drained, and
//! the resident memory of the process stays bounded.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

mod common;
use common::{demo_api, http, start};

/// The sum of every sample of a metric (all label sets).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The value of one series, written exactly as exported (`name` or
/// `name{label="v"}`); 0 when absent.
fn series(text: &str, exact: &str) -> f64 {
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(s, _)| *s == exact)
        .filter_map(|(_, v)| v.parse::<f64>().ok())
        .sum()
}

async fn metrics(console: &str) -> String {
    let out = http(
        console,
        "GET /metrics HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

/// Resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

fn config(up: std::net::SocketAddr, data: &Path) -> String {
    common::node_config(up, data, "\n[pipeline]\ncapacity = 4\n")
}

/// Sends `n` requests from `clients` concurrent keep-alive clients; returns
/// how many were answered 2xx.
async fn burst(gateway: &str, clients: usize, n: usize, tag: &str) -> usize {
    let mut tasks = Vec::new();
    for w in 0..clients {
        let gateway = gateway.to_string();
        let tag = tag.to_string();
        tasks.push(tokio::spawn(async move {
            let c: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            let mut ok = 0;
            for i in (w..n).step_by(clients) {
                let req = http::Request::builder()
                    .uri(format!(
                        "http://{gateway}/api/v1/products?burst={tag}&i={i}&pad={}",
                        "p".repeat(200)
                    ))
                    .body(Empty::new())
                    .unwrap();
                let resp = tokio::time::timeout(Duration::from_secs(10), c.request(req))
                    .await
                    .expect("the gateway answers under overload")
                    .expect("a response");
                let good = resp.status().is_success();
                let _ = resp.into_body().collect().await;
                if good {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    ok
}

#[tokio::test]
async fn overload_keeps_forwarding_sheds_analysis_and_bounds_memory() {
    let (up, _stop) = demo_api().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("palisade.toml");
    std::fs::write(&cfg, config(up, &data)).unwrap();
    let p = start(&["run", "--config", cfg.to_str().unwrap()]).await;
    let pid = p.child.id().unwrap();

    // Warm up, then measure memory.
    assert_eq!(burst(&p.gateway, 4, 200, "warm").await, 200);
    let rss_before = rss_kib(pid);
    let m = metrics(&p.console).await;
    let shed_before = metric(&m, "palisade_pipeline_shed_total");

    // Three bursts of 4,000 requests from 32 clients: a queue of 4 is
    // thousands of times too small.
    let started = Instant::now();
    let mut peak = rss_before;
    for round in 0..3 {
        let n = 4000;
        let ok = burst(&p.gateway, 32, n, &format!("r{round}")).await;
        assert_eq!(ok, n, "round {round}: every request must be forwarded");
        peak = peak.max(rss_kib(pid));
    }
    let took = started.elapsed();
    let m = metrics(&p.console).await;
    let shed = metric(&m, "palisade_pipeline_shed_total") - shed_before;
    let offered = metric(&m, "palisade_pipeline_offered_total");
    eprintln!(
        "overload: 12,000 requests in {:.1} s, all 2xx; {} of {offered} offered exchanges shed by the pipeline; RSS {} KiB before, peak {} KiB",
        took.as_secs_f64(),
        series(&m, "palisade_pipeline_shed_total"),
        rss_before,
        peak
    );
    assert!(shed > 0.0, "analysis never shed: {m}");
    assert!(offered >= 12_200.0, "{m}");
    // Generous: a few hundred MiB would mean the overload is buffered somewhere.
    assert!(
        peak < rss_before + 200 * 1024,
        "RSS grew from {rss_before} KiB to {peak} KiB under overload"
    );

    // Still serving afterwards; once the queue drains, every exchange offered
    // is either stored or counted as shed.
    let out = http(
        &p.gateway,
        "GET /api/v1/products?after=overload HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let mut balanced = String::new();
    for _ in 0..50 {
        let m = metrics(&p.console).await;
        let (o, s, st) = (
            series(&m, "palisade_pipeline_offered_total"),
            // the pipeline's own count; the gateway counts the same sheds
            // again under a `source="gateway"` label
            series(&m, "palisade_pipeline_shed_total"),
            series(&m, "palisade_pipeline_stored_total"),
        );
        if o == s + st {
            balanced.clear();
            break;
        }
        balanced = format!("offered {o}, shed {s}, stored {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(balanced.is_empty(), "exchanges unaccounted for: {balanced}");
    assert!(p.stop().await.success());
}
