//! Tests of the console's security: every route against every role, login
//! with cookies and CSRF, the login rate limit, token revocation, and the
//! audit log.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::users::{cli_add_user, cli_create_token};
use crate::{ConsoleState, Role, router};

const PW: &str = "a long enough password";

struct Env {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    app: Router,
    tokens: HashMap<Role, String>,
}

fn env_with(configure: impl FnOnce(&mut ConsoleState)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut tokens = HashMap::new();
    for role in [Role::Viewer, Role::Analyst, Role::Admin] {
        cli_add_user(
            &palisade_store::StoreSpec::sqlite(&path),
            role.as_str(),
            role,
            PW,
        )
        .unwrap();
        tokens.insert(
            role,
            cli_create_token(&palisade_store::StoreSpec::sqlite(&path), role, "t")
                .unwrap()
                .token,
        );
    }
    let mut state = ConsoleState::new(path.clone());
    configure(&mut state);
    Env {
        _dir: dir,
        path,
        app: router(state),
        tokens,
    }
}

fn env() -> Env {
    env_with(|_| {})
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        headers,
        body,
    }
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

async fn login(app: &Router, user: &str, password: &str) -> Answer {
    call(
        app,
        Method::POST,
        "/api/v1/auth/login",
        &[],
        Some(json!({"username": user, "password": password})),
    )
    .await
}

/// `(cookie header, csrf token)` of a fresh session.
async fn session(app: &Router, user: &str) -> (String, String) {
    let a = login(app, user, PW).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let set = a.headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = set.split(';').next().unwrap().to_string();
    (cookie, a.body["csrf_token"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn every_route_answers_each_role_as_its_policy_says() {
    let e = env();
    // (method, uri, body, least role that may call it)
    let routes: Vec<(Method, &str, Option<Value>, Role)> = vec![
        (Method::GET, "/api/v1/exchanges", None, Role::Viewer),
        (Method::GET, "/api/v1/exchanges/nope", None, Role::Viewer),
        (Method::GET, "/api/v1/actors", None, Role::Viewer),
        (Method::GET, "/api/v1/actors/nope", None, Role::Viewer),
        (Method::GET, "/api/v1/campaigns", None, Role::Viewer),
        (Method::GET, "/api/v1/catalog/endpoints", None, Role::Viewer),
        (
            Method::GET,
            "/api/v1/catalog/endpoints/x",
            None,
            Role::Viewer,
        ),
        (
            Method::GET,
            "/api/v1/catalog/spec-report",
            None,
            Role::Viewer,
        ),
        (Method::GET, "/api/v1/catalog/changes", None, Role::Viewer),
        (
            Method::GET,
            "/api/v1/catalog/openapi.json",
            None,
            Role::Viewer,
        ),
        (Method::GET, "/api/v1/auth/me", None, Role::Viewer),
        (Method::POST, "/api/v1/auth/logout", None, Role::Viewer),
        (
            Method::POST,
            "/api/v1/auth/password",
            Some(json!({"current_password": PW, "new_password": "another long password"})),
            Role::Viewer,
        ),
        (Method::POST, "/api/v1/ingest", None, Role::Analyst),
        (Method::GET, "/api/v1/audit", None, Role::Analyst),
        (Method::GET, "/api/v1/audit/verify", None, Role::Analyst),
        (Method::GET, "/api/v1/users", None, Role::Admin),
        (
            Method::POST,
            "/api/v1/users",
            Some(json!({"name": "NEW", "role": "viewer", "password": PW})),
            Role::Admin,
        ),
        (
            Method::PATCH,
            "/api/v1/users/viewer",
            Some(json!({"role": "viewer"})),
            Role::Admin,
        ),
        (Method::GET, "/api/v1/tokens", None, Role::Admin),
        (
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"role": "viewer", "name": "x"})),
            Role::Admin,
        ),
        (Method::DELETE, "/api/v1/tokens/tok_nope", None, Role::Admin),
    ];
    for (i, (method, uri, body, least)) in routes.into_iter().enumerate() {
        let body = body.map(|b| {
            // Unique user names so that each role's attempt is a fresh one.
            let s = b.to_string().replace("NEW", &format!("u{i}"));
            serde_json::from_str::<Value>(&s).unwrap()
        });
        let a = call(&e.app, method.clone(), uri, &[], body.clone()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        assert_eq!(a.code(), "unauthenticated", "{method} {uri}");
        assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
        for role in [Role::Viewer, Role::Analyst, Role::Admin] {
            let auth = bearer(&e.tokens[&role]);
            let mut body = body.clone();
            if let Some(Value::Object(m)) = body.as_mut()
                && let Some(Value::String(n)) = m.get_mut("name")
                && n.starts_with('u')
            {
                n.push_str(role.as_str());
            }
            let a = call(
                &e.app,
                method.clone(),
                uri,
                &[("authorization", &auth)],
                body,
            )
            .await;
            if role < least {
                assert_eq!(a.status, StatusCode::FORBIDDEN, "{role} {method} {uri}");
                assert_eq!(a.code(), "forbidden", "{role} {method} {uri}");
            } else {
                assert!(
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&a.status),
                    "{role} {method} {uri}: {} {:?}",
                    a.status,
                    a.body
                );
            }
        }
    }
    // The operational endpoints stay open.
    for uri in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            call(&e.app, Method::GET, uri, &[], None).await.status,
            StatusCode::OK,
            "{uri}"
        );
    }
    // Credentials that are not a known token are refused alike.
    for h in ["Bearer pal_nope", "Basic YWRtaW46eA==", "Bearer "] {
        let a = call(
            &e.app,
            Method::GET,
            "/api/v1/exchanges",
            &[("authorization", h)],
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{h}");
        assert_eq!(a.code(), "unauthenticated");
    }
}

#[tokio::test]
async fn a_viewer_cannot_change_anything_an_analyst_can_ingest() {
    let e = env();
    let v = bearer(&e.tokens[&Role::Viewer]);
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/ingest",
        &[("authorization", &v)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // An unknown write route is admin-only, never open.
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/users",
        &[("authorization", &v)],
        Some(json!({"name": "eve", "role": "admin", "password": PW})),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let an = bearer(&e.tokens[&Role::Analyst]);
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/ingest",
        &[("authorization", &an)],
        None,
    )
    .await;
    // Allowed: this test state runs no analysis, so it says so.
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
    assert_eq!(a.code(), "analysis_unavailable");
}

#[tokio::test]
async fn login_sets_a_strict_cookie_and_changes_need_the_csrf_token() {
    let e = env();
    let bad = login(&e.app, "admin", "wrong password!").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.code(), "bad_credentials");
    assert!(!bad.headers.contains_key(header::SET_COOKIE));

    let a = login(&e.app, "admin", PW).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["role"], "admin");
    let set = a.headers[header::SET_COOKIE].to_str().unwrap();
    for attr in ["palisade_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains("Secure"), "not configured: {set}");
    assert!(!set.contains(PW));
    let (cookie, csrf) = session(&e.app, "admin").await;

    // Reads need no CSRF token; /auth/me hands it again.
    let me = call(
        &e.app,
        Method::GET,
        "/api/v1/auth/me",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"], "admin");
    assert_eq!(me.body["csrf_token"], csrf.as_str());

    let new_token = Some(json!({"role": "viewer"}));
    for headers in [
        vec![("cookie", cookie.as_str())],
        vec![("cookie", cookie.as_str()), ("x-csrf-token", "forged")],
    ] {
        let a = call(
            &e.app,
            Method::POST,
            "/api/v1/tokens",
            &headers,
            new_token.clone(),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert_eq!(a.code(), "csrf");
    }
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/tokens",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        new_token,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert!(a.body["token"].as_str().unwrap().starts_with("pal_"));

    // A viewer's session with a valid CSRF token still may not change things.
    let (vc, vcsrf) = session(&e.app, "viewer").await;
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/tokens",
        &[("cookie", &vc), ("x-csrf-token", &vcsrf)],
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.code(), "forbidden");

    // Logout needs the token too, ends the session and clears the cookie.
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/auth/logout",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(a.code(), "csrf");
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/auth/logout",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(
        a.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let a = call(
        &e.app,
        Method::GET,
        "/api/v1/auth/me",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // A made-up session id is refused.
    let a = call(
        &e.app,
        Method::GET,
        "/api/v1/auth/me",
        &[("cookie", "palisade_session=made-up")],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn secure_cookies_when_configured_and_private_metrics() {
    let e = env_with(|s| {
        s.security.secure_cookies = true;
        s.security.metrics_public = false;
    });
    let a = login(&e.app, "viewer", PW).await;
    assert!(
        a.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    let a = call(&e.app, Method::GET, "/metrics", &[], None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let v = bearer(&e.tokens[&Role::Viewer]);
    let a = call(
        &e.app,
        Method::GET,
        "/metrics",
        &[("authorization", &v)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        call(&e.app, Method::GET, "/healthz", &[], None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_user_and_per_address() {
    let e = env();
    for _ in 0..5 {
        assert_eq!(
            login(&e.app, "analyst", "not the password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: even the right password is refused until the window ends.
    let a = login(&e.app, "analyst", PW).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.code(), "rate_limited");
    let secs: u64 = a.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    // Another user is not affected.
    assert_eq!(login(&e.app, "viewer", PW).await.status, StatusCode::OK);

    // One address guessing many names is stopped too.
    let from = |user: &str, pw: &str| {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": user, "password": pw}).to_string(),
            ))
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo("127.0.0.9:5555".parse::<SocketAddr>().unwrap()));
        req
    };
    for i in 0..20 {
        let r = e
            .app
            .clone()
            .oneshot(from(&format!("guess{i}"), "x"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = e.app.clone().oneshot(from("admin", PW)).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The same user from elsewhere still signs in.
    assert_eq!(login(&e.app, "admin", PW).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revoked_tokens_and_disabled_users_are_refused() {
    let e = env();
    let admin = bearer(&e.tokens[&Role::Admin]);
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/tokens",
        &[("authorization", &admin)],
        Some(json!({"role": "analyst", "name": "ci"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let (id, token) = (
        a.body["id"].as_str().unwrap().to_string(),
        a.body["token"].as_str().unwrap().to_string(),
    );
    let t = bearer(&token);
    let get = |auth: String| {
        let app = e.app.clone();
        async move {
            call(
                &app,
                Method::GET,
                "/api/v1/audit",
                &[("authorization", &auth)],
                None,
            )
            .await
        }
    };
    assert_eq!(get(t.clone()).await.status, StatusCode::OK);
    // The list shows the token but never the token itself or its hash.
    let list = call(
        &e.app,
        Method::GET,
        "/api/v1/tokens",
        &[("authorization", &admin)],
        None,
    )
    .await;
    let text = list.body.to_string();
    assert!(text.contains(&id) && !text.contains(&token), "{text}");
    assert!(!text.contains(&crate::auth::secret_hash(&token)));

    let del = format!("/api/v1/tokens/{id}");
    let a = call(
        &e.app,
        Method::DELETE,
        &del,
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = get(t).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.code(), "unauthenticated");
    let a = call(
        &e.app,
        Method::DELETE,
        &del,
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // Disabling a user ends its sessions and its logins.
    let (vc, _) = session(&e.app, "viewer").await;
    let a = call(
        &e.app,
        Method::PATCH,
        "/api/v1/users/viewer",
        &[("authorization", &admin)],
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["disabled"], true);
    let a = call(
        &e.app,
        Method::GET,
        "/api/v1/auth/me",
        &[("cookie", &vc)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login(&e.app, "viewer", PW).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The last enabled admin cannot be demoted.
    let a = call(
        &e.app,
        Method::PATCH,
        "/api/v1/users/admin",
        &[("authorization", &admin)],
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    // Bad input is a 400 naming the problem, never an echo of the password.
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/users",
        &[("authorization", &admin)],
        Some(json!({"name": "bob", "role": "root", "password": "tiny-secret"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/users",
        &[("authorization", &admin)],
        Some(json!({"name": "bob", "role": "viewer", "password": "tiny-secret"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(!a.body.to_string().contains("tiny-secret"));
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/users",
        &[("authorization", &admin)],
        Some(json!({"name": "viewer", "role": "viewer", "password": PW})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn admin_changes_are_audited_and_tampering_is_found() {
    let e = env();
    let admin = bearer(&e.tokens[&Role::Admin]);
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/users",
        &[("authorization", &admin)],
        Some(json!({"name": "carol", "role": "analyst", "password": PW})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let (cookie, csrf) = session(&e.app, "carol").await;
    let a = call(
        &e.app,
        Method::POST,
        "/api/v1/auth/password",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        Some(json!({"current_password": PW, "new_password": "carol's new password"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{:?}", a.body);
    assert_eq!(
        login(&e.app, "carol", PW).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&e.app, "carol", "carol's new password").await.status,
        StatusCode::OK
    );

    let a = call(
        &e.app,
        Method::GET,
        "/api/v1/audit?limit=2",
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let items = a.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "user.password");
    assert_eq!(items[0]["actor"], "user:carol");
    assert_eq!(items[1]["action"], "user.create");
    assert_eq!(items[1]["target"], "carol");
    assert!(
        items[1]["actor"]
            .as_str()
            .unwrap()
            .starts_with("token:tok_")
    );
    assert_eq!(items[0]["prev_hash"], items[1]["hash"]);
    let text = a.body.to_string();
    assert!(
        !text.contains(PW) && !text.contains("carol's new"),
        "{text}"
    );
    let seq = items[1]["seq"].as_i64().unwrap();
    // 3 users and 3 tokens from the CLI, then the two changes above.
    assert_eq!(seq, 7);
    let cursor = a.body["next_cursor"].as_i64().unwrap();
    let older = call(
        &e.app,
        Method::GET,
        &format!("/api/v1/audit?before={cursor}"),
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(older.body["items"].as_array().unwrap().len(), 6);

    let verify = call(
        &e.app,
        Method::GET,
        "/api/v1/audit/verify",
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(verify.body["intact"], true, "{:?}", verify.body);
    assert_eq!(verify.body["entries"], 8);

    // Edit an entry in SQLite directly: verification names it.
    let db = rusqlite::Connection::open(palisade_store::Store::db_path(&e.path)).unwrap();
    db.execute(
        "UPDATE audit SET detail = '{\"role\":\"admin\"}' WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    let verify = call(
        &e.app,
        Method::GET,
        "/api/v1/audit/verify",
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(verify.body["intact"], false);
    assert_eq!(verify.body["broken"]["seq"], seq);
    assert_eq!(
        crate::users::cli_verify_audit(&palisade_store::StoreSpec::sqlite(&e.path))
            .unwrap()
            .broken
            .unwrap()
            .seq,
        seq
    );
}

#[tokio::test]
async fn the_first_admin_is_created_once_and_its_password_file_goes_with_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let pw = crate::users::ensure_first_admin(dir.path())
        .unwrap()
        .unwrap();
    let file = dir.path().join(crate::users::INITIAL_PASSWORD_FILE);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), pw);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        crate::users::ensure_first_admin(dir.path())
            .unwrap()
            .is_none()
    );
    let app = router(ConsoleState::new(dir.path().to_path_buf()));
    let a = login(&app, "admin", &pw).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["role"], "admin");
    let cookie = a.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = a.body["csrf_token"].as_str().unwrap().to_string();
    let a = call(
        &app,
        Method::POST,
        "/api/v1/auth/password",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        Some(json!({"current_password": pw, "new_password": PW})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{:?}", a.body);
    assert!(!file.exists());
    // The change ended the session that made it.
    let a = call(
        &app,
        Method::GET,
        "/api/v1/auth/me",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}
