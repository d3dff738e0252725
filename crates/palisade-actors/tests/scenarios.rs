//! Behaviour scenarios built as sequences of exchanges: attacks that rotate
//! IPs (data-driven from testdata/attacks.json through one `check` helper) and
//! the honest traffic that must never be blocked or merged.

mod common;

use std::collections::HashSet;

use common::{Client, DECLINED, Sim, card, respond};
use palisade_actors::{ActorsConfig, Level};
use palisade_core::{Finding, Phase, Severity, Verdict};
use serde_json::Value;

fn ip_of(i: usize) -> String {
    format!(
        "198.{}.{}.{}",
        18 + (i / 60000),
        (i / 250) % 250 + 1,
        i % 250 + 1
    )
}

/// Plays one attack vector and checks it is linked and stopped early.
fn check(v: &Value) {
    let name = v["name"].as_str().unwrap();
    let attack = v["attack"].as_str().unwrap();
    let ips = v["ips"].as_u64().unwrap() as usize;
    let per_ip = v["per_ip"].as_u64().unwrap() as usize;
    let max_forwarded = v["max_forwarded"].as_u64().unwrap() as usize;
    let mut sim = Sim::default_config();
    let mut kinds = HashSet::new();
    let mut n = 0usize;
    for i in 0..ips {
        let c = Client::bot(&ip_of(i));
        for _ in 0..per_ip {
            n += 1;
            let step = match attack {
                "card_testing" => {
                    let num = card([411111, 542418, 400022, 520082][n % 4], 1000 + n as u64);
                    let declined = !n.is_multiple_of(10);
                    sim.send(c.charge(&num, 1 + (n % 3) as u64), 60, |e| {
                        if declined {
                            respond(e, 402, DECLINED)
                        } else {
                            respond(e, 200, r#"{"status":"succeeded"}"#)
                        }
                    })
                }
                "credential_stuffing" => {
                    let ok = n.is_multiple_of(50);
                    sim.send(
                        c.login(&format!("user{n}@mail.example"), "hunter2"),
                        60,
                        |e| {
                            if ok {
                                respond(e, 200, "{}")
                            } else {
                                respond(e, 401, r#"{"error":"invalid credentials"}"#)
                            }
                        },
                    )
                }
                "enumeration" => {
                    let status = if n.is_multiple_of(7) {
                        200
                    } else if n.is_multiple_of(3) {
                        404
                    } else {
                        403
                    };
                    sim.send(
                        c.request("GET", &format!("/api/v1/accounts/{}", 10_000 + n), ""),
                        60,
                        |e| respond(e, status, "{}"),
                    )
                }
                "scanning" => {
                    let paths = [
                        "/.env",
                        "/.git/config",
                        "/wp-admin/",
                        "/phpmyadmin/",
                        "/admin.php",
                        "/backup.sql",
                    ];
                    let target = if n.is_multiple_of(2) {
                        paths[n / 2 % paths.len()].to_string()
                    } else {
                        format!("/api/v{n}/x")
                    };
                    sim.send(c.request("GET", &target, ""), 60, |e| respond(e, 404, ""))
                }
                "flood" => sim.send(c.request("GET", "/api/v1/products", ""), 5, |e| {
                    respond(e, 200, "[]")
                }),
                "scraping" => sim.send(
                    c.request("GET", &format!("/api/v1/products/{}", 5000 + n), ""),
                    200,
                    |e| respond(e, 200, "{}"),
                ),
                other => panic!("{name}: unknown attack {other}"),
            };
            for f in &step.obs.findings {
                kinds.insert(f.kind.clone());
            }
        }
    }
    eprintln!("{name}: {} of {n} attack requests forwarded", sim.forwarded);
    assert!(
        sim.forwarded <= max_forwarded,
        "{name}: {} of {n} attack requests reached the upstream (max {max_forwarded})",
        sim.forwarded
    );
    assert!(!kinds.is_empty(), "{name}: no abuse finding");
    if let Some(k) = v["finding_kind"].as_str() {
        assert!(kinds.contains(k), "{name}: no {k} finding in {kinds:?}");
    }
    match v["campaign_kind"].as_str() {
        Some(kind) => {
            let camps = sim.tracker.campaigns(sim.now);
            let c = camps
                .iter()
                .find(|c| c.kind == kind)
                .unwrap_or_else(|| panic!("{name}: no {kind} campaign in {camps:?}"));
            assert!(
                c.member_count >= 3,
                "{name}: campaign has {} members",
                c.member_count
            );
            assert!(
                c.fingerprint_blocked,
                "{name}: campaign not blocked by its fingerprint"
            );
            // a fresh IP of the same botnet is stopped before its first request
            let fresh = Client::bot("192.0.2.250");
            let probe = match attack {
                "card_testing" => fresh.charge(&card(411111, 9), 1),
                "credential_stuffing" => fresh.login("new@mail.example", "x"),
                _ => fresh.request("GET", "/api/v1/accounts/1", ""),
            };
            let d = sim
                .decide(&probe)
                .unwrap_or_else(|| panic!("{name}: a fresh botnet IP is not stopped"));
            assert!(matches!(d.verdict, Verdict::Block { .. }), "{name}: {d:?}");
            assert!(d.campaign_id.is_some(), "{name}: {d:?}");
        }
        None => {
            let top = &sim.tracker.actors(sim.now)[0];
            let min_level = match v["min_level"].as_str().unwrap_or("block") {
                "rate_limit" => Level::RateLimit,
                _ => Level::Block,
            };
            assert!(top.level >= min_level, "{name}: {top:?}");
            assert_eq!(sim.tracker.len(), 1, "{name}: one IP, one actor");
        }
    }
}

#[test]
fn attack_vectors() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/attacks.json"
    ))
    .unwrap();
    let vectors: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(vectors.len() >= 6);
    for v in &vectors {
        check(v);
    }
}

/// 50 customers behind one office NAT IP (same /24), each with a session and
/// their own browser, some with a declined card, interleaved with a card
/// tester on the same IP: the tester is blocked, no customer ever is, and no
/// two customers share an actor.
#[test]
fn honest_customers_behind_one_nat_are_never_blocked_or_merged() {
    let mut sim = Sim::default_config();
    let nat = "203.0.113.10";
    let customers: Vec<Client> = (0..50)
        .map(|i| Client::browser(nat, i).with_session(&format!("sess-{i:04}")))
        .collect();
    let bot = Client::bot(nat);
    let mut customer_actors = HashSet::new();
    let mut bot_stopped = 0;
    for round in 0..6 {
        for (i, c) in customers.iter().enumerate() {
            let step = match round {
                0 => sim.send(c.request("GET", "/api/v1/products", ""), 20, |e| {
                    respond(e, 200, "[]")
                }),
                1 => sim.send(
                    c.login(&format!("customer{i}@mail.example"), "pw"),
                    20,
                    |e| respond(e, 200, "{}"),
                ),
                2 | 3 => {
                    // every fifth customer's first card is declined; they retry
                    let declined = round == 2 && i.is_multiple_of(5);
                    let serial = if round == 3 && i.is_multiple_of(5) {
                        500 + i as u64
                    } else {
                        i as u64
                    };
                    sim.send(c.charge(&card(424242, serial), 2599), 20, |e| {
                        if declined {
                            respond(e, 402, DECLINED)
                        } else {
                            respond(e, 200, "{}")
                        }
                    })
                }
                4 => sim.send(
                    c.request("GET", &format!("/api/v1/accounts/{}", 7000 + i), ""),
                    20,
                    |e| respond(e, 200, "{}"),
                ),
                _ => sim.send(
                    c.request("POST", "/api/v1/orders", r#"{"sku":"a1","qty":1}"#),
                    20,
                    |e| respond(e, 201, "{}"),
                ),
            };
            assert!(
                step.decision.is_none(),
                "customer {i} got {:?}",
                step.decision
            );
            customer_actors.insert(step.obs.actor_id);
            // the card tester on the same NAT IP
            let s = sim.send(
                bot.charge(&card(400022, (round * 50 + i) as u64), 1),
                20,
                |e| respond(e, 402, DECLINED),
            );
            if s.decision.as_ref().is_some_and(|d| d.verdict.is_stop()) {
                bot_stopped += 1;
            }
        }
    }
    assert_eq!(customer_actors.len(), 50, "customers were merged");
    assert!(
        bot_stopped >= 250,
        "the card tester behind the NAT was stopped only {bot_stopped} times"
    );
    for c in &customers {
        assert!(
            sim.decide(&c.request("GET", "/api/v1/products", ""))
                .is_none()
        );
    }
    let views = sim.tracker.actors(sim.now);
    let honest_max = views
        .iter()
        .filter(|v| v.ua_family.as_deref() == Some("chrome"))
        .map(|v| v.risk)
        .max()
        .unwrap();
    assert!(
        honest_max < 25,
        "an honest customer reached risk {honest_max}"
    );
    assert!(
        sim.tracker
            .campaigns(sim.now)
            .iter()
            .all(|c| c.members.iter().all(|m| !customer_actors.contains(m)))
    );
}

/// Real shoppers share popular browser fingerprints; their normal decline
/// rate must not turn the shared fingerprint into a campaign.
#[test]
fn shoppers_sharing_one_popular_fingerprint_are_not_a_campaign() {
    let mut sim = Sim::default_config();
    for i in 0..300usize {
        let c = Client::browser(&ip_of(i * 7), 3).with_session(&format!("s{i}"));
        let declined = i.is_multiple_of(6); // a high but honest decline rate
        let s = sim.send(
            c.charge(&card(455600 + (i % 40) as u32, i as u64), 1500 + i as u64),
            200,
            |e| {
                if declined {
                    respond(e, 402, DECLINED)
                } else {
                    respond(e, 200, "{}")
                }
            },
        );
        assert!(s.decision.is_none(), "shopper {i}: {:?}", s.decision);
        if declined {
            // retry with another card, which works
            let s = sim.send(c.charge(&card(455600, 90_000 + i as u64), 1500), 200, |e| {
                respond(e, 200, "{}")
            });
            assert!(s.decision.is_none());
            assert!(s.obs.findings.is_empty(), "{:?}", s.obs.findings);
        }
    }
    assert!(sim.tracker.campaigns(sim.now).is_empty());
}

#[test]
fn mobile_customer_changing_ip_keeps_one_actor() {
    let mut sim = Sim::default_config();
    let phone = Client::browser("100.64.1.10", 9).with_session("mobile-session-1");
    let mut ids = HashSet::new();
    for (i, ip) in [
        "100.64.1.10",
        "100.70.9.3",
        "10.20.30.40",
        "172.16.5.5",
        "2001:db8:1:2::77",
    ]
    .iter()
    .enumerate()
    {
        let s = sim.send(
            phone.at(ip).request("GET", "/api/v1/products", ""),
            30_000,
            |e| respond(e, 200, "[]"),
        );
        ids.insert(s.obs.actor_id);
        let s = sim.send(
            phone.at(ip).charge(&card(424242, 42), 1999 + i as u64),
            1000,
            |e| respond(e, 200, "{}"),
        );
        ids.insert(s.obs.actor_id);
    }
    assert_eq!(ids.len(), 1, "the session should keep one actor");
    let id = *ids.iter().next().unwrap();
    let view = sim.tracker.actor(id, sim.now).unwrap();
    assert_eq!(view.ips.len(), 4);
    assert_eq!(view.requests, 10);
    assert_eq!(view.strong_keys, 1);
    assert!(view.name.contains('-'));
}

#[test]
fn allowlist_wins_over_everything() {
    let cfg = ActorsConfig {
        allowlist: vec!["198.51.100.0/24".into(), "token=partner-sync-token".into()],
        ..Default::default()
    };
    let mut sim = Sim::new(cfg);
    let tester = Client::bot("198.51.100.20");
    for n in 0..100u64 {
        let s = sim.send(tester.charge(&card(411111, n), 1), 50, |e| {
            respond(e, 402, DECLINED)
        });
        assert!(s.obs.allowlisted);
        assert!(
            s.decision
                .as_ref()
                .is_none_or(|d| d.verdict == Verdict::Allow)
        );
    }
    let mut partner = Client::bot("192.0.2.99");
    partner.token = Some("partner-sync-token".into());
    for n in 0..400u64 {
        let s = sim.send(
            partner.request("GET", &format!("/api/v1/accounts/{n}"), ""),
            10,
            |e| respond(e, 404, "{}"),
        );
        assert!(s.obs.allowlisted && s.obs.findings.is_empty());
    }
    assert_eq!(sim.tracker.len(), 0);
    let d = sim.decide(&tester.charge(&card(411111, 1), 1)).unwrap();
    assert_eq!(d.verdict, Verdict::Allow);
    // a blocked actor that later appears with an allowlisted token is allowed
    let mut sim2 = Sim::new(ActorsConfig {
        allowlist: vec!["token=partner-sync-token".into()],
        ..Default::default()
    });
    let mut bad = Client::bot("192.0.2.5");
    for n in 0..30u64 {
        sim2.send(bad.charge(&card(411111, n), 1), 50, |e| {
            respond(e, 402, DECLINED)
        });
    }
    sim2.publish();
    assert!(
        sim2.decide(&bad.request("GET", "/", ""))
            .is_some_and(|d| d.verdict.is_stop())
    );
    bad.token = Some("partner-sync-token".into());
    assert_eq!(
        sim2.decide(&bad.request("GET", "/", "")).unwrap().verdict,
        Verdict::Allow
    );
}

fn sqli_finding() -> Finding {
    Finding::new("sqli", "sqli.lexer", "query.q")
        .severity(Severity::High)
        .phase(Phase::Exploitation)
        .confidence(90)
        .score(5)
}

#[test]
fn risk_decays_over_time() {
    let mut sim = Sim::default_config();
    let c = Client::bot("192.0.2.44");
    let mut ex = c.request("GET", "/api/v1/products?q=1%27%20or%201=1--", "");
    ex.findings.push(sqli_finding());
    let s = sim.send(ex.clone(), 10, |e| respond(e, 200, "[]"));
    let r1 = s.obs.risk;
    assert!(r1 > 20 && r1 < 80, "{r1}");
    assert_eq!(s.obs.phase, Some(Phase::Exploitation));
    let s = sim.send(ex, 10, |e| respond(e, 200, "[]"));
    let r2 = s.obs.risk;
    assert!(r2 > r1);
    sim.publish();
    assert!(matches!(
        sim.decide(&c.request("GET", "/", "")).unwrap().verdict,
        Verdict::RateLimit { .. } | Verdict::Tarpit { .. }
    ));
    let hl = sim.tracker.config().half_life_secs as i64 * 1000;
    sim.now += hl;
    let v = sim.tracker.actor(s.obs.actor_id, sim.now).unwrap();
    assert!(v.risk.abs_diff(r2 / 2) <= 1, "{} vs {}", v.risk, r2);
    sim.now += 10 * hl;
    assert_eq!(sim.tracker.actor(s.obs.actor_id, sim.now).unwrap().risk, 0);
    // the rate limit has lapsed without a new snapshot (it carries its own end)
    assert!(sim.decide(&c.request("GET", "/", "")).is_none());
    sim.publish();
    assert!(sim.snap.is_empty());
    assert!(
        sim.tracker
            .actor(s.obs.actor_id, sim.now)
            .unwrap()
            .risk_history
            .len()
            >= 2
    );
}

#[test]
fn deny_after_repeated_blocks() {
    let mut sim = Sim::default_config();
    let c = Client::bot("192.0.2.66");
    let block_ms = sim.tracker.config().responses.block_secs as i64 * 1000;
    let mut levels = Vec::new();
    for round in 0..3 {
        for _ in 0..4 {
            let mut ex = c.request("GET", "/api/v1/products?q=x", "");
            ex.findings.push(sqli_finding());
            sim.send(ex, 100, |e| respond(e, 200, "[]"));
        }
        sim.publish();
        let d = sim.decide(&c.request("GET", "/", "")).unwrap();
        assert!(
            matches!(d.verdict, Verdict::Block { status: 403, .. }),
            "round {round}: {d:?}"
        );
        let v = &sim.tracker.actors(sim.now)[0];
        levels.push((v.level, v.blocks, d.until_ms - sim.now));
        sim.now += block_ms + 1000;
    }
    assert_eq!(levels[0].0, Level::Block);
    assert_eq!(levels[1].0, Level::Block);
    assert_eq!(levels[2].0, Level::Deny);
    assert_eq!((levels[0].1, levels[1].1, levels[2].1), (1, 2, 3));
    assert!(levels[2].2 > levels[0].2 * 10, "{levels:?}");
}

#[test]
fn eviction_keeps_memory_bounded_and_keeps_blocked_actors() {
    let mut sim = Sim::new(ActorsConfig {
        max_actors: 1000,
        ..Default::default()
    });
    let attacker = Client::bot("192.0.2.7");
    for _ in 0..4 {
        let mut ex = attacker.request("GET", "/?q=x", "");
        ex.findings.push(sqli_finding());
        sim.send(ex, 10, |e| respond(e, 200, "{}"));
    }
    sim.publish();
    assert!(sim.decide(&attacker.request("GET", "/", "")).is_some());
    for i in 0..5000usize {
        let c = Client::browser(&ip_of(i + 10), i % 7);
        sim.send(c.request("GET", "/api/v1/products", ""), 10, |e| {
            respond(e, 200, "[]")
        });
        assert!(sim.tracker.len() <= 1000);
    }
    sim.publish();
    assert!(
        sim.decide(&attacker.request("GET", "/", ""))
            .is_some_and(|d| d.verdict.is_stop())
    );
}

#[test]
fn config_errors_are_all_reported() {
    let bad = ActorsConfig {
        max_actors: 0,
        allowlist: vec!["not-an-ip".into(), "token:xyz".into(), "10.0.0.0/8".into()],
        responses: palisade_actors::ResponseConfig {
            rate_limit_at: 90,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = bad
        .build(palisade_core::KeyedHasher::insecure_for_tests())
        .unwrap_err()
        .to_string();
    for needle in ["max_actors", "not-an-ip", "token:xyz", "rate_limit_at = 90"] {
        assert!(err.contains(needle), "missing {needle} in {err}");
    }
    assert!(!err.contains("10.0.0.0/8"));
    let toml_cfg: ActorsConfig = toml::from_str("max_actors = 10\n[responses]\nblock_at = 90\n[detectors.card_testing]\nactor_min_cards = 6\n").unwrap();
    assert_eq!(toml_cfg.detectors.card_testing.actor_min_cards, 6);
    assert!(toml::from_str::<ActorsConfig>("bogus = 1").is_err());
}

#[test]
fn no_card_number_or_secret_leaves_the_tracker() {
    let mut sim = Sim::default_config();
    let mut c = Client::bot("192.0.2.77").with_session("very-secret-session-value");
    c.token = Some("sk_live_supersecretvalue".into());
    let numbers: Vec<String> = (0..30).map(|n| card(411111, 777 + n)).collect();
    let mut out = String::new();
    for num in &numbers {
        let s = sim.send(c.charge(num, 1), 50, |e| respond(e, 402, DECLINED));
        out.push_str(&format!("{:?}", s.obs));
        out.push_str(&serde_json::to_string(&s.obs.findings).unwrap());
    }
    let s = sim.send(c.login("victim@mail.example", "Pa55word!"), 50, |e| {
        respond(e, 401, "{}")
    });
    out.push_str(&format!("{:?}", s.obs));
    out.push_str(&serde_json::to_string(&sim.tracker.actors(sim.now)).unwrap());
    out.push_str(&serde_json::to_string(&sim.tracker.campaigns(sim.now)).unwrap());
    sim.publish();
    out.push_str(&format!("{:?}", sim.snap));
    assert!(out.contains("card_testing"));
    for secret in numbers.iter().map(String::as_str).chain([
        "very-secret-session-value",
        "sk_live_supersecretvalue",
        "Pa55word!",
        "victim@mail.example",
    ]) {
        assert!(!out.contains(secret), "{secret} leaked");
    }
}

#[test]
fn request_keys_cover_every_identifier_hashed() {
    let sim = Sim::default_config();
    let mut c = Client::browser("2001:db8:7:8::1", 1).with_session("abc");
    c.token = Some("tok-1".into());
    let mut ex = c.request("GET", "/api/v1/products", "");
    ex.request
        .headers
        .push(("X-Api-Key".into(), "key-1".into()));
    ex.request
        .headers
        .push(("X-Device-Id".into(), "dev-1".into()));
    let keys = palisade_actors::request_keys(&ex, &sim.hasher);
    let kinds: Vec<&str> = keys.iter().map(|k| k.kind()).collect();
    for k in [
        "ip", "net", "ja4", "ja4h", "ua", "session", "token", "api_key", "device",
    ] {
        assert!(kinds.contains(&k), "missing {k} in {kinds:?}");
    }
    assert!(
        keys.iter()
            .any(|k| k.to_string() == "net:2001:db8:7:8::/64")
    );
    let dump = format!("{keys:?}");
    for raw in ["abc", "tok-1", "key-1", "dev-1"] {
        assert!(!dump.contains(&format!("\"{raw}\"")), "{raw} in {dump}");
    }
    // same values, same keys: the gateway and analysis agree
    assert_eq!(keys, palisade_actors::request_keys(&ex, &sim.hasher));
}

/// A card-testing botnet that rides the exact fingerprint of a popular
/// browser, mixed with honest shoppers on that same fingerprint: the shoppers
/// are never stopped nor pulled into the campaign (the fingerprint is not
/// rare); the bots are stopped one by one once each has shown its own
/// declines.
#[test]
fn botnet_on_a_popular_fingerprint_never_drags_in_its_shoppers() {
    let mut sim = Sim::default_config();
    let mut honest = HashSet::new();
    let mut bot_stopped = 0;
    let mut bot_total = 0;
    for i in 0..200usize {
        let shopper = Client::browser(&ip_of(10_000 + i), 3).with_session(&format!("shop-{i}"));
        let s = sim.send(shopper.request("GET", "/api/v1/products", ""), 300, |e| {
            respond(e, 200, "[]")
        });
        assert!(s.decision.is_none(), "shopper {i}: {:?}", s.decision);
        let declined = i.is_multiple_of(6);
        let s = sim.send(shopper.charge(&card(455600, i as u64), 2500), 300, |e| {
            if declined {
                respond(e, 402, DECLINED)
            } else {
                respond(e, 200, "{}")
            }
        });
        assert!(s.decision.is_none(), "shopper {i}: {:?}", s.decision);
        honest.insert(s.obs.actor_id);
        if i < 150 {
            let bot = Client::browser(&ip_of(40_000 + i), 3);
            for k in 0..4u64 {
                bot_total += 1;
                let s = sim.send(bot.charge(&card(400022, i as u64 * 10 + k), 1), 300, |e| {
                    respond(e, 402, DECLINED)
                });
                if s.decision.as_ref().is_some_and(|d| d.verdict.is_stop()) {
                    bot_stopped += 1;
                }
            }
        }
    }
    for c in sim.tracker.campaigns(sim.now) {
        assert!(!c.fingerprint_blocked, "{c:?}");
        assert!(
            c.members.iter().all(|m| !honest.contains(m)),
            "an honest shopper joined {c:?}"
        );
    }
    for v in sim
        .tracker
        .actors(sim.now)
        .iter()
        .filter(|v| honest.contains(&v.id))
    {
        assert!(v.level <= Level::None, "{v:?}");
    }
    eprintln!("bots stopped: {bot_stopped} of {bot_total}");
    // each bot IP gets about three attempts before its own block (the price of never
    // blocking the shoppers by fingerprint)
    assert!(
        bot_stopped * 5 >= bot_total,
        "only {bot_stopped} of {bot_total} bot attempts stopped"
    );
}

#[test]
fn watch_only_publishes_no_decision_but_keeps_scoring() {
    use palisade_core::{Exchange, Finding, Phase, RequestPart, Severity};
    let cfg = palisade_actors::ActorsConfig {
        enforce: false,
        ..Default::default()
    };
    let mut t = cfg
        .build(palisade_core::KeyedHasher::insecure_for_tests())
        .unwrap();
    let mut last_risk = 0;
    for i in 0..20 {
        let ex = Exchange {
            id: format!("r{i}"),
            ts_ms: 1_000_000 + i,
            client_ip: "198.51.100.9".parse().unwrap(),
            request: RequestPart {
                target: format!("/q?x={i}"),
                ..Default::default()
            },
            findings: vec![
                Finding::new("sqli", "sqli.lexer", "query.x")
                    .score(10)
                    .severity(Severity::High)
                    .phase(Phase::Exploitation),
            ],
            ..Default::default()
        };
        last_risk = t.observe(&ex, 1_000_000 + i).risk;
    }
    assert!(last_risk >= 80, "risk still accumulates: {last_risk}");
    let snap = t.snapshot(1_000_100);
    let keys = palisade_actors::request_keys(
        &Exchange {
            client_ip: "198.51.100.9".parse().unwrap(),
            ..Default::default()
        },
        &palisade_core::KeyedHasher::insecure_for_tests(),
    );
    assert!(
        snap.decide(&keys, 1_000_100).is_none(),
        "watch-only must not publish decisions"
    );
}
