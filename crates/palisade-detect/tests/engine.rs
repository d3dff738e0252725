//! The engine as the gateway and the harness use it: phases, sensitivity,
//! exclusions, rules and their actions, masking, bounds, the harness.

mod common;

use std::io::Write as _;

use palisade_core::{Action, Inspector, Verdict};
use palisade_detect::{DetectConfig, Exclusion, Sensitivity, harness, rules};

fn with_rules(src: &str, ext: &str) -> (DetectConfig, tempfile::NamedTempFile) {
    let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
    f.write_all(src.as_bytes()).unwrap();
    let cfg = DetectConfig {
        rules: vec![f.path().to_path_buf()],
        ..Default::default()
    };
    (cfg, f)
}

#[test]
fn head_phase_sees_the_query_and_body_phase_the_body() {
    let engine = common::engine();
    let mut ex = common::exchange("query", "1' union select card from cards--");
    let v = engine.request_filter(&mut ex).unwrap();
    assert_eq!(v.action(), Action::Block);
    assert!(
        ex.findings
            .iter()
            .any(|f| f.location == "query.q" && f.kind == "sqli")
    );

    let mut ex = common::exchange("json", "<script>alert(1)</script>");
    assert_eq!(engine.request_filter(&mut ex).unwrap(), Verdict::Allow);
    let v = engine.request_body_filter(&mut ex).unwrap();
    assert_eq!(v.action(), Action::Block);
    let f = ex.findings.iter().find(|f| f.kind == "xss").unwrap();
    assert_eq!(f.location, "body.note");
    assert!(f.score >= 8 && !f.message.is_empty() && f.fragment.as_str().contains("script"));
}

#[test]
fn sensitivity_levels_order_and_route_override() {
    assert!(Sensitivity::Low.threshold() > Sensitivity::Balanced.threshold());
    assert!(Sensitivity::Balanced.threshold() > Sensitivity::High.threshold());
    assert!(Sensitivity::High.threshold() > Sensitivity::Paranoid.threshold());
    // a medium finding (probe path): logged at balanced, blocked at high and on a paranoid route
    let mut cfg = DetectConfig::default();
    let mut ex = common::exchange("path", "/wp-login.php");
    assert_eq!(cfg.build().unwrap().inspect(&mut ex).action(), Action::Log);
    cfg.sensitivity = Sensitivity::High;
    let mut ex = common::exchange("path", "/wp-login.php");
    assert_eq!(
        cfg.build().unwrap().inspect(&mut ex).action(),
        Action::Block
    );
    cfg.sensitivity = Sensitivity::Balanced;
    cfg.route_sensitivity
        .insert("admin".into(), Sensitivity::Paranoid);
    let mut ex = common::exchange("path", "/wp-login.php");
    ex.route = Some("admin".into());
    assert_eq!(
        cfg.build().unwrap().inspect(&mut ex).action(),
        Action::Block
    );
}

#[test]
fn exclusions_are_scoped_to_endpoint_parameter_and_rule() {
    let cfg = DetectConfig {
        exclusions: vec![Exclusion {
            path: Some("/v1/items".into()),
            location: Some("body.note".into()),
            rule: Some("xss".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let engine = cfg.build().unwrap();
    let mut ex = common::exchange("json", "<script>alert(1)</script>");
    assert_eq!(engine.inspect(&mut ex), Verdict::Allow);
    // another parameter is still inspected
    let mut ex = common::exchange("form", "<script>alert(1)</script>");
    ex.request.body = palisade_core::Body::new("other=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(engine.inspect(&mut ex).action(), Action::Block);
    // and another detector on the excluded parameter too
    let mut ex = common::exchange("json", "1' union select 1--");
    assert_eq!(engine.inspect(&mut ex).action(), Action::Block);
}

#[test]
fn rule_actions() {
    let src = r#"
[[rule]]
id = "vp.legacy-export"
description = "Virtual patch: the export endpoint's `format` parameter runs a shell"
action = "block"
[[rule.when]]
field = "path"
op = "prefix"
value = "/v1/export"
[[rule.when]]
field = "query.format"
op = "regex"
value = "[^a-z]"

[[rule]]
id = "user.slow-down-search"
action = "rate_limit"
retry_after_secs = 30
[[rule.when]]
field = "header.x-client"
op = "equals"
value = "scraper"

[[rule]]
id = "user.tag-partner"
action = "tag"
tags = ["partner"]
[[rule.when]]
field = "client_ip"
op = "cidr"
value = ["203.0.113.0/24"]

[[rule]]
id = "user.after-sqli"
action = "score"
score = 3
[[rule.when]]
field = "detector"
op = "equals"
value = "sqli"
"#;
    let (cfg, _f) = with_rules(src, ".toml");
    let engine = cfg.build().unwrap_or_else(|d| panic!("{d}"));
    let mut ex = common::exchange("raw-query", "format=csv;id");
    ex.request.target = "/v1/export?format=csv%3Bid".into();
    let v = engine.inspect(&mut ex);
    assert_eq!(v.action(), Action::Block);
    assert!(
        ex.findings
            .iter()
            .any(|f| f.rule_id == "vp.legacy-export" && f.location == "query.format")
    );
    let mut ok = common::exchange("raw-query", "format=csv");
    ok.request.target = "/v1/export?format=csv".into();
    assert_eq!(engine.inspect(&mut ok), Verdict::Allow);

    let mut ex = common::exchange("header:X-Client", "scraper");
    assert!(matches!(
        engine.inspect(&mut ex),
        Verdict::RateLimit {
            retry_after_secs: 30,
            ..
        }
    ));

    let mut ex = common::exchange("query", "hello");
    ex.client_ip = "203.0.113.9".parse().unwrap();
    assert_eq!(engine.inspect(&mut ex), Verdict::Allow);
    assert!(
        ex.findings
            .iter()
            .any(|f| f.kind == "tag" && f.rule_id == "user.tag-partner")
    );

    let mut ex = common::exchange("query", "1' or '1'='1");
    engine.inspect(&mut ex);
    assert!(
        ex.findings
            .iter()
            .any(|f| f.rule_id == "user.after-sqli" && f.score == 3)
    );
}

#[test]
fn bad_rule_files_report_every_problem() {
    let src = "rule:\n  - id: user.a\n    action: block\n    when:\n      - field: actor.risk\n        op: gt\n        value: 50\n  - id: user.b\n    action: nope\n    when:\n      - field: path\n        op: matches\n        value: /x\n";
    let (cfg, f) = with_rules(src, ".yaml");
    let d = cfg.build().unwrap_err();
    let text = d.to_string();
    assert_eq!(d.0.len(), 3, "{text}");
    let name = f.path().display().to_string();
    for line in text.lines() {
        assert!(line.starts_with(&name) && line.contains("hint:"), "{line}");
    }
    assert!(
        text.contains(":5:") && text.contains(":9:") && text.contains(":12:"),
        "{text}"
    );
    assert!(rules::parse_rules("[[rule]]\nid = 1\n", "x.toml").is_err());
    assert!(rules::load_rules(std::path::Path::new("/nonexistent/rules.toml")).is_err());
}

#[test]
fn secrets_and_cards_never_reach_findings() {
    let engine = common::engine();
    let mut ex = common::exchange("raw-form", "");
    ex.request.body = palisade_core::Body::new(
        "password=hunter2%27+or+%271%27%3D%271&card_number=4111111111111111%27%20union%20select%201--",
    );
    engine.inspect(&mut ex);
    assert!(ex.findings.len() >= 2, "{:?}", ex.findings);
    let json = serde_json::to_string(&ex.findings).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
    assert!(!json.contains("4111111111111111"), "{json}");
}

#[test]
fn bounds_exceeded_are_findings_not_crashes() {
    let engine = common::engine();
    let mut ex = common::exchange("json-raw", &"[".repeat(200_000));
    let _ = engine.inspect(&mut ex);
    assert!(ex.findings.iter().any(|f| f.rule_id == "limits.depth"));
    let many: String = (0..5000).map(|i| format!("a{i}=1&")).collect();
    let mut ex = common::exchange("raw-query", &many);
    let _ = engine.inspect(&mut ex);
    assert!(ex.findings.iter().any(|f| f.rule_id == "limits.values"));
}

#[test]
fn harness_reads_corpus_rows_and_exchanges() {
    let row = r#"{"id":"t1","label":"attack","category":"sqli","method":"GET","target":"/?q=1%27%20or%20%271%27%3D%271","headers":[["Host","x"]],"body":"","meta":{}}"#;
    let case = harness::corpus_exchange(row).unwrap();
    assert_eq!(case.label, harness::Label::Attack);
    let skipped =
        harness::corpus_exchange(&row.replace("\"meta\":{}", "\"meta\":{\"response_side\":true}"))
            .unwrap();
    assert!(skipped.skip.is_some());
    assert!(harness::corpus_exchange("{}").is_err());

    let mut corpus = tempfile::NamedTempFile::new().unwrap();
    writeln!(corpus, "{row}").unwrap();
    writeln!(
        corpus,
        "{}",
        row.replace("t1", "t2")
            .replace("attack", "benign")
            .replace("1%27%20or%20%271%27%3D%271", "hello")
    )
    .unwrap();
    let engine = common::engine();
    let report = harness::run_corpus(&engine, corpus.path()).unwrap();
    let c = &report.categories["sqli"];
    assert_eq!(
        (c.attacks, c.attacks_blocked, c.benign, c.benign_blocked),
        (1, 1, 1, 0)
    );
    assert!(report.to_string().contains("100.00%"));

    let mut ex = common::exchange("query", "<script>alert(1)</script>");
    ex.id = "rec-1".into();
    let mut recorded = tempfile::NamedTempFile::new().unwrap();
    writeln!(recorded, "{}", serde_json::to_string(&ex).unwrap()).unwrap();
    writeln!(recorded, "{row}").unwrap();
    writeln!(recorded, "not json").unwrap();
    let r = harness::rules_test(&engine, recorded.path()).unwrap();
    assert_eq!(r.entries.len(), 2);
    assert_eq!(r.errors.len(), 1);
    let text = r.to_string();
    assert!(
        text.contains("rec-1") && text.contains("xss") && text.contains("-> block"),
        "{text}"
    );
}

#[test]
fn benign_payments_corpus_passes() {
    let engine = common::engine();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/benign-payments.jsonl");
    let report = harness::run_corpus(&engine, &path).unwrap();
    let t = report.total();
    assert!(t.benign >= 3000);
    // at most 0.1% of legitimate API requests blocked
    assert!(
        t.benign_blocked * 1000 <= t.benign,
        "{report}\n{}",
        report.details()
    );
}

/// Hand-written legitimate values built to look like the shapes the
/// detectors read (command words at the start of a sentence, `$`-prices,
/// `(a)(b)`, Jinja-like placeholders, CJK text before a pasted `curl`,
/// "Location:" on a line of its own, catalog words in prose), in JSON, form
/// and query: none may be blocked.
#[test]
fn benign_lookalikes_pass() {
    let engine = common::engine();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/benign-tricky.jsonl");
    let report = harness::run_corpus(&engine, &path).unwrap();
    let t = report.total();
    assert!(t.benign >= 250);
    assert_eq!(t.benign_blocked, 0, "{report}\n{}", report.details());
}

#[test]
fn engine_is_shareable_and_logs_below_the_threshold() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<palisade_detect::Engine>();
    let engine = std::sync::Arc::new(common::engine());
    // a GET with a body is a low finding: logged, not blocked
    let mut ex = common::exchange("query", "hello");
    ex.request.body = palisade_core::Body::new("x");
    let v = engine.inspect(&mut ex);
    assert_eq!(v.action(), Action::Log, "{:?}", ex.findings);
    assert!(v.reason().unwrap().contains("protocol.body_on_get"));
}

/// Browser user agents skip the value detectors (their `(KHTML, like
/// Gecko)` is not SQL), but SQL written into a user agent of the same
/// grammar is still inspected and blocked.
#[test]
fn browser_user_agents_pass_and_sql_in_a_user_agent_does_not() {
    let engine = common::engine();
    let ua = |ua: &str| {
        let mut ex = palisade_core::Exchange::default();
        ex.request.method = "GET".into();
        ex.request.target = "/v1/charges".into();
        ex.request.headers = vec![("User-Agent".into(), ua.into())];
        let v = engine.request_filter(&mut ex).unwrap();
        (v, ex.findings)
    };
    let (v, findings) = ua(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    );
    assert_eq!(v, Verdict::Allow, "{findings:?}");
    assert!(findings.is_empty(), "{findings:?}");
    let (v, findings) = ua(
        "Mozilla/5.0 (KHTML, like Gecko; x union select password from users where id like 1) Chrome/122.0",
    );
    assert_eq!(v.action(), Action::Block, "{findings:?}");
    assert!(findings.iter().any(|f| f.kind == "sqli"), "{findings:?}");
}
