//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.
//! Append new scripts; never edit a released one.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: exchanges and findings
    "PRAGMA auto_vacuum = INCREMENTAL;
     CREATE TABLE exchanges (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        ts_ms INTEGER NOT NULL,
        client_ip TEXT NOT NULL,
        method TEXT NOT NULL,
        host TEXT,
        path TEXT NOT NULL,
        status INTEGER,
        action TEXT NOT NULL,
        enforced INTEGER NOT NULL,
        route TEXT,
        score INTEGER NOT NULL,
        finding_count INTEGER NOT NULL,
        total_us INTEGER NOT NULL,
        data TEXT NOT NULL
     );
     CREATE INDEX exchanges_ts ON exchanges(ts_ms);
     CREATE INDEX exchanges_ip ON exchanges(client_ip, seq);
     CREATE INDEX exchanges_action ON exchanges(action, seq);
     CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        exchange_seq INTEGER NOT NULL REFERENCES exchanges(seq) ON DELETE CASCADE,
        ts_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        location TEXT NOT NULL,
        fragment TEXT NOT NULL,
        score INTEGER NOT NULL,
        severity TEXT NOT NULL,
        phase TEXT NOT NULL,
        confidence INTEGER NOT NULL,
        message TEXT NOT NULL
     );
     CREATE INDEX findings_exchange ON findings(exchange_seq);
     CREATE INDEX findings_kind ON findings(kind, ts_ms);
     CREATE TABLE docs (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
     );",
    // 2: console security: users, API tokens, sessions, the audit log
    "CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        name TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        last_used_ms INTEGER,
        revoked_ms INTEGER
     );
     CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf_hash TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
     );
     CREATE INDEX sessions_user ON sessions(user);
     CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
     );",
];

#[derive(Debug)]
pub enum Error {
    TooNew { found: i64, known: i64 },
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sql(e)
    }
}

pub fn apply(conn: &mut Connection) -> Result<(), Error> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(Error::TooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        // auto_vacuum must be set before the first table exists, outside a transaction
        if i == 0 {
            conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")?;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
