//! The dashboard in a real browser: the demo runs (customers and attackers
//! through the gateway), a viewer token is made with the CLI, and Debian's
//! headless Chromium loads every page, runs its JavaScript against the live
//! API, and we check the rendered DOM for real content. Screenshots are saved
//! under the test's output directory (`target/tmp/dashboard-screenshots`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

fn chromium() -> PathBuf {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(c);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "this test drives Debian's headless Chromium: install it (apt-get install chromium) or run .ci/run, which does"
    );
}

/// Loads `url` in headless Chromium, lets its scripts run, and returns the DOM;
/// also saves a screenshot.
async fn render(url: &str, shot: &Path, profile: &Path) -> String {
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=8000",
        "--window-size=1400,1000",
    ];
    let user_dir = format!("--user-data-dir={}", profile.display());
    let dom = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(chromium())
            .args(common)
            .arg(&user_dir)
            .arg("--dump-dom")
            .arg(url)
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("chromium took too long")
    .expect("chromium runs");
    let shot_arg = format!("--screenshot={}", shot.display());
    let _ = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(chromium())
            .args(common)
            .arg(&user_dir)
            .arg(&shot_arg)
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status(),
    )
    .await;
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_attackers_actors_and_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut demo = Command::new(BIN)
        .args([
            "demo",
            "--duration",
            "90s",
            "--listen",
            "127.0.0.1:0",
            "--console",
            "127.0.0.1:0",
            "--upstream-listen",
            "127.0.0.1:0",
            "--rate",
            "20",
            "--data-dir",
            data.to_str().unwrap(),
        ])
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
    .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    // Let customers and the attack campaigns run (attacks start after 3 s).
    tokio::time::sleep(Duration::from_secs(15)).await;

    let out = std::process::Command::new(BIN)
        .args([
            "token",
            "create",
            "--role",
            "viewer",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("pal_"), "{token}");

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let page = |p: &str| format!("{console}/#/{p}&token={token}");
    let text = |dom: &str| {
        let mut t = String::new();
        let mut in_tag = false;
        for c in dom.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    t.push(' ')
                }
                _ if !in_tag => t.push(c),
                _ => {}
            }
        }
        t
    };

    let dom = render(
        &page("overview"),
        &shots.join("overview.png"),
        &dir.path().join("p1"),
    )
    .await;
    let t = text(&dom);
    assert!(
        t.contains("Overview")
            && t.contains("Riskiest actors")
            && t.contains("Most targeted endpoints"),
        "{t}"
    );
    assert!(
        dom.contains("id=\"k-requests\""),
        "the overview rendered its figures: {t}"
    );
    assert!(t.contains("block"), "attackers are shown blocked: {t}");
    assert!(t.contains("viewer"), "signed in as the token's role: {t}");
    assert!(dom.contains("<svg"), "the traffic chart is drawn");

    let dom = render(
        &page("actors"),
        &shots.join("actors.png"),
        &dir.path().join("p2"),
    )
    .await;
    let t = text(&dom);
    assert!(
        t.contains("Campaigns") && t.contains("Actors by risk"),
        "{t}"
    );
    assert!(
        t.contains("card_testing") || t.contains("credential_stuffing"),
        "a campaign is listed: {t}"
    );
    assert!(
        t.contains("127.1"),
        "attacker addresses from the simulator's ranges: {t}"
    );

    let dom = render(
        &page("catalog"),
        &shots.join("catalog.png"),
        &dir.path().join("p3"),
    )
    .await;
    let t = text(&dom);
    assert!(t.contains("/api/v1/accounts/{account}"), "{t}");
    assert!(t.contains("card_number"), "sensitive data on /charges: {t}");

    let dom = render(
        &page("exchanges?flagged=1"),
        &shots.join("traffic.png"),
        &dir.path().join("p4"),
    )
    .await;
    let t = text(&dom);
    assert!(t.contains("Traffic") && t.contains("block"), "{t}");
    // Attack payloads are shown as text, never as markup.
    assert!(
        !dom.contains("<script>alert"),
        "an attacker's payload became markup"
    );
    assert!(
        !t.contains("4111111111111111"),
        "no full card number on screen"
    );

    // Without a token the app asks to sign in.
    let dom = render(
        &format!("{console}/#/overview"),
        &shots.join("login.png"),
        &dir.path().join("p5"),
    )
    .await;
    assert!(text(&dom).contains("Sign in to Palisade"), "{dom}");

    for s in ["overview", "actors", "catalog", "traffic", "login"] {
        let f = shots.join(format!("{s}.png"));
        assert!(
            std::fs::metadata(&f)
                .map(|m| m.len() > 10_000)
                .unwrap_or(false),
            "no screenshot {}",
            f.display()
        );
    }
    std::process::Command::new("kill")
        .args(["-TERM", &demo.id().unwrap().to_string()])
        .status()
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(30), demo.wait()).await;
}
