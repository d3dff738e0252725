//! Development aid: time per value detector for each value of one benchmark
//! request (`benches/requests.rs`), to see which values cost what.
//!
//! `cargo run --release -p palisade-detect --example value_costs -- json_1k`

#[path = "../benches/requests.rs"]
mod requests;

use std::time::Instant;

use palisade_detect::detectors::{self, Subject, VALUE_DETECTORS};
use palisade_detect::{Limits, decode, extract};

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "json_1k".into());
    let all: Vec<_> = requests::typical()
        .into_iter()
        .chain(requests::hostile())
        .collect();
    let Some((_, ex)) = all.iter().find(|(k, _)| *k == name) else {
        eprintln!("unknown request {name:?}");
        std::process::exit(2);
    };
    let limits = Limits::default();
    let req = &ex.request;
    let n = 2000u32;
    // the first pass compiles the lazy regexes; the second is measured
    for pass in 0..2 {
        for extracted in [extract::head(req, &limits), extract::body(req, &limits)] {
            for v in &extracted.values {
                let (d, layers) = decode::decode(&v.raw);
                let lower = decode::normalize(&d);
                let s = Subject {
                    part: v.part,
                    name: &v.name,
                    is_key: v.is_key,
                    raw: &v.raw,
                    decoded: &d,
                    lower: &lower,
                    layers,
                    ascii: detectors::ascii_mask(&lower),
                    triggers: detectors::triggers(&lower),
                };
                let mut line = String::new();
                let mut total = 0.0;
                for det in VALUE_DETECTORS {
                    if !(det.applies)(&s) {
                        continue;
                    }
                    let t = Instant::now();
                    for _ in 0..n {
                        std::hint::black_box((det.run)(std::hint::black_box(&s)));
                    }
                    let ns = t.elapsed().as_nanos() as f64 / f64::from(n);
                    total += ns;
                    if ns >= 30.0 {
                        line.push_str(&format!(" {}={ns:.0}", det.kind));
                    }
                }
                if pass == 1 {
                    println!("{:>6.0} ns  {:?} {:?}:{line}", total, v.part, v.raw);
                }
            }
        }
    }
}
