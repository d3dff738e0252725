//! Object walks as populations: customers reading their own objects (an
//! account, a few orders, the catalogue) teach each endpoint what an honest
//! visit touches; a scraper walking other customers' ids, or an enumerator
//! collecting 404s, is stopped within a handful of reads.

mod common;

use common::{Client, Sim, respond};
use palisade_actors::Level;

/// 60 customers, each with a session, their account (`/accounts/{own}`) and
/// one to three orders with consecutive ids (`/orders/{id}`), browsing
/// products `1..=6`; each visit reads the same objects again.
fn customers_browse(sim: &mut Sim, rounds: usize) -> Vec<Client> {
    let customers: Vec<Client> = (0..60)
        .map(|i| {
            Client::browser(&format!("198.51.{}.{}", i / 100, i % 100 + 1), i % 5)
                .with_session(&format!("sess-walk-{i}"))
        })
        .collect();
    for round in 0..rounds {
        for (i, c) in customers.iter().enumerate() {
            let account = 10_000 + i;
            let orders = 1 + i % 3;
            let first_order = 5_000 + i * 7;
            let mut targets = vec![
                format!("/api/v1/accounts/{account}"),
                format!("/api/v1/accounts/{account}"),
                "/api/v1/products".to_string(),
                format!("/api/v1/products/{}", 1 + (i + round) % 6),
                format!("/api/v1/products/{}", 1 + (i + round + 1) % 6),
            ];
            targets.push("/api/v1/orders".to_string());
            for k in 0..orders {
                targets.push(format!("/api/v1/orders/{}", first_order + k));
            }
            for t in targets {
                let s = sim.send(c.request("GET", &t, ""), 25, |e| respond(e, 200, "{}"));
                assert!(
                    s.decision.is_none(),
                    "customer {i} got {:?} on {t}",
                    s.decision
                );
                for f in &s.obs.findings {
                    assert!(
                        !matches!(f.kind.as_str(), "bola" | "enumeration" | "scraping"),
                        "customer {i} on {t}: {f:?}"
                    );
                }
            }
        }
    }
    customers
}

/// Customers who read their own account again and again and their few orders
/// (consecutive ids) are never flagged, in any round.
#[test]
fn customers_reading_their_own_objects_are_never_flagged() {
    let mut sim = Sim::default_config();
    let customers = customers_browse(&mut sim, 8);
    for v in sim.tracker.actors(sim.now) {
        assert_eq!(v.level, Level::None, "{v:?}");
        assert!(v.finding_kinds.is_empty(), "{v:?}");
    }
    assert_eq!(sim.tracker.len(), customers.len());
}

/// A logged-in scraper walking account ids one by one (every answer a 200:
/// the API has the BOLA flaw), switching address every twenty reads but
/// keeping its token, is stopped within a handful of reads once the endpoint
/// is known to be read one id per visit.
#[test]
fn sequential_walk_on_other_accounts_is_stopped_within_a_handful() {
    let mut sim = Sim::default_config();
    customers_browse(&mut sim, 2);
    let mut scraper = Client::bot("192.0.2.50");
    scraper.token = Some("tok-scraper-0123456789".into());
    let mut first_stop = None;
    let mut forwarded = 0;
    for k in 0..200usize {
        let c = scraper.at(&format!("192.0.2.{}", 50 + k / 20));
        let s = sim.send(
            c.request("GET", &format!("/api/v1/accounts/{}", 10_000 + k), ""),
            67,
            |e| respond(e, 200, r#"{"id":1,"balance":10}"#),
        );
        if s.decision.as_ref().is_some_and(|d| d.verdict.is_stop()) {
            first_stop.get_or_insert(k);
        } else {
            forwarded += 1;
        }
    }
    let first = first_stop.expect("the walk was never stopped");
    eprintln!("walk: first stop after {first} reads, {forwarded} forwarded");
    assert!(first <= 8, "first stop after {first}");
    assert!(forwarded <= 10, "{forwarded} reads forwarded");
    let top = &sim.tracker.actors(sim.now)[0];
    assert!(top.finding_kinds.contains(&"bola".to_string()), "{top:?}");
}

/// An anonymous enumerator asking for random ids, mostly 404 (no sequence to
/// see), is stopped by the refusal ratio within a handful more.
#[test]
fn refused_random_ids_are_stopped_soon() {
    let mut sim = Sim::default_config();
    customers_browse(&mut sim, 2);
    let bot = Client::bot("192.0.2.60");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut first_stop = None;
    for k in 0..100usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let id = 100_000 + x % 900_000;
        let status = if k % 5 == 0 { 200 } else { 404 };
        let s = sim.send(
            bot.request("GET", &format!("/api/v1/orders/{id}"), ""),
            100,
            |e| respond(e, status, "{}"),
        );
        if s.decision.as_ref().is_some_and(|d| d.verdict.is_stop()) {
            first_stop.get_or_insert(k);
        }
    }
    let first = first_stop.expect("the enumeration was never stopped");
    assert!(first <= 16, "first stop after {first}");
}
