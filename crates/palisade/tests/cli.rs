//! Tests of the real `palisade` binary: started as a process on loopback in
//! front of a real upstream, stopped with SIGTERM, its SQLite file read after.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

mod common;
use common::{BIN, demo_api, http, start, token};

fn stored_count(dir: &Path) -> u64 {
    let s = palisade_store::Store::open_read_only(dir).unwrap();
    s.counts(0).unwrap().exchanges
}

#[tokio::test]
async fn gateway_forwards_records_and_serves_the_console() {
    let (up, _stop) = demo_api().await;
    let dir = tempfile::tempdir().unwrap();
    let admin = token(dir.path(), "admin");
    let p = start(&[
        "gateway",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &format!("http://{up}"),
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--console",
        "127.0.0.1:0",
        "--mode",
        "detect",
    ])
    .await;
    for i in 0..5 {
        let out = http(&p.gateway, &format!("GET /api/v1/products?i={i}&card=4111111111111111 HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")).await;
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.to_ascii_lowercase().contains("x-request-id:"), "{out}");
        assert!(out.contains("Starter plan"), "upstream answered: {out}");
    }
    assert!(
        http(
            &p.console,
            "GET /healthz HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n"
        )
        .await
        .starts_with("HTTP/1.1 200")
    );
    // The console shows the exchanges within a second or so (batched writes).
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
    assert_eq!(
        listed.matches("\"/api/v1/products\"").count(),
        5,
        "{listed}"
    );
    let metrics = http(
        &p.console,
        "GET /metrics HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(metrics.contains("palisade_requests_total"), "{metrics}");
    let status = p.stop().await;
    assert!(status.success(), "{status:?}");
    assert_eq!(stored_count(dir.path()), 5);
    // Nothing unmasked on disk.
    let raw = std::fs::read(dir.path().join("palisade.db")).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("4111111111111111"));
}

#[tokio::test]
async fn run_with_a_config_file() {
    let (up, _stop) = demo_api().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("palisade.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[gateway]
listen = "127.0.0.1:0"
max_body_bytes = 100

[[route]]
path_prefix = "/"
upstream = "http://{up}"

[console]
listen = ""

[store]
data_dir = "{}"
"#,
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let p = start(&["run", "--config", cfg.to_str().unwrap()]).await;
    let out = http(
        &p.gateway,
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert!(p.stop().await.success());
    assert_eq!(stored_count(&dir.path().join("data")), 1);
}

#[test]
fn config_errors_name_file_line_and_fix_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[gateway]\nlisten = \"nowhere\"\ntrusted_proxies = [\"10.0.0.0/8\", \"bogus\"]\n\n[[route]]\nupstream = \"localhost:9000\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["check-config", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let f = cfg.display().to_string();
    assert!(err.contains(&format!("{f}:2: gateway.listen")), "{err}");
    assert!(
        err.contains(&format!("{f}:3: gateway.trusted_proxies[1]")),
        "{err}"
    );
    assert!(err.contains(&format!("{f}:6: route[0].upstream")), "{err}");
    assert!(err.contains("fix:"), "{err}");

    std::fs::write(&cfg, "[gateway]\nlisten = \"127.0.0.1:1\"\n[[route]]\nupstream = \"http://127.0.0.1:2\"\nupstreem = \"x\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["check-config", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":5:") && err.contains("upstreem"), "{err}");

    let out = std::process::Command::new(BIN)
        .args(["gateway"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--upstream"));

    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[[route]]\nupstream = \"http://127.0.0.1:2\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["check-config", "--config", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn demo_runs_for_a_bounded_time_and_records_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(BIN)
            .args([
                "demo",
                "--duration",
                "3s",
                "--listen",
                "127.0.0.1:0",
                "--console",
                "127.0.0.1:0",
                "--upstream-listen",
                "127.0.0.1:0",
                "--rate",
                "50",
                "--data-dir",
                dir.path().to_str().unwrap(),
            ])
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("gateway (send here) http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(stdout.contains("customers"), "{stdout}");
    let n = stored_count(dir.path());
    assert!(n >= 20, "only {n} exchanges stored\n{stdout}");
}
