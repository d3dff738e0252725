//! Cluster mode end to end: one real Redis, several real `palisade run`
//! processes sharing it (`[cluster] redis`), the demo API behind them, and
//! clients on their own 127.x addresses. Every test is bounded in time and
//! kills what it starts (processes on drop, Redis on drop).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use http::{Method, Uri};
use palisade_sim::attacks::CARD_BOT_UA;
use palisade_sim::traffic::{Answer, SimClient, source_addr};
use palisade_testsupport::RedisServer;
use serde_json::json;

mod common;
use common::{Proc, demo_api, start, token};

/// The tests start several processes each; run them one at a time so that
/// two cores are enough for the timing bounds.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Nodes sharing one Redis, one demo API and one installation key.
struct Cluster {
    redis: RedisServer,
    nodes: Vec<Proc>,
    data: Vec<PathBuf>,
    _dir: tempfile::TempDir,
    _api: tokio::sync::oneshot::Sender<()>,
}

impl Cluster {
    async fn start(n: usize) -> Cluster {
        let redis = RedisServer::start().unwrap();
        let (api, stop_api) = demo_api().await;
        let dir = tempfile::tempdir().unwrap();
        // Every node of a cluster shares the installation key (docs/operations.md).
        let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
        let mut nodes = Vec::new();
        let mut data = Vec::new();
        for i in 0..n {
            let d = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("hash.key"), key).unwrap();
            let cfg = dir.path().join(format!("node{i}.toml"));
            std::fs::write(
                &cfg,
                format!(
                    "[gateway]\nlisten = \"127.0.0.1:0\"\n\n[[route]]\nupstream = \"http://{api}\"\n\n[console]\nlisten = \"127.0.0.1:0\"\n\n[store]\ndata_dir = \"{}\"\n\n[cluster]\nredis = \"{}\"\nnode_id = \"node-{i}\"\n",
                    d.display(),
                    redis.url()
                ),
            )
            .unwrap();
            nodes.push(start(&["run", "--config", cfg.to_str().unwrap()]).await);
            data.push(d);
        }
        let c = Cluster {
            redis,
            nodes,
            data,
            _dir: dir,
            _api: stop_api,
        };
        for i in 0..n {
            c.wait_connected(i, Duration::from_secs(10)).await;
        }
        // The readers settle on the stream's end.
        tokio::time::sleep(Duration::from_millis(300)).await;
        c
    }

    fn gateway(&self, i: usize) -> Uri {
        format!("http://{}", self.nodes[i].gateway).parse().unwrap()
    }

    async fn metrics(&self, i: usize) -> String {
        common::http(
            &self.nodes[i].console,
            "GET /metrics HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n",
        )
        .await
    }

    async fn wait_connected(&self, i: usize, limit: Duration) -> Duration {
        let t = Instant::now();
        loop {
            if self
                .metrics(i)
                .await
                .lines()
                .any(|l| l.trim() == "palisade_cluster_connected 1")
            {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < limit,
                "node {i} did not connect to Redis within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn campaigns(&self, i: usize) -> serde_json::Value {
        let token = token(&self.data[i], "viewer");
        let raw = common::http(
            &self.nodes[i].console,
            &format!("GET /api/v1/campaigns HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        serde_json::from_str(common::body(&raw)).unwrap_or_else(|e| panic!("{e}: {raw}"))
    }
}

/// A card-testing bot: the botnet's one user agent and headers, its own address.
fn bot(target: &Uri, addr: Ipv4Addr) -> SimClient {
    let mut c = SimClient::new(target, Some(addr), CARD_BOT_UA);
    c.add_header("accept-language", "en-US,en;q=0.9");
    c.add_header("origin", "https://shop.example");
    c.add_header("x-requested-with", "XMLHttpRequest");
    c
}

/// One charge with a stolen card (`seed` far above the customers').
async fn charge(c: &SimClient, seed: u64) -> Answer {
    let card = palisade_sim::world::card_for(10_000_000 + seed * 7919);
    c.send(
        Method::POST,
        "/api/v1/charges",
        Some(json!({
            "amount": 50 + seed % 100,
            "currency": "eur",
            "card": {"number": card, "exp_month": 4, "exp_year": 2029, "cvc": "123"}
        })),
    )
    .await
    .expect("the gateway answers")
}

/// A customer's read.
async fn customer_ok(target: &Uri, n: u32) -> u16 {
    let c = SimClient::new(
        target,
        Some(source_addr(0, n)),
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    );
    c.send(Method::GET, "/api/v1/products", None)
        .await
        .expect("the gateway answers")
        .status
}

/// One attacker (a bearer token, so a strong key) testing cards on `target`
/// until it is stopped; the number of requests it took.
async fn attack_until_stopped(target: &Uri, token: &str, pop: u8) -> u64 {
    let mut c = SimClient::new(target, Some(source_addr(pop, 0)), "curl/8.5.0");
    c.set_token(Some(token.into()));
    for i in 0..60u64 {
        if charge(&c, 1_000 * u64::from(pop) + i).await.stopped {
            return i + 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the attacker was never stopped on its own node");
}

/// Polls the same token from a new address and another user agent on
/// `target` until stopped; the time it took.
async fn stopped_within(target: &Uri, token: &str, pop: u8, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    let mut n = 1;
    while t.elapsed() < limit {
        let mut c = SimClient::new(target, Some(source_addr(pop, n)), "python-requests/2.32");
        c.set_token(Some(token.into()));
        let a = c
            .send(Method::GET, "/api/v1/products", None)
            .await
            .expect("the gateway answers");
        if a.stopped {
            return Some(t.elapsed());
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_spread_across_nodes_is_seen_as_one_and_blocked_on_all() {
    let _serial = SERIAL.lock().await;
    let t0 = Instant::now();
    let cl = Cluster::start(3).await;
    let targets: Vec<Uri> = (0..3).map(|i| cl.gateway(i)).collect();
    // Bots send two charges each; requests alternate between nodes 0 and 1,
    // and node 2 gets only every tenth one.
    let mut per_node = [0u32; 3];
    let mut stopped_at = None;
    for i in 0..120u32 {
        let node = if i % 10 == 9 { 2 } else { (i % 2) as usize };
        per_node[node] += 1;
        let a = charge(&bot(&targets[node], source_addr(1, i / 2)), u64::from(i)).await;
        if a.stopped {
            stopped_at = Some(i + 1);
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let stopped_at = stopped_at.expect("the campaign was never stopped");
    println!("campaign first stopped after {stopped_at} requests; per node {per_node:?}");
    assert!(per_node[2] <= 12, "node 2 saw {} requests", per_node[2]);

    // A never-seen bot of the campaign is blocked on every node, including
    // the one that saw only a few of the campaign's requests.
    for (node, target) in targets.iter().enumerate() {
        let t = Instant::now();
        let mut fresh = 500 + 50 * node as u32;
        loop {
            let a = charge(
                &bot(target, source_addr(1, fresh)),
                9_000 + u64::from(fresh),
            )
            .await;
            if a.stopped {
                println!("node {node}: a fresh bot blocked after {:?}", t.elapsed());
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(1),
                "node {node} does not block the campaign's fresh bots within 1 s (last answer {})",
                a.status
            );
            fresh += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Node 2 sees one card-testing campaign with members it never served.
    let t = Instant::now();
    loop {
        let c = cl.campaigns(2).await;
        let cards: Vec<&serde_json::Value> = c["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == "card_testing")
            .collect();
        if cards.len() == 1
            && cards[0]["member_count"].as_u64().unwrap_or(0) > u64::from(per_node[2])
        {
            println!("node 2 campaign: {}", cards[0]);
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "node 2 does not see the campaign as one: {c}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let m = cl.metrics(2).await;
    assert!(
        m.contains("palisade_cluster_remote_observations_total"),
        "{m}"
    );
    assert!(t0.elapsed() < Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_decided_on_one_node_holds_on_another_within_a_second() {
    let _serial = SERIAL.lock().await;
    let cl = Cluster::start(2).await;
    let (a, b) = (cl.gateway(0), cl.gateway(1));
    // Warm node 1's path (first connection to the upstream), so the figure
    // below measures propagation, not a cold first request.
    assert_eq!(customer_ok(&b, 1).await, 200);
    let token = "tok-card-tester-7f3a9c";
    let n = attack_until_stopped(&a, token, 5).await;
    // Node 1 never saw this token with this address and user agent: only
    // the shared decision (keyed by the token's hash) can stop it there.
    let took = stopped_within(&b, token, 6, Duration::from_secs(1))
        .await
        .expect("node 1 did not enforce node 0's block within 1 s");
    println!("blocked on node 0 after {n} requests; enforced on node 1 {took:?} later");
    assert!(took < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_serve_through_a_redis_outage_and_share_again_after() {
    let _serial = SERIAL.lock().await;
    let mut cl = Cluster::start(2).await;
    let (a, b) = (cl.gateway(0), cl.gateway(1));
    cl.redis.stop().unwrap();
    // Both nodes keep serving customers.
    for (i, t) in [&a, &b].into_iter().enumerate() {
        let start = Instant::now();
        assert_eq!(customer_ok(t, i as u32).await, 200);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "slow during the outage"
        );
    }
    // Local enforcement goes on: an attacker on node 0 is still stopped.
    let n = attack_until_stopped(&a, "tok-during-outage-1", 7).await;
    println!("during the outage: stopped on node 0 after {n} requests");
    let m = cl.metrics(0).await;
    assert!(
        m.lines()
            .any(|l| l.trim() == "palisade_cluster_connected 0"),
        "connected gauge not 0 during the outage"
    );

    cl.redis.resume().unwrap();
    let back = cl.wait_connected(0, Duration::from_secs(10)).await;
    cl.wait_connected(1, Duration::from_secs(10)).await;
    println!("reconnected {back:?} after Redis came back");
    // The block taken during the outage is written on reconnect, and new
    // decisions flow again.
    stopped_within(&b, "tok-during-outage-1", 8, Duration::from_secs(10))
        .await
        .expect("the outage's decision never reached node 1");
    let token = "tok-after-outage-2";
    attack_until_stopped(&a, token, 9).await;
    stopped_within(&b, token, 10, Duration::from_secs(2))
        .await
        .expect("sharing did not resume after the outage");
    for i in 0..2 {
        assert_eq!(customer_ok(&cl.gateway(i), 10 + i as u32).await, 200);
    }
}
