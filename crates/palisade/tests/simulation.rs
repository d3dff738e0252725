//! The mixed simulation through the real gateway binary: customers plus four
//! attack campaigns, each client on its own 127.x address. Asserts what the
//! product promises: no customer blocked, every campaign stopped after a
//! handful of requests, and few of its abuses succeed.

use std::time::Duration;

use palisade_sim::traffic::{Scenario, SimOptions, run};
use tokio::net::TcpListener;

mod common;
use common::{start, token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_campaigns_are_stopped_and_customers_are_not() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = l.local_addr().unwrap();
    let (stop_api, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(palisade_sim::upstream::serve(l, async move {
        let _ = rx.await;
    }));
    // A local webhook receiver that keeps what it gets.
    let hooks = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let hl = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = hl.local_addr().unwrap();
    let got = hooks.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let got = got.clone();
            async move {
                got.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(hl, receiver).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("palisade.toml");
    std::fs::write(
        &cfg,
        format!(
            "[gateway]\nlisten = \"127.0.0.1:0\"\n\n[[route]]\nupstream = \"http://{api}\"\n\n[console]\nlisten = \"127.0.0.1:0\"\n\n[store]\ndata_dir = \"{}\"\n\n[[alerts.webhooks]]\nurl = \"http://{hook_addr}/hook\"\nmin_severity = \"high\"\nformat = \"slack\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let node = start(&["run", "--config", cfg.to_str().unwrap()]).await;
    let (gw, console) = (node.gateway.clone(), node.console.clone());

    let mut opts = SimOptions::new(&format!("http://{gw}")).unwrap();
    opts.duration = Duration::from_secs(25);
    opts.max_requests = 6000;
    opts.customer_rate = 20.0;
    opts.attack_rate = 15.0;
    opts.attack_start = Duration::from_secs(2);
    opts.attack_stagger = Duration::from_secs(1);
    let report = run(Scenario::Mixed, &opts).await;
    println!("{report}");

    let customers = report.campaign("customers").unwrap();
    assert!(customers.requests > 200, "{report}");
    assert_eq!(
        customers.falsely_blocked,
        Some(0),
        "a customer was blocked:\n{report}"
    );
    assert_eq!(customers.errors, 0, "{report}");
    for name in [
        "card-testing",
        "credential-stuffing",
        "enumeration",
        "scanner",
    ] {
        let c = report.campaign(name).unwrap();
        assert!(c.requests >= 50, "{name} barely ran:\n{report}");
        let first = c.requests_until_first_block.unwrap_or(u64::MAX);
        assert!(
            first <= 60,
            "{name} was stopped only after {first} requests:\n{report}"
        );
        // Credential stuffing rotates its user agent per address, which the
        // per-fingerprint view links only slowly (a known weakness, see
        // docs/actors.md): it is held to a looser bound than the others.
        let (num, den) = if name == "credential-stuffing" {
            (3, 5)
        } else {
            (1, 2)
        };
        assert!(
            c.reached_upstream * den < c.requests * num,
            "{name}: too many requests reached the upstream:\n{report}"
        );
    }
    let cards = report.campaign("card-testing").unwrap();
    assert!(
        cards.reached_upstream * 10 <= cards.requests,
        "card testing got through:\n{report}"
    );

    // Incidents: grouped by campaign and actor, not one per request.
    let token = token(&dir.path().join("data"), "viewer");
    let incidents: serde_json::Value = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(&console).await.unwrap();
        s.write_all(format!("GET /api/v1/incidents?limit=100 HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).await.unwrap();
        let body = raw.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {raw}"))
    };
    let items = incidents["items"].as_array().unwrap();
    let titles: Vec<String> = items
        .iter()
        .map(|i| i["title"].as_str().unwrap_or("").to_string())
        .collect();
    let blocked: u64 = report
        .campaigns
        .iter()
        .filter(|c| c.is_attack())
        .map(|c| c.blocked)
        .sum();
    println!(
        "{} incidents for {blocked} blocked attack requests:\n{}",
        items.len(),
        titles.join("\n")
    );
    assert!(
        items.len() >= 4,
        "each campaign makes an incident: {titles:?}"
    );
    assert!(
        (items.len() as u64) * 20 < blocked,
        "incidents group requests, not one per request: {titles:?}"
    );
    for kind in ["Card testing", "Credential stuffing"] {
        assert!(
            titles.iter().any(|t| t.contains(kind)),
            "no {kind} incident in {titles:?}"
        );
    }
    let card = items
        .iter()
        .find(|i| i["title"].as_str().unwrap_or("").contains("Card testing"))
        .unwrap();
    assert_eq!(card["phase"], "abuse", "{card}");
    // Alerts reached the local webhook receiver, as Slack-compatible JSON.
    let got = hooks.lock().unwrap().clone();
    assert!(!got.is_empty(), "no alert reached the webhook");
    let first: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert!(first["text"].is_string(), "{first}");
    assert!(
        !got.iter().any(|b| b.contains("4111111111111111")),
        "no card number in alerts"
    );

    // Prometheus metrics for what the run did.
    let metrics = common::http(
        &console,
        "GET /metrics HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n",
    )
    .await;
    for series in [
        "palisade_requests_total",
        "palisade_inspect_seconds",
        "palisade_findings_total{kind=\"card_testing\"",
        "palisade_actors_tracked",
        "palisade_incidents_open",
        "palisade_pipeline_delay_seconds",
        "palisade_pipeline_lag",
        "palisade_incident_events_total",
    ] {
        assert!(metrics.contains(series), "{series} missing from /metrics");
    }
    assert!(node.stop().await.success());
    let _ = stop_api.send(());
}
