//! Development aid: one line per corpus row with the verdict and the rules
//! that fired (`id blocked score rule@location...`), for joining with the
//! corpus in analysis scripts. No fragments are printed.
//!
//! `cargo run --release -p palisade-detect --example verdicts -- FILE.jsonl`

use std::io::BufRead;

use palisade_core::Verdict;
use palisade_detect::{DetectConfig, harness};

fn main() {
    let Some(file) = std::env::args().nth(1) else {
        eprintln!("usage: verdicts FILE.jsonl");
        std::process::exit(2);
    };
    let engine = DetectConfig::default().build().unwrap_or_else(|d| {
        eprintln!("{d}");
        std::process::exit(1)
    });
    let Ok(f) = std::fs::File::open(&file) else {
        eprintln!("cannot open {file}");
        std::process::exit(1)
    };
    for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
        let Ok(mut case) = harness::corpus_exchange(&line) else {
            continue;
        };
        if case.skip.is_some() {
            continue;
        }
        let v = engine.inspect(&mut case.exchange);
        let blocked = matches!(v, Verdict::Block { .. });
        let score: u32 = case.exchange.findings.iter().map(|f| f.score).sum();
        let fired: Vec<String> = case
            .exchange
            .findings
            .iter()
            .map(|f| format!("{}@{}+{}", f.rule_id, f.location, f.score))
            .collect();
        println!(
            "{}\t{}\t{}\t{}",
            case.id,
            u8::from(blocked),
            score,
            fired.join(" ")
        );
    }
}
