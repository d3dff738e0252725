use super::*;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use palisade_core::{Exchange, RequestPart};
use tower::ServiceExt;

/// A viewer's API token for `dir`, created as `palisade token create` does.
fn viewer_token(dir: &std::path::Path) -> String {
    users::cli_create_token(
        &palisade_store::StoreSpec::sqlite(dir),
        Role::Viewer,
        "tests",
    )
    .unwrap()
    .token
}

async fn get_as(app: &Router, uri: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::builder().uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn health_exchanges_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let batch: Vec<_> = (0..3)
        .map(|i| Exchange {
            id: format!("r{i}"),
            ts_ms: 1000 + i,
            client_ip: "127.0.0.1".parse().unwrap(),
            request: RequestPart {
                target: format!("/pay?card=4111111111111111&i={i}"),
                ..Default::default()
            },
            ..Default::default()
        })
        .collect();
    store.insert_exchanges(&batch).unwrap();
    let token = viewer_token(dir.path());
    let app = router(ConsoleState::new(dir.path().to_path_buf()));
    let get = |app: &Router, uri: &str| {
        let (app, uri, token) = (app.clone(), uri.to_string(), token.clone());
        async move { get_as(&app, &uri, Some(&token)).await }
    };

    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
    let (st, body) = get(&app, "/api/v1/exchanges?limit=2").await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    assert_eq!(v["items"][0]["id"], "r2");
    let cursor = v["next_cursor"].as_str().unwrap();
    let (_, body) = get(&app, &format!("/api/v1/exchanges?limit=2&before={cursor}")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["items"][0]["id"], "r0");
    assert!(v["next_cursor"].is_null());

    let (st, body) = get(&app, "/api/v1/exchanges/r1").await;
    assert_eq!(st, StatusCode::OK);
    assert!(!body.contains("4111111111111111"), "{body}");
    assert!(body.contains("411111******1111"), "{body}");

    let (st, body) = get(&app, "/api/v1/exchanges/nope").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(body.contains("\"code\":\"not_found\""), "{body}");
    let (st, body) = get(&app, "/api/v1/exchanges?limit=abc").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("bad_request"));
    let (st, _) = get(&app, "/api/v1/exchanges?action=explode").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = get(&app, "/api/v1/exchanges?before=zz").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = get(&app, "/nowhere").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_is_public_and_covers_every_route() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let app = router(ConsoleState::new(dir.path().to_path_buf()));
    let (st, body) = get_as(&app, "/api/v1/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    // Every documented path answers (never the router's "no such route"), and
    // the routes the dashboard and the CLI use are all documented.
    let token = viewer_token(dir.path());
    for p in paths.keys() {
        if p.contains('{') || !paths[p].as_object().unwrap().contains_key("get") {
            continue;
        }
        let (st, body) = get_as(&app, p, Some(&token)).await;
        assert!(
            !body.contains("no such route"),
            "{p} is documented but not routed: {st} {body}"
        );
    }
    for p in [
        "/api/v1/exchanges",
        "/api/v1/overview",
        "/api/v1/actors",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}/status",
        "/api/v1/catalog/endpoints",
        "/api/v1/ingest",
        "/api/v1/auth/login",
        "/api/v1/tokens",
        "/api/v1/audit/verify",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
