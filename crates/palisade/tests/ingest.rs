//! The passive sensor end to end: `palisade ingest` over an nginx JSON log
//! (with malformed lines), the catalog it learns, and `POST /api/v1/ingest`.

use std::fmt::Write as _;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;
use common::{BIN, start, token};

fn nginx_log() -> String {
    let mut log = String::new();
    for i in 0..300u32 {
        let (method, uri, status, body) = match i % 4 {
            0 => (
                "GET",
                format!("/api/v1/accounts/{}", 10_000 + i),
                200,
                String::new(),
            ),
            1 => (
                "GET",
                format!("/api/v1/customers/cus_{:08x}/orders", i * 7919),
                200,
                String::new(),
            ),
            2 => (
                "POST",
                "/api/v1/charges".to_string(),
                402,
                r#"{\"amount\":1999,\"card\":{\"number\":\"4242424242424242\",\"cvc\":\"123\"}}"#
                    .to_string(),
            ),
            _ => (
                "GET",
                format!("/api/v1/search?q=plan{}", i),
                200,
                String::new(),
            ),
        };
        let _ = writeln!(
            log,
            r#"{{"time_iso8601":"2026-11-20T10:{:02}:{:02}+00:00","remote_addr":"203.0.113.{}","request_method":"{method}","request_uri":"{uri}","server_protocol":"HTTP/1.1","status":"{status}","body_bytes_sent":"120","request_time":"0.004","http_host":"api.example.com","http_user_agent":"PayApp/4.2","request_body":"{body}"}}"#,
            (i / 60) % 60,
            i % 60,
            i % 250 + 1
        );
        if i == 41 || i == 200 {
            log.push_str("{\"this is\": not json\n");
        }
    }
    log
}

#[test]
fn ingest_counts_malformed_lines_and_learns_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, nginx_log()).unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(BIN)
        .args([
            "ingest",
            log.to_str().unwrap(),
            "--format",
            "nginx-json",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("300 parsed, 2 malformed"), "{text}");
    assert!(
        text.contains("line 43") && text.contains("line 203"),
        "line numbers of the bad lines: {text}"
    );
    let s = palisade_store::Store::open_read_only(&data).unwrap();
    assert_eq!(s.counts(0).unwrap().exchanges, 300);

    let out = std::process::Command::new(BIN)
        .args(["catalog", "list", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{list}");
    for t in [
        "/api/v1/accounts/{account}",
        "/api/v1/customers/{customer}/orders",
        "/api/v1/charges",
        "/api/v1/search",
    ] {
        assert!(list.contains(t), "{t} missing from:\n{list}");
    }
    assert!(
        list.contains("card_number"),
        "card data on /charges: {list}"
    );
    assert!(list.contains("4 endpoint(s)"), "{list}");

    let out = std::process::Command::new(BIN)
        .args([
            "catalog",
            "export",
            "--format",
            "openapi",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(
        doc["paths"]["/api/v1/accounts/{account}"]["get"].is_object(),
        "{doc}"
    );
    // Import the team's spec: /search is undeclared (shadow), the accounts
    // read is deprecated (zombie), /refunds is declared but never called (unused).
    let spec = dir.path().join("openapi.yaml");
    std::fs::write(
        &spec,
        r##"
openapi: 3.0.3
info: {title: Payments, version: "1"}
paths:
  /api/v1/accounts/{id}:
    get:
      deprecated: true
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses: {"200": {description: ok}}
  /api/v1/customers/{customer}/orders:
    get:
      parameters: [{name: customer, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /api/v1/charges:
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Charge"}}}}
      responses: {"200": {description: ok}}
  /api/v1/refunds:
    post:
      responses: {"200": {description: ok}}
components:
  schemas:
    Charge: {type: object, properties: {amount: {type: integer}, card: {type: object}}}
"##,
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "catalog",
            "import-spec",
            spec.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("shadow 1, zombie 1, unused 1"), "{text}");
    let out = std::process::Command::new(BIN)
        .args(["catalog", "list", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let row = |t: &str| {
        list.lines()
            .find(|l| l.contains(t))
            .unwrap_or("")
            .to_string()
    };
    assert!(row("/api/v1/search").contains(" S "), "{list}");
    assert!(row("/api/v1/accounts/").contains('Z'), "{list}");
    let bad = dir.path().join("bad.yaml");
    for doc in [
        "swagger: \"2.0\"\npaths: {}\n",
        "{{{ not yaml",
        "openapi: 3.0.3\npaths:\n  /x:\n    get:\n      requestBody: {$ref: \"#/nowhere\"}\n",
    ] {
        std::fs::write(&bad, doc).unwrap();
        let out = std::process::Command::new(BIN)
            .args([
                "catalog",
                "import-spec",
                bad.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted: {doc}");
        assert!(err.contains("bad.yaml"), "the error names the file: {err}");
    }

    // Nothing secret in the store.
    let raw = std::fs::read(data.join("palisade.db")).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("4242424242424242"));
}

#[tokio::test]
async fn the_console_accepts_batches() {
    let dir = tempfile::tempdir().unwrap();
    // Ingest needs the analyst role: a token made as an operator would.
    let token = token(dir.path(), "analyst");
    let node = start(&[
        "gateway",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        "http://127.0.0.1:9",
        "--console",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ])
    .await;
    let console = node.console.clone();
    let body = concat!(
        r#"{"ts_ms":1795000000000,"client_ip":"198.51.100.4","request":{"method":"GET","target":"/api/v2/items/1?q=1%27%20OR%201%3D1--"}}"#,
        "\n",
        "not json at all\n",
        r#"{"ts_ms":1795000000001,"client_ip":"198.51.100.5","request":{"method":"GET","target":"/api/v2/items/2"}}"#,
        "\n",
    );
    let post_as = |body: String, q: &str, token: &str| {
        let console = console.clone();
        let q = q.to_string();
        let auth = if token.is_empty() {
            String::new()
        } else {
            format!("Authorization: Bearer {token}\r\n")
        };
        async move {
            let mut s = TcpStream::connect(&console).await.unwrap();
            s.write_all(format!("POST /api/v1/ingest{q} HTTP/1.1\r\nHost: c\r\n{auth}Content-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes()).await.unwrap();
            let mut out = String::new();
            tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
                .await
                .unwrap()
                .unwrap();
            out
        }
    };
    let out = post_as(body.to_string(), "?format=ndjson", "").await;
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    assert!(out.contains("\"unauthenticated\""), "{out}");
    let post = |body: String, q: &str| post_as(body, q, &token);
    let out = post(body.to_string(), "?format=ndjson").await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        out.contains("\"parsed\":2") && out.contains("\"malformed\":1") && out.contains("line 2"),
        "{out}"
    );
    let out = post(body.to_string(), "?format=carrier-pigeon").await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    // The passive exchanges were inspected: the injection is a finding, not enforced.
    let mut flagged = String::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(&console).await.unwrap();
        s.write_all(
            format!("GET /api/v1/exchanges?flagged=true HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        flagged.clear();
        s.read_to_string(&mut flagged).await.unwrap();
        if flagged.contains("/api/v2/items/1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        flagged.contains("/api/v2/items/1") && flagged.contains("sqli"),
        "{flagged}"
    );
    assert!(flagged.contains("\"enforced\":false"), "{flagged}");
    assert!(node.stop().await.success());
}
