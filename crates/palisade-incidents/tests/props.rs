//! Properties over arbitrary input: observing never panics, memory stays
//! within the configured bounds, and snapshots round-trip.

use palisade_core::{ActorRef, Exchange, Finding, Phase, Severity, Verdict};
use palisade_incidents::{EngineConfig, IncidentEngine, NoLookup, Status};
use proptest::prelude::*;

fn phase(i: u8) -> Phase {
    [
        Phase::Recon,
        Phase::Probing,
        Phase::Exploitation,
        Phase::Abuse,
    ][usize::from(i % 4)]
}
fn severity(i: u8) -> Severity {
    [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ][usize::from(i % 5)]
}

prop_compose! {
    fn exchange()(
        ts in 0i64..10_000_000,
        ip in 0u8..40,
        method in "[A-Z]{1,8}|\\PC{0,20}",
        target in "/[a-z0-9/%'{}.-]{0,40}|\\PC{0,60}",
        status in prop::option::of(100u16..600),
        actor in prop::option::of((0u8..30, prop::option::of(0u8..3), "\\PC{0,12}")),
        findings in prop::collection::vec(("[a-z_]{1,12}|actor|tag", "\\PC{0,16}", "actor|query\\.q|\\PC{0,10}", 0u8..5, 0u8..4), 0..4),
        stop in 0u8..4,
    ) -> Exchange {
        Exchange {
            id: format!("r{ts}"),
            ts_ms: ts,
            client_ip: format!("10.0.0.{ip}").parse().unwrap(),
            request: palisade_core::RequestPart { method, target, ..Default::default() },
            response: status.map(|s| palisade_core::ResponsePart { status: s, ..Default::default() }),
            findings: findings
                .into_iter()
                .map(|(k, r, l, s, p)| Finding::new(&k, &r, &l).severity(severity(s)).phase(phase(p)).fragment("x' or 1=1"))
                .collect(),
            verdict: if stop == 0 { Verdict::block("x") } else { Verdict::Allow },
            enforced: stop == 0,
            actor: actor.map(|(a, c, name)| ActorRef {
                id: format!("a{a}"),
                name,
                risk: a,
                campaign: c.map(|c| format!("c{c}")),
            }),
            ..Default::default()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_and_stays_bounded(mut exs in prop::collection::vec(exchange(), 1..120), status_ops in prop::collection::vec((0usize..20, 0u8..4), 0..10)) {
        let cfg = EngineConfig {
            max_open: 5,
            max_closed: 7,
            max_evidence: 2,
            max_timeline: 6,
            target_min_actors: 3,
            max_targets: 4,
            quiet_after_ms: 1_000_000,
            ..EngineConfig::default()
        };
        exs.sort_by_key(|e| e.ts_ms);
        let mut eng = IncidentEngine::new(cfg.clone());
        for (n, ex) in exs.iter().enumerate() {
            eng.observe(ex, &NoLookup, ex.ts_ms);
            if n % 17 == 0 {
                eng.tick(ex.ts_ms);
            }
            prop_assert_eq!(eng.check_invariants(), Ok(()));
        }
        let ids: Vec<String> = eng.incidents().into_iter().map(|i| i.id).collect();
        for (i, s) in status_ops {
            if let Some(id) = ids.get(i % ids.len().max(1)) {
                let to = [Status::Open, Status::Acknowledged, Status::Resolved, Status::FalsePositive][usize::from(s)];
                let _ = eng.set_status(id, to, "prop", "note", 20_000_000);
                prop_assert_eq!(eng.check_invariants(), Ok(()));
            }
        }
        let incs = eng.incidents();
        prop_assert!(incs.len() <= cfg.max_open + cfg.max_closed);
        prop_assert!(eng.open_ids().len() <= cfg.max_open);
        for i in &incs {
            prop_assert!(i.evidence.len() <= cfg.max_evidence);
            prop_assert!(i.timeline.len() <= cfg.max_timeline);
            prop_assert!(i.actors.len() <= 32 && i.ips.len() <= 64 && i.endpoints.len() <= 64);
            prop_assert!(!i.summary.is_empty());
        }
        let snap = eng.to_snapshot();
        let back = IncidentEngine::from_snapshot(cfg, &snap).unwrap();
        prop_assert_eq!(back.incidents(), eng.incidents());
        prop_assert_eq!(back.check_invariants(), Ok(()));
    }
}

#[test]
fn a_bad_snapshot_is_an_error_not_a_panic() {
    for bad in [
        serde_json::json!(null),
        serde_json::json!({"version": 2, "next_seq": 1, "incidents": []}),
        serde_json::json!({"version": 1, "next_seq": 1, "incidents": [{"id": 3}]}),
    ] {
        let e = IncidentEngine::from_snapshot(EngineConfig::default(), &bad).unwrap_err();
        assert!(e.to_string().contains("snapshot"), "{e}");
    }
}
