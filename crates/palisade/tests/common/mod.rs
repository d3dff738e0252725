//! Helpers shared by the binary's end-to-end tests: start the real
//! `palisade` process and learn its addresses, stop it with SIGTERM, talk
//! HTTP on loopback, make console tokens, run the demo API in-process.
#![allow(dead_code)] // each test file uses a subset

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// Starts the demo payments API in-process on a free port; it stops when
/// the returned sender is dropped or fired.
pub async fn demo_api() -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(palisade_sim::upstream::serve(l, async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// A node configuration: gateway and console on ephemeral loopback ports,
/// detect mode, one route to `upstream`, the store in `data_dir`; `extra`
/// is appended (more keys for `[store]`, or further sections).
pub fn node_config(upstream: std::net::SocketAddr, data_dir: &Path, extra: &str) -> String {
    format!(
        r#"[gateway]
listen = "127.0.0.1:0"
mode = "detect"

[[route]]
path_prefix = "/"
upstream = "http://{upstream}"

[console]
listen = "127.0.0.1:0"

[store]
data_dir = "{}"
{extra}"#,
        data_dir.display()
    )
}

/// A running `palisade` process.
pub struct Proc {
    pub child: Child,
    /// `host:port` of the gateway.
    pub gateway: String,
    /// `host:port` of the console, empty when it is disabled.
    pub console: String,
}

/// Starts the binary and waits for the line naming its addresses.
pub async fn start(args: &[&str]) -> Proc {
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
    /// SIGTERM, then waits for a clean exit.
    pub async fn stop(mut self) -> std::process::ExitStatus {
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

/// Sends raw bytes and reads until the peer closes.
pub async fn http(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// The body of an HTTP/1.1 answer read whole.
pub fn body(raw: &str) -> &str {
    raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("")
}

/// A new API token for the console of `dir`, as an operator makes one.
pub fn token(dir: &Path, role: &str) -> String {
    let out = std::process::Command::new(BIN)
        .args(["token", "create", "--role", role, "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Starts `palisade demo` (customers and attackers through the gateway) on
/// free ports with its data in `data`; returns the process and the console's
/// `http://host:port`.
pub async fn start_demo(data: &Path, duration: &str) -> (Child, String) {
    let mut demo = Command::new(BIN)
        .args([
            "demo",
            "--duration",
            duration,
            "--listen",
            "127.0.0.1:0",
            "--console",
            "127.0.0.1:0",
            "--upstream-listen",
            "127.0.0.1:0",
            "--rate",
            "20",
            "--data-dir",
        ])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let console = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let l = lines.next_line().await.unwrap().expect("demo exited early");
            if let Some(rest) = l.trim().strip_prefix("console") {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
    })
    .await
    .expect("the demo did not start in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (demo, console)
}

/// SIGTERM to a child, then waits for it (bounded).
pub async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
}
