//! Actor tracking at scale: tracks 1,000,000 actors and reports the memory per
//! actor (resident-set growth, Linux `/proc/self/statm`), then times the inline
//! path (`request_keys`, `DecisionSnapshot::decide`) and the analysis path
//! (`observe`, `snapshot`).
//!
//! Run: `cargo bench -p palisade-actors --bench actors`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_actors::{ActorsConfig, request_keys, tracker::actor_record_size};
use palisade_core::{
    Body, Exchange, Finding, KeyedHasher, Phase, RequestPart, ResponsePart, Severity, TlsInfo,
};

const ACTORS: usize = 1_000_000;
const T0: i64 = 1_800_000_000_000;

fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn exchange(i: usize) -> Exchange {
    let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32 + i as u32));
    Exchange {
        client_ip: ip,
        tls: Some(TlsInfo {
            ja4: Some(format!("t13d1516h2_8daaf6152771_{:012x}", i % 50)),
            ..Default::default()
        }),
        request: RequestPart {
            method: "GET".into(),
            target: format!("/api/v1/accounts/{}", i % 1000),
            headers: vec![
                ("host".into(), "api.example".into()),
                (
                    "user-agent".into(),
                    format!("Mozilla/5.0 Chrome/{}.0", 100 + i % 30),
                ),
                ("accept".into(), "application/json".into()),
                ("accept-language".into(), "en-US,en;q=0.9".into()),
                ("cookie".into(), format!("session=s{i}; theme=dark")),
            ],
            body: Body::default(),
            ..Default::default()
        },
        response: Some(ResponsePart {
            status: 200,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let hasher = KeyedHasher::insecure_for_tests();
    let cfg = ActorsConfig {
        max_actors: ACTORS,
        ..Default::default()
    };
    let mut tracker = cfg.build(hasher.clone()).unwrap();

    // 1. one million actors
    let exchanges: Vec<Exchange> = (0..1000).map(exchange).collect();
    let before = rss_bytes();
    let start = Instant::now();
    let mut now = T0;
    for i in 0..ACTORS {
        let mut ex = exchanges[i % 1000].clone();
        ex.client_ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32 + i as u32));
        ex.request.headers[4].1 = format!("session=s{i}; theme=dark");
        if i % 100 == 0 {
            ex.findings.push(
                Finding::new("sqli", "sqli.lexer", "query.q")
                    .severity(Severity::Critical)
                    .phase(Phase::Exploitation)
                    .confidence(100),
            );
        }
        now += 1;
        tracker.observe(&ex, now);
        if !ex.findings.is_empty() {
            // two more attacks: this one in a hundred is blocked
            tracker.observe(&ex, now);
            tracker.observe(&ex, now);
        }
    }
    let took = start.elapsed();
    let after = rss_bytes();
    let n = tracker.len();
    eprintln!(
        "tracked {n} actors in {:.2} s ({:.2} us per observe); actor record {} bytes",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / ACTORS as f64,
        actor_record_size()
    );
    if let (Some(b), Some(a)) = (before, after) {
        eprintln!(
            "resident memory grew by {} MiB: {} bytes per tracked actor (budget 1024)",
            (a.saturating_sub(b)) >> 20,
            a.saturating_sub(b) / n as u64
        );
    }
    let snap = tracker.snapshot(now);
    eprintln!("snapshot holds {} decisions", snap.len());

    // 2. the inline path
    let probe_hit = {
        let mut ex = exchanges[0].clone();
        ex.client_ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32 + 500_000));
        ex.request.headers[4].1 = "session=s500000; theme=dark".into();
        ex
    };
    let probe_miss = exchange(2_000_000);
    let keys_hit = request_keys(&probe_hit, &hasher);
    let keys_miss = request_keys(&probe_miss, &hasher);
    assert!(
        snap.decide(&keys_hit, now).is_some(),
        "actor 500000 should be decided"
    );
    let mut g = c.benchmark_group("inline");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    g.bench_function("request_keys", |b| {
        b.iter(|| request_keys(black_box(&probe_miss), &hasher))
    });
    g.bench_function("decide_hit", |b| {
        b.iter(|| snap.decide(black_box(&keys_hit), now))
    });
    g.bench_function("decide_miss", |b| {
        b.iter(|| snap.decide(black_box(&keys_miss), now))
    });
    g.bench_function("request_keys_and_decide", |b| {
        b.iter(|| snap.decide(&request_keys(black_box(&probe_miss), &hasher), now))
    });
    g.finish();

    // 3. the analysis path, with a million actors present
    let mut g = c.benchmark_group("analysis");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    let mut i = 0usize;
    g.bench_function("observe_known_actor", |b| {
        b.iter(|| {
            i += 1;
            now += 1;
            let mut ex = exchanges[i % 1000].clone();
            ex.client_ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32 + (i % ACTORS) as u32));
            tracker.observe(black_box(&ex), now)
        })
    });
    g.bench_function("snapshot", |b| b.iter(|| tracker.snapshot(now)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
