//! Schemathesis (PyPI) against the console's own OpenAPI document, on a live
//! node with data in it: every documented operation is called with generated
//! inputs, authenticated as an admin; no answer may be a server error.

use std::time::Duration;

use tokio::process::Command;

mod common;
use common::token;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_api_has_no_server_errors_under_schemathesis() {
    // Run as a module of the same python3 that pip installed it for, so a
    // missing shim directory on PATH does not matter.
    let probe = std::process::Command::new("python3")
        .args(["-m", "schemathesis.cli", "--version"])
        .output();
    assert!(
        probe.map(|o| o.status.success()).unwrap_or(false),
        "this test runs schemathesis: `python3 -m pip install schemathesis` (.ci/run does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut demo, console) = common::start_demo(&data, "120s").await;
    tokio::time::sleep(Duration::from_secs(8)).await; // some traffic, actors, incidents
    let t = token(&data, "admin");
    let out = tokio::time::timeout(
        Duration::from_secs(240),
        Command::new("python3")
            .args([
                "-m",
                "schemathesis.cli",
                "run",
                &format!("{console}/api/v1/openapi.json"),
                "--url",
                &console,
                "-H",
                &format!("Authorization: Bearer {t}"),
                "-c",
                "not_a_server_error",
                "-n",
                "30",
            ])
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("schemathesis took too long")
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("passed"), "{report}");
    common::terminate(&mut demo).await;
}
