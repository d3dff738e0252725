//! The store's behaviour, proved on both backends: every scenario below
//! runs on SQLite (one test each) and on a real PostgreSQL server
//! (`postgres_backend_passes_the_same_suite`, one server, one database per
//! scenario).

use super::*;
use palisade_core::{Body, Finding, RequestPart, ResponsePart, Verdict};
use palisade_testsupport::PostgresServer;

/// Where a scenario's store lives.
enum Env<'a> {
    Sqlite(tempfile::TempDir),
    Postgres {
        url: String,
        server: &'a PostgresServer,
    },
}

impl Env<'_> {
    fn sqlite() -> Env<'static> {
        Env::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh database named `db` on `server`.
    fn postgres<'a>(server: &'a PostgresServer, db: &str) -> Env<'a> {
        let mut admin = postgres::Client::connect(&server.url(), postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{db}\""))
            .unwrap();
        Env::Postgres {
            url: format!("postgres://palisade@127.0.0.1:{}/{db}", server.port()),
            server,
        }
    }

    fn spec(&self) -> StoreSpec {
        match self {
            Env::Sqlite(d) => StoreSpec::sqlite(d.path()),
            Env::Postgres { url, .. } => StoreSpec::Postgres(url.clone()),
        }
    }

    fn open(&self) -> Store {
        Store::open_spec(&self.spec()).unwrap()
    }

    fn open_read_only(&self) -> Store {
        Store::open_read_only_spec(&self.spec()).unwrap()
    }

    /// Everything the backend keeps at rest: the SQLite files, or the
    /// PostgreSQL cluster's files after a checkpoint plus every stored row
    /// as text (values TOAST may have compressed).
    fn at_rest(&self) -> String {
        let mut raw = Vec::new();
        match self {
            Env::Sqlite(d) => {
                for f in std::fs::read_dir(d.path()).unwrap() {
                    raw.extend(std::fs::read(f.unwrap().path()).unwrap());
                }
            }
            Env::Postgres { url, server } => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                c.batch_execute("CHECKPOINT").unwrap();
                for t in ["exchanges", "findings", "docs"] {
                    for r in c
                        .query(&format!("SELECT t::text FROM palisade.{t} t"), &[])
                        .unwrap()
                    {
                        raw.extend(r.get::<_, String>(0).into_bytes());
                    }
                }
                let mut stack = vec![server.path().join("data")];
                while let Some(d) = stack.pop() {
                    for e in std::fs::read_dir(&d).unwrap().flatten() {
                        let p = e.path();
                        if p.is_dir() {
                            stack.push(p);
                        } else if let Ok(b) = std::fs::read(&p) {
                            raw.extend(b);
                        }
                    }
                }
            }
        }
        String::from_utf8_lossy(&raw).into_owned()
    }

    /// Marks the schema as written by a newer Palisade.
    fn set_schema_version(&self, v: i64) {
        match self {
            Env::Sqlite(d) => {
                let c = rusqlite::Connection::open(Store::db_path(d.path())).unwrap();
                c.pragma_update(None, "user_version", v).unwrap();
            }
            Env::Postgres { url, .. } => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                c.execute("UPDATE palisade.schema_version SET version = $1", &[&v])
                    .unwrap();
            }
        }
    }
}

fn ex(i: i64, ts_ms: i64) -> Exchange {
    Exchange {
        id: format!("req-{i}"),
        ts_ms,
        client_ip: "198.51.100.7".parse().unwrap(),
        request: RequestPart {
            method: "POST".into(),
            target: format!("/v1/charges?n={i}&card=4111111111111111"),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                (
                    "authorization".into(),
                    "Bearer sk_live_abcdefghijklmnopqrst".into(),
                ),
            ],
            body: Body::new(
                r#"{"card":{"number":"4242424242424242","cvc":"123"},"password":"hunter2"}"#,
            ),
            ..Default::default()
        },
        response: Some(ResponsePart {
            status: 402,
            headers: vec![],
            body: Body::new("{}"),
        }),
        ..Default::default()
    }
}

fn exchanges_are_masked_at_rest(env: &Env) {
    let mut s = env.open();
    let mut e = ex(1, 1000);
    e.findings.push(
        Finding::new("sqli", "sqli.lexer", "body.card.number")
            .fragment("4242424242424242' or 1=1")
            .score(5),
    );
    e.verdict = Verdict::block("sqli");
    e.enforced = true;
    // A NUL in parsed traffic must not fail the batch on PostgreSQL.
    let mut nul = ex(2, 1001);
    nul.findings
        .push(Finding::new("x", "x.rule", "query.q\0").score(1));
    s.insert_exchanges(&[e, nul]).unwrap();
    drop(s);
    let raw = env.at_rest();
    for secret in [
        "4111111111111111",
        "4242424242424242",
        "sk_live_abcdefghijklmnopqrst",
        "hunter2",
    ] {
        assert!(!raw.contains(secret), "{secret} reached the disk");
    }
    let s = env.open_read_only();
    let got = s.exchange("req-1").unwrap().unwrap();
    assert_eq!(got.action, "block");
    assert_eq!(got.score, 5);
    assert_eq!(got.findings[0].location, "body.card.number");
    assert_eq!(got.status, Some(402));
    assert!(got.exchange.is_some(), "asked for in full");
    assert!(s.exchange("req-2").unwrap().is_some());
    assert!(s.exchange("nope").unwrap().is_none());
}

fn pagination_and_filters(env: &Env) {
    let mut s = env.open();
    let batch: Vec<_> = (0..25)
        .map(|i| {
            let mut e = ex(i, 1000 + i);
            if i % 5 == 0 {
                e.verdict = Verdict::block("x");
                e.findings.push(Finding::new("xss", "xss.lexer", "query.q"));
            }
            if i == 7 {
                e.client_ip = "203.0.113.9".parse().unwrap();
            }
            e
        })
        .collect();
    s.insert_exchanges(&batch).unwrap();
    let mut seen = Vec::new();
    let mut q = ExchangeQuery {
        limit: 10,
        ..Default::default()
    };
    loop {
        let page = s.exchanges(&q).unwrap();
        assert!(page.items.len() <= 10);
        assert!(page.items.iter().all(|i| i.exchange.is_none()));
        seen.extend(page.items.iter().map(|i| i.id.clone()));
        match page.next_cursor {
            Some(c) => q.before = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen[0], "req-24", "newest first");
    assert_eq!(seen[24], "req-0");
    let blocked = s
        .exchanges(&ExchangeQuery {
            limit: 100,
            action: Some("block".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(blocked.items.len(), 5);
    let flagged = s
        .exchanges(&ExchangeQuery {
            limit: 100,
            flagged: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(flagged.items.len(), 5);
    let by_ip = s
        .exchanges(&ExchangeQuery {
            limit: 100,
            client_ip: Some("203.0.113.9".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_ip.items.len(), 1);
    assert_eq!(by_ip.items[0].id, "req-7");
    let recent = s
        .exchanges(&ExchangeQuery {
            limit: 100,
            since_ms: Some(1020),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(recent.items.len(), 5);
    assert_eq!(
        s.counts(0).unwrap(),
        Counts {
            exchanges: 25,
            flagged: 5,
            blocked: 0
        }
    );
    assert!(
        s.exchanges(&ExchangeQuery {
            limit: 1,
            before: Some("zz".into()),
            ..Default::default()
        })
        .is_err()
    );
}

fn duplicate_ids_keep_the_first(env: &Env) {
    let mut s = env.open();
    let mut second = ex(1, 2);
    second.findings.push(Finding::new("xss", "xss.lexer", "q"));
    s.insert_exchanges(&[ex(1, 1), second]).unwrap();
    s.insert_exchanges(&[ex(1, 3)]).unwrap();
    assert_eq!(s.counts(0).unwrap().exchanges, 1);
    let got = s.exchange("req-1").unwrap().unwrap();
    assert_eq!((got.ts_ms, got.findings.len()), (1, 0));
}

fn retention_by_age_and_size(env: &Env) {
    let mut s = env.open();
    let day = 24 * 3600 * 1000;
    s.insert_exchanges(&[ex(1, 0), ex(2, 9 * day), ex(3, 10 * day)])
        .unwrap();
    let r = Retention {
        max_age: Duration::from_secs(2 * 24 * 3600),
        max_bytes: u64::MAX,
    };
    assert_eq!(s.apply_retention(&r, 10 * day).unwrap(), 1);
    assert_eq!(s.counts(0).unwrap().exchanges, 2);

    let big: Vec<_> = (10..2010).map(|i| ex(i, 10 * day)).collect();
    s.insert_exchanges(&big).unwrap();
    let before = s.size_bytes().unwrap();
    let r = Retention {
        max_age: Duration::from_secs(365 * 24 * 3600),
        max_bytes: before / 2,
    };
    let deleted = s.apply_retention(&r, 10 * day).unwrap();
    assert!(deleted > 0);
    assert!(deleted < 2002, "not everything: {deleted}");
    assert!(
        s.size_bytes().unwrap() <= before / 2,
        "size after retention"
    );
    // the newest survive
    assert!(s.exchange("req-2009").unwrap().is_some());
}

fn reopening_keeps_data_and_refuses_newer_schemas(env: &Env) {
    {
        let mut s = env.open();
        s.insert_exchanges(&[ex(1, 1)]).unwrap();
        s.put_doc("catalog", &serde_json::json!({"a": 1}), 5)
            .unwrap();
        s.put_doc("catalog", &serde_json::json!({"a": 2}), 6)
            .unwrap();
    }
    let s = env.open();
    assert_eq!(s.counts(0).unwrap().exchanges, 1);
    assert_eq!(s.get_doc("catalog").unwrap().unwrap()["a"], 2);
    assert!(s.get_doc("nothing").unwrap().is_none());
    drop(s);
    env.set_schema_version(99);
    let err = Store::open_spec(&env.spec()).unwrap_err();
    assert!(
        err.to_string().contains("newer than this Palisade"),
        "{err}"
    );
}

fn aggregates_for_the_overview(env: &Env) {
    let mut s = env.open();
    let batch: Vec<_> = (0..30)
        .map(|i| {
            let mut e = ex(i, 60_000 * (i / 10)); // three one-minute buckets
            if i % 3 == 0 {
                e.verdict = Verdict::block("x");
                e.enforced = true;
                e.findings
                    .push(Finding::new("sqli", "sqli.lexer", "query.q"));
            }
            if i == 1 {
                e.response = None;
            }
            e
        })
        .collect();
    s.insert_exchanges(&batch).unwrap();
    let series = s.timeseries(0, 60_000).unwrap();
    assert_eq!(series.len(), 3);
    assert_eq!(series[1].ts_ms, 60_000);
    assert_eq!(series.iter().map(|b| b.requests).sum::<u64>(), 30);
    assert_eq!(series.iter().map(|b| b.blocked).sum::<u64>(), 10);
    assert_eq!(series.iter().map(|b| b.flagged).sum::<u64>(), 10);
    assert_eq!(
        s.status_mix(0).unwrap(),
        vec![("4xx".to_string(), 29), ("none".to_string(), 1)]
    );
    let top = s.top_targets(0, 5).unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].path, "/v1/charges");
    assert_eq!((top[0].flagged, top[0].blocked), (10, 10));
    assert_eq!(s.counts_between(0, 60_000).unwrap().exchanges, 10);
    assert_eq!(
        s.counts(60_000).unwrap(),
        Counts {
            exchanges: 20,
            flagged: 6,
            blocked: 6
        }
    );
}

fn users_tokens_and_sessions(env: &Env) {
    let mut s = env.open();
    assert_eq!(s.user_count().unwrap(), 0);
    assert!(s.create_user("ann", "admin", "$argon2id$x", 1).unwrap());
    assert!(!s.create_user("ann", "viewer", "$argon2id$y", 2).unwrap());
    assert!(s.create_user("Bob", "viewer", "$argon2id$z", 3).unwrap());
    let names: Vec<_> = s.users().unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["Bob", "ann"], "by name, bytewise");
    let (u, h) = s.user_credentials("ann").unwrap().unwrap();
    assert_eq!((u.role.as_str(), h.as_str()), ("admin", "$argon2id$x"));
    assert!(!u.disabled);
    assert!(s.user_credentials("bob").unwrap().is_none());

    s.create_session("sid", "ann", "csrf", 10, 100).unwrap();
    assert_eq!(s.session("sid", 50).unwrap().unwrap().role, "admin");
    assert!(s.session("sid", 100).unwrap().is_none(), "expired");
    // A role change ends the user's sessions.
    assert!(s.update_user("ann", Some("viewer"), None, None).unwrap());
    assert!(s.session("sid", 50).unwrap().is_none());
    s.create_session("sid2", "ann", "csrf", 10, 100).unwrap();
    assert!(s.update_user("ann", None, Some(true), None).unwrap());
    assert!(s.session("sid2", 50).unwrap().is_none(), "disabled user");
    assert!(s.user_credentials("ann").unwrap().unwrap().0.disabled);
    assert!(!s.update_user("nobody", Some("admin"), None, None).unwrap());
    s.create_session("sid3", "Bob", "c", 10, 20).unwrap();
    s.create_session("sid4", "Bob", "c", 10, 200).unwrap();
    assert_eq!(s.delete_expired_sessions(50).unwrap(), 1);
    assert!(s.delete_session("sid4").unwrap());
    assert!(!s.delete_session("sid4").unwrap());

    s.create_token(
        &NewToken {
            id: "t1",
            hash: "h1",
            role: "analyst",
            name: "ci",
            created_by: "cli",
        },
        5,
    )
    .unwrap();
    assert_eq!(s.token_by_hash("h1").unwrap().unwrap().role, "analyst");
    s.touch_token("t1", 7).unwrap();
    assert!(s.revoke_token("t1", 8).unwrap());
    assert!(!s.revoke_token("t1", 9).unwrap(), "already revoked");
    let t = s.token_by_hash("h1").unwrap().unwrap();
    assert_eq!((t.last_used_ms, t.revoked_ms), (Some(7), Some(8)));
    assert_eq!(s.tokens().unwrap().len(), 1);
    // The console reads sessions and tokens through a read-only store.
    let r = env.open_read_only();
    assert_eq!(r.token_by_hash("h1").unwrap().unwrap().id, "t1");
    assert_eq!(r.user_count().unwrap(), 2);
}

fn entry(action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        actor: "user:admin".into(),
        action: action.into(),
        target: target.into(),
        detail: serde_json::json!({"role": "viewer"}),
    }
}

fn audit_chain_verifies_and_names_the_first_tampered_entry(env: &Env) {
    let mut s = env.open();
    assert_eq!(s.verify_audit().unwrap().entries, 0);
    for i in 0..5 {
        let r = s
            .append_audit(&entry("user.create", &format!("u{i}")), 100 + i)
            .unwrap();
        assert_eq!(r.seq, i + 1);
    }
    let ok = s.verify_audit().unwrap();
    assert!(ok.intact(), "{ok:?}");
    assert_eq!(ok.entries, 5);
    let page = s.audit_page(None, 2).unwrap();
    assert_eq!(page.items[0].seq, 5);
    assert_eq!(page.items[0].prev_hash, page.items[1].hash);
    assert_eq!(ok.head_hash.as_deref(), Some(page.items[0].hash.as_str()));
    assert_eq!(page.next_cursor, Some(4));
    assert_eq!(s.audit_page(Some(2), 10).unwrap().items.len(), 1);

    // Edit a row directly: the chain breaks at that entry.
    s.raw_execute("UPDATE audit SET target = 'someone' WHERE seq = 3");
    let bad = s.verify_audit().unwrap();
    assert_eq!(bad.broken.as_ref().unwrap().seq, 3, "{bad:?}");
    assert_eq!(bad.entries, 2);

    // Recomputing that entry's hash moves the break to the next one.
    let third = s.audit_page(Some(4), 1).unwrap().items.remove(0);
    let h = audit_hash(
        &third.prev_hash,
        3,
        third.ts_ms,
        "user:admin",
        "user.create",
        "someone",
        &third.detail.to_string(),
    );
    s.raw_execute(&format!("UPDATE audit SET hash = '{h}' WHERE seq = 3"));
    assert_eq!(s.verify_audit().unwrap().broken.unwrap().seq, 4);

    // A deleted entry is named as missing.
    s.raw_execute("DELETE FROM audit WHERE seq = 2");
    let b = s.verify_audit().unwrap().broken.unwrap();
    assert_eq!(b.seq, 2);
    assert!(b.reason.contains("missing"), "{b:?}");
}

/// The console opens and uses stores on tokio's blocking pool, and node
/// start opens one from an async task; both must work (the sync PostgreSQL
/// client runs its own runtime) on either flavour of runtime.
fn usable_from_a_tokio_runtime(env: &Env) {
    for multi in [true, false] {
        let rt = if multi {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread().build()
        }
        .unwrap();
        let spec = env.spec();
        let n = rt.block_on(async move {
            // In an async task: open, write, read, and later drop.
            let mut s = Store::open_spec(&spec).unwrap();
            s.insert_exchanges(&[ex(if multi { 1 } else { 2 }, 1)])
                .unwrap();
            let r = tokio::task::spawn_blocking(move || {
                let r = Store::open_read_only_spec(&spec).unwrap();
                let n = r.counts(0).unwrap().exchanges;
                (r, n)
            })
            .await
            .unwrap();
            drop(s);
            drop(r.0);
            r.1
        });
        assert_eq!(n, if multi { 1 } else { 2 });
    }
}

type Scenario = fn(&Env);

const SUITE: &[(&str, Scenario)] = &[
    ("masked", exchanges_are_masked_at_rest),
    ("pages", pagination_and_filters),
    ("dups", duplicate_ids_keep_the_first),
    ("retention", retention_by_age_and_size),
    ("reopen", reopening_keeps_data_and_refuses_newer_schemas),
    ("aggregates", aggregates_for_the_overview),
    ("security", users_tokens_and_sessions),
    (
        "audit",
        audit_chain_verifies_and_names_the_first_tampered_entry,
    ),
    ("runtime", usable_from_a_tokio_runtime),
];

macro_rules! on_sqlite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::Env::sqlite());
                }
            )*
        }
    };
}

on_sqlite!(
    exchanges_are_masked_at_rest,
    pagination_and_filters,
    duplicate_ids_keep_the_first,
    retention_by_age_and_size,
    reopening_keeps_data_and_refuses_newer_schemas,
    aggregates_for_the_overview,
    users_tokens_and_sessions,
    audit_chain_verifies_and_names_the_first_tampered_entry,
    usable_from_a_tokio_runtime,
);

#[test]
fn postgres_backend_passes_the_same_suite() {
    let server = PostgresServer::start().unwrap();
    for (name, scenario) in SUITE {
        eprintln!("postgres scenario: {name}");
        let env = Env::postgres(&server, name);
        scenario(&env);
    }
}

#[test]
fn postgres_store_reconnects_after_an_outage_and_reports_it() {
    let mut server = PostgresServer::start().unwrap();
    let spec = StoreSpec::Postgres(server.url());
    let mut w = Store::open_spec(&spec).unwrap();
    let r = Store::open_read_only_spec(&spec).unwrap();
    assert!(w.is_postgres());
    w.insert_exchanges(&[ex(1, 1)]).unwrap();
    // The console's connection is read only.
    let mut r2 = Store::open_read_only_spec(&spec).unwrap();
    let refused = r2.put_doc("x", &serde_json::json!(1), 1).unwrap_err();
    assert!(!refused.is_unavailable(), "{refused}");

    server.stop().unwrap();
    let e = w.insert_exchanges(&[ex(2, 2)]).unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(r.counts(0).unwrap_err().is_unavailable());
    // Right after a failed connect, calls fail at once (no new attempt).
    let t = std::time::Instant::now();
    assert!(
        w.insert_exchanges(&[ex(2, 2)])
            .unwrap_err()
            .is_unavailable()
    );
    assert!(t.elapsed() < Duration::from_secs(1));
    server.resume().unwrap();
    // The same Store objects work again, without being reopened (once the
    // short pause after the failed connect is over).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while w.insert_exchanges(&[ex(2, 2)]).is_err() {
        assert!(std::time::Instant::now() < deadline, "no reconnect");
        std::thread::sleep(Duration::from_millis(100));
    }
    let counts = loop {
        match r.counts(0) {
            Ok(c) => break c,
            Err(e) => assert!(std::time::Instant::now() < deadline, "{e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(counts.exchanges, 2);

    // Nothing listening: a clear error that names the fix, no password.
    let port = palisade_testsupport::free_port();
    let e = Store::open_spec(&StoreSpec::Postgres(format!(
        "postgres://palisade:hunter2@127.0.0.1:{port}/postgres"
    )))
    .unwrap_err();
    let msg = e.to_string();
    assert!(e.is_unavailable(), "{msg}");
    assert!(msg.contains("fix:") && msg.contains(":***@"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    let e = Store::open_spec(&StoreSpec::Postgres("postgres://u:hunter2@h:x/db".into()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("fix:") && !e.contains("hunter2"), "{e}");
}

/// A figure, not a check: batched write rate of each backend (debug build,
/// loopback). `cargo test -p palisade-store --release -- --ignored --nocapture write_rate`
#[test]
#[ignore]
fn write_rate() {
    let server = PostgresServer::start().unwrap();
    let sqlite = Env::sqlite();
    let pg = Env::postgres(&server, "rate");
    for (name, env) in [("sqlite", &sqlite), ("postgres", &pg)] {
        let mut s = env.open();
        let t = std::time::Instant::now();
        let mut n = 0;
        for b in 0..40 {
            let batch: Vec<_> = (0..512)
                .map(|i| {
                    let mut e = ex(b * 512 + i, 1000);
                    if i % 10 == 0 {
                        e.findings.push(Finding::new("sqli", "sqli.lexer", "q"));
                    }
                    e
                })
                .collect();
            n += s.insert_exchanges(&batch).unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {n} exchanges in 40 batches of 512: {secs:.2} s, {:.0}/s",
            n as f64 / secs
        );
    }
}
