//! Grouping from realistic finding sequences, as the actors analyser
//! produces them: actor-level findings before the campaign link, several
//! campaign ids for one botnet, a target incident and a campaign for the
//! same attack, unrelated attacks at the same time, merged keys that must
//! keep routing, and the bounds on what the engine remembers.

use palisade_core::{
    ActorRef, Exchange, Finding, Phase, RequestPart, ResponsePart, Severity, Verdict,
};
use palisade_incidents::{
    EngineConfig, EventKind, GroupKey, Incident, IncidentEngine, NoLookup, Status, TimelineKind,
};

const T0: i64 = 1_795_243_942_000;

struct Ex {
    ex: Exchange,
}

fn ex(n: u64, ts: i64, ip: &str, method: &str, target: &str, status: u16) -> Ex {
    Ex {
        ex: Exchange {
            id: format!("r{n}"),
            ts_ms: ts,
            client_ip: ip.parse().unwrap(),
            request: RequestPart {
                method: method.into(),
                target: target.into(),
                ..Default::default()
            },
            response: Some(ResponsePart {
                status,
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

impl Ex {
    fn actor(mut self, id: &str, campaign: Option<&str>) -> Self {
        self.ex.actor = Some(ActorRef {
            id: id.into(),
            name: format!("name-{id}"),
            risk: 60,
            campaign: campaign.map(str::to_string),
        });
        self
    }
    fn finding(mut self, f: Finding) -> Self {
        self.ex.findings.push(f);
        self
    }
    /// Stopped inline by the actor's (or its campaign's) decision.
    fn blocked(mut self) -> Self {
        self.ex.verdict = Verdict::block("actor decision");
        self.ex.enforced = true;
        self.ex.response = Some(ResponsePart {
            status: 403,
            ..Default::default()
        });
        self.ex.findings.push(
            Finding::new("actor", "actor.block", "actor")
                .severity(Severity::High)
                .phase(Phase::Abuse),
        );
        self
    }
}

/// A behavioural abuse finding, as the actors crate's detectors emit it.
fn abuse(kind: &str, rule: &str) -> Finding {
    Finding::new(kind, &format!("{kind}.{rule}"), "actor")
        .severity(Severity::High)
        .phase(Phase::Abuse)
}

fn sqli() -> Finding {
    Finding::new("sqli", "sqli.lexer", "query.q")
        .severity(Severity::Critical)
        .phase(Phase::Exploitation)
        .fragment("' OR 1=1--")
}

fn scanner_ua() -> Finding {
    Finding::new("scanner", "scanner.user_agent", "header.user-agent")
        .severity(Severity::High)
        .phase(Phase::Recon)
}

fn feed(eng: &mut IncidentEngine, e: Ex) -> Vec<palisade_incidents::IncidentEvent> {
    let ts = e.ex.ts_ms;
    let evs = eng.observe(&e.ex, &NoLookup, ts);
    assert_eq!(eng.check_invariants(), Ok(()));
    evs
}

/// The incident that holds request `id`'s group now (via its evidence or
/// its exchange count is not enough: find it by the incident the events of
/// that request named).
fn incident_of(evs: &[palisade_incidents::IncidentEvent]) -> Option<String> {
    evs.first().map(|e| e.incident_id.clone())
}

fn only(eng: &IncidentEngine) -> Incident {
    let all = eng.incidents();
    assert_eq!(
        all.len(),
        1,
        "{:#?}",
        all.iter()
            .map(|i| (&i.id, &i.key, &i.title))
            .collect::<Vec<_>>()
    );
    all.into_iter().next().unwrap()
}

fn card(n: u64, ts: i64, campaign: Option<&str>) -> Ex {
    ex(
        n,
        ts,
        &format!("127.11.0.{}", n % 250 + 1),
        "POST",
        "/api/v1/charges",
        402,
    )
    .actor(&format!("bot{n}"), campaign)
    .finding(abuse("card_testing", "campaign"))
}

#[test]
fn an_actor_seen_alone_is_absorbed_when_it_joins_a_campaign() {
    let mut eng = IncidentEngine::default();
    // bot0 floods the charges endpoint before the actors layer links it
    for i in 0..3 {
        feed(
            &mut eng,
            ex(
                i,
                T0 + i as i64 * 100,
                "127.11.0.1",
                "POST",
                "/api/v1/charges",
                402,
            )
            .actor("bot0", None)
            .finding(abuse("flood", "actor").severity(Severity::Medium)),
        );
    }
    let actor_inc = eng.incidents()[0].id.clone();
    assert_eq!(eng.incidents()[0].key, GroupKey::Actor("bot0".into()));
    // then the card-testing detector links it (and others) into campaign c1
    let evs = feed(
        &mut eng,
        card(0, T0 + 1_000, Some("c1")).actor("bot0", Some("c1")),
    );
    assert!(evs.iter().any(|e| e.kind == EventKind::Merged), "{evs:#?}");
    for n in 1..6 {
        feed(&mut eng, card(n, T0 + 1_000 + n as i64 * 50, Some("c1")));
    }
    let inc = only(&eng);
    assert_eq!(inc.key, GroupKey::Campaign("c1".into()));
    assert_eq!(inc.counts.exchanges, 9);
    assert!(inc.merged_from.contains(&actor_inc));
    assert!(inc.timeline.iter().any(|t| t.kind == TimelineKind::Merged));
    // the title says what the attack is, not the most frequent finding
    assert!(
        inc.title
            .starts_with("Card testing against POST /api/v1/charges by campaign c1"),
        "{}",
        inc.title
    );
    // later, bot0 is blocked without its campaign (the actors layer forgot
    // it): the merged actor key still routes to the campaign's incident
    feed(
        &mut eng,
        ex(50, T0 + 5_000, "127.11.0.1", "POST", "/api/v1/charges", 403)
            .actor("bot0", None)
            .blocked(),
    );
    let inc = only(&eng);
    assert_eq!(inc.counts.exchanges, 10);
    assert_eq!(inc.counts.blocked, 1);
    assert_eq!(inc.phase, Phase::Abuse);
}

#[test]
fn two_campaign_ids_for_one_botnet_are_one_incident() {
    let mut eng = IncidentEngine::default();
    for n in 0..5 {
        feed(&mut eng, card(n, T0 + n as i64 * 100, Some("c1")));
    }
    // the actors layer starts a second campaign for the same botnet
    let evs = feed(&mut eng, card(10, T0 + 2_000, Some("c2")));
    assert!(
        evs.iter()
            .any(|e| e.kind == EventKind::Merged && e.detail.contains("campaign c2 joined")),
        "{evs:#?}"
    );
    for n in 11..15 {
        feed(&mut eng, card(n, T0 + 2_000 + n as i64 * 10, Some("c2")));
    }
    // and blocks its members by campaign: decision findings only
    feed(
        &mut eng,
        ex(
            20,
            T0 + 3_000,
            "127.11.0.99",
            "POST",
            "/api/v1/charges",
            403,
        )
        .actor("bot20", Some("c2"))
        .blocked(),
    );
    let inc = only(&eng);
    assert_eq!(inc.key, GroupKey::Campaign("c1".into()));
    assert_eq!(inc.campaigns, vec!["c1".to_string(), "c2".to_string()]);
    assert_eq!(inc.counts.exchanges, 11);
    assert_eq!(inc.counts.actors, 11);
    assert!(inc.title.contains("and 1 linked campaign"), "{}", inc.title);
    assert!(inc.summary.contains("c2"), "{}", inc.summary);
    assert_eq!(inc.phases.len(), 1);
    assert!(inc.next_steps.iter().any(|s| s.action == "block_campaign"));
}

#[test]
fn incidents_of_one_attack_merge_and_merged_keys_keep_routing() {
    let mut eng = IncidentEngine::default();
    for n in 0..4 {
        feed(&mut eng, card(n, T0 + n as i64 * 100, Some("c1")));
    }
    // c2's first exchange is a block by campaign decision: nothing yet says
    // which attack it is, so it opens its own incident...
    let evs = feed(
        &mut eng,
        ex(
            10,
            T0 + 1_000,
            "127.11.0.50",
            "POST",
            "/api/v1/charges",
            403,
        )
        .actor("bot10", Some("c2"))
        .blocked(),
    );
    let c2_inc = incident_of(&evs).unwrap();
    assert_eq!(eng.incidents().len(), 2);
    // ...until its card testing shows: the two incidents merge
    let evs = feed(&mut eng, card(11, T0 + 1_100, Some("c2")));
    assert!(evs.iter().any(|e| e.kind == EventKind::Merged), "{evs:#?}");
    let inc = only(&eng);
    assert!(inc.merged_from.contains(&c2_inc));
    let survivor = inc.id.clone();
    // the merged group's key keeps routing to the survivor
    for n in 0..5 {
        let evs = feed(
            &mut eng,
            ex(
                20 + n,
                T0 + 2_000 + n as i64,
                "127.11.0.60",
                "POST",
                "/api/v1/charges",
                403,
            )
            .actor(&format!("bot{}", 20 + n), Some("c2"))
            .blocked(),
        );
        assert!(evs.iter().all(|e| e.incident_id == survivor), "{evs:#?}");
    }
    assert_eq!(only(&eng).counts.exchanges, 11);
    // and across a restart
    let mut back =
        IncidentEngine::from_snapshot(EngineConfig::default(), &eng.to_snapshot()).unwrap();
    feed(
        &mut back,
        ex(
            40,
            T0 + 3_000,
            "127.11.0.61",
            "POST",
            "/api/v1/charges",
            403,
        )
        .actor("bot40", Some("c2"))
        .blocked(),
    );
    assert_eq!(only(&back).counts.exchanges, 12);
    // once the incident is closed, the alias no longer routes: new activity
    // of the merged group is a new incident
    eng.set_status(
        &survivor,
        Status::Resolved,
        "alice",
        "blocked upstream",
        T0 + 4_000,
    )
    .unwrap();
    feed(&mut eng, card(60, T0 + 5_000, Some("c2")));
    let incs = eng.incidents();
    assert_eq!(incs.len(), 2);
    assert!(
        incs.iter()
            .any(|i| i.id != survivor && i.active && i.key == GroupKey::Campaign("c2".into()))
    );
}

#[test]
fn the_same_abuse_long_after_is_another_incident() {
    let cfg = EngineConfig::default();
    let gap = cfg.target_window_ms + 60_000;
    assert!(gap < cfg.quiet_after_ms);
    let mut eng = IncidentEngine::new(cfg);
    for n in 0..3 {
        feed(&mut eng, card(n, T0 + n as i64 * 100, Some("c1")));
    }
    // a new campaign on the same endpoint, but its window does not overlap
    // the first one's last activity
    feed(&mut eng, card(10, T0 + gap, Some("c9")));
    assert_eq!(eng.incidents().len(), 2);
}

#[test]
fn a_target_incident_and_a_campaign_for_the_same_attack_are_one() {
    let mut eng = IncidentEngine::default();
    // unlinked stuffers: failed logins during a surge
    for n in 0..10u64 {
        feed(
            &mut eng,
            ex(
                n,
                T0 + n as i64 * 200,
                &format!("127.12.0.{}", n + 1),
                "POST",
                "/api/v1/login",
                401,
            )
            .actor(&format!("s{n}"), None)
            .finding(abuse("credential_stuffing", "surge")),
        );
    }
    let inc = only(&eng);
    assert_eq!(inc.key, GroupKey::Target("POST /api/v1/login".into()));
    assert!(
        inc.title
            .starts_with("Credential stuffing against POST /api/v1/login by 10 unrelated actors"),
        "{}",
        inc.title
    );
    // then the actors layer links the rest of the botnet
    for n in 10..20u64 {
        feed(
            &mut eng,
            ex(
                n,
                T0 + 5_000 + n as i64 * 100,
                &format!("127.12.0.{}", n + 1),
                "POST",
                "/api/v1/login",
                401,
            )
            .actor(&format!("s{n}"), Some("cs1"))
            .finding(abuse("credential_stuffing", "campaign")),
        );
    }
    // an unlinked member blocked by its own risk, with nothing else said
    feed(
        &mut eng,
        ex(30, T0 + 9_000, "127.12.0.200", "POST", "/api/v1/login", 403)
            .actor("s30", None)
            .blocked(),
    );
    // and an early stuffer, now blocked
    feed(
        &mut eng,
        ex(31, T0 + 9_100, "127.12.0.1", "POST", "/api/v1/login", 403)
            .actor("s0", None)
            .blocked(),
    );
    let inc = only(&eng);
    assert_eq!(inc.key, GroupKey::Campaign("cs1".into()));
    assert_eq!(inc.counts.exchanges, 22);
    assert_eq!(inc.counts.actors, 21);
    assert_eq!(inc.phase, Phase::Abuse);
    assert!(
        inc.title
            .starts_with("Credential stuffing against POST /api/v1/login by campaign cs1"),
        "{}",
        inc.title
    );
    assert_eq!(inc.timeline[0].kind, TimelineKind::FirstSeen);
    assert!(
        inc.timeline
            .iter()
            .any(|t| t.text.contains("Grouped by campaign cs1"))
    );
    assert_eq!(
        inc.blast_radius.endpoints_targeted,
        vec!["POST /api/v1/login".to_string()]
    );
    assert_eq!(inc.blast_radius.requests_not_stopped, 20);
}

#[test]
fn a_scanner_and_card_testing_at_the_same_time_stay_two_incidents() {
    let mut eng = IncidentEngine::default();
    let scan = [
        ("GET", "/api/v1/search?q=%27%20OR%201%3D1--"),
        ("POST", "/api/v1/charges?q=%27%20OR%201%3D1--"),
        ("GET", "/api/v1/products?q=%27%20OR%201%3D1--"),
    ];
    for n in 0..30u64 {
        feed(&mut eng, card(n, T0 + n as i64 * 100, Some("c1")));
        // two scanners of one network, one probing paths, one injecting,
        // also into the endpoint the card testers use
        let (m, t) = scan[n as usize % scan.len()];
        feed(
            &mut eng,
            ex(1000 + n, T0 + n as i64 * 100 + 10, "127.14.0.2", m, t, 400)
                .actor("sqlmap", None)
                .finding(scanner_ua())
                .finding(sqli()),
        );
        feed(
            &mut eng,
            ex(
                2000 + n,
                T0 + n as i64 * 100 + 20,
                "127.14.0.1",
                "GET",
                &format!("/.env{n}"),
                404,
            )
            .actor("nikto", None)
            .finding(scanner_ua()),
        );
        // once blocked, the scanners' requests carry only decisions
        if n > 20 {
            feed(
                &mut eng,
                ex(
                    3000 + n,
                    T0 + n as i64 * 100 + 30,
                    "127.14.0.2",
                    "POST",
                    "/api/v1/charges",
                    403,
                )
                .actor("sqlmap", None)
                .blocked(),
            );
        }
    }
    // a scanner of another network is another incident
    feed(
        &mut eng,
        ex(9000, T0 + 4_000, "198.51.100.7", "GET", "/admin", 404)
            .actor("other", None)
            .finding(scanner_ua()),
    );
    let incs = eng.incidents();
    assert_eq!(
        incs.len(),
        3,
        "{:#?}",
        incs.iter().map(|i| &i.title).collect::<Vec<_>>()
    );
    let cards = incs
        .iter()
        .find(|i| i.key == GroupKey::Campaign("c1".into()))
        .unwrap();
    assert_eq!(cards.counts.exchanges, 30);
    assert!(
        cards
            .ips
            .iter()
            .all(|ip| ip.to_string().starts_with("127.11."))
    );
    assert!(cards.kinds.iter().all(|k| k.kind == "card_testing"));
    let scan = incs
        .iter()
        .find(|i| i.key == GroupKey::Network("127.14.0.0/24".into()))
        .unwrap();
    assert_eq!(scan.counts.actors, 2);
    assert_eq!(scan.counts.exchanges, 69);
    assert!(
        scan.title
            .starts_with("Scan with SQL injection attempts against"),
        "{}",
        scan.title
    );
    // recon then exploitation: blocked requests do not make a scan "abuse"
    assert_eq!(scan.phase, Phase::Exploitation);
    let phases: Vec<Phase> = scan.phases.iter().map(|p| p.phase).collect();
    assert_eq!(phases, vec![Phase::Recon, Phase::Exploitation]);
    assert!(
        scan.timeline
            .iter()
            .any(|t| t.kind == TimelineKind::PhaseEscalation)
    );
    assert!(
        scan.summary.contains("exploitation phase"),
        "{}",
        scan.summary
    );
    let other = incs
        .iter()
        .find(|i| i.key == GroupKey::Actor("other".into()))
        .unwrap();
    assert_eq!(other.phase, Phase::Recon);
}

#[test]
fn customers_make_no_incident() {
    let mut eng = IncidentEngine::default();
    for n in 0..200u64 {
        let e = ex(
            n,
            T0 + n as i64 * 10,
            &format!("127.10.0.{}", n % 20 + 1),
            "POST",
            "/api/v1/charges",
            200,
        )
        .actor(&format!("cust{}", n % 20), None);
        feed(&mut eng, e);
    }
    assert!(eng.incidents().is_empty());
    assert_eq!(eng.stats().ignored, 200);
}

#[test]
fn what_the_engine_remembers_is_bounded() {
    let cfg = EngineConfig {
        max_aliases: 8,
        max_targets: 4,
        ..EngineConfig::default()
    };
    let mut eng = IncidentEngine::new(cfg);
    // 100 unlinked stuffers joining one attack: one alias each, bounded
    for n in 0..100u64 {
        feed(
            &mut eng,
            ex(
                n,
                T0 + n as i64 * 10,
                &format!("127.12.{}.{}", n / 200, n % 200 + 1),
                "POST",
                "/api/v1/login",
                401,
            )
            .actor(&format!("s{n}"), None)
            .finding(abuse("credential_stuffing", "surge")),
        );
        assert!(eng.stats().aliases <= 8);
    }
    let inc = only(&eng);
    assert_eq!(inc.counts.actors, 100);
    // the latest joiners still route by alias: a decision-only request of
    // the last one lands in the attack's incident, on another endpoint too
    feed(
        &mut eng,
        ex(
            500,
            T0 + 2_000,
            "127.12.0.100",
            "GET",
            "/api/v1/accounts/1",
            403,
        )
        .actor("s99", None)
        .blocked(),
    );
    assert_eq!(only(&eng).counts.exchanges, 101);
    // many attacks at once: the attack index is bounded too
    for n in 0..50u64 {
        feed(
            &mut eng,
            ex(
                1000 + n,
                T0 + 3_000 + n as i64,
                "127.13.0.1",
                "GET",
                &format!("/api/v{n}/x"),
                200,
            )
            .actor(&format!("f{n}"), None)
            .finding(abuse("flood", "actor")),
        );
        assert!(eng.stats().attacks <= 4);
        assert!(eng.stats().aliases <= 8);
    }
}

#[test]
fn a_stuffing_campaign_reading_accounts_is_not_the_enumeration() {
    let mut eng = IncidentEngine::default();
    for n in 0..10u64 {
        feed(
            &mut eng,
            ex(
                n,
                T0 + n as i64 * 100,
                &format!("127.12.0.{}", n + 1),
                "POST",
                "/api/v1/login",
                401,
            )
            .actor(&format!("s{n}"), Some("cs1"))
            .finding(abuse("credential_stuffing", "campaign")),
        );
    }
    // one enumerator walks account ids with its token
    for n in 0..5u64 {
        feed(
            &mut eng,
            ex(
                100 + n,
                T0 + 2_000 + n as i64 * 100,
                "127.13.0.1",
                "GET",
                &format!("/api/v1/accounts/{}", 10_000 + n),
                200,
            )
            .actor("walker", None)
            .finding(abuse("enumeration", "actor")),
        );
    }
    // stuffers that got in read the accounts, and are flagged for it too
    for n in 0..3u64 {
        feed(
            &mut eng,
            ex(
                200 + n,
                T0 + 3_000 + n as i64 * 100,
                &format!("127.12.0.{}", n + 1),
                "GET",
                &format!("/api/v1/accounts/{}", 20_000 + n),
                200,
            )
            .actor(&format!("s{n}"), Some("cs1"))
            .finding(abuse("enumeration", "campaign")),
        );
    }
    let incs = eng.incidents();
    assert_eq!(
        incs.len(),
        2,
        "{:#?}",
        incs.iter().map(|i| &i.title).collect::<Vec<_>>()
    );
    let stuffing = incs
        .iter()
        .find(|i| i.key == GroupKey::Campaign("cs1".into()))
        .unwrap();
    assert_eq!(stuffing.counts.exchanges, 13);
    assert!(
        stuffing.title.starts_with("Credential stuffing against"),
        "{}",
        stuffing.title
    );
    let walker = incs
        .iter()
        .find(|i| i.key == GroupKey::Actor("walker".into()))
        .unwrap();
    assert_eq!(walker.counts.exchanges, 5);
    assert!(
        walker
            .title
            .starts_with("Enumeration against GET /api/v1/accounts/{id}"),
        "{}",
        walker.title
    );
}

#[test]
fn a_request_that_started_first_but_arrived_late_is_the_first_seen() {
    let mut eng = IncidentEngine::default();
    // the injecting scanner's request finished first...
    feed(
        &mut eng,
        ex(
            2,
            T0 + 11,
            "127.14.0.2",
            "GET",
            "/api/v1/search?q=%27%20OR%201%3D1--",
            403,
        )
        .actor("sqlmap", None)
        .finding(scanner_ua())
        .finding(sqli()),
    );
    // ...the path prober's, started 11 ms earlier, reaches analysis after it
    let late = ex(1, T0, "127.14.0.1", "GET", "/.env", 404)
        .actor("nikto", None)
        .finding(scanner_ua())
        .finding(
            Finding::new("traversal", "traversal.file", "path")
                .severity(Severity::High)
                .phase(Phase::Exploitation),
        );
    let ts = late.ex.ts_ms;
    eng.observe(&late.ex, &NoLookup, ts + 20);
    assert_eq!(eng.check_invariants(), Ok(()));
    let inc = only(&eng);
    assert_eq!(inc.opened_ms, T0);
    assert_eq!(inc.timeline[0].kind, TimelineKind::FirstSeen);
    assert_eq!(inc.timeline[0].ts_ms, T0);
    assert_eq!(inc.timeline[0].request_id.as_deref(), Some("r1"));
    assert!(
        inc.timeline[0].text.contains("127.14.0.1"),
        "{}",
        inc.timeline[0].text
    );
    assert!(inc.timeline.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
    let first: Vec<&str> = inc
        .evidence
        .iter()
        .filter(|e| e.first)
        .map(|e| e.request_id.as_str())
        .collect();
    assert_eq!(first, vec!["r1"]);
    assert_eq!(inc.evidence[0].request_id, "r1");
}
