//! Cost of the inline schema check (`SchemaSnapshot::check`) and of learning
//! baselines (`Baselines::observe`), per request on one core.
//!
//! Run: `cargo bench -p palisade-catalog --bench schema`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_catalog::{
    BaselineConfig, CatalogConfig, SchemaConfig, SchemaMode, SchemaSnapshot, SchemaSource, Spec,
};
use palisade_core::{ActorRef, Body, Exchange, RequestPart, ResponsePart};

const SPEC: &str = r#"{"openapi":"3.1.0","paths":{
  "/api/v1/charges":{"post":{"requestBody":{"content":{"application/json":{"schema":{
    "type":"object","additionalProperties":false,"required":["amount"],
    "properties":{"amount":{"type":"integer"},"currency":{"type":"string"},"description":{"type":"string"},
    "card":{"type":"object"},"metadata":{"type":"object"}}}}}},"responses":{"200":{}}}},
  "/api/v1/products":{"get":{"parameters":[{"name":"limit","in":"query","schema":{"type":"integer"}},
    {"name":"page","in":"query","schema":{"type":"integer"}}],"responses":{"200":{}}}}}}"#;

fn charge(i: u64) -> Exchange {
    Exchange {
        ts_ms: 1_700_000_000_000 + i as i64 * 50,
        actor: Some(ActorRef {
            id: format!("a{}", i % 40),
            name: String::new(),
            risk: 0,
            campaign: None,
        }),
        request: RequestPart {
            method: "POST".into(),
            target: "/api/v1/charges".into(),
            host: Some("pay.example".into()),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Body::new(format!(
                r#"{{"amount":{},"currency":"usd","description":"Order {i}","card":{{"number":"4242424242424242","exp_month":12,"cvc":"123"}},"metadata":{{"order_id":"ord-{i}"}}}}"#,
                100 + i % 5000
            )),
            ..Default::default()
        },
        response: Some(ResponsePart {
            status: 200,
            body: Body::new(r#"{"id":"ch_1","status":"succeeded"}"#),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    // The small spec alone, and merged into the 167-operation Stripe extract.
    let small = Spec::parse(SPEC, "spec.json").unwrap();
    let spec_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/stripe_extract.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spec_path).unwrap()).unwrap();
    let mine: serde_json::Value = serde_json::from_str(SPEC).unwrap();
    for (k, v) in mine["paths"].as_object().unwrap() {
        doc["paths"][k] = v.clone();
    }
    let merged = Spec::from_value(&doc, "merged").unwrap();
    let cfg = SchemaConfig {
        mode: SchemaMode::Block,
        source: SchemaSource::Spec,
        ..Default::default()
    };
    let snaps = [
        (
            "check/one_spec",
            SchemaSnapshot::build(&cfg, Some(&small), &[]),
        ),
        (
            "check/stripe_plus_spec",
            SchemaSnapshot::build(&cfg, Some(&merged), &[]),
        ),
    ];
    let post = charge(1);
    let mut get = charge(2);
    get.request.method = "GET".into();
    get.request.target = "/api/v1/products?limit=10&page=2".into();
    get.request.body = Body::default();
    let mut unmatched = get.clone();
    unmatched.request.target = "/v1/unknown/path".into();
    for (name, snap) in &snaps {
        let mut g = c.benchmark_group(*name);
        g.throughput(Throughput::Elements(1));
        for (case, ex) in [
            ("json_body", &post),
            ("query", &get),
            ("unmatched", &unmatched),
        ] {
            g.bench_function(case, |b| {
                b.iter_batched_ref(
                    || ex.clone(),
                    |e| black_box(snap.check(e)),
                    criterion::BatchSize::SmallInput,
                )
            });
        }
        g.finish();
    }

    // Learning: catalog lookup plus baseline observe, steady state.
    const N: u64 = 2048;
    let exs: Vec<Exchange> = (0..N).map(charge).collect();
    let mut cat = CatalogConfig::default().build().unwrap();
    let mut base = BaselineConfig::default().build().unwrap();
    for e in &exs {
        cat.observe(e, e.ts_ms);
        let at = cat.last_observed().unwrap();
        base.observe(at, e, true, e.ts_ms);
    }
    let mut g = c.benchmark_group("baseline/observe");
    g.throughput(Throughput::Elements(N));
    g.bench_function("json_charges", |b| {
        b.iter(|| {
            for e in &exs {
                cat.observe(e, e.ts_ms);
                let at = cat.last_observed().unwrap();
                black_box(base.observe(at, black_box(e), true, e.ts_ms));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
