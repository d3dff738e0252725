//! Data-driven scenarios: each `testdata/*.json` file is a sequence of
//! exchanges (NDJSON exchange format, with a `repeat` shorthand), status
//! changes and ticks, and what the incidents must look like afterwards.
//! One `check` helper runs them all.

use std::collections::BTreeMap;
use std::path::Path;

use palisade_core::Exchange;
use palisade_incidents::{
    EngineConfig, FnLookup, Incident, IncidentEngine, IncidentEvent, Status, fallback_template,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    config: Option<EngineConfig>,
    /// `METHOD template` → data classes.
    #[serde(default)]
    data_classes: BTreeMap<String, Vec<String>>,
    steps: Vec<Step>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum Step {
    Exchange(Value),
    /// `count` copies of `exchange`; `{i}` in any string is replaced by the
    /// copy's number (from `start`), `ts_ms` advances by `step_ms`.
    Repeat {
        count: u64,
        #[serde(default)]
        start: u64,
        step_ms: i64,
        exchange: Value,
    },
    Status {
        /// Index of the incident in id order.
        incident: usize,
        to: String,
        who: String,
        #[serde(default)]
        note: String,
        at_ms: i64,
        #[serde(default)]
        error: bool,
    },
    Tick(i64),
    Note {
        incident: usize,
        who: String,
        text: String,
        at_ms: i64,
    },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    incidents: usize,
    #[serde(default)]
    open: Option<usize>,
    #[serde(default)]
    each: Vec<IncExpect>,
    /// Event kinds with how many times each was emitted.
    #[serde(default)]
    events: BTreeMap<String, usize>,
    /// Strings that must not appear anywhere in the snapshot.
    #[serde(default)]
    absent: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct IncExpect {
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    phases: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    exchanges: Option<u64>,
    #[serde(default)]
    ips: Option<u64>,
    #[serde(default)]
    actors: Option<u64>,
    #[serde(default)]
    blocked: Option<u64>,
    #[serde(default)]
    endpoints: Option<Vec<String>>,
    #[serde(default)]
    reached: Option<Vec<String>>,
    #[serde(default)]
    data_classes: Option<Vec<String>>,
    #[serde(default)]
    attack_succeeded: Option<bool>,
    /// Timeline entry kinds that must appear, in this order.
    #[serde(default)]
    timeline: Vec<String>,
    #[serde(default)]
    title_contains: Vec<String>,
    #[serde(default)]
    summary_contains: Vec<String>,
    /// Next step actions that must appear, in this order.
    #[serde(default)]
    next_steps: Vec<String>,
    /// Strings the config text of the next steps must hold.
    #[serde(default)]
    config_contains: Vec<String>,
    #[serde(default)]
    exclusions: Option<Vec<ExclExpect>>,
    #[serde(default)]
    merged: Option<usize>,
    #[serde(default)]
    evidence_max: Option<usize>,
    #[serde(default)]
    notes: Option<usize>,
    /// Request ids that must be among the evidence.
    #[serde(default)]
    evidence_ids: Vec<String>,
}

#[derive(Deserialize, PartialEq, Debug)]
#[serde(deny_unknown_fields)]
struct ExclExpect {
    path: String,
    method: String,
    location: Option<String>,
    rule: String,
}

fn instantiate(v: &Value, i: u64) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("{i}", &i.to_string())),
        Value::Array(a) => Value::Array(a.iter().map(|x| instantiate(x, i)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), instantiate(x, i)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn parse_ex(v: &Value, name: &str) -> Exchange {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{name}: bad exchange: {e}"))
}

fn check(path: &Path) {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let sc: Scenario =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: bad scenario: {e}"));
    let classes = sc.data_classes.clone();
    let lookup = FnLookup::new(
        |_, _, path: &str| Some(fallback_template(path)),
        move |_, method: &str, template: &str| {
            classes
                .get(&format!("{method} {template}"))
                .cloned()
                .unwrap_or_default()
        },
    );
    let cfg = sc.config.clone().unwrap_or_default();
    let mut eng = IncidentEngine::new(cfg.clone());
    let mut events: Vec<IncidentEvent> = Vec::new();
    let ids = |eng: &IncidentEngine| {
        let mut v: Vec<String> = eng.incidents().into_iter().map(|i| i.id).collect();
        v.sort();
        v
    };
    for step in &sc.steps {
        match step {
            Step::Exchange(v) => {
                let ex = parse_ex(v, &name);
                events.extend(eng.observe(&ex, &lookup, ex.ts_ms));
            }
            Step::Repeat {
                count,
                start,
                step_ms,
                exchange,
            } => {
                for n in 0..*count {
                    let i = start + n;
                    let mut ex = parse_ex(&instantiate(exchange, i), &name);
                    ex.ts_ms += step_ms * n as i64;
                    events.extend(eng.observe(&ex, &lookup, ex.ts_ms));
                }
            }
            Step::Status {
                incident,
                to,
                who,
                note,
                at_ms,
                error,
            } => {
                let id = ids(&eng)
                    .get(*incident)
                    .cloned()
                    .unwrap_or_else(|| panic!("{name}: no incident #{incident}"));
                let to: Status = to.parse().unwrap();
                let r = eng.set_status(&id, to, who, note, *at_ms);
                assert_eq!(r.is_err(), *error, "{name}: status {to} on {id}: {r:?}");
                if let Ok(ev) = r {
                    events.push(ev);
                }
            }
            Step::Tick(ms) => events.extend(eng.tick(*ms)),
            Step::Note {
                incident,
                who,
                text,
                at_ms,
            } => {
                let id = ids(&eng)[*incident].clone();
                eng.add_note(&id, who, text, *at_ms).unwrap();
            }
        }
    }

    let mut incs: Vec<Incident> = eng.incidents();
    incs.sort_by(|a, b| a.id.cmp(&b.id));
    let dump = serde_json::to_string_pretty(&incs).unwrap();
    let x = &sc.expect;
    assert_eq!(incs.len(), x.incidents, "{name}: incident count\n{dump}");
    if let Some(open) = x.open {
        assert_eq!(eng.open_ids().len(), open, "{name}: open incidents");
    }
    for (kind, n) in &x.events {
        let got = events.iter().filter(|e| e.kind.as_str() == kind).count();
        assert_eq!(got, *n, "{name}: {kind} events: {events:#?}");
    }
    for (idx, ie) in x.each.iter().enumerate() {
        let inc = &incs[idx];
        let ctx = format!("{name}: incident #{idx} ({})", inc.id);
        let json = serde_json::to_value(inc).unwrap();
        if let Some(by) = &ie.by {
            assert_eq!(json["key"]["by"], *by, "{ctx}: grouping");
        }
        if let Some(p) = &ie.phase {
            assert_eq!(inc.phase.as_str(), p, "{ctx}: phase");
        }
        if let Some(ps) = &ie.phases {
            let got: Vec<&str> = inc.phases.iter().map(|p| p.phase.as_str()).collect();
            assert_eq!(&got, ps, "{ctx}: phases");
            let firsts: Vec<i64> = inc.phases.iter().map(|p| p.first_ms).collect();
            assert!(
                firsts.windows(2).all(|w| w[0] <= w[1]),
                "{ctx}: phases in time order"
            );
        }
        if let Some(s) = &ie.severity {
            assert_eq!(inc.severity.as_str(), s, "{ctx}: severity\n{}", inc.summary);
        }
        if let Some(s) = &ie.status {
            assert_eq!(inc.status.as_str(), s, "{ctx}: status");
        }
        if let Some(a) = ie.active {
            assert_eq!(inc.active, a, "{ctx}: active");
        }
        for (want, got, what) in [
            (ie.exchanges, inc.counts.exchanges, "exchanges"),
            (ie.ips, inc.counts.ips, "ips"),
            (ie.actors, inc.counts.actors, "actors"),
            (ie.blocked, inc.counts.blocked, "blocked"),
        ] {
            if let Some(w) = want {
                assert_eq!(got, w, "{ctx}: {what}");
            }
        }
        if let Some(eps) = &ie.endpoints {
            let mut got: Vec<String> = inc.endpoints.iter().map(|e| e.label()).collect();
            got.sort();
            let mut eps = eps.clone();
            eps.sort();
            assert_eq!(got, eps, "{ctx}: endpoints");
        }
        if let Some(r) = &ie.reached {
            assert_eq!(&inc.blast_radius.endpoints_reached, r, "{ctx}: reached");
        }
        if let Some(d) = &ie.data_classes {
            assert_eq!(&inc.blast_radius.data_classes, d, "{ctx}: data classes");
        }
        if let Some(a) = ie.attack_succeeded {
            assert_eq!(
                inc.blast_radius.attack_succeeded, a,
                "{ctx}: attack succeeded"
            );
        }
        let kinds: Vec<String> = inc
            .timeline
            .iter()
            .map(|t| {
                serde_json::to_value(t.kind)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_subsequence(&kinds, &ie.timeline, &format!("{ctx}: timeline"));
        assert!(
            inc.timeline.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms),
            "{ctx}: timeline in time order"
        );
        for t in &ie.title_contains {
            assert!(
                inc.title.contains(t),
                "{ctx}: title {:?} lacks {t:?}",
                inc.title
            );
        }
        for t in &ie.summary_contains {
            assert!(
                inc.summary.contains(t),
                "{ctx}: summary {:?} lacks {t:?}",
                inc.summary
            );
        }
        assert_eq!(
            inc.summary,
            inc.summary(),
            "{ctx}: stored summary is current"
        );
        let actions: Vec<String> = inc.next_steps.iter().map(|s| s.action.clone()).collect();
        assert_subsequence(&actions, &ie.next_steps, &format!("{ctx}: next steps"));
        let configs: String = inc
            .next_steps
            .iter()
            .filter_map(|s| s.config.clone())
            .collect::<Vec<_>>()
            .join("\n");
        for c in &ie.config_contains {
            assert!(configs.contains(c), "{ctx}: config lacks {c:?}:\n{configs}");
        }
        if let Some(ex) = &ie.exclusions {
            let got: Vec<ExclExpect> = inc
                .exclusion_proposals
                .iter()
                .map(|p| ExclExpect {
                    path: p.path.clone(),
                    method: p.method.clone(),
                    location: p.location.clone(),
                    rule: p.rule.clone(),
                })
                .collect();
            assert_eq!(&got, ex, "{ctx}: exclusions");
            for p in &inc.exclusion_proposals {
                assert!(p.toml.starts_with("[[exclusions]]\n"), "{ctx}: {}", p.toml);
                assert!(p.toml.contains(&format!("path = \"{}\"", p.path)));
            }
        }
        if let Some(m) = ie.merged {
            assert_eq!(inc.merged_from.len(), m, "{ctx}: merged");
        }
        if let Some(m) = ie.evidence_max {
            assert!(!inc.evidence.is_empty(), "{ctx}: some evidence");
            assert!(inc.evidence.len() <= m, "{ctx}: evidence bound");
            assert!(inc.evidence[0].first, "{ctx}: the first request is kept");
        }
        for id in &ie.evidence_ids {
            assert!(
                inc.evidence.iter().any(|e| &e.request_id == id),
                "{ctx}: evidence lacks {id}"
            );
        }
        if let Some(n) = ie.notes {
            assert_eq!(inc.notes.len(), n, "{ctx}: notes");
        }
    }

    // the list rows agree with the incidents
    let briefs = eng.briefs();
    assert_eq!(briefs.len(), incs.len(), "{name}: briefs");
    for b in &briefs {
        let inc = incs.iter().find(|i| i.id == b.id).unwrap();
        assert_eq!(b, &inc.brief(), "{name}: brief of {}", b.id);
    }

    // persistence: a restored engine holds the same incidents and groups on
    let snap = eng.to_snapshot();
    let snap_text = snap.to_string();
    for a in &x.absent {
        assert!(
            !snap_text.contains(a),
            "{name}: {a:?} leaked into the snapshot"
        );
    }
    let back = IncidentEngine::from_snapshot(cfg, &snap).unwrap();
    assert_eq!(
        back.incidents(),
        eng.incidents(),
        "{name}: snapshot round trip"
    );
    assert_eq!(
        back.open_ids(),
        eng.open_ids(),
        "{name}: open after restore"
    );
}

fn assert_subsequence(got: &[String], want: &[String], ctx: &str) {
    let mut it = got.iter();
    for w in want {
        assert!(
            it.any(|g| g == w),
            "{ctx}: {w:?} missing or out of order in {got:?}"
        );
    }
}

#[test]
fn scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "scenarios present");
    for f in files {
        check(&f);
    }
}
