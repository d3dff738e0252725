//! Tests of the console's security through the real binary: `palisade user
//! add`, `token create` and `audit verify` (with a tampered database), and
//! the first admin created at the first start of a node.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

fn run(args: &[&str], dir: &Path, password: Option<&str>) -> Output {
    let mut c = std::process::Command::new(BIN);
    c.args(args).arg("--data-dir").arg(dir);
    c.env_remove("PALISADE_PASSWORD");
    if let Some(p) = password {
        c.env("PALISADE_PASSWORD", p);
    }
    c.stdin(Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn users_tokens_and_audit_verify_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pw = "operator chosen password";
    let out = run(&["user", "add", "ann", "--role", "analyst"], d, Some(pw));
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stdout).contains("user ann created with role analyst"));
    assert!(!text(&out.stdout).contains(pw) && !text(&out.stderr).contains(pw));
    // Taken names, short passwords and unknown roles are refused, saying why.
    let out = run(&["user", "add", "ann", "--role", "viewer"], d, Some(pw));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("exists"), "{out:?}");
    let out = run(
        &["user", "add", "bob", "--role", "viewer"],
        d,
        Some("short"),
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("too short"), "{out:?}");
    let out = run(&["user", "add", "bob", "--role", "root"], d, Some(pw));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown role"), "{out:?}");

    let out = run(
        &[
            "token",
            "create",
            "--role",
            "viewer",
            "--name",
            "tampertest",
        ],
        d,
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let token = text(&out.stdout).trim().to_string();
    assert!(
        token.starts_with("pal_") && !token.contains('\n'),
        "{token}"
    );

    let out = run(&["audit", "verify"], d, None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        text(&out.stdout).contains("intact: 2 entries"),
        "{}",
        text(&out.stdout)
    );
    // Neither the password nor the token is on disk.
    let db = d.join("palisade.db");
    let raw = std::fs::read(&db).unwrap();
    let raw_text = String::from_utf8_lossy(&raw);
    assert!(!raw_text.contains(pw) && !raw_text.contains(&token));

    // Alter the token's audit entry (entry 2) in the file itself.
    let needle = b"tampertest";
    let mut bytes = raw.clone();
    let mut hits = 0;
    for i in 0..bytes.len().saturating_sub(needle.len()) {
        if &bytes[i..i + needle.len()] == needle {
            bytes[i..i + needle.len()].copy_from_slice(b"tamperTEST");
            hits += 1;
        }
    }
    assert!(hits >= 1);
    std::fs::write(&db, bytes).unwrap();
    let out = run(&["audit", "verify"], d, None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("BROKEN at entry 2"),
        "{}",
        text(&out.stderr)
    );

    // No store at all is an error, not an empty log.
    let empty = tempfile::tempdir().unwrap();
    let out = run(&["audit", "verify"], &empty.path().join("none"), None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no store"), "{out:?}");
}

async fn http(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

#[tokio::test]
async fn the_first_start_creates_an_admin_whose_password_is_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
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
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (password, console) = tokio::time::timeout(Duration::from_secs(30), async {
        let mut password = None;
        loop {
            let l = lines.next_line().await.unwrap().expect("exited");
            if let Some((_, p)) = l.split_once("created with password ") {
                password = Some(p.trim().to_string());
            }
            if let Some((_, c)) = l.split_once("console on http://") {
                return (password.expect("no password line"), c.trim().to_string());
            }
        }
    })
    .await
    .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let file = dir.path().join("initial-admin-password");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), password);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let out = http(
        &console,
        "GET /api/v1/exchanges HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    let body = format!(r#"{{"username":"admin","password":"{password}"}}"#);
    let out = http(
        &console,
        &format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let cookie = out
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("a cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let out = http(
        &console,
        &format!(
            "GET /api/v1/exchanges HTTP/1.1\r\nHost: c\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        http(
            &console,
            "GET /metrics HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n"
        )
        .await
        .starts_with("HTTP/1.1 200")
    );
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
}
