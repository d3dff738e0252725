//! Learned baselines: establishment, every deviation kind, poisoning
//! resistance, persistence, and detection quality on populations.

use std::net::{IpAddr, Ipv4Addr};

use palisade_catalog::{BaselineConfig, Baselines, Catalog, CatalogConfig};
use palisade_core::{ActorRef, Body, Exchange, Finding, RequestPart, ResponsePart};

const HOST: &str = "pay.example";
const MIN: i64 = 60_000;
const WINDOW: i64 = 10 * MIN;
/// A Monday, 10:00 UTC.
const T0: i64 = 1_700_474_400_000;

/// A tiny deterministic generator (no seeds to chase across rand versions).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ex(
    actor: u32,
    method: &str,
    target: &str,
    body: &str,
    status: u16,
    resp_size: usize,
) -> Exchange {
    let mut headers = vec![("host".to_string(), HOST.to_string())];
    if !body.is_empty() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    Exchange {
        id: format!("r-{actor}"),
        client_ip: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + actor)),
        actor: Some(ActorRef {
            id: format!("actor-{actor}"),
            name: format!("actor {actor}"),
            risk: 0,
            campaign: None,
        }),
        request: RequestPart {
            method: method.into(),
            target: target.into(),
            host: Some(HOST.into()),
            headers,
            body: Body::new(body.to_string()),
            ..Default::default()
        },
        response: Some(ResponsePart {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Body {
                data: Default::default(),
                size: resp_size as u64,
                truncated: true,
            },
        }),
        ..Default::default()
    }
}

struct Node {
    cat: Catalog,
    base: Baselines,
}

impl Node {
    fn new(cfg: BaselineConfig) -> Node {
        Node {
            cat: CatalogConfig::default().build().unwrap(),
            base: cfg.build().unwrap(),
        }
    }
    /// What the catalog analyser does: learn only from clean exchanges.
    fn see(&mut self, mut e: Exchange, now: i64) -> Vec<Finding> {
        let learn = !palisade_catalog::baseline::disqualifies(&e.findings) && !e.verdict.is_stop();
        self.cat.observe(&e, now);
        let at = self.cat.last_observed().expect("filed under an endpoint");
        let f = self.base.observe(at, &e, learn, now);
        e.findings.extend(f.clone());
        f
    }
    fn charges(&self) -> palisade_catalog::BaselineView {
        self.base
            .views()
            .into_iter()
            .find(|v| v.template == "/v1/charges" && v.method == "POST")
            .expect("a baseline for POST /v1/charges")
    }
}

const CURRENCIES: [&str; 3] = ["usd", "eur", "gbp"];

/// One ordinary customer charge.
fn charge(rng: &mut Lcg, actor: u32) -> Exchange {
    let amount = 100 + rng.below(99_900);
    let cur = CURRENCIES[rng.below(3) as usize];
    let desc_len = 5 + rng.below(30) as usize;
    let desc: String = "Order for the shop "
        .chars()
        .cycle()
        .take(desc_len)
        .collect();
    let meta = if actor.is_multiple_of(3) {
        format!(r#","metadata":{{"order_id":"ord-{}"}}"#, rng.below(100_000))
    } else {
        String::new()
    };
    let body = format!(
        r#"{{"amount":{amount},"currency":"{cur}","description":"{desc}","card":{{"number":"4242424242424242","cvc":"123"}}{meta}}}"#
    );
    let status = if rng.below(20) == 0 { 402 } else { 200 };
    ex(
        actor,
        "POST",
        "/v1/charges",
        &body,
        status,
        250 + rng.below(200) as usize,
    )
}

/// `customers` customers, `per` charges each per window, over `windows`
/// windows from `start`.
fn teach(n: &mut Node, rng: &mut Lcg, customers: u32, per: u32, windows: i64, start: i64) -> usize {
    let mut findings = 0;
    for w in 0..windows {
        for i in 0..per {
            for c in 0..customers {
                let now =
                    start + w * WINDOW + i64::from(i * customers + c) * 1000 % (WINDOW - 1000);
                findings += n.see(charge(rng, c), now).len();
            }
        }
    }
    findings
}

fn rules(f: &[Finding]) -> Vec<(String, String)> {
    f.iter()
        .map(|f| (f.rule_id.clone(), f.location.clone()))
        .collect()
}

fn established(rng_seed: u64) -> (Node, Lcg, i64) {
    let mut n = Node::new(BaselineConfig::default());
    let mut rng = Lcg(rng_seed);
    let found = teach(&mut n, &mut rng, 12, 10, 4, T0);
    assert_eq!(found, 0, "no findings while learning");
    assert!(n.charges().established);
    (n, rng, T0 + 4 * WINDOW)
}

#[test]
fn a_baseline_is_established_only_by_enough_actors_over_enough_windows() {
    // Four customers over six windows: not enough actors.
    let mut n = Node::new(BaselineConfig::default());
    let mut rng = Lcg(1);
    teach(&mut n, &mut rng, 4, 10, 6, T0);
    assert!(!n.charges().established);
    let odd = ex(
        1,
        "POST",
        "/v1/charges",
        r#"{"amount":"ten","evil":1}"#,
        200,
        900_000,
    );
    assert!(
        n.see(odd, T0 + 6 * WINDOW).is_empty(),
        "no findings before establishment"
    );

    // Twenty customers in one window: not enough windows.
    let mut n = Node::new(BaselineConfig::default());
    teach(&mut n, &mut rng, 20, 5, 1, T0);
    assert!(!n.charges().established);
    teach(&mut n, &mut rng, 20, 5, 1, T0 + WINDOW);
    assert!(!n.charges().established, "two windows of three");
    teach(&mut n, &mut rng, 20, 5, 1, T0 + 2 * WINDOW);
    let v = n.charges();
    assert!(v.established, "{v:?}");
    assert_eq!(v.windows, 3);
    assert!(v.actors >= 5);

    // What was learned.
    let p = |name: &str| v.params.iter().find(|p| p.name == name).unwrap().clone();
    assert_eq!(
        p("amount").types,
        vec![palisade_catalog::ValueType::Integer]
    );
    assert!(p("amount").required);
    let mut cur = p("currency").values;
    cur.sort();
    assert_eq!(cur, vec!["eur", "gbp", "usd"]);
    assert!(
        p("description").values.is_empty(),
        "free text is no enumeration"
    );
    assert!(
        p("card.number").values.is_empty(),
        "card numbers are never kept"
    );
    assert!(!p("metadata.order_id").required);
}

#[test]
fn each_deviation_kind_is_reported_with_its_location() {
    let (mut n, _, t) = established(7);
    let base = r#""currency":"usd","description":"Order for the shop","card":{"number":"4242424242424242","cvc":"123"}"#;
    let cases: Vec<(String, &str, &str, usize)> = vec![
        (format!(r#"{{"amount":"ten",{base}}}"#), "baseline.type_mismatch", "body.amount", 300),
        (
            format!(r#"{{"amount":100,{base},"evil":{{"a":1,"b":2}}}}"#),
            "baseline.unseen_parameter",
            "body.evil",
            300,
        ),
        (
            format!(
                r#"{{"amount":100,"currency":"usd","description":"{}","card":{{"number":"4242424242424242","cvc":"123"}}}}"#,
                "x".repeat(400)
            ),
            "baseline.length",
            "body.description",
            300,
        ),
        (
            r#"{"amount":100,"currency":"xyz","description":"Order","card":{"number":"4242424242424242","cvc":"123"}}"#.to_string(),
            "baseline.value_unseen",
            "body.currency",
            300,
        ),
        (
            format!(r#"{{"amount":100,{base}}}"#),
            "baseline.response_size_spike",
            "response.body",
            2_000_000,
        ),
    ];
    for (i, (body, rule, loc, size)) in cases.into_iter().enumerate() {
        let f = n.see(
            ex(100, "POST", "/v1/charges", &body, 200, size),
            t + i as i64,
        );
        let r = rules(&f);
        assert!(
            r.contains(&(rule.to_string(), loc.to_string())),
            "{rule} at {loc}: {r:?}"
        );
        assert_eq!(r.len(), 1, "only that deviation: {r:?}");
        let one = &f[0];
        assert_eq!(one.kind, "baseline");
        assert!(!one.message.is_empty());
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("4242424242424242"), "{json}");
    }
    // Nested unknown members are reported once, at the outermost name.
    let f = n.see(
        ex(
            100,
            "POST",
            "/v1/charges?debug=1",
            &format!(r#"{{"amount":1,{base}}}"#),
            200,
            300,
        ),
        t + 100,
    );
    assert_eq!(
        rules(&f),
        vec![("baseline.unseen_parameter".into(), "query.debug".into())]
    );

    // Error rate: a window where most answers are 500s, reported once.
    let w = t + 2 * WINDOW;
    let mut spikes = 0;
    for i in 0..60 {
        let status = if i % 4 == 0 { 200 } else { 500 };
        let f = n.see(
            ex(
                200 + i,
                "POST",
                "/v1/charges",
                &format!(r#"{{"amount":1,{base}}}"#),
                status,
                300,
            ),
            w + i64::from(i),
        );
        spikes += f
            .iter()
            .filter(|f| f.rule_id == "baseline.error_rate_spike")
            .count();
    }
    assert_eq!(spikes, 1, "once per window");

    // Rate: 3000 requests in one window where about 120 are normal.
    let w = t + 4 * WINDOW;
    let mut rate = Vec::new();
    for i in 0..3000u32 {
        let f = n.see(
            ex(
                300 + i % 40,
                "POST",
                "/v1/charges",
                &format!(r#"{{"amount":1,{base}}}"#),
                200,
                300,
            ),
            w + i64::from(i) * 100,
        );
        rate.extend(f.into_iter().filter(|f| f.rule_id == "baseline.rate_spike"));
    }
    assert_eq!(rate.len(), 1, "once per window: {}", rate.len());
    assert_eq!(rate[0].location, "endpoint");
}

#[test]
fn an_attackers_flood_before_customers_does_not_become_the_baseline() {
    let mut n = Node::new(BaselineConfig::default());
    // 10 000 requests from one actor with a string amount and an extra
    // parameter, before any customer, over two windows.
    for i in 0..10_000i64 {
        let f = n.see(
            ex(
                666,
                "POST",
                "/v1/charges?coupon=FREE",
                r#"{"amount":"ten","currency":"usd","description":"x","card":{"number":"4242424242424242","cvc":"123"}}"#,
                200,
                1_000_000,
            ),
            T0 + i * 100,
        );
        assert!(f.is_empty());
    }
    assert!(
        !n.charges().established,
        "one actor never establishes a baseline"
    );
    // Then the customers.
    let mut rng = Lcg(3);
    teach(&mut n, &mut rng, 8, 10, 3, T0 + 2 * WINDOW);
    let v = n.charges();
    assert!(v.established);
    let amount = v.params.iter().find(|p| p.name == "amount").unwrap();
    assert_eq!(
        amount.types,
        vec![palisade_catalog::ValueType::Integer],
        "the attacker's type is not normal"
    );
    let coupon = v.params.iter().find(|p| p.name == "coupon");
    assert!(coupon.is_none_or(|p| !p.normal), "{coupon:?}");
    // The attacker's traffic is now a deviation; the customers' is not.
    let f = n.see(
        ex(
            666,
            "POST",
            "/v1/charges?coupon=FREE",
            r#"{"amount":"ten","currency":"usd","description":"x","card":{"number":"4242424242424242","cvc":"123"}}"#,
            200,
            300,
        ),
        T0 + 5 * WINDOW,
    );
    let r = rules(&f);
    assert!(
        r.contains(&("baseline.type_mismatch".into(), "body.amount".into())),
        "{r:?}"
    );
    assert!(
        r.contains(&("baseline.unseen_parameter".into(), "query.coupon".into())),
        "{r:?}"
    );
    let f = n.see(charge(&mut rng, 1), T0 + 5 * WINDOW + 1);
    assert!(f.is_empty(), "{:?}", rules(&f));

    // The flood of 10 000 huge responses did not move the normal response
    // size: one actor's values do not count, however many.
    assert!(v.response_size_p995.unwrap() < 1024, "{v:?}");
    let f = n.see(
        ex(
            666,
            "POST",
            "/v1/charges",
            r#"{"amount":5,"currency":"usd"}"#,
            200,
            1_000_000,
        ),
        T0 + 5 * WINDOW + 2,
    );
    assert!(
        rules(&f).contains(&(
            "baseline.response_size_spike".into(),
            "response.body".into()
        )),
        "{:?}",
        rules(&f)
    );
}

#[test]
fn two_colluding_actors_cannot_make_a_fact_normal_and_flagged_traffic_teaches_nothing() {
    let mut n = Node::new(BaselineConfig::default());
    let mut rng = Lcg(11);
    teach(&mut n, &mut rng, 8, 5, 3, T0);
    assert!(n.charges().established);
    let t = T0 + 3 * WINDOW;
    // Two actors keep sending a new parameter over many windows.
    for w in 0..5 {
        for a in [901, 902] {
            for i in 0..100 {
                n.see(
                    ex(
                        a,
                        "POST",
                        "/v1/charges?debug=1",
                        r#"{"amount":5,"currency":"usd"}"#,
                        200,
                        300,
                    ),
                    t + w * WINDOW + i,
                );
            }
        }
    }
    // Ten actors send it with an attack finding already attached.
    for a in 0..10 {
        let mut e = ex(
            950 + a,
            "POST",
            "/v1/charges?debug=1",
            r#"{"amount":5,"currency":"usd"}"#,
            200,
            300,
        );
        e.findings
            .push(Finding::new("sqli", "sqli.lexer", "query.debug"));
        n.see(e, t + 6 * WINDOW + i64::from(a));
    }
    let f = n.see(
        ex(
            903,
            "POST",
            "/v1/charges?debug=1",
            r#"{"amount":5,"currency":"usd"}"#,
            200,
            300,
        ),
        t + 7 * WINDOW,
    );
    assert!(
        rules(&f).contains(&("baseline.unseen_parameter".into(), "query.debug".into())),
        "{:?}",
        rules(&f)
    );
    // Deviations never teach, however many distinct actors send them (a
    // botnet cannot vote a parameter in)...
    for a in 0..50 {
        n.see(
            ex(
                1000 + a,
                "POST",
                "/v1/charges?debug=1",
                r#"{"amount":5,"currency":"usd"}"#,
                200,
                300,
            ),
            t + 8 * WINDOW + i64::from(a),
        );
    }
    let f = n.see(
        ex(
            913,
            "POST",
            "/v1/charges?debug=1",
            r#"{"amount":5,"currency":"usd"}"#,
            200,
            300,
        ),
        t + 8 * WINDOW + 999,
    );
    assert!(
        rules(&f).iter().any(|(_, l)| l == "query.debug"),
        "{:?}",
        rules(&f)
    );
    // ...but after a reset (an API change), the new normal is learned anew.
    let id = n.charges().endpoint;
    assert!(n.base.reset(id));
    for w in 0..3 {
        for a in 0..6 {
            let f = n.see(
                ex(
                    1100 + a,
                    "POST",
                    "/v1/charges?debug=1",
                    r#"{"amount":5,"currency":"usd"}"#,
                    200,
                    300,
                ),
                t + (9 + w) * WINDOW + i64::from(a),
            );
            assert!(f.is_empty());
        }
    }
    assert!(n.charges().established);
    let f = n.see(
        ex(
            913,
            "POST",
            "/v1/charges?debug=1",
            r#"{"amount":5,"currency":"usd"}"#,
            200,
            300,
        ),
        t + 12 * WINDOW,
    );
    assert!(f.is_empty(), "{:?}", rules(&f));
}

#[test]
fn baselines_survive_a_snapshot_without_secrets() {
    let (n, _, t) = established(5);
    let snap = n.base.to_snapshot();
    let text = snap.to_string();
    assert!(
        !text.contains("4242424242424242"),
        "a card number in the snapshot"
    );
    for (_, e) in snap["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (&p[0], &p[1]))
    {
        for key in ["body.card.cvc", "body.card.number", "body.description"] {
            assert_eq!(e["params"][key]["values"], serde_json::json!([]), "{key}");
        }
    }
    let mut back = Baselines::from_snapshot(snap, &BaselineConfig::default()).unwrap();
    assert_eq!(back.views(), n.base.views());
    assert_eq!(back.learned_schemas(), n.base.learned_schemas());
    let at = n.cat.last_observed().unwrap();
    let f = back.observe(
        at,
        &ex(
            1,
            "POST",
            "/v1/charges",
            r#"{"amount":"ten","currency":"usd"}"#,
            200,
            300,
        ),
        false,
        t,
    );
    assert!(f.iter().any(|f| f.rule_id == "baseline.type_mismatch"));
}

#[test]
fn bad_settings_are_all_reported() {
    let cfg = BaselineConfig {
        window: "soon".into(),
        min_actors: 0,
        min_support: 17,
        actor_cap: 0,
        ..Default::default()
    };
    let keys: Vec<&str> = cfg.problems().into_iter().map(|(k, _)| k).collect();
    for k in ["window", "min_actors", "min_support", "actor_cap"] {
        assert!(keys.contains(&k), "{k}: {keys:?}");
    }
    assert!(cfg.build().is_err());
    // Support above the actors needed: no fact could ever become normal.
    let cfg = BaselineConfig {
        min_actors: 2,
        min_support: 3,
        ..Default::default()
    };
    let p = cfg.problems();
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "min_support");
}

/// Detection quality on populations: false positives on held-out customer
/// traffic, and detections on a population of deviant requests.
#[test]
fn quality_on_populations() {
    let mut fp_total = 0usize;
    let mut normal_total = 0usize;
    let mut hits = 0usize;
    let mut deviant_total = 0usize;
    for seed in [21u64, 22, 23] {
        let mut n = Node::new(BaselineConfig::default());
        let mut rng = Lcg(seed);
        // 30 customers over 6 windows teach it.
        teach(&mut n, &mut rng, 30, 4, 6, T0);
        assert!(n.charges().established);
        let t = T0 + 6 * WINDOW;
        // Held out: 40 new customers, 25 charges each, spread over windows.
        for i in 0..1000u32 {
            let c = 1000 + i % 40;
            let f = n.see(charge(&mut rng, c), t + i64::from(i) * 3000);
            normal_total += 1;
            if !f.is_empty() {
                fp_total += 1;
            }
        }
        // Deviants: one deviation each, from 200 distinct actors.
        let t = t + 20 * WINDOW;
        for i in 0..200u32 {
            let mut e = charge(&mut rng, 5000 + i);
            let body = String::from_utf8(e.request.body.data.to_vec()).unwrap();
            let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
            match i % 5 {
                0 => v["amount"] = serde_json::json!(format!("{}", rng.below(1000))),
                1 => v["is_admin"] = serde_json::json!(true),
                2 => v["description"] = serde_json::json!("' OR 1=1 -- ".repeat(20)),
                3 => {
                    v["currency"] = serde_json::json!(["jpy", "btc", "xxx"][rng.below(3) as usize])
                }
                _ => {
                    e.response.as_mut().unwrap().body.size = 50_000 + rng.below(5_000_000);
                }
            }
            e.request.body = Body::new(v.to_string());
            deviant_total += 1;
            if !n.see(e, t + i64::from(i) * 3000).is_empty() {
                hits += 1;
            }
        }
    }
    let fpr = fp_total as f64 / normal_total as f64;
    let recall = hits as f64 / deviant_total as f64;
    eprintln!(
        "baseline quality: false positive rate {fpr:.4} ({fp_total}/{normal_total}), detection rate {recall:.3} ({hits}/{deviant_total})"
    );
    assert!(fpr <= 0.01, "false positive rate {fpr}");
    assert!(recall >= 0.95, "detection rate {recall}");
}

#[test]
fn array_elements_are_reported_once() {
    let (mut n, _, t) = established(9);
    let f = n.see(
        ex(
            100,
            "POST",
            "/v1/charges",
            r#"{"amount":1,"currency":"usd","items":[{"sku":"a"},{"sku":"b"},{"sku":"c"}]}"#,
            200,
            300,
        ),
        t,
    );
    assert_eq!(
        rules(&f),
        vec![("baseline.unseen_parameter".into(), "body.items".into())]
    );
}
