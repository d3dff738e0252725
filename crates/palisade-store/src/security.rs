//! Storage for the console's security: users, API tokens, sessions and the
//! tamper-evident audit log.
//!
//! This module stores what it is given and never sees a secret: passwords
//! arrive as argon2 PHC strings, API tokens, session ids and CSRF tokens as
//! hashes computed by the console. Roles are plain strings here; the console
//! owns their meaning.
//!
//! The audit log is a hash chain: entry `n` stores `prev_hash` (the hash of
//! entry `n - 1`, or 64 zeros for the first) and
//! `hash = blake3(prev_hash || canonical(entry))`, where the canonical form is
//! the JSON array `[seq, ts_ms, actor, action, target, detail]` (`detail` as
//! its stored text). [`Store::verify_audit`] recomputes the chain and names
//! the first entry that does not fit. An edit, a deletion or an insertion in
//! the middle breaks the chain; removing the newest entries does not, which is
//! why the report carries the head hash to be kept elsewhere.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::{Backend, Result, Store, sq, sqlite_or};

/// The `prev_hash` of the first audit entry.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A console user, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    pub role: String,
    pub created_ms: i64,
    pub disabled: bool,
}

/// An API token's record; the token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub role: String,
    pub name: String,
    pub created_by: String,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

/// A new API token to record.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub id: &'a str,
    /// Hash of the token (the console's choice of function, hex).
    pub hash: &'a str,
    pub role: &'a str,
    pub name: &'a str,
    pub created_by: &'a str,
}

/// A live session, joined with its (enabled) user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    pub role: String,
    pub csrf_hash: String,
    pub expires_ms: i64,
}

/// What happened, to append to the audit log. `detail` must hold no secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who: `user:NAME`, `token:ID`, `cli` or `system`.
    pub actor: String,
    /// What: a dotted verb such as `user.create` or `token.revoke`.
    pub action: String,
    /// On what: a user name, a token id, a rule id...
    pub target: String,
    pub detail: serde_json::Value,
}

/// One stored audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub ts_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// Where and why the audit chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditBreak {
    pub seq: i64,
    pub reason: String,
}

/// The result of [`Store::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Entries checked (all of them when the chain is intact).
    pub entries: u64,
    /// Hash of the newest entry; keep it elsewhere to detect truncation.
    pub head_hash: Option<String>,
    /// The first entry that does not fit, if any.
    pub broken: Option<AuditBreak>,
}

impl AuditReport {
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// The hash of an audit entry given its predecessor's hash.
pub fn audit_hash(
    prev_hash: &str,
    seq: i64,
    ts_ms: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> String {
    let canonical = serde_json::json!([seq, ts_ms, actor, action, target, detail]).to_string();
    let mut h = blake3::Hasher::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical.as_bytes());
    h.finalize().to_hex().to_string()
}

const USER_COLS: &str = "name, role, created_ms, disabled";
const TOKEN_COLS: &str = "id, role, name, created_by, created_ms, last_used_ms, revoked_ms";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        name: r.get(0)?,
        role: r.get(1)?,
        created_ms: r.get(2)?,
        disabled: r.get(3)?,
    })
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        role: r.get(1)?,
        name: r.get(2)?,
        created_by: r.get(3)?,
        created_ms: r.get(4)?,
        last_used_ms: r.get(5)?,
        revoked_ms: r.get(6)?,
    })
}

pub(crate) type RawAudit = (i64, i64, String, String, String, String, String, String);

fn audit_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawAudit> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

pub(crate) fn audit_record(raw: RawAudit) -> AuditRecord {
    let (seq, ts_ms, actor, action, target, detail, prev_hash, hash) = raw;
    // A detail that is no longer JSON (tampering) is shown as its text.
    let detail = serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail));
    AuditRecord {
        seq,
        ts_ms,
        actor,
        action,
        target,
        detail,
        prev_hash,
        hash,
    }
}

impl Store {
    // ---- users ----

    /// Creates a user; `false` when the name is taken.
    pub fn create_user(
        &mut self,
        name: &str,
        role: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let (conn, e) = sqlite_or!(mut self, p => p.create_user(name, role, password_hash, now_ms));
        conn.execute(
            "INSERT INTO users (name, role, password_hash, created_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO NOTHING",
            params![name, role, password_hash, now_ms],
        )
        .map(|n| n == 1)
        .map_err(e)
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserRecord>> {
        let (conn, e) = sqlite_or!(self, p => p.users());
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY name"))
            .map_err(e)?;
        let rows = stmt.query_map([], user_row).map_err(e)?;
        rows.collect::<rusqlite::Result<_>>().map_err(e)
    }

    /// How many users exist (disabled ones included).
    pub fn user_count(&self) -> Result<u64> {
        let (conn, e) = sqlite_or!(self, p => p.user_count());
        conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(e)
    }

    /// A user and its password hash, for login.
    pub fn user_credentials(&self, name: &str) -> Result<Option<(UserRecord, String)>> {
        let (conn, e) = sqlite_or!(self, p => p.user_credentials(name));
        conn.query_row(
            &format!("SELECT {USER_COLS}, password_hash FROM users WHERE name = ?1"),
            params![name],
            |r| Ok((user_row(r)?, r.get::<_, String>(4)?)),
        )
        .optional()
        .map_err(e)
    }

    /// Changes what is given of a user; `false` when there is no such user.
    /// A change of role or state ends the user's sessions.
    pub fn update_user(
        &mut self,
        name: &str,
        role: Option<&str>,
        disabled: Option<bool>,
        password_hash: Option<&str>,
    ) -> Result<bool> {
        let (conn, e) =
            sqlite_or!(mut self, p => p.update_user(name, role, disabled, password_hash));
        let tx = conn.transaction().map_err(e)?;
        let n = tx
            .execute(
                "UPDATE users SET role = COALESCE(?2, role), disabled = COALESCE(?3, disabled),
                 password_hash = COALESCE(?4, password_hash) WHERE name = ?1",
                params![name, role, disabled, password_hash],
            )
            .map_err(e)?;
        if n == 1 && ends_sessions(role, disabled, password_hash) {
            tx.execute("DELETE FROM sessions WHERE user = ?1", params![name])
                .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(n == 1)
    }

    // ---- API tokens ----

    /// Records a new API token.
    pub fn create_token(&mut self, t: &NewToken<'_>, now_ms: i64) -> Result<()> {
        let (conn, e) = sqlite_or!(mut self, p => p.create_token(t, now_ms));
        conn.execute(
            "INSERT INTO tokens (id, hash, role, name, created_by, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![t.id, t.hash, t.role, t.name, t.created_by, now_ms],
        )
        .map(|_| ())
        .map_err(e)
    }

    /// The token with this hash, revoked or not.
    pub fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let (conn, e) = sqlite_or!(self, p => p.token_by_hash(hash));
        conn.query_row(
            &format!("SELECT {TOKEN_COLS} FROM tokens WHERE hash = ?1"),
            params![hash],
            token_row,
        )
        .optional()
        .map_err(e)
    }

    /// Every token, newest first.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let (conn, e) = sqlite_or!(self, p => p.tokens());
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLS} FROM tokens ORDER BY created_ms DESC, id"
            ))
            .map_err(e)?;
        let rows = stmt.query_map([], token_row).map_err(e)?;
        rows.collect::<rusqlite::Result<_>>().map_err(e)
    }

    /// Notes that a token was used (at most what the caller asks for).
    pub fn touch_token(&mut self, id: &str, now_ms: i64) -> Result<()> {
        let (conn, e) = sqlite_or!(mut self, p => p.touch_token(id, now_ms));
        conn.execute(
            "UPDATE tokens SET last_used_ms = ?2 WHERE id = ?1",
            params![id, now_ms],
        )
        .map(|_| ())
        .map_err(e)
    }

    /// Revokes a token; `false` when there is no such live token.
    pub fn revoke_token(&mut self, id: &str, now_ms: i64) -> Result<bool> {
        let (conn, e) = sqlite_or!(mut self, p => p.revoke_token(id, now_ms));
        conn.execute(
            "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
            params![id, now_ms],
        )
        .map(|n| n == 1)
        .map_err(e)
    }

    // ---- sessions ----

    /// Records a session (by the hash of its id).
    pub fn create_session(
        &mut self,
        id_hash: &str,
        user: &str,
        csrf_hash: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()> {
        let (conn, e) = sqlite_or!(mut self, p => p.create_session(id_hash, user, csrf_hash, now_ms, expires_ms));
        conn.execute(
            "INSERT INTO sessions (id_hash, user, csrf_hash, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id_hash, user, csrf_hash, now_ms, expires_ms],
        )
        .map(|_| ())
        .map_err(e)
    }

    /// The live session with this id hash, when it has not expired and its
    /// user is enabled.
    pub fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>> {
        let (conn, e) = sqlite_or!(self, p => p.session(id_hash, now_ms));
        conn.query_row(
            "SELECT s.user, u.role, s.csrf_hash, s.expires_ms FROM sessions s
             JOIN users u ON u.name = s.user
             WHERE s.id_hash = ?1 AND s.expires_ms > ?2 AND u.disabled = 0",
            params![id_hash, now_ms],
            |r| {
                Ok(SessionRecord {
                    user: r.get(0)?,
                    role: r.get(1)?,
                    csrf_hash: r.get(2)?,
                    expires_ms: r.get(3)?,
                })
            },
        )
        .optional()
        .map_err(e)
    }

    /// Ends a session.
    pub fn delete_session(&mut self, id_hash: &str) -> Result<bool> {
        let (conn, e) = sqlite_or!(mut self, p => p.delete_session(id_hash));
        conn.execute("DELETE FROM sessions WHERE id_hash = ?1", params![id_hash])
            .map(|n| n == 1)
            .map_err(e)
    }

    /// Forgets expired sessions; returns how many.
    pub fn delete_expired_sessions(&mut self, now_ms: i64) -> Result<u64> {
        let (conn, e) = sqlite_or!(mut self, p => p.delete_expired_sessions(now_ms));
        conn.execute(
            "DELETE FROM sessions WHERE expires_ms <= ?1",
            params![now_ms],
        )
        .map(|n| n as u64)
        .map_err(e)
    }

    // ---- audit log ----

    /// Appends an entry to the audit log, chained to the newest one.
    pub fn append_audit(&mut self, entry: &AuditEntry, ts_ms: i64) -> Result<AuditRecord> {
        let (conn, e) = sqlite_or!(mut self, p => p.append_audit(entry, ts_ms));
        // IMMEDIATE: take the write lock first, so two writers cannot both
        // chain to the same predecessor.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(e)?;
        let rec = chain_record(entry, ts_ms, last);
        tx.execute(
            "INSERT INTO audit (seq, ts_ms, actor, action, target, detail, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                rec.seq,
                rec.ts_ms,
                rec.actor,
                rec.action,
                rec.target,
                rec.detail.to_string(),
                rec.prev_hash,
                rec.hash
            ],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(rec)
    }

    /// A page of the audit log, newest first, entries before `before` (a seq).
    pub fn audit_page(&self, before: Option<i64>, limit: usize) -> Result<AuditPage> {
        let limit = limit.clamp(1, 500);
        let (conn, e) = sqlite_or!(self, p => p.audit_page(before, limit));
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, ts_ms, actor, action, target, detail, prev_hash, hash FROM audit
                 WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(
                params![before.unwrap_or(i64::MAX), (limit + 1) as i64],
                audit_raw,
            )
            .map_err(e)?;
        let mut raws = Vec::new();
        for row in rows {
            raws.push(row.map_err(e)?);
        }
        Ok(audit_page_of(raws, limit))
    }

    /// Recomputes the audit chain from the first entry; reports the first
    /// entry that is missing, out of chain or altered.
    pub fn verify_audit(&self) -> Result<AuditReport> {
        let (conn, e) = sqlite_or!(self, p => p.verify_audit());
        let mut stmt = conn
            .prepare(
                "SELECT seq, ts_ms, actor, action, target, detail, prev_hash, hash FROM audit
                 ORDER BY seq",
            )
            .map_err(e)?;
        let rows = stmt.query_map([], audit_raw).map_err(e)?;
        let mut v = ChainVerifier::default();
        for row in rows {
            if let Some(report) = v.next(row.map_err(e)?) {
                return Ok(report);
            }
        }
        Ok(v.finish())
    }
}

/// Whether an update of a user ends its sessions.
pub(crate) fn ends_sessions(
    role: Option<&str>,
    disabled: Option<bool>,
    password_hash: Option<&str>,
) -> bool {
    role.is_some() || disabled == Some(true) || password_hash.is_some()
}

/// The record an entry becomes when chained after `last` (seq and hash of
/// the newest entry, if any).
pub(crate) fn chain_record(
    entry: &AuditEntry,
    ts_ms: i64,
    last: Option<(i64, String)>,
) -> AuditRecord {
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, AUDIT_GENESIS.to_string()),
    };
    let detail = entry.detail.to_string();
    let hash = audit_hash(
        &prev_hash,
        seq,
        ts_ms,
        &entry.actor,
        &entry.action,
        &entry.target,
        &detail,
    );
    AuditRecord {
        seq,
        ts_ms,
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        target: entry.target.clone(),
        detail: entry.detail.clone(),
        prev_hash,
        hash,
    }
}

/// Raw audit rows, newest first and one more than `limit` when there is a
/// next page, into a page.
pub(crate) fn audit_page_of(raws: Vec<RawAudit>, limit: usize) -> AuditPage {
    let mut items: Vec<AuditRecord> = raws.into_iter().map(audit_record).collect();
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|i| i.seq)
    } else {
        None
    };
    AuditPage { items, next_cursor }
}

/// Walks the audit chain in seq order.
#[derive(Default)]
pub(crate) struct ChainVerifier {
    prev: Option<String>,
    entries: u64,
}

impl ChainVerifier {
    /// Checks the next entry; a report when the chain breaks there.
    pub(crate) fn next(&mut self, raw: RawAudit) -> Option<AuditReport> {
        let (seq, ts_ms, actor, action, target, detail, prev_hash, hash) = raw;
        let expected_seq = self.entries as i64 + 1;
        let prev = self
            .prev
            .clone()
            .unwrap_or_else(|| AUDIT_GENESIS.to_string());
        let broken = |seq: i64, reason: String| AuditReport {
            entries: self.entries,
            head_hash: None,
            broken: Some(AuditBreak { seq, reason }),
        };
        if seq != expected_seq {
            return Some(broken(
                expected_seq,
                format!("entry {expected_seq} is missing (the next stored entry is {seq})"),
            ));
        }
        if prev_hash != prev {
            return Some(broken(
                seq,
                format!("prev_hash does not match the hash of entry {}", seq - 1),
            ));
        }
        let computed = audit_hash(&prev, seq, ts_ms, &actor, &action, &target, &detail);
        if computed != hash {
            return Some(broken(
                seq,
                "the entry's content does not match its hash (altered)".into(),
            ));
        }
        self.prev = Some(hash);
        self.entries += 1;
        None
    }

    pub(crate) fn finish(self) -> AuditReport {
        AuditReport {
            entries: self.entries,
            head_hash: self.prev,
            broken: None,
        }
    }
}
