//! `palisade rules check|test`, and rules hot reload in a running gateway.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::{BIN, start};

const PATCH: &str = r#"
[[rule]]
id = "vp.export-format"
description = "Virtual patch: /v1/export passes `format` to a shell"
action = "block"
tags = ["virtual-patch"]

[[rule.when]]
field = "path"
op = "prefix"
value = "/v1/export"

[[rule.when]]
field = "query.format"
op = "regex"
value = "[^a-z0-9]"
"#;

#[test]
fn check_reports_every_problem_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[rule]]\nid = \"a\"\naction = \"explode\"\n\n[[rule]]\nid = \"b\"\naction = \"block\"\n[[rule.when]]\nfield = \"nowhere.at.all\"\nop = \"regex\"\nvalue = \"(\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["rules", "check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let f = bad.display().to_string();
    assert!(
        err.contains(&format!("{f}:3")),
        "the bad action's line: {err}"
    );
    assert!(
        err.matches(&f).count() >= 2,
        "every problem, not the first: {err}"
    );

    let good = dir.path().join("good.toml");
    std::fs::write(&good, PATCH).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["rules", "check", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn test_shows_what_fires_on_recorded_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("patch.toml");
    std::fs::write(&rules, PATCH).unwrap();
    let reqs = dir.path().join("recorded.ndjson");
    std::fs::write(&reqs, concat!(
        r#"{"id":"ok-1","ts_ms":1,"client_ip":"198.51.100.1","request":{"method":"GET","target":"/v1/export?format=csv"}}"#, "\n",
        r#"{"id":"bad-1","ts_ms":2,"client_ip":"198.51.100.2","request":{"method":"GET","target":"/v1/export?format=CSV"}}"#, "\n",
        r#"{"id":"sqli-1","ts_ms":3,"client_ip":"198.51.100.3","request":{"method":"GET","target":"/v1/items?q=1%27%20OR%20%271%27%3D%271"}}"#, "\n",
    )).unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "rules",
            "test",
            rules.to_str().unwrap(),
            reqs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line_of = |id: &str| {
        text.lines()
            .filter(|l| l.contains(id))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        line_of("bad-1").contains("vp.export-format")
            || text.split("bad-1").nth(1).is_some_and(|r| r
                .split("sqli-1")
                .next()
                .unwrap_or("")
                .contains("vp.export-format")),
        "{text}"
    );
    assert!(!line_of("ok-1").contains("vp.export-format"), "{text}");
    assert!(text.contains("sqli"), "{text}");
}

#[tokio::test]
async fn rules_reload_when_the_file_changes_without_dropping_connections() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = l.local_addr().unwrap();
    let (stop_api, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(palisade_sim::upstream::serve(l, async move {
        let _ = rx.await;
    }));
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("patch.toml");
    std::fs::write(&rules, "rule = []\n").unwrap();
    let cfg = dir.path().join("palisade.toml");
    std::fs::write(&cfg, format!(
        "[gateway]\nlisten = \"127.0.0.1:0\"\n[[route]]\nupstream = \"http://{api}\"\n[console]\nlisten = \"\"\n[store]\ndata_dir = \"{}\"\n[detect]\nrules = [\"{}\"]\n",
        dir.path().join("data").display(), rules.display())).unwrap();
    let node = start(&["run", "--config", cfg.to_str().unwrap()]).await;
    let gw = node.gateway.clone();

    // One keep-alive connection held open across the reload.
    let mut conn = TcpStream::connect(&gw).await.unwrap();
    async fn get(conn: &mut TcpStream, path: &str) -> String {
        conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = vec![0u8; 16384];
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
    let before = get(&mut conn, "/v1/export?format=CSV").await;
    assert!(
        before.starts_with("HTTP/1.1 404"),
        "no patch yet, the API answers: {before}"
    );
    std::fs::write(&rules, PATCH).unwrap();
    let mut after = String::new();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut c = TcpStream::connect(&gw).await.unwrap();
        after = get(&mut c, "/v1/export?format=CSV").await;
        if after.starts_with("HTTP/1.1 403") {
            break;
        }
    }
    assert!(
        after.starts_with("HTTP/1.1 403"),
        "patch not applied: {after}"
    );
    // The old connection still works, and a broken file keeps the running rules.
    let again = get(&mut conn, "/api/v1/products").await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    std::fs::write(&rules, "[[rule]]\nid = \"broken\"\naction = \"nope\"\n").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut c = TcpStream::connect(&gw).await.unwrap();
    let still = get(&mut c, "/v1/export?format=CSV").await;
    assert!(
        still.starts_with("HTTP/1.1 403"),
        "a broken file must not unload the patch: {still}"
    );

    assert!(node.stop().await.success());
    let _ = stop_api.send(());
}

/// Sends a JSON request to the console with a bearer token; returns (status, body).
async fn console(addr: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let raw = common::http(addr, &format!(
        "{method} {path} HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )).await;
    let status = raw.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, common::body(&raw).to_string())
}

#[tokio::test]
async fn rules_are_viewed_checked_tested_and_saved_from_the_console() {
    let (api, _stop_api) = common::demo_api().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = start(&[
        "gateway",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &format!("http://{api}"),
        "--console",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .await;
    let admin = common::token(&data, "admin");
    let viewer = common::token(&data, "viewer");
    // Some recorded traffic to test against.
    for i in 0..5 {
        common::http(
            &node.gateway,
            &format!(
                "GET /v1/export?format=CSV&i={i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
    }
    common::http(
        &node.gateway,
        "GET /v1/export?format=csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await; // batched writes

    let (st, view) = console(&node.console, "GET", "/api/v1/rules", &viewer, "").await;
    assert_eq!(st, 200, "{view}");
    assert!(
        view.contains("rules.toml") && view.contains("\"builtin\""),
        "{view}"
    );

    let patch = serde_json::json!({"text": PATCH}).to_string();
    let broken =
        serde_json::json!({"text": "[[rule]]\nid = \"x\"\naction = \"explode\"\n"}).to_string();
    let (st, err) = console(
        &node.console,
        "POST",
        "/api/v1/rules/check",
        &admin,
        &broken,
    )
    .await;
    assert_eq!(st, 400, "{err}");
    assert!(
        err.contains("invalid_rules") && err.contains(":3"),
        "the problem's line: {err}"
    );

    let (st, hits) = console(&node.console, "POST", "/api/v1/rules/test", &viewer, &patch).await;
    assert_eq!(
        st, 403,
        "a viewer cannot run tests (analyst and up): {hits}"
    );
    let (st, hits) = console(&node.console, "POST", "/api/v1/rules/test", &admin, &patch).await;
    assert_eq!(st, 200, "{hits}");
    let hits: serde_json::Value = serde_json::from_str(&hits).unwrap();
    assert_eq!(
        hits.as_array().unwrap().len(),
        5,
        "fires on the five CSV exports, not the csv one: {hits}"
    );

    let before = common::http(
        &node.gateway,
        "GET /v1/export?format=CSV HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(before.starts_with("HTTP/1.1 404"), "{before}");
    let (st, body) = console(&node.console, "PUT", "/api/v1/rules", &viewer, &patch).await;
    assert_eq!(st, 403, "a viewer cannot change rules: {body}");
    let (st, body) = console(&node.console, "PUT", "/api/v1/rules", &admin, &broken).await;
    assert_eq!(st, 400, "{body}");
    let (st, body) = console(&node.console, "PUT", "/api/v1/rules", &admin, &patch).await;
    assert_eq!(st, 200, "{body}");
    let after = common::http(
        &node.gateway,
        "GET /v1/export?format=CSV HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        after.starts_with("HTTP/1.1 403"),
        "the saved patch applies at once: {after}"
    );
    let on_disk = std::fs::read_to_string(data.join("rules.toml")).unwrap();
    assert!(on_disk.contains("vp.export-format"));
    let (_, audit) = console(&node.console, "GET", "/api/v1/audit", &admin, "").await;
    assert!(audit.contains("rules.update"), "{audit}");
    assert!(node.stop().await.success());
}
