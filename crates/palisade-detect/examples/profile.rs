//! Development aid: time spent per detector over the values of a corpus.
//!
//! `cargo run --release -p palisade-detect --example profile -- FILE.jsonl`

use std::io::BufRead;
use std::time::{Duration, Instant};

use palisade_detect::detectors::{Subject, VALUE_DETECTORS, is_plain};
use palisade_detect::{Limits, decode, extract, harness};

fn main() {
    let Some(file) = std::env::args().nth(1) else {
        eprintln!("usage: profile FILE.jsonl");
        std::process::exit(2)
    };
    let Ok(f) = std::fs::File::open(&file) else {
        eprintln!("cannot open {file}");
        std::process::exit(1)
    };
    let engine_only = std::env::args().any(|a| a == "--engine-only");
    let limits = Limits::default();
    let lines: Vec<String> = std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .collect();
    let mut lex = [Duration::ZERO; 3];
    let mut per = vec![Duration::ZERO; VALUE_DETECTORS.len()];
    let (mut t_extract, mut t_decode, mut values, mut plain) =
        (Duration::ZERO, Duration::ZERO, 0u64, 0u64);
    for pass in 0..(if engine_only { 0 } else { 2 }) {
        if pass == 1 {
            per.iter_mut().for_each(|d| *d = Duration::ZERO);
            lex = [Duration::ZERO; 3];
            (t_extract, t_decode, values, plain) = (Duration::ZERO, Duration::ZERO, 0, 0);
        }
        for line in &lines {
            let Ok(case) = harness::corpus_exchange(line) else {
                continue;
            };
            let req = &case.exchange.request;
            let t = Instant::now();
            let mut exs = vec![extract::head(req, &limits), extract::body(req, &limits)];
            t_extract += t.elapsed();
            for ex in exs.drain(..) {
                for v in &ex.values {
                    values += 1;
                    let t = Instant::now();
                    let (d, layers) = decode::decode(&v.raw);
                    let lower = decode::normalize(&d);
                    t_decode += t.elapsed();
                    if !v.is_key
                        && is_plain(&d)
                        && !palisade_detect::detectors::name_is_suspicious(&v.name)
                    {
                        plain += 1;
                        continue;
                    }
                    let t = Instant::now();
                    let _ = palisade_lexers::sqli(&d);
                    lex[0] += t.elapsed();
                    let t = Instant::now();
                    let _ = palisade_lexers::xss(&d);
                    lex[1] += t.elapsed();
                    let t = Instant::now();
                    let _ = palisade_lexers::shell_injection(&d);
                    lex[2] += t.elapsed();
                    let s = Subject {
                        part: v.part,
                        name: &v.name,
                        is_key: v.is_key,
                        raw: &v.raw,
                        decoded: &d,
                        lower: &lower,
                        layers,
                        ascii: palisade_detect::detectors::ascii_mask(&lower),
                        triggers: palisade_detect::detectors::triggers(&lower),
                    };
                    for (i, det) in VALUE_DETECTORS.iter().enumerate() {
                        if (det.applies)(&s) {
                            let t = Instant::now();
                            let _ = (det.run)(&s);
                            per[i] += t.elapsed();
                        }
                    }
                }
            }
        }
    }
    let engine = palisade_detect::DetectConfig {
        builtin_rules: !std::env::args().any(|a| a == "--no-rules"),
        ..Default::default()
    }
    .build()
    .expect("default config builds");
    let cases: Vec<_> = lines
        .iter()
        .filter_map(|l| harness::corpus_exchange(l).ok())
        .collect();
    let mut best = Duration::MAX;
    for _ in 0..(if engine_only { 30 } else { 5 }) {
        let t = Instant::now();
        for c in &cases {
            let mut ex = c.exchange.clone();
            let _ = engine.inspect(&mut ex);
        }
        best = best.min(t.elapsed());
    }
    println!(
        "engine.inspect: {:?} per request (best of 5 passes over {} requests, clone included)",
        best / cases.len().max(1) as u32,
        cases.len()
    );
    println!(
        "lexers: sqli {:?} xss {:?} shell {:?}",
        lex[0], lex[1], lex[2]
    );
    println!(
        "values {values} (plain {plain}); extract {t_extract:?}; decode+normalize {t_decode:?}"
    );
    for (i, d) in VALUE_DETECTORS.iter().enumerate() {
        println!("{:>16} {:?}", d.kind, per[i]);
    }
}
