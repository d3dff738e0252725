//! Cost of `IncidentEngine::observe`: the recorded mixed demo traffic, and a
//! storm of 5000 actors on 5000 endpoints that keeps the open-incident
//! (1000) and target-window (512) bounds busy.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_core::{ActorRef, Exchange, Finding, Phase, Severity};
use palisade_incidents::{IncidentEngine, NoLookup};

fn demo() -> Vec<Exchange> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/replay/demo-mixed.ndjson"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn storm(n: usize) -> Vec<Exchange> {
    (0..n)
        .map(|i| Exchange {
            id: format!("r{i}"),
            ts_ms: 1_700_000_000_000 + i as i64,
            client_ip: format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
                .parse()
                .unwrap(),
            request: palisade_core::RequestPart {
                method: "GET".into(),
                target: format!("/p{}/accounts?q=1%27%20or%201=1", i % 5000),
                ..Default::default()
            },
            findings: vec![
                Finding::new("sqli", "sqli.shape", "query.q")
                    .severity(Severity::Critical)
                    .phase(Phase::Exploitation)
                    .fragment("1' or 1=1"),
            ],
            actor: Some(ActorRef {
                id: format!("{:016x}", i % 5000),
                name: format!("actor-{}", i % 5000),
                risk: 50,
                campaign: None,
            }),
            ..Default::default()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let ex = demo();
    let mut g = c.benchmark_group("observe");
    g.throughput(Throughput::Elements(ex.len() as u64));
    g.bench_function("demo_mixed", |b| {
        b.iter(|| {
            let mut eng = IncidentEngine::default();
            for e in &ex {
                eng.observe(e, &NoLookup, e.ts_ms);
            }
            eng
        })
    });
    let st = storm(20_000);
    g.throughput(Throughput::Elements(st.len() as u64));
    g.sample_size(10);
    g.bench_function("storm_5000_actors_max_open_1000", |b| {
        b.iter(|| {
            let mut eng = IncidentEngine::default();
            for e in &st {
                eng.observe(e, &NoLookup, e.ts_ms);
            }
            eng
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
