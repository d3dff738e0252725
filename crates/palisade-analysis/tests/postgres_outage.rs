//! The pipeline writing to a real PostgreSQL server that goes away mid
//! stream: offers never block, the backlog stays within its bound (drops
//! counted), and everything kept is written once the server is back.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use palisade_analysis::{Pipeline, PipelineConfig};
use palisade_core::{Exchange, ExchangeSink, RequestPart, now_ms};
use palisade_store::{Store, StoreSpec};
use palisade_testsupport::PostgresServer;

fn ex(i: usize) -> Exchange {
    Exchange {
        id: format!("o-{i}"),
        ts_ms: now_ms(),
        client_ip: "127.0.0.1".parse().unwrap(),
        request: RequestPart {
            target: format!("/pay/{i}?card=4111111111111111"),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Polls `cond` every 20 ms for at most `limit`.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

#[test]
fn a_postgres_outage_keeps_a_bounded_backlog_and_catches_up() {
    const BOUND: usize = 2_000;
    let mut server = PostgresServer::start().unwrap();
    let spec = StoreSpec::Postgres(server.url());
    let cfg = PipelineConfig {
        batch_size: 100,
        flush_interval: Duration::from_millis(50),
        max_pending_writes: BOUND,
        ..Default::default()
    };
    let p = Pipeline::start(cfg, Store::open_spec(&spec).unwrap(), vec![]);
    let stats = p.stats();
    let sink = p.sink();
    for i in 0..500 {
        assert!(sink.offer(ex(i)));
    }
    p.flush();
    let reader = Store::open_read_only_spec(&spec).unwrap();
    assert_eq!(reader.counts(0).unwrap().exchanges, 500);

    server.stop().unwrap();
    // Offers go on while the server is down, and never wait.
    let mut slowest = Duration::ZERO;
    for i in 500..5_500 {
        let t = Instant::now();
        assert!(sink.offer(ex(i)), "offer {i} was shed");
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(50),
        "an offer took {slowest:?}"
    );
    assert!(
        wait_until(Duration::from_secs(20), || stats
            .analysed
            .load(Ordering::Relaxed)
            == 5_500),
        "analysis went on during the outage: {stats:?}"
    );
    assert!(stats.store_errors.load(Ordering::Relaxed) > 0);
    // 5,000 offered during the outage, 2,000 kept: the oldest 3,000 dropped.
    assert_eq!(stats.dropped_writes.load(Ordering::Relaxed), 3_000);
    assert_eq!(stats.pending_writes.load(Ordering::Relaxed), BOUND as u64);
    assert_eq!(stats.stored.load(Ordering::Relaxed), 500);

    server.resume().unwrap();
    let resumed = Instant::now();
    assert!(
        wait_until(Duration::from_secs(30), || stats
            .stored
            .load(Ordering::Relaxed)
            == 2_500),
        "caught up after the outage: {stats:?}"
    );
    eprintln!(
        "backlog of {BOUND} written {:?} after the server came back",
        resumed.elapsed()
    );
    assert_eq!(stats.pending_writes.load(Ordering::Relaxed), 0);
    assert_eq!(stats.shed.load(Ordering::Relaxed), 0);
    // The reader's connection broke with the server; it reconnects itself.
    assert!(
        wait_until(Duration::from_secs(10), || reader.counts(0).is_ok()),
        "the reader reconnects"
    );
    assert_eq!(reader.counts(0).unwrap().exchanges, 2_500);
    assert!(reader.exchange("o-5499").unwrap().is_some(), "newest kept");
    assert!(reader.exchange("o-3500").unwrap().is_some(), "oldest kept");
    assert!(reader.exchange("o-3499").unwrap().is_none(), "dropped");
    assert!(
        reader.exchange("o-499").unwrap().is_some(),
        "before the outage"
    );
    // Masked in PostgreSQL too.
    let stored = reader.exchange("o-5499").unwrap().unwrap();
    let path = &stored.exchange.unwrap().request.target;
    assert!(!path.contains("4111111111111111"), "{path}");
    p.shutdown();
}
