//! Replays labelled corpora (shared/data JSONL format) through the engine in
//! process and prints TPR / FPR per category.
//!
//! `cargo run --release -p palisade-detect --example quality -- [--sensitivity LEVEL] [--details] FILE...`

use std::path::PathBuf;

use palisade_detect::{DetectConfig, Sensitivity, harness};

fn main() {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut details = false;
    let mut config = DetectConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--details" => details = true,
            "--sensitivity" => {
                config.sensitivity = match args.next().as_deref() {
                    Some("low") => Sensitivity::Low,
                    Some("balanced") => Sensitivity::Balanced,
                    Some("high") => Sensitivity::High,
                    Some("paranoid") => Sensitivity::Paranoid,
                    other => {
                        eprintln!("unknown sensitivity {other:?}: low, balanced, high, paranoid");
                        std::process::exit(2);
                    }
                }
            }
            _ => files.push(PathBuf::from(a)),
        }
    }
    if files.is_empty() {
        eprintln!("usage: quality [--sensitivity LEVEL] [--details] FILE.jsonl...");
        std::process::exit(2);
    }
    let engine = match config.build() {
        Ok(e) => e,
        Err(d) => {
            eprintln!("{d}");
            std::process::exit(1);
        }
    };
    println!("sensitivity: {}", config.sensitivity.as_str());
    for f in files {
        let started = std::time::Instant::now();
        match harness::run_corpus(&engine, &f) {
            Ok(r) => {
                print!("{r}");
                let n: u64 = r
                    .categories
                    .values()
                    .map(|c| c.attacks + c.benign + c.nonmatch)
                    .sum();
                println!("({n} requests in {:.2?})\n", started.elapsed());
                if details {
                    println!("{}", r.details());
                }
            }
            Err(e) => eprintln!("{}: {e}", f.display()),
        }
    }
}
