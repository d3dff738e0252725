//! Tests of the real `palisade` binary: started as a process on loopback in
//! front of a real upstream, stopped with SIGTERM, its SQLite file read after.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// Starts the demo payments API in-process on a free port.
async fn demo_api() -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(palisade_sim::upstream::serve(l, async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

struct Proc {
    child: Child,
    gateway: String,
    console: String,
}

/// Starts the binary and waits for the line naming its addresses.
async fn start(args: &[&str]) -> Proc {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let l = lines
                .next_line()
                .await
                .unwrap()
                .expect("palisade exited before listening");
            if l.starts_with("palisade gateway on ") {
                return l;
            }
        }
    })
    .await
    .expect("palisade did not start in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let urls: Vec<&str> = line
        .split("http://")
        .skip(1)
        .map(|s| {
            s.trim_end_matches([',', ' '])
                .split(',')
                .next()
                .unwrap()
                .trim()
        })
        .collect();
    Proc {
        child,
        gateway: urls[0].to_string(),
        console: urls.get(1).map(|s| s.to_string()).unwrap_or_default(),
    }
}

impl Proc {
    async fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap();
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .unwrap()
            .unwrap()
    }
}

async fn http(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// A new API token for the console of `dir`, as an operator makes one.
fn token(dir: &Path, role: &str) -> String {
    let out = std::process::Command::new(BIN)
        .args(["token", "create", "--role", role, "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

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
