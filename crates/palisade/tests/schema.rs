//! Schema enforcement and learned baselines, end to end: the real binary
//! (`palisade run`) in front of the demo payments API, on loopback.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

mod common;
use common::{demo_api, http, start};

const SPEC: &str = r#"{
  "openapi": "3.1.0",
  "info": {"title": "payments", "version": "1"},
  "paths": {
    "/api/v1/charges": {
      "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["amount", "card"],
          "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"},
                         "card": {"type": "object"}}}}}},
        "responses": {"200": {}, "4XX": {}}
      }
    }
  }
}"#;

fn write_config(dir: &Path, upstream: &str, extra: &str) -> std::path::PathBuf {
    let spec = dir.join("spec.json");
    std::fs::write(&spec, SPEC).unwrap();
    let cfg = dir.join("palisade.toml");
    std::fs::write(
        &cfg,
        format!(
            "[gateway]\nlisten = \"127.0.0.1:0\"\n\n[[route]]\npath_prefix = \"/\"\nupstream = \"http://{upstream}\"\n\n[console]\nlisten = \"\"\n\n[store]\ndata_dir = \"{}\"\n\n[spec]\nfiles = [\"{}\"]\n\n{extra}",
            dir.join("data").display(),
            spec.display()
        ),
    )
    .unwrap();
    cfg
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A stored exchange with findings: (target, verdict action, (rule, location)s).
type Flagged = (String, String, Vec<(String, String)>);

/// Every stored exchange with findings.
fn flagged(data: &Path) -> Vec<Flagged> {
    let s = palisade_store::Store::open_read_only(data).unwrap();
    let page = s
        .exchanges(&palisade_store::ExchangeQuery {
            limit: 500,
            flagged: true,
            ..Default::default()
        })
        .unwrap();
    page.items
        .iter()
        .map(|i| {
            let full = s.exchange(&i.id).unwrap().unwrap().exchange.unwrap();
            (
                full.request.target.clone(),
                i.action.clone(),
                i.findings
                    .iter()
                    .map(|f| (f.rule_id.clone(), f.location.clone()))
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn block_mode_answers_403_to_a_spec_violation_and_passes_a_valid_charge() {
    let (up, _stop) = demo_api().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &up.to_string(),
        "[schema]\nmode = \"log\"\nsource = \"spec\"\nendpoints = { \"POST /api/v1/charges\" = \"block\" }\n",
    );
    let p = start(&["run", "--config", cfg.to_str().unwrap()]).await;

    let bad = http(
        &p.gateway,
        &post(
            "/api/v1/charges",
            r#"{"amount":"ten","currency":"usd","card":{"number":"4242424242424242"}}"#,
        ),
    )
    .await;
    assert!(bad.starts_with("HTTP/1.1 403"), "{bad}");
    assert!(bad.to_ascii_lowercase().contains("x-request-id:"), "{bad}");
    assert!(
        common::body(&bad).contains("request_id"),
        "JSON naming the request: {bad}"
    );
    assert!(!bad.contains("schema."), "never names the rule: {bad}");

    let good = http(&p.gateway, &post("/api/v1/charges", r#"{"amount":1000,"currency":"usd","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}"#)).await;
    assert!(
        good.starts_with("HTTP/1.1 200") || good.starts_with("HTTP/1.1 402"),
        "forwarded to the upstream: {good}"
    );
    assert!(
        good.contains("\"status\"") || good.contains("card_declined") || good.contains("id"),
        "{good}"
    );

    // Other operations are in log mode; undeclared ones are not checked.
    let other = http(
        &p.gateway,
        "GET /api/v1/products?limit=ten HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(p.stop().await.success());
    let rows = flagged(&dir.path().join("data"));
    let blocked: Vec<_> = rows
        .iter()
        .filter(|(_, _, f)| f.contains(&("schema.type_mismatch".into(), "body.amount".into())))
        .collect();
    assert_eq!(blocked.len(), 1, "{rows:?}");
    assert_eq!(blocked[0].1, "block", "{rows:?}");
    assert!(
        rows.iter().all(|(_, _, f)| f
            .iter()
            .all(|(r, _)| r != "schema.type_mismatch" || f.len() == 1)),
        "{rows:?}"
    );
    let raw = std::fs::read(dir.path().join("data").join("palisade.db")).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("4242424242424242"));
}

/// One request from its own loopback address (`127.0.<n>.1`).
async fn from(n: u8, gateway: &str, req: &str) -> String {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("127.0.{n}.1:0").parse().unwrap())
        .unwrap();
    let mut s = sock.connect(gateway.parse().unwrap()).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn get(target: &str, ua: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: shop\r\nUser-Agent: {ua}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
}

#[tokio::test]
async fn learned_baseline_findings_appear_after_enough_distinct_customers() {
    let (up, _stop) = demo_api().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &up.to_string(),
        "[schema]\nmode = \"off\"\n\n[baseline]\nwindow = \"1s\"\nmin_windows = 3\nmin_actors = 5\nmin_support = 3\n",
    );
    let p = start(&["run", "--config", cfg.to_str().unwrap()]).await;

    // Before any customer, one client sends a string `limit`: it must not
    // become the baseline.
    for _ in 0..30 {
        let out = from(
            200,
            &p.gateway,
            &get("/api/v1/products?limit=many", "probe/1.0"),
        )
        .await;
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    }
    // Six customers, each on its own address and client, over four windows.
    for round in 0..4 {
        for c in 1..=6u8 {
            for i in 0..3 {
                let out = from(
                    c,
                    &p.gateway,
                    &get(
                        &format!("/api/v1/products?limit={}", 10 + i + round),
                        &format!("shop-app/{c}.0 (customer {c})"),
                    ),
                )
                .await;
                assert!(out.starts_with("HTTP/1.1 200"), "{out}");
            }
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    // A deviant client now: a string limit, and a parameter nobody sends.
    let out = from(
        100,
        &p.gateway,
        &get("/api/v1/products?limit=ten", "curl/8.0"),
    )
    .await;
    assert!(
        out.starts_with("HTTP/1.1 200"),
        "logged, not blocked: {out}"
    );
    from(
        100,
        &p.gateway,
        &get("/api/v1/products?limit=10&debug=true", "curl/8.0"),
    )
    .await;
    // A customer's ordinary request is not flagged.
    from(
        3,
        &p.gateway,
        &get("/api/v1/products?limit=20", "shop-app/3.0 (customer 3)"),
    )
    .await;

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(p.stop().await.success());
    let rows = flagged(&dir.path().join("data"));
    let find = |target: &str| {
        rows.iter()
            .filter(|(t, _, _)| t == target)
            .flat_map(|(_, _, f)| f.clone())
            .collect::<Vec<_>>()
    };
    let f = find("/api/v1/products?limit=ten");
    assert!(
        f.contains(&("baseline.type_mismatch".into(), "query.limit".into())),
        "{rows:?}"
    );
    let f = find("/api/v1/products?limit=10&debug=true");
    assert!(
        f.contains(&("baseline.unseen_parameter".into(), "query.debug".into())),
        "{rows:?}"
    );
    assert!(find("/api/v1/products?limit=20").is_empty(), "{rows:?}");
    assert!(
        find("/api/v1/products?limit=many").is_empty(),
        "nothing before establishment: {rows:?}"
    );
}
