//! Classifier vectors (`testdata/classify.json`: valid and invalid card
//! numbers, IBANs, phones, national ids, keys...) and auth-scheme vectors
//! (`testdata/auth.json`).

mod common;

use palisade_catalog::{AuthScheme, DataClass, auth, classify_value};
use serde::Deserialize;

#[derive(Deserialize)]
struct ClassCase {
    param: Option<String>,
    value: String,
    class: Option<DataClass>,
}

#[test]
fn classifier_vectors() {
    common::check("classify.json", |c: &ClassCase| {
        let got = classify_value(c.param.as_deref(), &c.value);
        if got == c.class {
            Ok(())
        } else {
            Err(format!("want {:?}, got {got:?}", c.class))
        }
    });
}

#[derive(Deserialize)]
struct AuthCase {
    headers: Vec<(String, String)>,
    target: String,
    schemes: Vec<AuthScheme>,
    jwt_alg: Option<String>,
    jwt_iss: Option<String>,
}

#[test]
fn auth_vectors() {
    common::check("auth.json", |c: &AuthCase| {
        let mut ex = common::get("h", &c.target, 200);
        ex.request.headers = c.headers.clone();
        let seen = auth::detect(&ex);
        let mut want = c.schemes.clone();
        want.sort();
        if seen.schemes != want {
            return Err(format!("schemes: want {want:?}, got {:?}", seen.schemes));
        }
        if seen.jwt_alg != c.jwt_alg || seen.jwt_iss != c.jwt_iss {
            return Err(format!("jwt: got {:?} {:?}", seen.jwt_alg, seen.jwt_iss));
        }
        Ok(())
    });
}

#[test]
fn endpoint_reports_unauthenticated_success_and_auth_change() {
    use palisade_catalog::{CatalogConfig, Change};
    let cfg = CatalogConfig {
        auth_baseline_requests: 3,
        ..Default::default()
    };
    let mut cat = cfg.build().unwrap();
    let bearer = [("Authorization", "Bearer opaque-token-123")];
    for i in 0..5 {
        let ex = common::req("api", "GET", "/v1/balance", &bearer, "", 200, "{}");
        assert!(
            cat.observe(&ex, i)
                .iter()
                .all(|c| !matches!(c, Change::AuthChanged { .. }))
        );
    }
    // a request without credentials answered 401: not a change
    let denied = common::req("api", "GET", "/v1/balance", &[], "", 401, "{}");
    assert!(cat.observe(&denied, 6).is_empty());
    // without credentials, answered 200: the endpoint accepted `none`
    let open = common::req("api", "GET", "/v1/balance", &[], "", 200, "{}");
    let changes = cat.observe(&open, 7);
    let Some(Change::AuthChanged { from, to, .. }) = changes.first() else {
        panic!("no auth change: {changes:?}")
    };
    assert_eq!(from, &vec![AuthScheme::Bearer]);
    assert_eq!(to, &vec![AuthScheme::None, AuthScheme::Bearer]);
    let v = &cat.endpoints()[0];
    assert_eq!(v.auth.unauthenticated_success, 1);
    assert!(
        v.posture
            .reasons
            .iter()
            .any(|r| r.code == "unauthenticated_success")
    );
}

#[test]
fn personal_values_without_a_class_keep_no_example() {
    use palisade_catalog::CatalogConfig;
    let mut cat = CatalogConfig::default().build().unwrap();
    let body = r#"{"name":"Jane Doe","address":{"line1":"1 Main St","city":"Springfield"},"plan":"gold","card":{"number":"4111 1111 1111 1111","cvc":"123"}}"#;
    cat.observe(
        &common::req(
            "api",
            "POST",
            "/v1/signup",
            &[],
            body,
            200,
            r#"{"token":"Zq8vN2kLp4Xr9sT1wY6u"}"#,
        ),
        1,
    );
    let shown = serde_json::to_string(&cat.endpoints()).unwrap()
        + &cat.to_snapshot().to_string()
        + &cat.export_openapi().to_string();
    for leak in [
        "Jane",
        "Main St",
        "Springfield",
        "4111 1111 1111 1111",
        "\"123\"",
        "Zq8vN2kLp4Xr9sT1wY6u",
    ] {
        assert!(!shown.contains(leak), "{leak} leaked");
    }
    assert!(shown.contains("gold"), "ordinary examples are kept");
    assert!(shown.contains("411111******1111"));
}
