//! Schema enforcement: the compiled snapshot against the declared spec and
//! the learned baseline, per-endpoint modes, and config problems.

use std::net::{IpAddr, Ipv4Addr};

use palisade_catalog::baseline::{LearnedParam, LearnedSchema};
use palisade_catalog::{
    BaselineConfig, CatalogConfig, SchemaConfig, SchemaMode, SchemaSnapshot, SchemaSource, Spec,
    ValueType,
};
use palisade_core::{ActorRef, Body, Exchange, RequestPart, Verdict};

const SPEC: &str = r#"{
  "openapi": "3.1.0",
  "paths": {
    "/api/v1/charges": {
      "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "additionalProperties": false, "required": ["amount"],
          "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"},
                         "card": {"type": "object"}}}}}},
        "responses": {"200": {}}
      }
    },
    "/api/v1/products": {
      "get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
              "responses": {"200": {}}}
    },
    "/api/v1/accounts/{id}": {"get": {"responses": {"200": {}}}}
  }
}"#;

fn request(method: &str, target: &str, body: &str) -> Exchange {
    let mut headers = vec![("host".to_string(), "shop".to_string())];
    if !body.is_empty() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    Exchange {
        client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        request: RequestPart {
            method: method.into(),
            target: target.into(),
            host: Some("shop".into()),
            headers,
            body: Body::new(body.to_string()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn spec_snapshot(cfg: &SchemaConfig) -> SchemaSnapshot {
    let spec = Spec::parse(SPEC, "spec.json").unwrap();
    SchemaSnapshot::build(cfg, Some(&spec), &[])
}

fn check(
    s: &SchemaSnapshot,
    method: &str,
    target: &str,
    body: &str,
) -> (Verdict, Vec<(String, String)>) {
    let mut ex = request(method, target, body);
    let v = s.check(&mut ex);
    (
        v,
        ex.findings
            .iter()
            .map(|f| (f.rule_id.clone(), f.location.clone()))
            .collect(),
    )
}

#[test]
fn block_mode_blocks_violations_of_the_declared_spec() {
    let cfg = SchemaConfig {
        mode: SchemaMode::Log,
        source: SchemaSource::Spec,
        endpoints: [("POST /api/v1/charges".to_string(), SchemaMode::Block)].into(),
    };
    let s = spec_snapshot(&cfg);
    let (v, f) = check(&s, "POST", "/api/v1/charges", r#"{"amount":"ten"}"#);
    assert!(matches!(v, Verdict::Block { status: 403, .. }), "{v:?}");
    assert_eq!(
        f,
        vec![("schema.type_mismatch".into(), "body.amount".into())]
    );

    let (v, f) = check(
        &s,
        "POST",
        "/api/v1/charges",
        r#"{"amount":1000,"currency":"usd","card":{"number":"4242424242424242"}}"#,
    );
    assert_eq!(v, Verdict::Allow);
    assert!(f.is_empty(), "{f:?}");

    // closed body: an unknown member; a missing required one; no body at all
    let (v, f) = check(
        &s,
        "POST",
        "/api/v1/charges",
        r#"{"amount":1,"admin":true}"#,
    );
    assert!(v.is_stop());
    assert_eq!(
        f,
        vec![("schema.unknown_parameter".into(), "body.admin".into())]
    );
    let (_, f) = check(&s, "POST", "/api/v1/charges", r#"{"currency":"usd"}"#);
    assert_eq!(
        f,
        vec![("schema.missing_required".into(), "body.amount".into())]
    );
    let (_, f) = check(&s, "POST", "/api/v1/charges", "");
    assert_eq!(f, vec![("schema.missing_body".into(), "body".into())]);

    // the other endpoints are in log mode: a finding, no block
    let (v, f) = check(&s, "GET", "/api/v1/products?limit=ten&debug=1", "");
    assert!(matches!(v, Verdict::Log { .. }), "{v:?}");
    assert_eq!(
        f,
        vec![
            ("schema.type_mismatch".into(), "query.limit".into()),
            ("schema.unknown_parameter".into(), "query.debug".into()),
        ]
    );
    let (v, f) = check(&s, "GET", "/api/v1/products?limit=10", "");
    assert_eq!((v, f.len()), (Verdict::Allow, 0));
    // undeclared paths are not checked (that is shadow, not schema)
    let (v, f) = check(&s, "GET", "/api/v1/nowhere?x=1", "");
    assert_eq!((v, f.len()), (Verdict::Allow, 0));
}

#[test]
fn overrides_match_by_shape_and_off_checks_nothing() {
    let cfg = SchemaConfig {
        mode: SchemaMode::Off,
        source: SchemaSource::Both,
        endpoints: [(
            "GET /api/v1/accounts/{account}".to_string(),
            SchemaMode::Block,
        )]
        .into(),
    };
    let s = spec_snapshot(&cfg);
    assert_eq!(s.len(), 1, "only the endpoint that is not off is compiled");
    let (v, f) = check(&s, "GET", "/api/v1/accounts/42?expand=all", "");
    assert!(v.is_stop());
    assert_eq!(
        f,
        vec![("schema.unknown_parameter".into(), "query.expand".into())]
    );
    let (v, f) = check(&s, "POST", "/api/v1/charges", r#"{"amount":"ten"}"#);
    assert_eq!((v, f.len()), (Verdict::Allow, 0));
    let off = SchemaConfig {
        mode: SchemaMode::Off,
        ..Default::default()
    };
    assert!(spec_snapshot(&off).is_empty());
}

#[test]
fn findings_mask_what_they_show() {
    let cfg = SchemaConfig {
        mode: SchemaMode::Block,
        source: SchemaSource::Spec,
        ..Default::default()
    };
    let s = spec_snapshot(&cfg);
    let mut ex = request(
        "POST",
        "/api/v1/charges",
        r#"{"amount":1,"pan":"4111111111111111","password":"hunter2hunter2"}"#,
    );
    assert!(s.check(&mut ex).is_stop());
    let json = serde_json::to_string(&ex.findings).unwrap();
    assert!(!json.contains("4111111111111111"), "{json}");
    assert!(!json.contains("hunter2"), "{json}");
    assert!(json.contains("411111******1111"), "{json}");
}

#[test]
fn learned_schemas_are_enforced_per_host() {
    let learned = vec![LearnedSchema {
        host: "shop".into(),
        method: "POST".into(),
        template: "/api/v1/orders".into(),
        params: vec![
            LearnedParam {
                location: palisade_catalog::Location::Body,
                name: "quantity".into(),
                types: ValueType::Integer.bit(),
                required: true,
            },
            LearnedParam {
                location: palisade_catalog::Location::Body,
                name: "sku".into(),
                types: ValueType::String.bit(),
                required: false,
            },
        ],
    }];
    let cfg = SchemaConfig {
        mode: SchemaMode::Block,
        source: SchemaSource::Learned,
        ..Default::default()
    };
    let s = SchemaSnapshot::build(&cfg, None, &learned);
    let (v, f) = check(&s, "POST", "/api/v1/orders", r#"{"quantity":2,"sku":"A1"}"#);
    assert_eq!((v, f.len()), (Verdict::Allow, 0));
    let (v, f) = check(
        &s,
        "POST",
        "/api/v1/orders",
        r#"{"quantity":"2","price":0}"#,
    );
    assert!(v.is_stop());
    assert_eq!(
        f,
        vec![
            ("schema.unknown_parameter".into(), "body.price".into()),
            ("schema.type_mismatch".into(), "body.quantity".into()),
        ]
    );
    let (_, f) = check(&s, "POST", "/api/v1/orders", r#"{"sku":"A1"}"#);
    assert_eq!(
        f,
        vec![("schema.missing_required".into(), "body.quantity".into())]
    );
    // another host has no learned schema
    let mut ex = request("POST", "/api/v1/orders", r#"{"price":0}"#);
    ex.request.host = Some("other".into());
    ex.request.headers[0].1 = "other".into();
    assert_eq!(s.check(&mut ex), Verdict::Allow);
}

#[test]
fn the_learned_schema_comes_from_an_established_baseline() {
    let mut cat = CatalogConfig::default().build().unwrap();
    let mut base = BaselineConfig {
        window: "1s".into(),
        min_windows: 2,
        ..Default::default()
    }
    .build()
    .unwrap();
    let t0 = 1_700_000_000_000i64;
    for w in 0..2i64 {
        for a in 0..6u32 {
            let mut ex = request("POST", "/api/v1/orders", r#"{"quantity":2,"sku":"A1"}"#);
            ex.actor = Some(ActorRef {
                id: format!("a{a}"),
                name: String::new(),
                risk: 0,
                campaign: None,
            });
            ex.response = Some(palisade_core::ResponsePart {
                status: 200,
                ..Default::default()
            });
            for i in 0..5 {
                cat.observe(&ex, t0);
                let at = cat.last_observed().unwrap();
                base.observe(at, &ex, true, t0 + w * 1000 + i64::from(a) * 10 + i);
            }
        }
    }
    let learned = base.learned_schemas();
    assert_eq!(learned.len(), 1);
    let cfg = SchemaConfig {
        mode: SchemaMode::Block,
        source: SchemaSource::Both,
        ..Default::default()
    };
    let s = SchemaSnapshot::build(&cfg, None, &learned);
    let (v, f) = check(
        &s,
        "POST",
        "/api/v1/orders",
        r#"{"quantity":"lots","sku":"A1"}"#,
    );
    assert!(v.is_stop());
    assert_eq!(
        f,
        vec![("schema.type_mismatch".into(), "body.quantity".into())]
    );
}

#[test]
fn endpoint_keys_are_validated() {
    let cfg = SchemaConfig {
        endpoints: [
            ("POST /api/v1/charges".to_string(), SchemaMode::Block),
            ("post /api/v1/charges".to_string(), SchemaMode::Log),
            ("/api/v1/x".to_string(), SchemaMode::Log),
            ("GET api/v1/x".to_string(), SchemaMode::Log),
            ("G3T /x".to_string(), SchemaMode::Log),
            ("GET /a/{b".to_string(), SchemaMode::Log),
        ]
        .into(),
        ..Default::default()
    };
    let p = cfg.problems();
    let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(p.len(), 5, "{p:?}");
    for k in ["/api/v1/x", "GET api/v1/x", "G3T /x", "GET /a/{b"] {
        assert!(keys.contains(&k), "{k}: {p:?}");
    }
    assert!(p.iter().any(|(_, m)| m.contains("same endpoint")), "{p:?}");
}

#[test]
fn array_elements_and_nested_unknowns_are_reported_once() {
    let learned = vec![LearnedSchema {
        host: "shop".into(),
        method: "POST".into(),
        template: "/api/v1/orders".into(),
        params: vec![LearnedParam {
            location: palisade_catalog::Location::Body,
            name: "quantity".into(),
            types: ValueType::Integer.bit(),
            required: false,
        }],
    }];
    let cfg = SchemaConfig {
        mode: SchemaMode::Log,
        source: SchemaSource::Learned,
        ..Default::default()
    };
    let s = SchemaSnapshot::build(&cfg, None, &learned);
    let (v, f) = check(
        &s,
        "POST",
        "/api/v1/orders?items=1",
        r#"{"items":[{"sku":"a"},{"sku":"b"}],"quantity":1}"#,
    );
    assert!(matches!(v, Verdict::Log { .. }));
    assert_eq!(
        f,
        vec![
            ("schema.unknown_parameter".into(), "query.items".into()),
            ("schema.unknown_parameter".into(), "body.items".into()),
        ]
    );
}
