//! Palisade's storage. SQLite (through rusqlite, bundled) is the zero-setup
//! default; PostgreSQL (through the sync `postgres` client) is the other
//! backend, chosen with [`StoreSpec::Postgres`]. This is the only crate that
//! speaks SQL. Both backends answer every query the same way: the store's
//! test suite runs against each.
//!
//! What is stored is masked: [`Store::insert_exchanges`] masks every exchange
//! (`Exchange::masked`) and bounds body samples before writing, so no card
//! number or secret reaches the disk whatever the caller passes. Writes come in
//! batches from the analysis thread; reads (the console) use their own
//! connections, which WAL mode lets run beside the writer.
//!
//! Migrations are numbered SQL scripts applied in order and recorded in
//! `PRAGMA user_version` (SQLite) or the `schema_version` table
//! (PostgreSQL); a database from a newer Palisade is refused rather than
//! damaged.

mod migrations;
mod pg;
mod security;
pub use pg::{check_postgres_url, mask_postgres_url};
pub use security::{
    AUDIT_GENESIS, AuditBreak, AuditEntry, AuditPage, AuditRecord, AuditReport, NewToken,
    SessionRecord, TokenRecord, UserRecord, audit_hash,
};

use std::path::{Path, PathBuf};
use std::time::Duration;

use palisade_core::{Exchange, Finding};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot create data directory `{path}`: {source} (fix: create it, or pass --data-dir with a writable path)"
    )]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database `{path}`: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "database `{path}` has schema version {found}, newer than this Palisade understands ({known}) (fix: upgrade palisade, or point --data-dir elsewhere)"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("stored record is malformed: {0}")]
    Decode(String),
    #[error(
        "cannot connect to PostgreSQL at `{url}`: {source} (fix: start the server, or correct `[store] postgres` in the configuration)"
    )]
    PostgresConnect {
        /// The URL with its password masked.
        url: String,
        source: postgres::Error,
    },
    #[error("PostgreSQL `{url}`: {source}")]
    Postgres {
        /// The URL with its password masked.
        url: String,
        source: postgres::Error,
    },
    #[error(
        "PostgreSQL at `{url}` did not answer a moment ago; not trying again for {retry_in_ms} ms (fix: start the server, or correct `[store] postgres`)"
    )]
    PostgresDown { url: String, retry_in_ms: u64 },
    #[error(
        "PostgreSQL `{url}` has schema version {found}, newer than this Palisade understands ({known}) (fix: upgrade palisade, or point `[store] postgres` at another database)"
    )]
    PostgresTooNew { url: String, found: i64, known: i64 },
    #[error(
        "unusable PostgreSQL URL: {0} (fix: write it like postgres://USER:PASSWORD@HOST:5432/DATABASE)"
    )]
    BadPostgresUrl(String),
}

impl StoreError {
    /// True when the error says the database could not be reached (as
    /// opposed to a statement it refused): worth retrying later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::PostgresConnect { .. } | StoreError::PostgresDown { .. } => true,
            StoreError::Postgres { source, .. } => source.as_db_error().is_none(),
            StoreError::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Retention: what is deleted and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Exchanges older than this are deleted.
    pub max_age: Duration,
    /// When the database grows past this many bytes, the oldest exchanges are
    /// deleted until it fits.
    pub max_bytes: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// Largest body sample stored per exchange side.
pub const STORED_BODY_BYTES: usize = 4096;

/// One page of exchanges, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExchangePage {
    pub items: Vec<StoredExchange>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A stored exchange: summary columns plus the masked exchange itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredExchange {
    pub seq: i64,
    pub id: String,
    pub ts_ms: i64,
    pub client_ip: String,
    pub method: String,
    pub host: Option<String>,
    pub path: String,
    pub status: Option<u16>,
    pub action: String,
    pub enforced: bool,
    pub route: Option<String>,
    pub score: u32,
    pub findings: Vec<Finding>,
    pub total_us: u64,
    /// The masked exchange, when asked for in full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
}

/// Filters for listing exchanges.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExchangeQuery {
    pub limit: usize,
    /// Cursor from a previous page.
    pub before: Option<String>,
    /// `allow`, `log`, `block`, `rate_limit`, `tarpit`.
    pub action: Option<String>,
    pub client_ip: Option<String>,
    /// Only exchanges with at least one finding.
    pub flagged: bool,
    pub since_ms: Option<i64>,
}

/// Counts for dashboards.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub exchanges: u64,
    pub flagged: u64,
    pub blocked: u64,
}

/// One time bucket of traffic.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Bucket {
    pub ts_ms: i64,
    pub requests: u64,
    pub blocked: u64,
    pub flagged: u64,
}

/// Traffic with findings against one path.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TargetCount {
    pub method: String,
    pub path: String,
    pub requests: u64,
    pub flagged: u64,
    pub blocked: u64,
}

/// Where the store lives: the zero-setup SQLite file in a data directory,
/// or a PostgreSQL database.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// `palisade.db` in this data directory.
    Sqlite(PathBuf),
    /// A `postgres://` URL (may hold a password: never print it, use
    /// [`StoreSpec::describe`]).
    Postgres(String),
}

impl std::fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl StoreSpec {
    /// The SQLite store of a data directory.
    pub fn sqlite(data_dir: &Path) -> StoreSpec {
        StoreSpec::Sqlite(data_dir.to_path_buf())
    }

    /// The SQLite data directory, or a PostgreSQL URL when one is given.
    pub fn from_parts(data_dir: &Path, postgres: Option<&str>) -> StoreSpec {
        match postgres {
            Some(url) if !url.trim().is_empty() => StoreSpec::Postgres(url.trim().to_string()),
            _ => StoreSpec::sqlite(data_dir),
        }
    }

    /// Where the store is, fit to show: the database file, or the URL with
    /// its password masked.
    pub fn describe(&self) -> String {
        match self {
            StoreSpec::Sqlite(dir) => Store::db_path(dir).display().to_string(),
            StoreSpec::Postgres(url) => mask_postgres_url(url),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, StoreSpec::Postgres(_))
    }
}

enum Backend {
    Sqlite(Connection),
    Postgres(Box<pg::Pg>),
}

/// A connection to the store (SQLite or PostgreSQL).
pub struct Store {
    backend: Backend,
    /// The SQLite file, or the masked PostgreSQL URL.
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Maps rusqlite errors to [`StoreError::Sqlite`] for a database file.
fn sq(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// Splits a store into its SQLite connection and path, or returns the
/// PostgreSQL backend's answer.
macro_rules! sqlite_or {
    ($self:ident, $pg:ident => $on_pg:expr) => {
        match &$self.backend {
            Backend::Sqlite(c) => (c, sq(&$self.path)),
            Backend::Postgres($pg) => return $on_pg,
        }
    };
    (mut $self:ident, $pg:ident => $on_pg:expr) => {{
        let Store { backend, path } = $self;
        match backend {
            Backend::Sqlite(c) => (c, sq(path)),
            Backend::Postgres($pg) => return $on_pg,
        }
    }};
}
pub(crate) use sqlite_or;

impl Store {
    /// The database file inside a data directory.
    pub fn db_path(data_dir: &Path) -> PathBuf {
        data_dir.join("palisade.db")
    }

    /// Opens (creating when needed) the store a spec names for writing,
    /// applying migrations.
    pub fn open_spec(spec: &StoreSpec) -> Result<Store> {
        match spec {
            StoreSpec::Sqlite(dir) => Store::open(dir),
            StoreSpec::Postgres(url) => {
                let pg = Box::new(pg::Pg::open(url, false)?);
                Ok(Store {
                    path: PathBuf::from(pg.label()),
                    backend: Backend::Postgres(pg),
                })
            }
        }
    }

    /// Opens the store a spec names for reading (the console).
    pub fn open_read_only_spec(spec: &StoreSpec) -> Result<Store> {
        match spec {
            StoreSpec::Sqlite(dir) => Store::open_read_only(dir),
            StoreSpec::Postgres(url) => {
                let pg = Box::new(pg::Pg::open(url, true)?);
                Ok(Store {
                    path: PathBuf::from(pg.label()),
                    backend: Backend::Postgres(pg),
                })
            }
        }
    }

    /// Opens (creating when needed) the database in `data_dir` for writing,
    /// applying migrations.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = Self::db_path(data_dir);
        let mut conn = Connection::open(&path).map_err(sq(&path))?;
        configure(&conn, true).map_err(sq(&path))?;
        migrations::apply(&mut conn).map_err(|e| match e {
            migrations::Error::TooNew { found, known } => StoreError::TooNew {
                path: path.clone(),
                found,
                known,
            },
            migrations::Error::Sql(source) => StoreError::Sqlite {
                path: path.clone(),
                source,
            },
        })?;
        Ok(Store {
            backend: Backend::Sqlite(conn),
            path,
        })
    }

    /// Opens an existing database for reading (the console). Fails when it does
    /// not exist yet.
    pub fn open_read_only(data_dir: &Path) -> Result<Store> {
        let path = Self::db_path(data_dir);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sq(&path))?;
        configure(&conn, false).map_err(sq(&path))?;
        Ok(Store {
            backend: Backend::Sqlite(conn),
            path,
        })
    }

    /// The SQLite file, or the PostgreSQL URL with its password masked.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True for a PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Writes a batch of exchanges (masked here) and their findings in one
    /// transaction.
    pub fn insert_exchanges(&mut self, batch: &[Exchange]) -> Result<usize> {
        let (conn, e) = sqlite_or!(mut self, p => p.insert_exchanges(batch));
        let tx = conn.transaction().map_err(e)?;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO exchanges
                     (id, ts_ms, client_ip, method, host, path, status, action, enforced, route,
                      score, finding_count, total_us, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(e)?;
            let mut ins_f = tx
                .prepare_cached(
                    "INSERT INTO findings (exchange_seq, ts_ms, kind, rule_id, location, fragment,
                      score, severity, phase, confidence, message)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(e)?;
            for ex in batch {
                let m = stored_form(ex);
                let score: u32 = m.findings.iter().map(|f| f.score).sum();
                let data =
                    serde_json::to_string(&m).map_err(|x| StoreError::Decode(x.to_string()))?;
                let n = ins
                    .execute(params![
                        m.id,
                        m.ts_ms,
                        m.client_ip.to_string(),
                        m.request.method,
                        m.request.host,
                        m.request.path(),
                        m.status(),
                        m.verdict.action().as_str(),
                        m.enforced,
                        m.route,
                        score,
                        m.findings.len() as i64,
                        m.timings.total_us as i64,
                        data,
                    ])
                    .map_err(e)?;
                if n == 0 {
                    continue; // same request id seen twice: keep the first
                }
                let seq = tx.last_insert_rowid();
                for f in &m.findings {
                    ins_f
                        .execute(params![
                            seq,
                            m.ts_ms,
                            f.kind,
                            f.rule_id,
                            f.location,
                            f.fragment.as_str(),
                            f.score,
                            f.severity.as_str(),
                            f.phase.as_str(),
                            f.confidence,
                            f.message,
                        ])
                        .map_err(e)?;
                }
            }
        }
        tx.commit().map_err(e)?;
        Ok(batch.len())
    }

    /// Lists exchanges, newest first.
    pub fn exchanges(&self, q: &ExchangeQuery) -> Result<ExchangePage> {
        let limit = q.limit.clamp(1, 500);
        let before = parse_cursor(q.before.as_deref())?;
        let (conn, e) = sqlite_or!(self, p => p.exchanges(q, before, limit));
        let mut sql = String::from("SELECT seq, data, score FROM exchanges WHERE seq < ?1");
        if q.action.is_some() {
            sql.push_str(" AND action = ?2");
        } else {
            sql.push_str(" AND ?2 IS NULL");
        }
        if q.client_ip.is_some() {
            sql.push_str(" AND client_ip = ?3");
        } else {
            sql.push_str(" AND ?3 IS NULL");
        }
        if q.flagged {
            sql.push_str(" AND finding_count > 0");
        }
        sql.push_str(" AND ts_ms >= ?4 ORDER BY seq DESC LIMIT ?5");
        let mut stmt = conn.prepare_cached(&sql).map_err(e)?;
        let rows = stmt
            .query_map(
                params![
                    before,
                    q.action,
                    q.client_ip,
                    q.since_ms.unwrap_or(i64::MIN),
                    (limit + 1) as i64
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .map_err(e)?;
        let mut rows_out = Vec::new();
        for row in rows {
            rows_out.push(row.map_err(e)?);
        }
        page_of(rows_out, limit)
    }

    /// One exchange by request id, in full (masked).
    pub fn exchange(&self, id: &str) -> Result<Option<StoredExchange>> {
        let (conn, e) = sqlite_or!(self, p => p.exchange(id));
        let row = conn
            .query_row(
                "SELECT seq, data, score FROM exchanges WHERE id = ?1",
                params![id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(e)?;
        row.map(|(seq, data, score)| summary(seq, &data, score, true))
            .transpose()
    }

    /// Totals since a time.
    pub fn counts(&self, since_ms: i64) -> Result<Counts> {
        self.counts_between(since_ms, i64::MAX)
    }

    /// Requests, blocks and flagged exchanges per time bucket since a time.
    pub fn timeseries(&self, since_ms: i64, bucket_ms: i64) -> Result<Vec<Bucket>> {
        let bucket_ms = bucket_ms.max(1000);
        let (conn, e) = sqlite_or!(self, p => p.timeseries(since_ms, bucket_ms));
        let mut stmt = conn
            .prepare_cached(
                "SELECT (ts_ms / ?2) * ?2 AS b, COUNT(*),
                        COALESCE(SUM(action IN ('block', 'rate_limit') AND enforced), 0),
                        COALESCE(SUM(finding_count > 0), 0)
                 FROM exchanges WHERE ts_ms >= ?1 GROUP BY b ORDER BY b",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(params![since_ms, bucket_ms], |r| {
                Ok(Bucket {
                    ts_ms: r.get(0)?,
                    requests: r.get::<_, i64>(1)? as u64,
                    blocked: r.get::<_, i64>(2)? as u64,
                    flagged: r.get::<_, i64>(3)? as u64,
                })
            })
            .map_err(e)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(e)
    }

    /// Status classes (`2xx`, `4xx`, ...) since a time.
    pub fn status_mix(&self, since_ms: i64) -> Result<Vec<(String, u64)>> {
        let (conn, e) = sqlite_or!(self, p => p.status_mix(since_ms));
        let mut stmt = conn
            .prepare_cached(
                "SELECT CASE WHEN status IS NULL THEN 'none' ELSE (status / 100) || 'xx' END AS c, COUNT(*)
                 FROM exchanges WHERE ts_ms >= ?1 GROUP BY c ORDER BY c",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(params![since_ms], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(e)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(e)
    }

    /// The most targeted paths (by exchanges with findings) since a time.
    pub fn top_targets(&self, since_ms: i64, limit: usize) -> Result<Vec<TargetCount>> {
        let (conn, e) = sqlite_or!(self, p => p.top_targets(since_ms, limit));
        let mut stmt = conn
            .prepare_cached(
                "SELECT method, path, COUNT(*), COALESCE(SUM(finding_count > 0), 0),
                        COALESCE(SUM(action IN ('block', 'rate_limit') AND enforced), 0)
                 FROM exchanges WHERE ts_ms >= ?1 AND finding_count > 0
                 GROUP BY method, path ORDER BY 4 DESC, 3 DESC, 1, 2 LIMIT ?2",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(params![since_ms, limit as i64], |r| {
                Ok(TargetCount {
                    method: r.get(0)?,
                    path: r.get(1)?,
                    requests: r.get::<_, i64>(2)? as u64,
                    flagged: r.get::<_, i64>(3)? as u64,
                    blocked: r.get::<_, i64>(4)? as u64,
                })
            })
            .map_err(e)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(e)
    }

    /// Counts between two times (for "against a week before").
    pub fn counts_between(&self, from_ms: i64, to_ms: i64) -> Result<Counts> {
        let (conn, e) = sqlite_or!(self, p => p.counts_between(from_ms, to_ms));
        conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(finding_count > 0), 0),
                    COALESCE(SUM(action IN ('block', 'rate_limit') AND enforced), 0)
             FROM exchanges WHERE ts_ms >= ?1 AND ts_ms < ?2",
            params![from_ms, to_ms],
            |r| {
                Ok(Counts {
                    exchanges: r.get::<_, i64>(0)? as u64,
                    flagged: r.get::<_, i64>(1)? as u64,
                    blocked: r.get::<_, i64>(2)? as u64,
                })
            },
        )
        .map_err(e)
    }

    /// Deletes what retention says must go; returns how many exchanges.
    pub fn apply_retention(&mut self, r: &Retention, now_ms: i64) -> Result<u64> {
        let cutoff = now_ms.saturating_sub(r.max_age.as_millis().min(i64::MAX as u128) as i64);
        let (conn, e) = sqlite_or!(mut self, p => p.apply_retention(r, cutoff));
        let mut deleted = conn
            .execute("DELETE FROM exchanges WHERE ts_ms < ?1", params![cutoff])
            .map_err(e)? as u64;
        // Size bound: delete the oldest tenth until under the limit.
        for _ in 0..20 {
            if sqlite_size(conn).map_err(e)? <= r.max_bytes {
                break;
            }
            let n = conn
                .execute(
                    "DELETE FROM exchanges WHERE seq IN
                     (SELECT seq FROM exchanges ORDER BY seq LIMIT
                       MAX(1, (SELECT COUNT(*) FROM exchanges) / 10))",
                    [],
                )
                .map_err(e)? as u64;
            deleted += n;
            // Give freed pages back so the size check sees the effect.
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA incremental_vacuum;")
                .map_err(e)?;
            if n == 0 {
                break;
            }
        }
        Ok(deleted)
    }

    /// Bytes in use by the stored data. SQLite: pages in use (not free
    /// pages). PostgreSQL: the bytes of the live rows of exchanges and
    /// findings (dead rows wait for vacuum and are not counted).
    pub fn size_bytes(&self) -> Result<u64> {
        let (conn, e) = sqlite_or!(self, p => p.size_bytes());
        sqlite_size(conn).map_err(e)
    }

    /// Stores a named JSON document (catalog snapshots, settings...).
    pub fn put_doc(&mut self, key: &str, value: &serde_json::Value, now_ms: i64) -> Result<()> {
        let (conn, e) = sqlite_or!(mut self, p => p.put_doc(key, value, now_ms));
        conn.execute(
            "INSERT INTO docs (key, value, updated_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
            params![key, value.to_string(), now_ms],
        )
        .map(|_| ())
        .map_err(e)
    }

    /// Reads a named JSON document.
    pub fn get_doc(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let (conn, e) = sqlite_or!(self, p => p.get_doc(key));
        let s: Option<String> = conn
            .query_row("SELECT value FROM docs WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(e)?;
        s.map(|s| parse_doc(key, &s)).transpose()
    }

    /// Runs raw SQL on the store's own connection (tests that tamper).
    #[cfg(test)]
    pub(crate) fn raw_execute(&mut self, sql: &str) {
        match &mut self.backend {
            Backend::Sqlite(c) => c.execute_batch(sql).unwrap(),
            Backend::Postgres(p) => p.raw_execute(sql),
        }
    }
}

fn configure(conn: &Connection, writer: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    if writer {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode: a crash of the process loses nothing that
        // was committed; a power loss may lose the last transactions.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
    }
    Ok(())
}

fn sqlite_size(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT (page_count - freelist_count) * page_size
         FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

fn parse_cursor(before: Option<&str>) -> Result<i64> {
    match before {
        Some(c) => c
            .parse()
            .map_err(|_| StoreError::Decode(format!("bad cursor `{c}`"))),
        None => Ok(i64::MAX),
    }
}

/// Rows `(seq, data, score)`, newest first and one more than `limit` when
/// there is a next page, into a page.
fn page_of(rows: Vec<(i64, String, i64)>, limit: usize) -> Result<ExchangePage> {
    let mut items = Vec::with_capacity(rows.len());
    for (seq, data, score) in rows {
        items.push(summary(seq, &data, score, false)?);
    }
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|i| i.seq.to_string())
    } else {
        None
    };
    Ok(ExchangePage { items, next_cursor })
}

fn parse_doc(key: &str, s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Decode(format!("doc `{key}`: {e}")))
}

/// The form of an exchange that is stored: masked, bodies bounded.
fn stored_form(ex: &Exchange) -> Exchange {
    let mut m = ex.masked();
    bound_body(&mut m.request.body);
    if let Some(r) = m.response.as_mut() {
        bound_body(&mut r.body);
    }
    m
}

fn bound_body(b: &mut palisade_core::Body) {
    if b.data.len() > STORED_BODY_BYTES {
        let mut cut = STORED_BODY_BYTES;
        while cut > 0 && !b.data.is_empty() && (b.data[cut] & 0xC0) == 0x80 {
            cut -= 1; // keep UTF-8 whole
        }
        b.data = b.data.slice(..cut);
        b.truncated = true;
    }
}

fn summary(seq: i64, data: &str, score: i64, full: bool) -> Result<StoredExchange> {
    let ex: Exchange = serde_json::from_str(data)
        .map_err(|e| StoreError::Decode(format!("exchange {seq}: {e}")))?;
    Ok(StoredExchange {
        seq,
        id: ex.id.clone(),
        ts_ms: ex.ts_ms,
        client_ip: ex.client_ip.to_string(),
        method: ex.request.method.clone(),
        host: ex.request.host.clone(),
        path: ex.request.path().to_string(),
        status: ex.status(),
        action: ex.verdict.action().as_str().to_string(),
        enforced: ex.enforced,
        route: ex.route.clone(),
        score: score as u32,
        findings: ex.findings.clone(),
        total_us: ex.timings.total_us,
        exchange: full.then_some(ex),
    })
}

#[cfg(test)]
mod tests;
