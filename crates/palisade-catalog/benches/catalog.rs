//! Throughput of `Catalog::observe` (exchanges per second on one core) on a
//! realistic passive mix, and memory per endpoint.
//!
//! Run: `cargo bench -p palisade-catalog --bench catalog`. The memory figures
//! are printed once before the timings: the catalog's own estimate of its heap
//! (`approx_heap_bytes`) and the process RSS growth (Linux), both divided by
//! the endpoint count.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_catalog::{Catalog, CatalogConfig};
use palisade_core::{Body, Exchange, RequestPart, ResponsePart};

const RESOURCES: &[&str] = &[
    "customers",
    "charges",
    "refunds",
    "payment_intents",
    "invoices",
    "subscriptions",
    "payouts",
    "transfers",
    "disputes",
    "products",
    "prices",
    "coupons",
    "sources",
    "tokens",
    "balance_transactions",
    "events",
    "files",
    "accounts",
    "plans",
    "quotes",
];

fn id(n: u64) -> String {
    const A: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..14)
        .map(|_| {
            x ^= x >> 13;
            x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
            A[(x % A.len() as u64) as usize] as char
        })
        .collect()
}

fn exchange(i: u64, mix: bool) -> Exchange {
    let r = RESOURCES[(i as usize) % RESOURCES.len()];
    let prefix = &r[..3];
    let (method, target, body, resp) = match i % 4 {
        0 => (
            "GET",
            format!("/v1/{r}?limit=10&starting_after={prefix}_{}", id(i)),
            String::new(),
            format!(
                r#"{{"object":"list","has_more":false,"data":[{{"id":"{prefix}_{}","amount":{},"currency":"eur"}}]}}"#,
                id(i + 1),
                i % 5000
            ),
        ),
        1 => (
            "GET",
            format!("/v1/{r}/{prefix}_{}", id(i)),
            String::new(),
            format!(
                r#"{{"id":"{prefix}_{}","object":"{r}","email":"user{}@example.com","created":1700000000,"livemode":false}}"#,
                id(i),
                i % 97
            ),
        ),
        2 => (
            "POST",
            format!("/v1/{r}"),
            format!(
                r#"{{"amount":{},"currency":"usd","description":"order {}","metadata":{{"order_id":"{}"}}}}"#,
                i % 10_000,
                i,
                i
            ),
            format!(r#"{{"id":"{prefix}_{}","status":"succeeded"}}"#, id(i)),
        ),
        _ => (
            "DELETE",
            format!("/v1/{r}/{prefix}_{}", id(i)),
            String::new(),
            r#"{"deleted":true}"#.to_string(),
        ),
    };
    let mut headers = vec![
        ("Host".to_string(), "api.example".to_string()),
        (
            "Authorization".to_string(),
            "Bearer rk_live_abcdefghijklmnopqrstuvwx".to_string(),
        ),
        (
            "User-Agent".to_string(),
            "Stripe/v1 RubyBindings/10.0".to_string(),
        ),
        ("Idempotency-Key".to_string(), id(i * 7)),
    ];
    if !body.is_empty() {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    Exchange {
        ts_ms: 1_700_000_000_000 + i as i64,
        client_ip: "198.51.100.7".parse().unwrap(),
        request: RequestPart {
            method: method.into(),
            target,
            host: Some("api.example".into()),
            headers,
            body: if mix {
                Body::new(body)
            } else {
                Body::default()
            },
            ..Default::default()
        },
        response: Some(ResponsePart {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: if mix {
                Body::new(resp)
            } else {
                Body::default()
            },
        }),
        ..Default::default()
    }
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Nanoseconds this thread has spent on a CPU (Linux schedstat), so the
/// per-core figure holds on a shared, loaded machine where wall time does not.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Exchanges per CPU-second of `observe`, measured on thread CPU time.
fn per_core(name: &str, exs: &[Exchange], cat: &mut Catalog) {
    let rounds = 40;
    let (Some(t0), w0) = (thread_cpu_ns(), std::time::Instant::now()) else {
        return;
    };
    for r in 0..rounds {
        for (i, e) in exs.iter().enumerate() {
            black_box(cat.observe(black_box(e), (r * exs.len() + i) as i64));
        }
    }
    let (Some(t1), wall) = (thread_cpu_ns(), w0.elapsed()) else {
        return;
    };
    let n = (rounds * exs.len()) as f64;
    eprintln!(
        "{name}: {:.0} exchanges per CPU-second ({:.2} us CPU each); wall {:.0}/s",
        n / ((t1 - t0) as f64 / 1e9),
        (t1 - t0) as f64 / 1e3 / n,
        n / wall.as_secs_f64()
    );
}

fn memory_per_endpoint() {
    // 4000 services x 4 endpoints (GET list, GET item, POST, DELETE) = 16 000
    // endpoints, each seen twice with the passive mix's parameters and bodies
    let mut cat: Catalog = CatalogConfig {
        max_endpoints: 100_000,
        ..Default::default()
    }
    .build()
    .unwrap();
    let before = rss_kib();
    let mut n = 0u64;
    for k in 0..4000u64 {
        let r = RESOURCES[(k as usize) % RESOURCES.len()];
        for rep in 0..8u64 {
            n += 1;
            let mut ex = exchange(k * 8 + rep, true);
            let q = ex.request.query().map(str::to_string);
            let tail = if ex.request.method == "GET" && rep % 2 == 0 {
                String::new()
            } else {
                format!("/{}_{}", &r[..3], id(n))
            };
            ex.request.target = match q {
                Some(q) => format!("/svc{k}/{r}{tail}?{q}"),
                None => format!("/svc{k}/{r}{tail}"),
            };
            cat.observe(&ex, n as i64);
        }
    }
    let after = rss_kib();
    let (eps, dropped, _) = cat.stats();
    let approx = cat.approx_heap_bytes();
    eprintln!(
        "memory: {eps} endpoints ({dropped} dropped), approx heap {} B/endpoint, RSS growth {} B/endpoint",
        approx / eps.max(1),
        match (before, after) {
            (Some(b), Some(a)) => ((a.saturating_sub(b)) * 1024 / eps.max(1) as u64).to_string(),
            _ => "n/a".into(),
        }
    );
    black_box(cat);
}

fn bench(c: &mut Criterion) {
    memory_per_endpoint();
    const N: u64 = 4096;
    let spec_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/stripe_extract.json");
    let spec = palisade_catalog::Spec::from_file(&spec_path).unwrap();
    for (name, mix, with_spec) in [
        ("observe/passive_mix_json_bodies", true, false),
        ("observe/heads_only", false, false),
        ("observe/passive_mix_with_stripe_spec", true, true),
    ] {
        let exs: Vec<Exchange> = (0..N).map(|i| exchange(i, mix)).collect();
        let mut cat = CatalogConfig::default().build().unwrap();
        if with_spec {
            cat.import_spec(spec.clone());
        }
        for (i, e) in exs.iter().enumerate() {
            cat.observe(e, i as i64); // warm: endpoints exist, as in steady state
        }
        per_core(name, &exs, &mut cat);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(N));
        g.bench_function("steady_state", |b| {
            b.iter(|| {
                for (i, e) in exs.iter().enumerate() {
                    black_box(cat.observe(black_box(e), i as i64));
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
