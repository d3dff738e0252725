//! Replays flagged exchanges recorded from `palisade demo` (the mixed
//! simulation: customers plus a card-testing botnet, credential stuffers, an
//! account enumerator and scanners; masked, actor-only blocks sampled 1 in
//! 10) and checks the grouping a user expects: one incident per campaign, not
//! one per request, each with a correct phase, timeline, blast radius and
//! summary.

use std::collections::{BTreeMap, BTreeSet};

use palisade_core::{Exchange, Phase};
use palisade_incidents::{GroupKey, IncidentEngine, NoLookup, TimelineKind};

fn load() -> Vec<Exchange> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/replay/demo-mixed.ndjson"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn mixed_demo_traffic_makes_one_incident_per_campaign() {
    let exchanges = load();
    let mut eng = IncidentEngine::default();
    let mut events = 0;
    for ex in &exchanges {
        events += eng.observe(ex, &NoLookup, ex.ts_ms).len();
    }
    let incs = eng.incidents();
    for i in &incs {
        eprintln!(
            "{} {} [{} {}] {} ex={} actors={} ips={} eps={:?}\n   {}",
            i.id,
            i.key,
            i.severity.as_str(),
            i.phase.as_str(),
            i.title,
            i.counts.exchanges,
            i.counts.actors,
            i.counts.ips,
            i.endpoints.iter().map(|e| e.label()).collect::<Vec<_>>(),
            i.summary
        );
    }
    eprintln!(
        "{} exchanges, {} incidents, {events} events",
        exchanges.len(),
        incs.len()
    );

    // The simulator gives each population its own 127.(10 + n).x.y
    // addresses: customers 10, card testing 11, credential stuffing 12,
    // enumeration 13, scanners 14. An incident belongs to the population
    // most of its addresses are in.
    let population = |i: &palisade_incidents::Incident| -> u8 {
        let mut n: BTreeMap<u8, usize> = BTreeMap::new();
        for ip in &i.ips {
            if let std::net::IpAddr::V4(v4) = ip {
                *n.entry(v4.octets()[1]).or_default() += 1;
            }
        }
        n.into_iter()
            .max_by_key(|(p, c)| (*c, *p))
            .map_or(0, |(p, _)| p)
    };
    let mut per_pop: BTreeMap<u8, Vec<&palisade_incidents::Incident>> = BTreeMap::new();
    for i in &incs {
        per_pop.entry(population(i)).or_default().push(i);
    }
    // one incident per attack campaign, none for customers
    assert!(!per_pop.contains_key(&10), "an incident for customers");
    for pop in [11, 12, 13, 14] {
        let n = per_pop.get(&pop).map_or(0, Vec::len);
        assert_eq!(n, 1, "population {pop}: {n} incidents");
    }
    assert_eq!(incs.len(), 4);
    // every campaign id the actors layer gave (four for one stuffing
    // botnet) is in exactly one incident
    let campaigns: BTreeSet<String> = exchanges
        .iter()
        .filter_map(|e| e.actor.as_ref()?.campaign.clone())
        .collect();
    for c in &campaigns {
        let holders = incs.iter().filter(|i| i.campaigns.contains(c)).count();
        assert_eq!(holders, 1, "campaign {c} in {holders} incidents");
    }
    let only = |pop: u8| per_pop[&pop][0];
    let (cards, stuffing, enumeration, scan) = (only(11), only(12), only(13), only(14));
    assert!(matches!(cards.key, GroupKey::Campaign(_)));
    assert!(matches!(stuffing.key, GroupKey::Campaign(_)));
    assert!(stuffing.campaigns.len() >= 2, "{:?}", stuffing.campaigns);
    // titles say what the attack is, not the most frequent finding (a
    // blocked actor's decisions)
    assert!(
        cards
            .title
            .starts_with("Card testing against POST /api/v1/charges by campaign"),
        "{}",
        cards.title
    );
    assert!(
        stuffing.title.starts_with("Credential stuffing against"),
        "{}",
        stuffing.title
    );
    assert!(
        enumeration
            .title
            .starts_with("Broken object-level authorization against GET /api/v1/accounts/{id}"),
        "{}",
        enumeration.title
    );
    assert!(
        scan.title.starts_with("Scan with SQL injection attempts"),
        "{}",
        scan.title
    );
    // the two scanners of one network are one scan, from recon to
    // exploitation; a blocked actor's decisions do not make it abuse
    assert_eq!(scan.key, GroupKey::Network("127.14.0.0/24".into()));
    assert_eq!(scan.counts.actors, 2);
    assert_eq!(scan.phase, Phase::Exploitation);
    assert_eq!(scan.phases[0].phase, Phase::Recon);
    assert!(
        scan.timeline
            .iter()
            .any(|t| t.kind == TimelineKind::PhaseEscalation)
    );
    assert!(
        scan.counts.blocked > 0
            && scan
                .timeline
                .iter()
                .any(|t| t.kind == TimelineKind::FirstBlock)
    );
    for i in [cards, stuffing] {
        assert_eq!(i.phase, Phase::Abuse, "{}", i.title);
        assert!(i.counts.actors >= 2, "{}", i.id);
        assert!(i.summary.contains("really trying"), "{}", i.summary);
    }
    assert!(enumeration.phase >= Phase::Exploitation);
    for i in &incs {
        assert!(!i.timeline.is_empty() && !i.summary.is_empty() && !i.title.is_empty());
        assert_eq!(i.timeline[0].kind, TimelineKind::FirstSeen);
        assert!(
            !i.blast_radius.endpoints_targeted.is_empty(),
            "{}: blast radius",
            i.id
        );
        assert!(i.summary.contains(&format!("{} phase", i.phase.as_str())));
    }
}

#[test]
fn replaying_old_traffic_groups_as_live_traffic_does() {
    let exchanges = load();
    let keys = |offset: i64| {
        let mut eng = IncidentEngine::default();
        for (n, ex) in exchanges.iter().enumerate() {
            // the sensor reads a day-old log: processing time is now
            eng.observe(ex, &NoLookup, ex.ts_ms + offset + n as i64);
        }
        let mut k: Vec<String> = eng.incidents().iter().map(|i| i.key.to_string()).collect();
        k.sort();
        k
    };
    assert_eq!(keys(0), keys(86_400_000));
}
