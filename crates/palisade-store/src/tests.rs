use super::*;
use palisade_core::{Body, Finding, RequestPart, ResponsePart, Verdict};

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

#[test]
fn exchanges_are_masked_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let mut e = ex(1, 1000);
    e.findings.push(
        Finding::new("sqli", "sqli.lexer", "body.card.number")
            .fragment("4242424242424242' or 1=1")
            .score(5),
    );
    e.verdict = Verdict::block("sqli");
    e.enforced = true;
    s.insert_exchanges(&[e]).unwrap();
    drop(s);
    // Read the raw database bytes (main file and WAL): no secret anywhere.
    let mut raw = Vec::new();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        raw.extend(std::fs::read(f.unwrap().path()).unwrap());
    }
    let raw = String::from_utf8_lossy(&raw);
    for secret in [
        "4111111111111111",
        "4242424242424242",
        "sk_live_abcdefghijklmnopqrst",
        "hunter2",
    ] {
        assert!(!raw.contains(secret), "{secret} reached the disk");
    }
    let s = Store::open_read_only(dir.path()).unwrap();
    let got = s.exchange("req-1").unwrap().unwrap();
    assert_eq!(got.action, "block");
    assert_eq!(got.score, 5);
    assert_eq!(got.findings[0].location, "body.card.number");
    assert_eq!(got.status, Some(402));
}

#[test]
fn pagination_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let batch: Vec<_> = (0..25)
        .map(|i| {
            let mut e = ex(i, 1000 + i);
            if i % 5 == 0 {
                e.verdict = Verdict::block("x");
                e.findings.push(Finding::new("xss", "xss.lexer", "query.q"));
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
        seen.extend(page.items.iter().map(|i| i.id.clone()));
        match page.next_cursor {
            Some(c) => q.before = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen[0], "req-24", "newest first");
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

#[test]
fn duplicate_ids_keep_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    s.insert_exchanges(&[ex(1, 1), ex(1, 2)]).unwrap();
    assert_eq!(s.counts(0).unwrap().exchanges, 1);
}

#[test]
fn retention_by_age_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
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
    assert!(
        s.size_bytes().unwrap() <= before / 2,
        "size after retention"
    );
    // the newest survive
    assert!(s.exchange("req-2009").unwrap().is_some());
}

#[test]
fn reopening_keeps_data_and_refuses_newer_schemas() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(dir.path()).unwrap();
        s.insert_exchanges(&[ex(1, 1)]).unwrap();
        s.put_doc("catalog", &serde_json::json!({"a": 1}), 5)
            .unwrap();
    }
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.counts(0).unwrap().exchanges, 1);
    assert_eq!(s.get_doc("catalog").unwrap().unwrap()["a"], 1);
    drop(s);
    let c = rusqlite::Connection::open(Store::db_path(dir.path())).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("newer than this Palisade"),
        "{err}"
    );
}

#[test]
fn aggregates_for_the_overview() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let batch: Vec<_> = (0..30)
        .map(|i| {
            let mut e = ex(i, 60_000 * (i / 10)); // three one-minute buckets
            if i % 3 == 0 {
                e.verdict = Verdict::block("x");
                e.enforced = true;
                e.findings
                    .push(Finding::new("sqli", "sqli.lexer", "query.q"));
            }
            e
        })
        .collect();
    s.insert_exchanges(&batch).unwrap();
    let series = s.timeseries(0, 60_000).unwrap();
    assert_eq!(series.len(), 3);
    assert_eq!(series.iter().map(|b| b.requests).sum::<u64>(), 30);
    assert_eq!(series.iter().map(|b| b.blocked).sum::<u64>(), 10);
    assert_eq!(s.status_mix(0).unwrap(), vec![("4xx".to_string(), 30)]);
    let top = s.top_targets(0, 5).unwrap();
    assert_eq!(top[0].path, "/v1/charges");
    assert_eq!(top[0].flagged, 10);
    assert_eq!(s.counts_between(0, 60_000).unwrap().exchanges, 10);
}
