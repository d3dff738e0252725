//! Replays flagged exchanges recorded from `palisade demo` (the mixed
//! simulation: customers plus a card-testing botnet, credential stuffers, an
//! account enumerator and scanners; masked, actor-only blocks sampled 1 in
//! 10) and checks the grouping a user expects: one incident per campaign, not
//! one per request, each with a correct phase, timeline, blast radius and
//! summary.

use std::collections::{BTreeMap, BTreeSet};

use palisade_core::{Exchange, Phase};
use palisade_incidents::{GroupKey, IncidentEngine, NoLookup};

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

    let campaigns: BTreeSet<String> = exchanges
        .iter()
        .filter_map(|e| e.actor.as_ref()?.campaign.clone())
        .collect();
    let by_campaign: BTreeMap<String, usize> = incs
        .iter()
        .filter_map(|i| match &i.key {
            GroupKey::Campaign(c) => Some(c.clone()),
            _ => None,
        })
        .fold(BTreeMap::new(), |mut m, c| {
            *m.entry(c).or_default() += 1;
            m
        });
    // one incident per campaign
    assert_eq!(
        by_campaign.keys().cloned().collect::<BTreeSet<_>>(),
        campaigns
    );
    assert!(by_campaign.values().all(|n| *n == 1), "{by_campaign:?}");
    // far fewer incidents than requests
    assert!(
        incs.len() <= campaigns.len() + 8,
        "{} incidents",
        incs.len()
    );
    let titled = |prefix: &str| incs.iter().filter(|i| i.title.starts_with(prefix)).count();
    assert_eq!(titled("Card testing by campaign"), 1);
    assert!(titled("Credential stuffing by campaign") >= 3);
    // the scanners keep their own incidents, starting in recon
    let scanners: Vec<_> = incs
        .iter()
        .filter(|i| i.kinds.iter().any(|k| k.kind == "scanner"))
        .collect();
    assert!(scanners.len() >= 2);
    for s in &scanners {
        assert!(matches!(s.key, GroupKey::Actor(_)), "{}", s.id);
        assert_eq!(s.phases[0].phase, Phase::Recon, "{}", s.id);
        assert!(
            s.counts.blocked > 0
                && s.timeline
                    .iter()
                    .any(|t| t.kind == palisade_incidents::TimelineKind::FirstBlock)
        );
    }
    for i in &incs {
        assert!(!i.timeline.is_empty() && !i.summary.is_empty() && !i.title.is_empty());
        assert_eq!(
            i.timeline[0].kind,
            palisade_incidents::TimelineKind::FirstSeen
        );
        if matches!(i.key, GroupKey::Campaign(_)) {
            assert_eq!(i.phase, Phase::Abuse, "{}: {}", i.id, i.title);
            assert!(i.counts.actors >= 2, "{}", i.id);
            assert!(i.summary.contains("really trying"), "{}", i.summary);
        }
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
