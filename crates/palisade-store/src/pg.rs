//! The PostgreSQL backend: the same tables and answers as the SQLite one,
//! through the sync `postgres` client. One connection per [`Pg`], opened
//! again on the next call after it breaks, so a store outlives a server
//! restart. Tables live in the schema `palisade` of the database named by
//! the URL.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use palisade_core::Exchange;
use postgres::{Client, NoTls, Row};

use crate::security::{
    AuditEntry, AuditPage, AuditRecord, AuditReport, ChainVerifier, NewToken, RawAudit,
    SessionRecord, TokenRecord, UserRecord, audit_page_of, chain_record, ends_sessions,
};
use crate::{
    Bucket, Counts, ExchangePage, ExchangeQuery, Result, Retention, StoreError, StoredExchange,
    TargetCount, page_of, parse_doc, stored_form, summary,
};

/// How long opening a connection may take before the call fails (unless
/// the URL sets `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long sent data may stay unacknowledged before the connection is
/// given up (a server that vanished without closing it).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);

/// After a failed connect, calls fail at once for a pause that doubles
/// from the first to the last of these, so a server that does not answer
/// costs one connect timeout per pause, not one per call.
const HOLD_DOWN: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(4));

/// Serialises migrations of concurrent first starts (an arbitrary key).
const MIGRATION_LOCK: i64 = 0x7061_6c69_7361_6465; // "palisade"

/// Schema scripts, applied in order and recorded in `schema_version`.
/// Append new ones; never edit a released one. They mirror the SQLite
/// migrations (integers as BIGINT, flags as BOOLEAN, JSON as its text so
/// that what was hashed stays byte for byte what is stored).
const MIGRATIONS: &[&str] = &[
    // 1: exchanges, findings, docs
    "CREATE TABLE exchanges (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        ts_ms BIGINT NOT NULL,
        client_ip TEXT NOT NULL,
        method TEXT NOT NULL,
        host TEXT,
        path TEXT NOT NULL,
        status BIGINT,
        action TEXT NOT NULL,
        enforced BOOLEAN NOT NULL,
        route TEXT,
        score BIGINT NOT NULL,
        finding_count BIGINT NOT NULL,
        total_us BIGINT NOT NULL,
        data TEXT NOT NULL
     );
     CREATE INDEX exchanges_ts ON exchanges(ts_ms);
     CREATE INDEX exchanges_ip ON exchanges(client_ip, seq);
     CREATE INDEX exchanges_action ON exchanges(action, seq);
     CREATE TABLE findings (
        id BIGSERIAL PRIMARY KEY,
        exchange_seq BIGINT NOT NULL REFERENCES exchanges(seq) ON DELETE CASCADE,
        ts_ms BIGINT NOT NULL,
        kind TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        location TEXT NOT NULL,
        fragment TEXT NOT NULL,
        score BIGINT NOT NULL,
        severity TEXT NOT NULL,
        phase TEXT NOT NULL,
        confidence BIGINT NOT NULL,
        message TEXT NOT NULL
     );
     CREATE INDEX findings_exchange ON findings(exchange_seq);
     CREATE INDEX findings_kind ON findings(kind, ts_ms);
     CREATE TABLE docs (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_ms BIGINT NOT NULL
     );",
    // 2: console security: users, API tokens, sessions, the audit log
    "CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT FALSE
     );
     CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        name TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        last_used_ms BIGINT,
        revoked_ms BIGINT
     );
     CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        \"user\" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf_hash TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL
     );
     CREATE INDEX sessions_user ON sessions(\"user\");
     CREATE TABLE audit (
        seq BIGINT PRIMARY KEY,
        ts_ms BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
     );",
];

/// The schema version this build writes.
pub(crate) const KNOWN_VERSION: i64 = MIGRATIONS.len() as i64;

/// The URL with its password (in the user part or as a `password=`
/// parameter) replaced by `***`.
pub fn mask_postgres_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some(p) => p,
        None => return "***".into(),
    };
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let main = match main.rfind('@') {
        Some(at) => {
            let (userinfo, hostpart) = main.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***{hostpart}"),
                None => main.to_string(),
            }
        }
        None => main.to_string(),
    };
    let mut out = format!("{scheme}://{main}");
    if let Some(q) = query {
        let q: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&q.join("&"));
    }
    out
}

/// Checks that `url` is a `postgres://` (or `postgresql://`) URL the client
/// understands, naming a host. The error never holds the password.
pub fn check_postgres_url(url: &str) -> std::result::Result<(), String> {
    parse_url(url).map(|_| ())
}

fn parse_url(url: &str) -> std::result::Result<postgres::Config, String> {
    let masked = mask_postgres_url(url);
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(format!(
            "`{masked}` does not start with postgres:// or postgresql://"
        ));
    }
    let cfg = postgres::Config::from_str(url).map_err(|e| {
        let mut msg = e.to_string();
        if let Some(pw) = password_of(url)
            && !pw.is_empty()
        {
            msg = msg.replace(pw, "***");
        }
        format!("`{masked}`: {msg}")
    })?;
    if cfg.get_hosts().is_empty() {
        return Err(format!("`{masked}` names no host"));
    }
    if cfg.get_ssl_mode() == postgres::config::SslMode::Require {
        return Err(format!(
            "`{masked}` asks for TLS (sslmode=require), which this Palisade does not speak to PostgreSQL yet; use a trusted network or a local tunnel and drop sslmode"
        ));
    }
    Ok(cfg)
}

fn password_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let main = rest.split('?').next()?;
    let userinfo = &main[..main.rfind('@')?];
    Some(userinfo.split_once(':')?.1)
}

/// Text PostgreSQL accepts: it refuses NUL characters, which parsed traffic
/// may hold; they become U+FFFD rather than failing a whole batch.
fn pg_text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

fn opt_text(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(pg_text)
}

/// A PostgreSQL store connection.
pub(crate) struct Pg {
    config: postgres::Config,
    label: String,
    read_only: bool,
    client: Mutex<Option<Client>>,
    /// After a failed connect: no new attempt before `.0`; `.1` the pause.
    down: Mutex<Option<(Instant, Duration)>>,
}

type PgResult<T> = std::result::Result<T, postgres::Error>;

/// Runs `f` where the sync client may block: directly on a plain thread
/// (the analysis thread), on a scoped helper thread when called from a
/// tokio runtime's thread (an async task, or the blocking pool), where the
/// client's own runtime could not start.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Closing the client blocks on its runtime: not on a tokio thread.
        if let Some(c) = lock(&self.client).take() {
            off_runtime(move || drop(c));
        }
    }
}

impl Pg {
    /// Connects; a writer also applies migrations.
    pub(crate) fn open(url: &str, read_only: bool) -> Result<Pg> {
        off_runtime(|| Pg::open_here(url, read_only))
    }

    fn open_here(url: &str, read_only: bool) -> Result<Pg> {
        let mut config = parse_url(url).map_err(StoreError::BadPostgresUrl)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("palisade");
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        config
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        let pg = Pg {
            config,
            label: mask_postgres_url(url),
            read_only,
            client: Mutex::new(None),
            down: Mutex::new(None),
        };
        let client = pg.connect()?;
        *lock(&pg.client) = Some(client);
        if !read_only {
            pg.migrate()?;
        }
        Ok(pg)
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    fn connect(&self) -> Result<Client> {
        let mut down = lock(&self.down);
        if let Some((until, _)) = *down {
            let now = Instant::now();
            if now < until {
                return Err(StoreError::PostgresDown {
                    url: self.label.clone(),
                    retry_in_ms: (until - now).as_millis() as u64,
                });
            }
        }
        let mut c = match self.config.connect(NoTls) {
            Ok(c) => {
                *down = None;
                c
            }
            Err(source) => {
                let pause = match *down {
                    Some((_, p)) => (p * 2).min(HOLD_DOWN.1),
                    None => HOLD_DOWN.0,
                };
                *down = Some((Instant::now() + pause, pause));
                return Err(StoreError::PostgresConnect {
                    url: self.label.clone(),
                    source,
                });
            }
        };
        let setup = if self.read_only {
            "SET search_path TO palisade; SET default_transaction_read_only = on;"
        } else {
            "SET search_path TO palisade;"
        };
        c.batch_execute(setup).map_err(|e| self.err(e))?;
        Ok(c)
    }

    fn err(&self, source: postgres::Error) -> StoreError {
        StoreError::Postgres {
            url: self.label.clone(),
            source,
        }
    }

    /// Runs `f` on the connection, connecting first when there is none.
    /// When the connection turns out broken (the server restarted), `f`
    /// runs once more on a new one; a statement that failed is never
    /// committed, so running it again is safe.
    fn with<T: Send>(&self, mut f: impl FnMut(&mut Client) -> PgResult<T> + Send) -> Result<T> {
        off_runtime(|| self.with_here(&mut f))
    }

    fn with_here<T>(&self, f: &mut dyn FnMut(&mut Client) -> PgResult<T>) -> Result<T> {
        let mut slot = lock(&self.client);
        for attempt in 0..2 {
            let fresh = slot.as_ref().is_none_or(|c| c.is_closed());
            if fresh {
                *slot = None;
                *slot = Some(self.connect()?);
            }
            let Some(client) = slot.as_mut() else {
                continue;
            };
            match f(client) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let broken = e.as_db_error().is_none() || client.is_closed();
                    if broken {
                        *slot = None;
                    }
                    if !broken || fresh || attempt == 1 {
                        return Err(self.err(e));
                    }
                }
            }
        }
        Err(StoreError::Decode("unreachable: PostgreSQL retry".into()))
    }

    fn migrate(&self) -> Result<()> {
        let label = self.label.clone();
        let found = self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            // DDL only when needed: a role without CREATE on the database
            // can run a schema made once by its owner.
            let exists: bool = tx
                .query_one(
                    "SELECT to_regclass('palisade.schema_version') IS NOT NULL",
                    &[],
                )?
                .try_get(0)?;
            if !exists {
                tx.batch_execute(
                    "CREATE SCHEMA IF NOT EXISTS palisade;
                     CREATE TABLE palisade.schema_version (version BIGINT NOT NULL);
                     SET search_path TO palisade;",
                )?;
            }
            let current: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM palisade.schema_version",
                    &[],
                )?
                .try_get(0)?;
            if current > KNOWN_VERSION {
                return Ok(Some(current));
            }
            if current == KNOWN_VERSION {
                return Ok(None);
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
                tx.batch_execute(sql)?;
                tx.execute("DELETE FROM palisade.schema_version", &[])?;
                tx.execute(
                    "INSERT INTO palisade.schema_version (version) VALUES ($1)",
                    &[&((i + 1) as i64)],
                )?;
            }
            tx.commit()?;
            Ok(None)
        })?;
        match found {
            Some(found) => Err(StoreError::PostgresTooNew {
                url: label,
                found,
                known: KNOWN_VERSION,
            }),
            None => Ok(()),
        }
    }

    #[cfg(test)]
    pub(crate) fn raw_execute(&mut self, sql: &str) {
        self.with(|c| c.batch_execute(sql)).unwrap()
    }

    // ---- exchanges ----

    /// One transaction, two statements whatever the batch size: the rows
    /// go as arrays (`unnest`), so a batch costs two round trips.
    pub(crate) fn insert_exchanges(&mut self, batch: &[Exchange]) -> Result<usize> {
        let rows = ExchangeArrays::of(batch)?;
        self.with(|c| {
            let mut tx = c.transaction()?;
            let inserted = tx.query(
                "INSERT INTO exchanges
                 (id, ts_ms, client_ip, method, host, path, status, action, enforced, route,
                  score, finding_count, total_us, data)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[],
                   $5::text[], $6::text[], $7::bigint[], $8::text[], $9::boolean[], $10::text[],
                   $11::bigint[], $12::bigint[], $13::bigint[], $14::text[])
                 ON CONFLICT (id) DO NOTHING RETURNING id, seq",
                &[
                    &rows.id,
                    &rows.ts_ms,
                    &rows.client_ip,
                    &rows.method,
                    &rows.host,
                    &rows.path,
                    &rows.status,
                    &rows.action,
                    &rows.enforced,
                    &rows.route,
                    &rows.score,
                    &rows.finding_count,
                    &rows.total_us,
                    &rows.data,
                ],
            )?;
            // Findings of the exchanges that went in (an id seen before
            // keeps its first exchange and that one's findings).
            let mut f = FindingArrays::default();
            for r in &inserted {
                let id: String = r.try_get(0)?;
                let seq: i64 = r.try_get(1)?;
                if let Some(&i) = rows.index.get(&id) {
                    f.push(seq, &rows.findings[i]);
                }
            }
            if !f.exchange_seq.is_empty() {
                tx.execute(
                    "INSERT INTO findings (exchange_seq, ts_ms, kind, rule_id, location, fragment,
                      score, severity, phase, confidence, message)
                     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[],
                       $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[],
                       $10::bigint[], $11::text[])",
                    &[
                        &f.exchange_seq,
                        &f.ts_ms,
                        &f.kind,
                        &f.rule_id,
                        &f.location,
                        &f.fragment,
                        &f.score,
                        &f.severity,
                        &f.phase,
                        &f.confidence,
                        &f.message,
                    ],
                )?;
            }
            tx.commit()
        })?;
        Ok(batch.len())
    }

    pub(crate) fn exchanges(
        &self,
        q: &ExchangeQuery,
        before: i64,
        limit: usize,
    ) -> Result<ExchangePage> {
        let mut sql = String::from("SELECT seq, data, score FROM exchanges WHERE seq < $1");
        sql.push_str(if q.action.is_some() {
            " AND action = $2"
        } else {
            " AND $2::text IS NULL"
        });
        sql.push_str(if q.client_ip.is_some() {
            " AND client_ip = $3"
        } else {
            " AND $3::text IS NULL"
        });
        if q.flagged {
            sql.push_str(" AND finding_count > 0");
        }
        sql.push_str(" AND ts_ms >= $4 ORDER BY seq DESC LIMIT $5");
        let action = opt_text(q.action.as_deref());
        let ip = opt_text(q.client_ip.as_deref());
        let since = q.since_ms.unwrap_or(i64::MIN);
        let lim = (limit + 1) as i64;
        let rows = self.with(|c| {
            c.query(sql.as_str(), &[&before, &action, &ip, &since, &lim])?
                .iter()
                .map(exchange_row)
                .collect::<PgResult<Vec<_>>>()
        })?;
        page_of(rows, limit)
    }

    pub(crate) fn exchange(&self, id: &str) -> Result<Option<StoredExchange>> {
        let id = pg_text(id);
        let row = self.with(|c| {
            c.query_opt(
                "SELECT seq, data, score FROM exchanges WHERE id = $1",
                &[&id],
            )?
            .as_ref()
            .map(exchange_row)
            .transpose()
        })?;
        row.map(|(seq, data, score)| summary(seq, &data, score, true))
            .transpose()
    }

    pub(crate) fn counts_between(&self, from_ms: i64, to_ms: i64) -> Result<Counts> {
        self.with(|c| {
            let r = c.query_one(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE finding_count > 0),
                        COUNT(*) FILTER (WHERE action IN ('block', 'rate_limit') AND enforced)
                 FROM exchanges WHERE ts_ms >= $1 AND ts_ms < $2",
                &[&from_ms, &to_ms],
            )?;
            Ok(Counts {
                exchanges: r.try_get::<_, i64>(0)? as u64,
                flagged: r.try_get::<_, i64>(1)? as u64,
                blocked: r.try_get::<_, i64>(2)? as u64,
            })
        })
    }

    pub(crate) fn timeseries(&self, since_ms: i64, bucket_ms: i64) -> Result<Vec<Bucket>> {
        self.with(|c| {
            c.query(
                "SELECT (ts_ms / $2) * $2 AS b, COUNT(*),
                        COUNT(*) FILTER (WHERE action IN ('block', 'rate_limit') AND enforced),
                        COUNT(*) FILTER (WHERE finding_count > 0)
                 FROM exchanges WHERE ts_ms >= $1 GROUP BY b ORDER BY b",
                &[&since_ms, &bucket_ms],
            )?
            .iter()
            .map(|r| {
                Ok(Bucket {
                    ts_ms: r.try_get(0)?,
                    requests: r.try_get::<_, i64>(1)? as u64,
                    blocked: r.try_get::<_, i64>(2)? as u64,
                    flagged: r.try_get::<_, i64>(3)? as u64,
                })
            })
            .collect()
        })
    }

    pub(crate) fn status_mix(&self, since_ms: i64) -> Result<Vec<(String, u64)>> {
        self.with(|c| {
            c.query(
                "SELECT c, n FROM (
                   SELECT CASE WHEN status IS NULL THEN 'none' ELSE (status / 100)::text || 'xx' END AS c,
                          COUNT(*) AS n
                   FROM exchanges WHERE ts_ms >= $1 GROUP BY 1
                 ) t ORDER BY c COLLATE \"C\"",
                &[&since_ms],
            )?
            .iter()
            .map(|r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, i64>(1)? as u64)))
            .collect()
        })
    }

    pub(crate) fn top_targets(&self, since_ms: i64, limit: usize) -> Result<Vec<TargetCount>> {
        let limit = limit.min(i64::MAX as usize) as i64;
        self.with(|c| {
            c.query(
                "SELECT method, path, COUNT(*) AS requests,
                        COUNT(*) FILTER (WHERE finding_count > 0) AS flagged,
                        COUNT(*) FILTER (WHERE action IN ('block', 'rate_limit') AND enforced)
                 FROM exchanges WHERE ts_ms >= $1 AND finding_count > 0
                 GROUP BY method, path
                 ORDER BY flagged DESC, requests DESC, method COLLATE \"C\", path COLLATE \"C\"
                 LIMIT $2",
                &[&since_ms, &limit],
            )?
            .iter()
            .map(|r| {
                Ok(TargetCount {
                    method: r.try_get(0)?,
                    path: r.try_get(1)?,
                    requests: r.try_get::<_, i64>(2)? as u64,
                    flagged: r.try_get::<_, i64>(3)? as u64,
                    blocked: r.try_get::<_, i64>(4)? as u64,
                })
            })
            .collect()
        })
    }

    /// Retention by age, then by size. Size counts the live rows' bytes:
    /// PostgreSQL keeps deleted rows' space for reuse (vacuum), so the
    /// files do not shrink when rows go.
    pub(crate) fn apply_retention(&mut self, r: &Retention, cutoff: i64) -> Result<u64> {
        let mut deleted =
            self.with(|c| c.execute("DELETE FROM exchanges WHERE ts_ms < $1", &[&cutoff]))?;
        let mut by_size = false;
        let on_disk = self.with(|c| {
            c.query_one(
                "SELECT (pg_total_relation_size('exchanges') + pg_total_relation_size('findings'))::bigint",
                &[],
            )?
            .try_get::<_, i64>(0)
        })?;
        if on_disk.max(0) as u64 > r.max_bytes {
            for _ in 0..20 {
                if self.size_bytes()? <= r.max_bytes {
                    break;
                }
                let n = self.with(|c| {
                    c.execute(
                        "DELETE FROM exchanges WHERE seq IN
                         (SELECT seq FROM exchanges ORDER BY seq LIMIT
                           GREATEST(1, (SELECT COUNT(*) FROM exchanges) / 10))",
                        &[],
                    )
                })?;
                deleted += n;
                by_size = true;
                if n == 0 {
                    break;
                }
            }
        }
        if by_size {
            // Make the freed space reusable now rather than at autovacuum.
            if let Err(e) = self.with(|c| c.batch_execute("VACUUM exchanges, findings")) {
                tracing::warn!(error = %e, "vacuum after size retention failed");
            }
        }
        Ok(deleted)
    }

    pub(crate) fn size_bytes(&self) -> Result<u64> {
        self.with(|c| {
            c.query_one(
                "SELECT ((SELECT COALESCE(SUM(pg_column_size(e.*)), 0) FROM exchanges e)
                       + (SELECT COALESCE(SUM(pg_column_size(f.*)), 0) FROM findings f))::bigint",
                &[],
            )?
            .try_get::<_, i64>(0)
        })
        .map(|n| n.max(0) as u64)
    }

    // ---- docs ----

    pub(crate) fn put_doc(
        &mut self,
        key: &str,
        value: &serde_json::Value,
        now_ms: i64,
    ) -> Result<()> {
        let key = pg_text(key);
        let text = value.to_string();
        self.with(|c| {
            c.execute(
                "INSERT INTO docs (key, value, updated_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_ms = EXCLUDED.updated_ms",
                &[&key, &text, &now_ms],
            )
        })
        .map(|_| ())
    }

    pub(crate) fn get_doc(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let k = pg_text(key);
        let s: Option<String> = self.with(|c| {
            c.query_opt("SELECT value FROM docs WHERE key = $1", &[&k])?
                .map(|r| r.try_get(0))
                .transpose()
        })?;
        s.map(|s| parse_doc(key, &s)).transpose()
    }

    // ---- users ----

    pub(crate) fn create_user(
        &mut self,
        name: &str,
        role: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        self.with(|c| {
            c.execute(
                "INSERT INTO users (name, role, password_hash, created_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &role, &password_hash, &now_ms],
            )
        })
        .map(|n| n == 1)
    }

    pub(crate) fn users(&self) -> Result<Vec<UserRecord>> {
        self.with(|c| {
            c.query(
                "SELECT name, role, created_ms, disabled FROM users ORDER BY name COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(user_row)
            .collect()
        })
    }

    pub(crate) fn user_count(&self) -> Result<u64> {
        self.with(|c| {
            c.query_one("SELECT COUNT(*) FROM users", &[])?
                .try_get::<_, i64>(0)
        })
        .map(|n| n as u64)
    }

    pub(crate) fn user_credentials(&self, name: &str) -> Result<Option<(UserRecord, String)>> {
        self.with(|c| {
            c.query_opt(
                "SELECT name, role, created_ms, disabled, password_hash FROM users WHERE name = $1",
                &[&name],
            )?
            .map(|r| Ok((user_row(&r)?, r.try_get::<_, String>(4)?)))
            .transpose()
        })
    }

    pub(crate) fn update_user(
        &mut self,
        name: &str,
        role: Option<&str>,
        disabled: Option<bool>,
        password_hash: Option<&str>,
    ) -> Result<bool> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE users SET role = COALESCE($2, role), disabled = COALESCE($3, disabled),
                 password_hash = COALESCE($4, password_hash) WHERE name = $1",
                &[&name, &role, &disabled, &password_hash],
            )?;
            if n == 1 && ends_sessions(role, disabled, password_hash) {
                tx.execute("DELETE FROM sessions WHERE \"user\" = $1", &[&name])?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
    }

    // ---- tokens ----

    pub(crate) fn create_token(&mut self, t: &NewToken<'_>, now_ms: i64) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tokens (id, hash, role, name, created_by, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&t.id, &t.hash, &t.role, &t.name, &t.created_by, &now_ms],
            )
        })
        .map(|_| ())
    }

    pub(crate) fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        self.with(|c| {
            c.query_opt(
                "SELECT id, role, name, created_by, created_ms, last_used_ms, revoked_ms
                 FROM tokens WHERE hash = $1",
                &[&hash],
            )?
            .as_ref()
            .map(token_row)
            .transpose()
        })
    }

    pub(crate) fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.with(|c| {
            c.query(
                "SELECT id, role, name, created_by, created_ms, last_used_ms, revoked_ms
                 FROM tokens ORDER BY created_ms DESC, id COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(token_row)
            .collect()
        })
    }

    pub(crate) fn touch_token(&mut self, id: &str, now_ms: i64) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE tokens SET last_used_ms = $2 WHERE id = $1",
                &[&id, &now_ms],
            )
        })
        .map(|_| ())
    }

    pub(crate) fn revoke_token(&mut self, id: &str, now_ms: i64) -> Result<bool> {
        self.with(|c| {
            c.execute(
                "UPDATE tokens SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL",
                &[&id, &now_ms],
            )
        })
        .map(|n| n == 1)
    }

    // ---- sessions ----

    pub(crate) fn create_session(
        &mut self,
        id_hash: &str,
        user: &str,
        csrf_hash: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO sessions (id_hash, \"user\", csrf_hash, created_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&id_hash, &user, &csrf_hash, &now_ms, &expires_ms],
            )
        })
        .map(|_| ())
    }

    pub(crate) fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>> {
        self.with(|c| {
            c.query_opt(
                "SELECT s.\"user\", u.role, s.csrf_hash, s.expires_ms FROM sessions s
                 JOIN users u ON u.name = s.\"user\"
                 WHERE s.id_hash = $1 AND s.expires_ms > $2 AND NOT u.disabled",
                &[&id_hash, &now_ms],
            )?
            .map(|r| {
                Ok(SessionRecord {
                    user: r.try_get(0)?,
                    role: r.try_get(1)?,
                    csrf_hash: r.try_get(2)?,
                    expires_ms: r.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    pub(crate) fn delete_session(&mut self, id_hash: &str) -> Result<bool> {
        self.with(|c| c.execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash]))
            .map(|n| n == 1)
    }

    pub(crate) fn delete_expired_sessions(&mut self, now_ms: i64) -> Result<u64> {
        self.with(|c| c.execute("DELETE FROM sessions WHERE expires_ms <= $1", &[&now_ms]))
    }

    // ---- audit ----

    pub(crate) fn append_audit(&mut self, entry: &AuditEntry, ts_ms: i64) -> Result<AuditRecord> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            // One appender at a time, so two cannot chain to the same
            // predecessor; readers are not blocked.
            tx.batch_execute("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE")?;
            let last = tx
                .query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?
                .map(|r| {
                    Ok::<_, postgres::Error>((r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?))
                })
                .transpose()?;
            let rec = chain_record(entry, ts_ms, last);
            tx.execute(
                "INSERT INTO audit (seq, ts_ms, actor, action, target, detail, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &rec.seq,
                    &rec.ts_ms,
                    &rec.actor,
                    &rec.action,
                    &rec.target,
                    &rec.detail.to_string(),
                    &rec.prev_hash,
                    &rec.hash,
                ],
            )?;
            tx.commit()?;
            Ok(rec)
        })
    }

    pub(crate) fn audit_page(&self, before: Option<i64>, limit: usize) -> Result<AuditPage> {
        let before = before.unwrap_or(i64::MAX);
        let lim = (limit + 1) as i64;
        let raws = self.with(|c| {
            c.query(
                "SELECT seq, ts_ms, actor, action, target, detail, prev_hash, hash FROM audit
                 WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
                &[&before, &lim],
            )?
            .iter()
            .map(audit_raw)
            .collect::<PgResult<Vec<_>>>()
        })?;
        Ok(audit_page_of(raws, limit))
    }

    pub(crate) fn verify_audit(&self) -> Result<AuditReport> {
        self.with(|c| {
            let mut v = ChainVerifier::default();
            // A cursor-free walk in pages keeps memory bounded on long logs.
            let mut after = 0i64;
            loop {
                let rows = c.query(
                    "SELECT seq, ts_ms, actor, action, target, detail, prev_hash, hash FROM audit
                     WHERE seq > $1 ORDER BY seq LIMIT 1000",
                    &[&after],
                )?;
                if rows.is_empty() {
                    return Ok(v.finish());
                }
                for r in &rows {
                    let raw = audit_raw(r)?;
                    after = raw.0;
                    if let Some(report) = v.next(raw) {
                        return Ok(report);
                    }
                }
            }
        })
    }
}

/// A batch of exchanges in their stored form, as column arrays; an id
/// seen twice keeps its first exchange, as on SQLite.
struct ExchangeArrays {
    id: Vec<String>,
    ts_ms: Vec<i64>,
    client_ip: Vec<String>,
    method: Vec<String>,
    host: Vec<Option<String>>,
    path: Vec<String>,
    status: Vec<Option<i64>>,
    action: Vec<String>,
    enforced: Vec<bool>,
    route: Vec<Option<String>>,
    score: Vec<i64>,
    finding_count: Vec<i64>,
    total_us: Vec<i64>,
    data: Vec<String>,
    /// Per row: `(ts_ms, findings)`.
    findings: Vec<(i64, Vec<palisade_core::Finding>)>,
    /// id → row.
    index: std::collections::HashMap<String, usize>,
}

impl ExchangeArrays {
    fn of(batch: &[Exchange]) -> Result<ExchangeArrays> {
        let n = batch.len();
        let mut a = ExchangeArrays {
            id: Vec::with_capacity(n),
            ts_ms: Vec::with_capacity(n),
            client_ip: Vec::with_capacity(n),
            method: Vec::with_capacity(n),
            host: Vec::with_capacity(n),
            path: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            action: Vec::with_capacity(n),
            enforced: Vec::with_capacity(n),
            route: Vec::with_capacity(n),
            score: Vec::with_capacity(n),
            finding_count: Vec::with_capacity(n),
            total_us: Vec::with_capacity(n),
            data: Vec::with_capacity(n),
            findings: Vec::with_capacity(n),
            index: std::collections::HashMap::with_capacity(n),
        };
        for ex in batch {
            let m = stored_form(ex);
            let id = pg_text(&m.id).into_owned();
            if a.index.contains_key(&id) {
                continue; // same request id twice in a batch: keep the first
            }
            let data = serde_json::to_string(&m).map_err(|x| StoreError::Decode(x.to_string()))?;
            a.index.insert(id.clone(), a.id.len());
            a.id.push(id);
            a.ts_ms.push(m.ts_ms);
            a.client_ip.push(m.client_ip.to_string());
            a.method.push(pg_text(&m.request.method).into_owned());
            a.host
                .push(opt_text(m.request.host.as_deref()).map(Cow::into_owned));
            a.path.push(pg_text(m.request.path()).into_owned());
            a.status.push(m.status().map(i64::from));
            a.action.push(m.verdict.action().as_str().to_string());
            a.enforced.push(m.enforced);
            a.route
                .push(opt_text(m.route.as_deref()).map(Cow::into_owned));
            a.score
                .push(m.findings.iter().map(|f| f.score as i64).sum());
            a.finding_count.push(m.findings.len() as i64);
            a.total_us
                .push(m.timings.total_us.min(i64::MAX as u64) as i64);
            a.data.push(data);
            a.findings.push((m.ts_ms, m.findings));
        }
        Ok(a)
    }
}

#[derive(Default)]
struct FindingArrays {
    exchange_seq: Vec<i64>,
    ts_ms: Vec<i64>,
    kind: Vec<String>,
    rule_id: Vec<String>,
    location: Vec<String>,
    fragment: Vec<String>,
    score: Vec<i64>,
    severity: Vec<String>,
    phase: Vec<String>,
    confidence: Vec<i64>,
    message: Vec<String>,
}

impl FindingArrays {
    fn push(&mut self, seq: i64, (ts_ms, findings): &(i64, Vec<palisade_core::Finding>)) {
        for f in findings {
            self.exchange_seq.push(seq);
            self.ts_ms.push(*ts_ms);
            self.kind.push(pg_text(&f.kind).into_owned());
            self.rule_id.push(pg_text(&f.rule_id).into_owned());
            self.location.push(pg_text(&f.location).into_owned());
            self.fragment
                .push(pg_text(f.fragment.as_str()).into_owned());
            self.score.push(f.score as i64);
            self.severity.push(f.severity.as_str().to_string());
            self.phase.push(f.phase.as_str().to_string());
            self.confidence.push(f.confidence as i64);
            self.message.push(pg_text(&f.message).into_owned());
        }
    }
}

fn exchange_row(r: &Row) -> PgResult<(i64, String, i64)> {
    Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
}

fn user_row(r: &Row) -> PgResult<UserRecord> {
    Ok(UserRecord {
        name: r.try_get(0)?,
        role: r.try_get(1)?,
        created_ms: r.try_get(2)?,
        disabled: r.try_get(3)?,
    })
}

fn token_row(r: &Row) -> PgResult<TokenRecord> {
    Ok(TokenRecord {
        id: r.try_get(0)?,
        role: r.try_get(1)?,
        name: r.try_get(2)?,
        created_by: r.try_get(3)?,
        created_ms: r.try_get(4)?,
        last_used_ms: r.try_get(5)?,
        revoked_ms: r.try_get(6)?,
    })
}

fn audit_raw(r: &Row) -> PgResult<RawAudit> {
    Ok((
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
        r.try_get(6)?,
        r.try_get(7)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_masked_and_checked() {
        assert_eq!(
            mask_postgres_url("postgres://app:s3cr%40t@db.example:5432/pal?sslmode=disable"),
            "postgres://app:***@db.example:5432/pal?sslmode=disable"
        );
        assert_eq!(
            mask_postgres_url("postgresql://db/pal?user=a&password=hunter2"),
            "postgresql://db/pal?user=a&password=***"
        );
        assert_eq!(
            mask_postgres_url("postgres://palisade@127.0.0.1:5/postgres"),
            "postgres://palisade@127.0.0.1:5/postgres"
        );
        assert!(check_postgres_url("postgres://u:p@127.0.0.1:5432/db").is_ok());
        let e = check_postgres_url("mysql://u:hunter2@h/db").unwrap_err();
        assert!(e.contains("postgres://") && !e.contains("hunter2"), "{e}");
        let e = check_postgres_url("postgres://u:hunter2@h:notaport/db").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        let e = check_postgres_url("postgres://u:hunter2@h/db?sslmode=require").unwrap_err();
        assert!(e.contains("TLS") && !e.contains("hunter2"), "{e}");
    }
}
