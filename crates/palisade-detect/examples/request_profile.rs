//! Runs one benchmark request many times, for instruction-level profiling:
//!
//! ```text
//! cargo build --release -p palisade-detect --example request_profile
//! valgrind --tool=callgrind --toggle-collect='request_profile::measured' \
//!     target/release/examples/request_profile json_1k 2000
//! callgrind_annotate callgrind.out.*
//! ```
//!
//! Warm-up runs first (lazy automata are built then), so the collected part
//! is the steady state. Without valgrind it prints the mean time per request.

#[path = "../benches/requests.rs"]
mod requests;

use palisade_core::Exchange;
use palisade_detect::{DetectConfig, Engine};

#[inline(never)]
fn measured(engine: &Engine, ex: &Exchange, n: usize) -> usize {
    let mut blocked = 0;
    for _ in 0..n {
        let mut e = ex.clone();
        if engine.inspect(&mut e).is_stop() {
            blocked += 1;
        }
    }
    blocked
}

/// The first runs build lazy automata; keep them out of the profile.
#[inline(never)]
fn warm_up(engine: &Engine, ex: &Exchange) {
    for _ in 0..50 {
        let mut e = ex.clone();
        std::hint::black_box(engine.inspect(&mut e));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "json_1k".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let all: Vec<(&str, Exchange)> = requests::typical()
        .into_iter()
        .chain(requests::hostile())
        .collect();
    let Some((_, ex)) = all.iter().find(|(k, _)| *k == name) else {
        let names: Vec<&str> = all.iter().map(|(k, _)| *k).collect();
        eprintln!("unknown request {name:?}; one of {}", names.join(", "));
        std::process::exit(2);
    };
    let engine = match DetectConfig::default().build() {
        Ok(e) => e,
        Err(d) => {
            eprintln!("default config: {d}");
            std::process::exit(1);
        }
    };
    warm_up(&engine, ex);
    let t = std::time::Instant::now();
    let blocked = measured(&engine, ex, n);
    let per = t.elapsed() / n.max(1) as u32;
    println!("{name}: {n} runs, {per:?} per request, {blocked} blocked");
}
