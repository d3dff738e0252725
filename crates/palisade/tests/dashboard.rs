//! The dashboard in a real browser. The demo runs (customers and attackers
//! through the gateway); Debian's headless Chromium, driven by Playwright
//! (`tests/browser/dashboard.mjs`, `playwright-core` from npm with
//! `executablePath`), signs in by typing the first admin's password into the
//! login form, visits every page, triages an incident and signs out. We check
//! the real content of each page. Screenshots are saved under the test's
//! output directory (`target/tmp/dashboard-screenshots`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

mod common;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_and_sees_attackers_incidents_and_the_catalog() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci` in {} first (.ci/run does)",
        browser_dir.display()
    );
    let chromium = chromium();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut demo, console) = common::start_demo(&data, "120s").await;
    // Let customers and the attack campaigns run (attacks start after 3 s).
    tokio::time::sleep(Duration::from_secs(15)).await;
    let password = std::fs::read_to_string(data.join("initial-admin-password"))
        .expect("the first admin's password file");
    let password = password.trim().to_string();

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        Command::new("node")
            .arg(browser_dir.join("dashboard.mjs"))
            .args([
                console.as_str(),
                "admin",
                password.as_str(),
                shots.to_str().unwrap(),
            ])
            .env("CHROMIUM", &chromium)
            .current_dir(&browser_dir)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser run took too long")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let page = |k: &str| v[k].as_str().unwrap_or("").to_string();
    assert!(
        v["error"].is_null(),
        "the browser run failed: {}",
        page("error")
    );

    assert!(page("login").contains("Sign in to Palisade"));
    assert!(page("who").contains("admin"), "signed in: {}", page("who"));
    let o = page("overview");
    assert!(
        o.contains("Riskiest actors")
            && o.contains("Most targeted endpoints")
            && o.contains("vs a week before")
            || o.contains("a week before"),
        "{o}"
    );
    assert!(o.contains("block"), "attackers shown blocked: {o}");
    let inc = page("incidents");
    assert!(
        inc.contains("Card testing") || inc.contains("Credential stuffing"),
        "{inc}"
    );
    let a = page("actors");
    assert!(
        a.contains("Campaigns")
            && (a.contains("card_testing") || a.contains("credential_stuffing")),
        "{a}"
    );
    assert!(
        a.contains("127.1"),
        "attacker addresses from the simulator's ranges: {a}"
    );
    let actor = page("actor");
    assert!(
        actor.contains("Risk over time") && actor.contains("exploitation"),
        "{actor}"
    );
    let c = page("catalog");
    assert!(
        c.contains("/api/v1/accounts/{account}") && c.contains("card_number"),
        "{c}"
    );
    let t = page("traffic");
    assert!(t.contains("block"), "{t}");
    assert!(
        !page("traffic_html").contains("<script>alert"),
        "an attacker's payload became markup"
    );
    assert!(
        !t.contains("4111111111111111"),
        "no full card number on screen"
    );
    let r = page("rules");
    assert!(
        r.contains("Custom rules") && r.contains("built-in rules"),
        "{r}"
    );
    let set = page("settings");
    assert!(
        set.contains("gateway") && set.contains("max_body_bytes"),
        "{set}"
    );
    let i = page("incident");
    assert!(
        i.contains("What happened")
            && i.contains("Timeline")
            && i.contains("Blast radius")
            && i.contains("Next steps"),
        "{i}"
    );
    let after = page("incident_after");
    assert!(
        after.contains("acknowledged") && after.contains("on it: checking the card BINs"),
        "{after}"
    );
    assert!(
        page("audit").contains("incident.status"),
        "the change is in the audit log: {}",
        page("audit")
    );
    assert!(page("after_logout").contains("Sign in to Palisade"));

    for s in [
        "login",
        "overview",
        "incidents",
        "actors",
        "actor",
        "catalog",
        "traffic",
        "incident",
        "audit",
    ] {
        let f = shots.join(format!("{s}.png"));
        assert!(
            std::fs::metadata(&f)
                .map(|m| m.len() > 10_000)
                .unwrap_or(false),
            "no screenshot {}",
            f.display()
        );
    }
    common::terminate(&mut demo).await;
}
