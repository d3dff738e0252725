//! Inspection cost per request, typical API traffic and hostile input.
//!
//! `cargo bench -p palisade-detect --bench inspect`. Each iteration clones a
//! prepared exchange (outside the timed part) and runs both phases.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use palisade_detect::{DetectConfig, Engine};

mod requests;
use requests::{hostile, typical};

fn bench(c: &mut Criterion) {
    let engine: Engine = DetectConfig::default()
        .build()
        .expect("default config builds");
    let mut g = c.benchmark_group("typical");
    for (name, e) in typical() {
        g.throughput(Throughput::Bytes(
            (e.request.target.len() + e.request.body.data.len()) as u64,
        ));
        g.bench_function(name, |b| {
            b.iter_batched(
                || e.clone(),
                |mut e| engine.inspect(&mut e),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
    let mut g = c.benchmark_group("hostile");
    g.sample_size(20);
    for (name, e) in hostile() {
        g.throughput(Throughput::Bytes(
            (e.request.target.len() + e.request.body.data.len()) as u64,
        ));
        g.bench_function(name, |b| {
            b.iter_batched(
                || e.clone(),
                |mut e| engine.inspect(&mut e),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
