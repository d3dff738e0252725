//! `palisade run` with `[store] postgres`: the real binary in front of a
//! real upstream, storing in a real PostgreSQL server on loopback; the
//! console lists from PostgreSQL and writes users and the audit log there.

use std::time::Duration;

mod common;
use common::{demo_api, http, start};
use palisade_store::{NewToken, Store, StoreSpec};
use palisade_testsupport::PostgresServer;

/// An admin token recorded in the PostgreSQL store, as the console would.
fn admin_token(spec: &StoreSpec) -> String {
    let (id, token) = palisade_console::auth::new_token();
    let hash = palisade_console::auth::secret_hash(&token);
    let mut s = Store::open_spec(spec).unwrap();
    s.create_token(
        &NewToken {
            id: &id,
            hash: &hash,
            role: "admin",
            name: "test",
            created_by: "cli",
        },
        palisade_core::now_ms(),
    )
    .unwrap();
    token
}

#[tokio::test]
async fn run_with_postgres_stores_there_and_the_console_reads_it() {
    let pg = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap()
        .unwrap();
    let spec = StoreSpec::Postgres(pg.url());
    let (up, _stop) = demo_api().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("palisade.toml");
    // Trust authentication ignores the password; it is here to show that
    // the console masks it.
    let url_with_password = format!(
        "postgres://palisade:pg-s3cret@127.0.0.1:{}/postgres",
        pg.port()
    );
    std::fs::write(
        &cfg,
        common::node_config(up, &data, &format!("postgres = \"{url_with_password}\"\n")),
    )
    .unwrap();
    let admin = {
        let spec = spec.clone();
        tokio::task::spawn_blocking(move || admin_token(&spec))
            .await
            .unwrap()
    };
    let p = start(&["run", "--config", cfg.to_str().unwrap()]).await;
    for i in 0..5 {
        let out = http(&p.gateway, &format!("GET /api/v1/products?i={i}&card=4111111111111111 HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")).await;
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    }
    // The console lists them from PostgreSQL within a second or so.
    let mut listed = String::new();
    for _ in 0..50 {
        listed = http(
            &p.console,
            &format!("GET /api/v1/exchanges?limit=10 HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer {admin}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        if listed.matches("\"/api/v1/products\"").count() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    assert_eq!(
        listed.matches("\"/api/v1/products\"").count(),
        5,
        "{listed}"
    );
    // A console write (a new user) lands in PostgreSQL with its audit entry.
    let body = r#"{"name":"ana","role":"analyst","password":"correct horse battery staple"}"#;
    let created = http(
        &p.console,
        &format!("POST /api/v1/users HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    )
    .await;
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let settings = http(
        &p.console,
        &format!("GET /api/v1/settings HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer {admin}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(settings.starts_with("HTTP/1.1 200"), "{settings}");
    assert!(
        settings.contains("postgres://palisade:***@127.0.0.1"),
        "{settings}"
    );
    assert!(!settings.contains("pg-s3cret"), "{settings}");
    assert!(p.stop().await.success());

    let (count, users, audit, masked) = tokio::task::spawn_blocking(move || {
        let s = Store::open_read_only_spec(&spec).unwrap();
        let page = s
            .exchanges(&palisade_store::ExchangeQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let full = s.exchange(&page.items[0].id).unwrap().unwrap();
        let target = full.exchange.unwrap().request.target;
        (
            s.counts(0).unwrap().exchanges,
            s.users().unwrap(),
            s.verify_audit().unwrap(),
            !target.contains("4111111111111111"),
        )
    })
    .await
    .unwrap();
    assert_eq!(count, 5);
    assert!(masked, "the card number reached PostgreSQL");
    // The first admin was made in PostgreSQL, beside the user made above.
    let names: Vec<_> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["admin", "ana"]);
    assert!(audit.intact() && audit.entries >= 2, "{audit:?}");
    // SQLite was not used: only the key (and the first password) are local.
    assert!(!data.join("palisade.db").exists());
    assert!(data.join("hash.key").exists());

    // The offline commands reach the same store with --postgres.
    let url = pg.url();
    let cli = move |args: &[&str]| {
        let out = std::process::Command::new(common::BIN)
            .args(args)
            .args(["--postgres", &url])
            .env("PALISADE_PASSWORD", "a-long-enough-passphrase")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = cli(&["user", "add", "carla", "--role", "analyst"]);
    assert!(ok, "{out}");
    let (ok, out) = cli(&["audit", "verify"]);
    assert!(ok && out.contains("audit log intact"), "{out}");
    let (ok, out) = cli(&["catalog", "list"]);
    assert!(ok, "{out}");
    let (ok, out) = cli(&["token", "create", "--role", "viewer", "--name", "ci"]);
    assert!(ok, "{out}");
    let users = tokio::task::spawn_blocking({
        let spec = StoreSpec::Postgres(pg.url());
        move || Store::open_read_only_spec(&spec).unwrap().users().unwrap()
    })
    .await
    .unwrap();
    assert!(users.iter().any(|u| u.name == "carla"), "{users:?}");
    // A bad URL is refused with the fix, before any connection.
    let out = std::process::Command::new(common::BIN)
        .args(["audit", "verify", "--postgres", "mysql://x@h/db"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--postgres"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(pg);
}
