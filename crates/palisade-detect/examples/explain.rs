//! Development aid: prints (masked) the corpus rows the engine gets wrong (attacks
//! let through, benign rows blocked) with what fired, for tuning detectors.
//!
//! `cargo run --release -p palisade-detect --example explain -- FILE.jsonl [CATEGORY-SUBSTRING] [--fp]`

use std::io::BufRead;

use palisade_core::Verdict;
use palisade_detect::{DetectConfig, harness};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first() else {
        eprintln!("usage: explain FILE.jsonl [CATEGORY] [--fp]");
        std::process::exit(2);
    };
    let cat = args
        .get(1)
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_default();
    let fp = args.iter().any(|a| a == "--fp");
    let engine = DetectConfig::default().build().unwrap_or_else(|d| {
        eprintln!("{d}");
        std::process::exit(1)
    });
    let Ok(f) = std::fs::File::open(file) else {
        eprintln!("cannot open {file}");
        std::process::exit(1)
    };
    for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
        let Ok(mut case) = harness::corpus_exchange(&line) else {
            continue;
        };
        if case.skip.is_some() || !case.category.contains(&cat) {
            continue;
        }
        let v = engine.inspect(&mut case.exchange);
        let blocked = matches!(v, Verdict::Block { .. });
        let wrong = if fp {
            case.label != harness::Label::Attack && blocked
        } else {
            case.label == harness::Label::Attack && !blocked
        };
        if wrong {
            let r = &case.exchange.request;
            let body: String =
                palisade_core::sensitive::mask_text(r.body.text().unwrap_or("<bin>"))
                    .chars()
                    .take(200)
                    .collect();
            println!(
                "{} {} {} | {:?}",
                case.id,
                r.method,
                palisade_core::sensitive::mask_target(&r.target)
                    .chars()
                    .take(200)
                    .collect::<String>(),
                body
            );
            for f in &case.exchange.findings {
                println!(
                    "    {} @{} +{} [{}]",
                    f.rule_id, f.location, f.score, f.fragment
                );
            }
        }
    }
}
