//! Ground truth: generate traffic from a public payments spec (a reduced
//! extract of Stripe's API, `testdata/stripe_extract.json`), learn it without
//! the spec, and compare the learned endpoints with the declared operations.
//!
//! Endpoints are compared by method and *shape* (the template with variable
//! names anonymised): precision = learned endpoints that are declared /
//! learned endpoints; recall = declared operations learned / declared.
//!
//! Path values are generated the way Stripe's ids look (documented prefixes
//! such as `cus_`, `pi_`, `ch_`; two-letter country codes; free-text coupon
//! codes; dotted report-type names), keyed by the resource segment before the
//! variable. The learner never sees that table, nor the spec.

mod common;

use std::collections::BTreeSet;

use palisade_catalog::{CatalogConfig, Location, Spec};
use palisade_core::Exchange;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const COUNTRIES: &[&str] = &[
    "US", "GB", "FR", "DE", "IE", "NL", "BE", "ES", "IT", "PT", "AT", "CH", "SE", "NO", "DK", "FI",
    "PL", "CZ", "JP", "SG", "HK", "AU", "NZ", "CA", "MX", "BR",
];
const REPORT_TYPES: &[&str] = &[
    "balance.summary.1",
    "balance_change_from_activity.itemized.1",
    "balance_change_from_activity.itemized.2",
    "balance_change_from_activity.summary.1",
    "payouts.itemized.1",
    "payouts.itemized.2",
    "payouts.summary.1",
    "payout_reconciliation.itemized.1",
    "payout_reconciliation.itemized.5",
    "payout_reconciliation.summary.1",
    "ending_balance_reconciliation.itemized.1",
    "ending_balance_reconciliation.summary.1",
    "connected_account_balance.summary.1",
    "connected_account_payouts.itemized.1",
    "activity.itemized.2",
    "activity.summary.1",
    "card_payments_fees.transaction_level.1",
];

fn rand_str(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
        .collect()
}

/// A value for the path variable following the literal `resource`.
fn path_value(rng: &mut StdRng, resource: &str, slugs: bool) -> String {
    if slugs
        && matches!(
            resource,
            "products" | "coupons" | "prices" | "webhook_endpoints"
        )
    {
        // merchant-chosen lower-case ids: word-like, only cardinality tells them apart
        const A: &[&str] = &[
            "gold", "silver", "basic", "pro", "team", "annual", "monthly", "spring",
        ];
        const B: &[&str] = &[
            "plan", "tier", "bundle", "pack", "offer", "seat", "sale", "promo",
        ];
        return format!(
            "{}-{}",
            A[rng.random_range(0..A.len())],
            B[rng.random_range(0..B.len())]
        );
    }
    let prefix = match resource {
        "accounts" => "acct",
        "external_accounts" => "ba",
        "persons" => "person",
        "domains" => "apwc",
        "application_fees" => "fee",
        "balance_transactions" => "txn",
        "charges" => "ch",
        "refunds" => "re",
        "sessions" => "cs_test",
        "customers" => "cus",
        "cards" if rng.random_bool(0.5) => "ic",
        "cards" => "card",
        "sources" => "src",
        "tax_ids" => "txi",
        "disputes" => "dp",
        "events" => "evt",
        "files" => "file",
        "invoices" => "in",
        "cardholders" => "ich",
        "payment_intents" => "pi",
        "payment_methods" => "pm",
        "payouts" => "po",
        "prices" => "price",
        "products" => "prod",
        "setup_intents" => "seti",
        "subscriptions" => "sub",
        "tokens" => "tok",
        "transfers" => "tr",
        "reversals" => "trr",
        "webhook_endpoints" => "we",
        "country_specs" => return COUNTRIES[rng.random_range(0..COUNTRIES.len())].to_string(),
        "report_types" => return REPORT_TYPES[rng.random_range(0..REPORT_TYPES.len())].to_string(),
        "coupons" => {
            // merchant-chosen codes: words and digits
            const W: &[&str] = &[
                "SUMMER",
                "WINTER",
                "WELCOME",
                "VIP",
                "FRIENDS",
                "BLACKFRIDAY",
                "LAUNCH",
                "PARTNER",
            ];
            return format!(
                "{}{}",
                W[rng.random_range(0..W.len())],
                rng.random_range(5..60)
            );
        }
        _ => return format!("{:024x}", rng.random::<u128>() >> 32),
    };
    let n = 14 + rng.random_range(0..10);
    format!("{prefix}_{}", rand_str(rng, n))
}

fn form_value(rng: &mut StdRng, name: &str, ty: Option<&str>) -> Vec<(String, String)> {
    let one = |v: String| vec![(name.to_string(), v)];
    match (name, ty.unwrap_or("string")) {
        ("email", _) => one(format!("user{}@example.com", rng.random_range(0..1000))),
        ("phone" | "phone_number", _) => one(format!("+1415555{:04}", rng.random_range(0..10_000))),
        ("card", _) => vec![
            (
                "card[number]".into(),
                ["4242424242424242", "5555555555554444", "378282246310005"][rng.random_range(0..3)]
                    .into(),
            ),
            (
                "card[exp_month]".into(),
                rng.random_range(1..13).to_string(),
            ),
            (
                "card[exp_year]".into(),
                rng.random_range(2027..2033).to_string(),
            ),
            (
                "card[cvc]".into(),
                format!("{:03}", rng.random_range(100..1000)),
            ),
        ],
        ("bank_account", _) => vec![
            ("bank_account[country]".into(), "DE".into()),
            (
                "bank_account[account_number]".into(),
                "DE89370400440532013000".into(),
            ),
        ],
        ("billing_details", _) => vec![(
            "billing_details[email]".into(),
            format!("b{}@example.org", rng.random_range(0..99)),
        )],
        ("metadata", _) => vec![(
            "metadata[order_id]".into(),
            rng.random_range(1000..99_999).to_string(),
        )],
        (_, "integer") => one(rng.random_range(50..100_000).to_string()),
        (_, "boolean") => one(rng.random_bool(0.5).to_string()),
        (_, "array") => vec![(format!("{name}[]"), "card".into())],
        ("currency", _) => one(["usd", "eur", "gbp"][rng.random_range(0..3)].into()),
        _ => one(format!("text {}", rng.random_range(0..100))),
    }
}

fn generate(spec: &Spec, per_op: usize, seed: u64, slugs: bool) -> Vec<Exchange> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for op in &spec.operations {
        for _ in 0..per_op {
            let mut path = String::new();
            let mut prev = "";
            for seg in op.template.split('/').filter(|s| !s.is_empty()) {
                path.push('/');
                if seg.starts_with('{') {
                    path.push_str(&path_value(&mut rng, prev, slugs));
                } else {
                    path.push_str(seg);
                    prev = seg;
                }
            }
            let mut query = Vec::new();
            for p in op.params.iter().filter(|p| p.location == Location::Query) {
                if !p.required && rng.random_bool(0.6) {
                    continue;
                }
                let v = match p.name.as_str() {
                    "limit" => rng.random_range(1..100).to_string(),
                    "starting_after" | "ending_before" => path_value(&mut rng, "customers", false),
                    "expand" => {
                        query.push("expand[]=data.customer".to_string());
                        continue;
                    }
                    "query" => format!(
                        "email%3A%27user{}%40example.com%27",
                        rng.random_range(0..50)
                    ),
                    _ => rand_str(&mut rng, 8),
                };
                query.push(format!("{}={v}", p.name));
            }
            let target = if query.is_empty() {
                path
            } else {
                format!("{path}?{}", query.join("&"))
            };
            let mut body = String::new();
            if let Some(b) = &op.body {
                let mut pairs = Vec::new();
                for p in &b.properties {
                    if p.name == "expand" || rng.random_bool(0.3) {
                        continue;
                    }
                    pairs.extend(form_value(&mut rng, &p.name, p.ty.as_deref()));
                }
                body = pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&");
            }
            let auth = if rng.random_bool(0.5) {
                "Basic c2tfdGVzdF80ZUMzOUhxTHlqV0RhcmpUMXpkcDdkYzo="
            } else {
                "Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc"
            };
            let resp = format!(
                r#"{{"id":"{}","object":"x","livemode":false}}"#,
                path_value(&mut rng, prev, slugs)
            );
            let mut ex = common::req(
                "api.stripe.com",
                &op.method,
                &target,
                &[
                    ("Authorization", auth),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                &body,
                200,
                &resp,
            );
            if body.is_empty() {
                ex.request.headers.retain(|(k, _)| k != "Content-Type");
            }
            out.push(ex);
        }
    }
    out.shuffle(&mut rng);
    out
}

struct Score {
    precision: f64,
    recall: f64,
    extra: Vec<String>,
    missed: Vec<String>,
    learned: usize,
    declared: usize,
}

fn shape(t: &str) -> String {
    t.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('{') {
                "/{}".to_string()
            } else {
                format!("/{s}")
            }
        })
        .collect()
}

fn run(per_op: usize, seed: u64, slugs: bool) -> Score {
    let spec = Spec::from_file(&common::testdata("stripe_extract.json")).unwrap();
    let mut cat = CatalogConfig::default().build().unwrap();
    for (i, ex) in generate(&spec, per_op, seed, slugs).iter().enumerate() {
        cat.observe(ex, i as i64);
    }
    let learned: BTreeSet<String> = cat
        .endpoints()
        .iter()
        .map(|e| format!("{} {}", e.method, shape(&e.template)))
        .collect();
    let declared: BTreeSet<String> = spec
        .operations
        .iter()
        .map(|o| format!("{} {}", o.method, shape(&o.template)))
        .collect();
    let hit = learned.intersection(&declared).count() as f64;
    Score {
        precision: hit / learned.len().max(1) as f64,
        recall: hit / declared.len().max(1) as f64,
        extra: learned.difference(&declared).cloned().collect(),
        missed: declared.difference(&learned).cloned().collect(),
        learned: learned.len(),
        declared: declared.len(),
    }
}

fn report(name: &str, s: &Score) {
    println!(
        "{name}: declared {} learned {} precision {:.4} recall {:.4}\n  extra: {:?}\n  missed: {:?}",
        s.declared, s.learned, s.precision, s.recall, s.extra, s.missed
    );
}

#[test]
fn stripe_ground_truth_steady_traffic() {
    // 30 requests per operation, three seeds
    for seed in [1, 2, 3] {
        let s = run(30, seed, false);
        report(&format!("steady seed {seed}"), &s);
        assert!(s.precision >= 0.98, "precision {:.4}", s.precision);
        assert!(s.recall >= 0.98, "recall {:.4}", s.recall);
    }
}

#[test]
fn stripe_ground_truth_sparse_traffic() {
    // 4 requests per operation: plain-string ids (country codes, coupon codes,
    // report types) have not reached the cardinality threshold yet
    let s = run(4, 7, false);
    report("sparse seed 7", &s);
    assert!(s.precision >= 0.85, "precision {:.4}", s.precision);
    assert!(s.recall >= 0.95, "recall {:.4}", s.recall);
}

#[test]
fn stripe_ground_truth_word_like_custom_ids() {
    // products, prices, coupons and webhook endpoints with merchant-chosen
    // lower-case ids (`gold-plan`): nothing but cardinality separates them
    // from resource names
    let s = run(30, 11, true);
    report("slug ids seed 11", &s);
    assert!(s.precision >= 0.98, "precision {:.4}", s.precision);
    assert!(s.recall >= 0.98, "recall {:.4}", s.recall);
}

#[test]
fn stripe_with_declared_spec_learns_the_declared_templates_exactly() {
    // with the spec imported first, every template (names included) is the
    // declared one, even where two declared templates name the same position
    // differently (`/v1/transfers/{id}/reversals` and `/v1/transfers/{transfer}`)
    let spec = Spec::from_file(&common::testdata("stripe_extract.json")).unwrap();
    let mut cat = CatalogConfig::default().build().unwrap();
    cat.import_spec(spec.clone());
    for (i, ex) in generate(&spec, 6, 5, true).iter().enumerate() {
        cat.observe(ex, i as i64);
    }
    let learned: BTreeSet<String> = cat
        .endpoints()
        .iter()
        .map(|e| format!("{} {}", e.method, e.template))
        .collect();
    let declared: BTreeSet<String> = spec
        .operations
        .iter()
        .map(|o| format!("{} {}", o.method, o.template))
        .collect();
    assert_eq!(learned, declared);
    let r = cat.spec_report();
    assert!(r.shadow.is_empty() && r.unused.is_empty());
    let zombies: Vec<String> = r
        .zombie
        .iter()
        .map(|z| format!("{} {}", z.method, z.template))
        .collect();
    assert_eq!(
        zombies.len(),
        spec.operations.iter().filter(|o| o.deprecated).count(),
        "{zombies:?}"
    );
    // lookups agree with what observe learned
    assert_eq!(
        cat.template_of(Some("api.stripe.com"), "/v1/transfers/tr_123abc/reversals")
            .as_deref(),
        Some("/v1/transfers/{id}/reversals")
    );
    assert_eq!(
        cat.template_of(Some("api.stripe.com"), "/v1/transfers/tr_123abc")
            .as_deref(),
        Some("/v1/transfers/{transfer}")
    );
}
