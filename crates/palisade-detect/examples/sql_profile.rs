//! Development aid: the SQL lexer (or, with `SQL_PROFILE=normalize`, the
//! normalizer) alone on one value, for instruction-level profiling
//! (`valgrind --tool=callgrind --toggle-collect='sql_profile::measured'`).
//!
//! `cargo run --release -p palisade-detect --example sql_profile -- VALUE [N]`

#[inline(never)]
fn measured(v: &str, n: usize) -> usize {
    let normalize = std::env::var("SQL_PROFILE").is_ok_and(|m| m == "normalize");
    let mut hits = 0;
    for _ in 0..n {
        if normalize {
            hits += palisade_detect::decode::normalize(std::hint::black_box(v)).len();
        } else if palisade_lexers::sqli(std::hint::black_box(v)).is_some() {
            hits += 1;
        }
    }
    hits
}

fn main() {
    let mut args = std::env::args().skip(1);
    let v = args.next().unwrap_or_else(|| "1' or '1'='1".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let _ = measured(&v, 10);
    let t = std::time::Instant::now();
    let hits = measured(&v, n);
    println!(
        "{v:?}: {:?} per call, {hits} hits",
        t.elapsed() / n.max(1) as u32
    );
}
