//! The mixed simulation through the real gateway binary: customers plus four
//! attack campaigns, each client on its own 127.x address. Asserts what the
//! product promises: no customer blocked, every campaign stopped after a
//! handful of requests, and few of its abuses succeed.

use std::process::Stdio;
use std::time::Duration;

use palisade_sim::traffic::{Scenario, SimOptions, run};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_campaigns_are_stopped_and_customers_are_not() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = l.local_addr().unwrap();
    let (stop_api, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(palisade_sim::upstream::serve(l, async move {
        let _ = rx.await;
    }));
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "gateway",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &format!("http://{api}"),
            "--console",
            "",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let gw = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let l = lines.next_line().await.unwrap().expect("gateway exited");
            if let Some(rest) = l.strip_prefix("palisade gateway on http://") {
                return rest.split([',', ' ']).next().unwrap().to_string();
            }
        }
    })
    .await
    .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

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

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let _ = stop_api.send(());
}
