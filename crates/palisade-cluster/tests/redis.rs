//! The cluster link against a real Redis (Debian's `redis-server`, started
//! on a loopback port by `palisade-testsupport`): observations and decisions
//! flow between nodes, decisions expire with their block, a node that starts
//! late holds existing decisions, and an outage drops (and counts) instead of
//! blocking, then catches up.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use palisade_actors::snapshot::ExportedDecision;
use palisade_actors::{ActorId, Decision, DecisionSnapshot};
use palisade_cluster::{Cluster, ClusterConfig, ClusterLink};
use palisade_core::{Exchange, KeyedHasher, Verdict, now_ms};
use palisade_testsupport::RedisServer;

fn cfg(url: &str, queue: usize) -> ClusterConfig {
    ClusterConfig {
        redis: url.into(),
        queue,
        ..Default::default()
    }
}

fn start(url: &str, node: &str, queue: usize) -> (Cluster, ClusterLink) {
    let c = Cluster::start(&cfg(url, queue), node, KeyedHasher::insecure_for_tests()).unwrap();
    let link = c.link().unwrap();
    (c, link)
}

fn exchange(i: u32) -> Exchange {
    serde_json::from_value(serde_json::json!({
        "ts_ms": now_ms(),
        "client_ip": format!("127.11.{}.{}", i / 250, i % 250 + 1),
        "request": {
            "method": "POST",
            "target": "/api/v1/charges",
            "headers": [["user-agent", "bot/1.0"], ["content-type", "application/json"]],
            "body": format!("{{\"amount\":50,\"card\":{{\"number\":\"{}\"}}}}", card(i))
        },
        "response": {"status": 402, "body": "{\"error\":{\"code\":\"card_declined\"}}"}
    }))
    .unwrap()
}

/// A Luhn-valid test card per `i`.
fn card(i: u32) -> String {
    let body = format!("424242{:09}", i);
    for d in 0..10 {
        let c = format!("{body}{d}");
        if palisade_core::sensitive::luhn_valid(c.as_bytes()) {
            return c;
        }
    }
    unreachable!()
}

fn block(id: u64, keys: Vec<u64>, for_ms: i64) -> DecisionSnapshot {
    DecisionSnapshot::from_exported(
        [ExportedDecision {
            decision: Decision {
                actor_id: ActorId(id),
                actor_name: "amber-falcon".into(),
                verdict: Verdict::block("actor risk 90"),
                until_ms: now_ms() + for_ms,
                reason: "actor risk 90".into(),
                campaign_id: None,
            },
            keys,
            fingerprints: vec![],
        }],
        now_ms(),
    )
}

/// Polls `f` every 20 ms until it holds or `limit` passes; the elapsed time.
async fn within(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return Some(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn held_keys(c: &Cluster) -> Vec<u64> {
    c.remote_decisions()
        .load()
        .export()
        .into_iter()
        .flat_map(|e| e.keys)
        .collect()
}

async fn connected(c: &Cluster) {
    within(Duration::from_secs(10), || {
        c.stats().connected.load(Ordering::Relaxed)
    })
    .await
    .expect("the publisher did not connect to Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observations_and_decisions_reach_the_other_nodes() {
    let redis = RedisServer::start().unwrap();
    let (a, link_a) = start(&redis.url(), "a", 1000);
    let (b, link_b) = start(&redis.url(), "b", 1000);
    connected(&a).await;
    connected(&b).await;
    // Give the readers a moment to settle on the stream's end.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Observations: a's reach b (slimmed), never a itself.
    for i in 0..20 {
        assert!(link_a.offer(&exchange(i)));
    }
    let mut got: Vec<Exchange> = Vec::new();
    within(Duration::from_secs(5), || {
        got.extend(link_b.take_remote(100));
        got.len() >= 20
    })
    .await
    .unwrap_or_else(|| panic!("b got {} of 20 observations", got.len()));
    assert_eq!(got.len(), 20);
    assert!(link_a.take_remote(100).is_empty(), "a read its own entries");
    let text = serde_json::to_string(&got).unwrap();
    assert!(!text.contains(&card(3)), "a card number crossed Redis");
    assert_eq!(got[0].request.path(), "/api/v1/charges");
    assert_eq!(a.stats().published_observations.load(Ordering::Relaxed), 20);

    // Decisions: a block decided on a is held by b within a second.
    link_a.record_decisions(&block(7, vec![11, 12], 1500), now_ms());
    let took = within(Duration::from_secs(1), || held_keys(&b) == vec![11, 12])
        .await
        .expect("b did not hold a's block within 1 s");
    println!("decision a -> b in {took:?}");
    assert!(
        held_keys(&a).is_empty(),
        "a holds its own decision as remote"
    );

    // b decides on the same actor too (its own tracker saw the same
    // traffic): both decisions are kept, neither overwrites the other.
    link_b.record_decisions(&block(7, vec![12, 13], 1500), now_ms());
    within(Duration::from_secs(1), || held_keys(&a) == vec![12, 13])
        .await
        .expect("a did not hold b's decision");

    // A node that starts now reads the decision keys: both nodes' decisions.
    let (c, _link_c) = start(&redis.url(), "c", 1000);
    within(Duration::from_secs(3), || {
        let mut k = held_keys(&c);
        k.sort_unstable();
        k == vec![11, 12, 13]
    })
    .await
    .expect("a late node did not read the existing decisions");
    assert_eq!(c.remote_decisions().load().len(), 2);

    // The key expires with the block (PX), and the held copy lapses too.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg("palisade:decision:a:0000000000000007")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 1500, "pttl {ttl}");
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg("palisade:decision:a:0000000000000007")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0);
    assert!(
        b.remote_decisions()
            .load()
            .export()
            .iter()
            .all(|e| e.decision.until_ms <= now_ms()),
        "an expired decision is still in force"
    );

    for c in [a, b, c] {
        c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_drops_and_counts_then_catches_up() {
    let mut redis = RedisServer::start().unwrap();
    let (a, link_a) = start(&redis.url(), "a", 100);
    let (b, link_b) = start(&redis.url(), "b", 100);
    connected(&a).await;
    connected(&b).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    redis.stop().unwrap();
    within(Duration::from_secs(5), || {
        !a.stats().connected.load(Ordering::Relaxed)
    })
    .await;
    // Offers never wait on Redis: 2,000 of them take well under a second.
    let t = Instant::now();
    let accepted = (0..2000).filter(|i| link_a.offer(&exchange(*i))).count();
    let took = t.elapsed();
    let dropped = a.stats().dropped_observations.load(Ordering::Relaxed);
    println!("outage: 2000 offers in {took:?}, {accepted} queued, {dropped} dropped");
    assert!(
        took < Duration::from_millis(1500),
        "offers waited: {took:?}"
    );
    assert!(dropped >= 1000, "drops not counted: {dropped}");
    assert_eq!(accepted as u64 + dropped, 2000);
    // A decision taken during the outage is kept as state.
    link_a.record_decisions(&block(9, vec![21], 60_000), now_ms());

    redis.resume().unwrap();
    connected(&a).await;
    // The queued observations and the decision arrive once Redis is back.
    let mut got = 0usize;
    within(Duration::from_secs(15), || {
        got += link_b.take_remote(5000).len();
        got >= accepted
    })
    .await
    .unwrap_or_else(|| panic!("b caught up {got} of {accepted} queued observations"));
    within(Duration::from_secs(10), || held_keys(&b) == vec![21])
        .await
        .expect("the decision taken during the outage did not reach b");
    // And new traffic flows again.
    assert!(link_a.offer(&exchange(5000)));
    within(Duration::from_secs(5), || {
        !link_b.take_remote(10).is_empty()
    })
    .await
    .expect("sharing did not resume");
    a.shutdown().await;
    b.shutdown().await;
}
