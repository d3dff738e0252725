//! Spec import and comparison on a small spec (`testdata/small_spec.yaml`):
//! shadow, zombie, unused and drift; spec parsing errors; export validity
//! (export, parse it back with `Spec::parse`, compare the operations);
//! snapshots.

mod common;

use std::collections::BTreeSet;

use palisade_catalog::{Catalog, CatalogConfig, CatalogError, Change, Spec};

const HOST: &str = "api.pay.example";

fn spec() -> Spec {
    Spec::from_file(&common::testdata("small_spec.yaml")).unwrap()
}

fn traffic(cat: &mut Catalog) -> Vec<Change> {
    let mut ch = Vec::new();
    let bearer = [("Authorization", "Bearer tok_abcdefghijkl")];
    let mut t = 0;
    let mut obs = |cat: &mut Catalog, ex| {
        t += 1;
        ch.extend(cat.observe(&ex, t));
    };
    for i in 0..3 {
        obs(
            cat,
            common::req(
                HOST,
                "GET",
                &format!("/v1/customers/cus_{i}Ab9xK"),
                &bearer,
                "",
                200,
                r#"{"id":"cus_1","email":"jane@example.com"}"#,
            ),
        );
    }
    obs(
        cat,
        common::req(
            HOST,
            "GET",
            "/v1/customers?limit=10",
            &bearer,
            "",
            200,
            "[]",
        ),
    );
    // drift: limit is declared integer; `sort` is not declared
    obs(
        cat,
        common::req(
            HOST,
            "GET",
            "/v1/customers?limit=ten&sort=asc",
            &bearer,
            "",
            200,
            "[]",
        ),
    );
    // a valid charge, then one with an undeclared member and a wrong type
    obs(
        cat,
        common::req(
            HOST,
            "POST",
            "/v1/charges",
            &bearer,
            r#"{"amount":100,"currency":"eur"}"#,
            200,
            "{}",
        ),
    );
    obs(
        cat,
        common::req(
            HOST,
            "POST",
            "/v1/charges",
            &bearer,
            r#"{"amount":"100","currency":"eur","card_number":"4111111111111111"}"#,
            200,
            "{}",
        ),
    );
    // zombie: deprecated but called
    obs(
        cat,
        common::req(
            HOST,
            "GET",
            "/v1/legacy/payments/pay_77aa9Z",
            &bearer,
            "",
            200,
            "{}",
        ),
    );
    // shadow: not declared at all
    obs(
        cat,
        common::req(
            HOST,
            "GET",
            "/v1/internal/debug/vars",
            &[],
            "",
            200,
            r#"{"db_password":"s3cr3t-Pa55"}"#,
        ),
    );
    ch
}

#[test]
fn shadow_zombie_unused_drift() {
    let mut cat = CatalogConfig::default().build().unwrap();
    cat.import_spec(spec());
    traffic(&mut cat);
    let r = cat.spec_report();
    let names = |v: &[palisade_catalog::SpecReportEntry]| -> Vec<String> {
        v.iter()
            .map(|e| format!("{} {}", e.method, e.template))
            .collect()
    };
    assert_eq!(names(&r.shadow), ["GET /v1/internal/debug/vars"]);
    assert_eq!(names(&r.zombie), ["GET /v1/legacy/payments/{payment}"]);
    assert_eq!(names(&r.unused), ["DELETE /v1/customers/{customer}"]);
    assert_eq!(names(&r.drift), ["POST /v1/charges", "GET /v1/customers"]);
    let rules: BTreeSet<String> = r
        .drift
        .iter()
        .flat_map(|d| d.drift.iter().map(|x| format!("{} {}", x.rule, x.location)))
        .collect();
    let want: BTreeSet<String> = [
        "catalog.drift.type_mismatch query.limit",
        "catalog.drift.unknown_parameter query.sort",
        "catalog.drift.type_mismatch body.amount",
        "catalog.drift.unknown_parameter body.card_number",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(rules, want);
    // the learned template takes the declared variable name
    let views = cat.endpoints();
    let shadow = views.iter().find(|v| v.shadow).unwrap();
    assert!(shadow.posture.reasons.iter().any(|r| r.code == "shadow"));
    assert!(
        shadow
            .posture
            .reasons
            .iter()
            .any(|r| r.code == "unauthenticated_success")
    );
    assert!(
        shadow
            .data
            .iter()
            .any(|d| d.class == palisade_catalog::DataClass::Password && d.side == "response")
    );
    let zombie = views.iter().find(|v| v.zombie).unwrap();
    assert_eq!(zombie.declared.as_deref(), Some("getLegacyPayment"));
    let charge = views.iter().find(|v| v.template == "/v1/charges").unwrap();
    assert!(
        charge
            .posture
            .reasons
            .iter()
            .any(|r| r.code == "accepts_card_data")
    );
}

#[test]
fn spec_learned_before_import_is_rematched_and_merged() {
    let mut cat = CatalogConfig::default().build().unwrap();
    // plain-string ids below the cardinality threshold stay literal while learning
    for name in ["alice", "bob"] {
        cat.observe(
            &common::req(
                HOST,
                "GET",
                &format!("/v1/customers/{name}"),
                &[],
                "",
                200,
                "{}",
            ),
            1,
        );
    }
    assert_eq!(cat.endpoints().len(), 2);
    let changes = cat.import_spec(spec());
    assert!(
        changes
            .iter()
            .any(|c| matches!(c, Change::EndpointsMerged { merged, .. } if merged.len() == 2)),
        "{changes:?}"
    );
    let v = cat.endpoints();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].template, "/v1/customers/{customer}");
    assert_eq!(v[0].requests, 2);
    assert!(!v[0].shadow);
    // and new traffic follows the declared template
    cat.observe(
        &common::req(HOST, "GET", "/v1/customers/carol", &[], "", 200, "{}"),
        2,
    );
    assert_eq!(cat.endpoints()[0].requests, 3);
}

#[test]
fn check_against_spec_returns_drift_findings() {
    let mut cat = CatalogConfig::default().build().unwrap();
    cat.import_spec(spec());
    let ex = common::req(
        HOST,
        "POST",
        "/v1/charges",
        &[],
        r#"{"currency":"eur"}"#,
        500,
        "{}",
    );
    let f = cat.check_against_spec(&ex);
    let ids: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.rule_id.as_str(), f.location.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("catalog.drift.missing_required", "body.amount"),
            ("catalog.drift.undeclared_status", "response.status")
        ]
    );
    assert!(f.iter().all(|f| f.kind == "drift"));
    // a form body where only JSON is declared
    let form = common::req(
        HOST,
        "POST",
        "/v1/charges",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "amount=1&currency=eur",
        200,
        "{}",
    );
    let f = cat.check_against_spec(&form);
    assert_eq!(
        f.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
        ["catalog.drift.content_type"]
    );
    // a body where none is declared; a missing required body
    let get = common::req(HOST, "GET", "/v1/customers", &[], r#"{"x":1}"#, 200, "{}");
    assert!(
        cat.check_against_spec(&get)
            .iter()
            .any(|f| f.rule_id == "catalog.drift.unexpected_body")
    );
    let empty = common::req(HOST, "POST", "/v1/charges", &[], "", 200, "{}");
    assert!(
        cat.check_against_spec(&empty)
            .iter()
            .any(|f| f.rule_id == "catalog.drift.missing_body")
    );
    // 4XX covers 402; an undeclared path is shadow, not drift
    let ok = common::req(
        HOST,
        "POST",
        "/v1/charges",
        &[],
        r#"{"amount":1,"currency":"eur"}"#,
        402,
        "{}",
    );
    assert!(cat.check_against_spec(&ok).is_empty());
    assert!(
        cat.check_against_spec(&common::get(HOST, "/nope", 200))
            .is_empty()
    );
}

#[test]
fn spec_errors_name_origin_and_pointer() {
    let bad = r##"{"openapi":"3.0.3","paths":{"/a":{"get":{"parameters":[{"$ref":"#/components/parameters/Missing"},{"name":"x","in":"body"}]}}}}"##;
    let Err(CatalogError::Spec { origin, problems }) = Spec::parse(bad, "team.json") else {
        panic!()
    };
    assert_eq!(origin, "team.json");
    let ptrs: Vec<&str> = problems.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        ptrs,
        [
            "/paths/~1a/get/parameters/0",
            "/paths/~1a/get/parameters/1/in"
        ]
    );
    let e = Spec::parse("swagger: '2.0'\npaths: {}\n", "old.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("old.yaml") && e.contains("/swagger"), "{e}");
    let e = Spec::parse("{not json", "x.json").unwrap_err().to_string();
    assert!(e.contains("x.json") && e.contains("invalid JSON"), "{e}");
    // a $ref cycle ends at the bound instead of looping
    let cyc = r##"{"openapi":"3.1.0","paths":{"/a":{"$ref":"#/paths/~1b"},"/b":{"$ref":"#/paths/~1a"}}}"##;
    assert!(
        Spec::parse(cyc, "c.json")
            .unwrap_err()
            .to_string()
            .contains("cycle")
    );
}

#[test]
fn export_round_trips_through_spec_parse() {
    let mut cat = CatalogConfig::default().build().unwrap();
    traffic(&mut cat);
    let doc = cat.export_openapi();
    assert_eq!(doc["openapi"], "3.0.3");
    let text = serde_json::to_string_pretty(&doc).unwrap();
    assert!(!text.contains("4111111111111111") && !text.contains("s3cr3t-Pa55"));
    let back = Spec::parse(&text, "exported.json").unwrap();
    let exported: BTreeSet<(String, String)> = back
        .operations
        .iter()
        .map(|o| (o.method.clone(), o.template.clone()))
        .collect();
    let learned: BTreeSet<(String, String)> = cat
        .endpoints()
        .iter()
        .map(|e| (e.method.clone(), e.template.clone()))
        .collect();
    assert_eq!(exported, learned);
    // every path variable is declared as a path parameter
    for op in &back.operations {
        let vars = op.template.matches('{').count();
        let declared = op
            .params
            .iter()
            .filter(|p| p.location == palisade_catalog::Location::Path)
            .count();
        assert_eq!(vars, declared, "{}", op.template);
    }
    // query parameters come back with their learned types
    let list = back
        .operations
        .iter()
        .find(|o| o.template == "/v1/customers" && o.method == "GET")
        .unwrap();
    assert!(list.params.iter().any(|p| p.name == "limit"));
    // the learned spec, imported as the declared one, leaves nothing shadow or unused
    cat.import_spec(back);
    let r = cat.spec_report();
    assert!(r.shadow.is_empty() && r.unused.is_empty(), "{r:?}");
}

#[test]
fn snapshot_round_trip() {
    let mut cat = CatalogConfig::default().build().unwrap();
    cat.import_spec(spec());
    traffic(&mut cat);
    let snap = cat.to_snapshot();
    let back = Catalog::from_snapshot(snap.clone(), &CatalogConfig::default()).unwrap();
    assert_eq!(
        serde_json::to_value(back.endpoints()).unwrap(),
        serde_json::to_value(cat.endpoints()).unwrap()
    );
    assert_eq!(back.spec_report(), cat.spec_report());
    assert_eq!(back.to_snapshot(), snap);
    assert!(!snap.to_string().contains("4111111111111111"));
    assert!(
        Catalog::from_snapshot(serde_json::json!({"format": 99}), &CatalogConfig::default())
            .is_err()
    );
}

#[test]
fn change_feed() {
    let mut cat = CatalogConfig::default().build().unwrap();
    let ch = traffic(&mut cat);
    let kinds: Vec<String> = ch
        .iter()
        .map(|c| {
            serde_json::to_value(c).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(count("new_endpoint"), 5, "{kinds:?}");
    // `sort` on GET /v1/customers and `card_number` on POST /v1/charges
    let params: Vec<String> = ch
        .iter()
        .filter_map(|c| match c {
            Change::NewParameter { name, at, .. } => Some(format!("{} {}", at.template, name)),
            _ => None,
        })
        .collect();
    assert_eq!(params, ["/v1/customers sort", "/v1/charges card_number"]);
    let data: Vec<String> = ch
        .iter()
        .filter_map(|c| match c {
            Change::NewDataClass {
                class,
                location,
                sample,
                ..
            } => Some(format!("{} {location} {sample}", class.as_str())),
            _ => None,
        })
        .collect();
    assert!(
        data.contains(&"card_number body.card_number 411111******1111".to_string()),
        "{data:?}"
    );
    assert!(
        data.contains(&"email response.email j***@example.com".to_string()),
        "{data:?}"
    );
    let json = serde_json::to_string(&ch).unwrap();
    assert!(!json.contains("4111111111111111") && !json.contains("s3cr3t"));
}
