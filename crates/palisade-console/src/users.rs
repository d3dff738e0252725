//! Users and API tokens: the admin routes under `/api/v1/users` and
//! `/api/v1/tokens`, the functions the `palisade user` / `token` / `audit`
//! commands call, and the first-admin bootstrap.
//!
//! Every change here is appended to the audit log in the same call that
//! makes it. A new token is returned once and never again; the store keeps
//! only its hash.

use std::path::Path;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, patch};
use axum::{Json, Router};
use palisade_store::{AuditEntry, AuditReport, NewToken, Store, TokenRecord, UserRecord};
use serde::{Deserialize, Serialize};

use crate::auth::{self, Principal, Role};
use crate::{ApiError, ConsoleState, now_ms};

/// The user created at the first start of a node without users.
pub const BOOTSTRAP_ADMIN: &str = "admin";
/// The file in the data directory that holds the first admin's password
/// (mode 0600) until that password is changed.
pub const INITIAL_PASSWORD_FILE: &str = "initial-admin-password";

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{name}", patch(update_user))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
}

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn body<T>(b: JsonBody<T>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

fn conflict(message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::CONFLICT,
        code: "conflict",
        message: message.into(),
    }
}

/// Checks a user or token name: 1 to 64 of letters, digits and `._-@`.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "a name is 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
        ))
    }
}

fn entry(actor: &str, action: &str, target: &str, detail: serde_json::Value) -> AuditEntry {
    AuditEntry {
        actor: actor.into(),
        action: action.into(),
        target: target.into(),
        detail,
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn list_users(
    State(s): State<ConsoleState>,
) -> Result<Json<Vec<UserRecord>>, ApiError> {
    s.with_security_store(|st| st.users().map_err(ApiError::store))
        .await
        .map(Json)
}

/// Body of `POST /api/v1/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body(content_type = "application/json", description = "{\"name\": \"...\", \"role\": \"admin|analyst|viewer\", \"password\": \"...\"}"), responses((status = 200, description = "OK", content_type = "application/json"), (status = 409, description = "exists", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn create_user(
    State(s): State<ConsoleState>,
    p: Principal,
    b: JsonBody<NewUser>,
) -> Result<(StatusCode, Json<UserRecord>), ApiError> {
    let u = body(b)?;
    check_name(&u.name)?;
    auth::check_password(&u.password)?;
    let password = u.password;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|_| ApiError::internal("hash task failed"))??;
    let actor = p.actor();
    let rec = s
        .with_security_store(move |st| add_user(st, &u.name, u.role, &hash, &actor))
        .await?;
    Ok((StatusCode::CREATED, Json(rec)))
}

/// Creates a user from a password hash and audits it.
fn add_user(
    st: &mut Store,
    name: &str,
    role: Role,
    hash: &str,
    actor: &str,
) -> Result<UserRecord, ApiError> {
    let now = now_ms();
    if !st
        .create_user(name, role.as_str(), hash, now)
        .map_err(ApiError::store)?
    {
        return Err(conflict(format!("a user named `{name}` exists")));
    }
    st.append_audit(
        &entry(
            actor,
            "user.create",
            name,
            serde_json::json!({"role": role}),
        ),
        now,
    )
    .map_err(ApiError::store)?;
    Ok(UserRecord {
        name: name.into(),
        role: role.as_str().into(),
        created_ms: now,
        disabled: false,
    })
}

/// Body of `PATCH /api/v1/users/{name}`: what to change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "admin", params(("name" = String, Path, description = "user name")), request_body(content_type = "application/json", description = "role, password or disabled"), responses((status = 200, description = "OK", content_type = "application/json"), (status = 404, description = "not found", content_type = "application/json"), (status = 409, description = "last admin", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn update_user(
    State(s): State<ConsoleState>,
    p: Principal,
    UrlPath(name): UrlPath<String>,
    b: JsonBody<UserChange>,
) -> Result<Json<UserRecord>, ApiError> {
    let c = body(b)?;
    let hash = match c.password {
        Some(pw) => {
            auth::check_password(&pw)?;
            Some(
                tokio::task::spawn_blocking(move || auth::hash_password(&pw))
                    .await
                    .map_err(|_| ApiError::internal("hash task failed"))??,
            )
        }
        None => None,
    };
    let actor = p.actor();
    let (role, disabled) = (c.role, c.disabled);
    let target = name.clone();
    let changed_pw = hash.is_some();
    let rec = s
        .with_security_store(move |st| {
            let users = st.users().map_err(ApiError::store)?;
            let Some(cur) = users.iter().find(|u| u.name == target) else {
                return Err(ApiError::not_found(format!("no user named `{target}`")));
            };
            let admins = users
                .iter()
                .filter(|u| u.role == "admin" && !u.disabled)
                .count();
            let loses_admin = cur.role == "admin"
                && !cur.disabled
                && (role.is_some_and(|r| r != Role::Admin) || disabled == Some(true));
            if loses_admin && admins <= 1 {
                return Err(conflict(
                    "this is the last enabled admin: make another admin first",
                ));
            }
            st.update_user(
                &target,
                role.map(Role::as_str),
                disabled,
                hash.as_deref(),
            )
            .map_err(ApiError::store)?;
            st.append_audit(
                &entry(
                    &actor,
                    "user.update",
                    &target,
                    serde_json::json!({"role": role, "disabled": disabled, "password_changed": changed_pw}),
                ),
                now_ms(),
            )
            .map_err(ApiError::store)?;
            let users = st.users().map_err(ApiError::store)?;
            users
                .into_iter()
                .find(|u| u.name == target)
                .ok_or_else(|| ApiError::internal("user vanished"))
        })
        .await?;
    if changed_pw {
        forget_initial_password(&s.data_dir, &name);
    }
    Ok(Json(rec))
}

/// Sets a user's password (already hashed) and audits it; ends its sessions.
pub(crate) async fn set_password(
    s: &ConsoleState,
    p: &Principal,
    user: &str,
    hash: &str,
) -> Result<(), ApiError> {
    let (actor, target, hash) = (p.actor(), user.to_string(), hash.to_string());
    s.with_security_store(move |st| {
        if !st
            .update_user(&target, None, None, Some(&hash))
            .map_err(ApiError::store)?
        {
            return Err(ApiError::not_found(format!("no user named `{target}`")));
        }
        st.append_audit(
            &entry(
                &actor,
                "user.password",
                &target,
                serde_json::json!({"password_changed": true}),
            ),
            now_ms(),
        )
        .map_err(ApiError::store)?;
        Ok(())
    })
    .await?;
    forget_initial_password(&s.data_dir, user);
    Ok(())
}

/// Deletes the first admin's password file once that password has changed.
fn forget_initial_password(data_dir: &Path, user: &str) {
    if user == BOOTSTRAP_ADMIN {
        let _ = std::fs::remove_file(data_dir.join(INITIAL_PASSWORD_FILE));
    }
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn list_tokens(
    State(s): State<ConsoleState>,
) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    s.with_security_store(|st| st.tokens().map_err(ApiError::store))
        .await
        .map(Json)
}

/// Body of `POST /api/v1/tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub role: Role,
    pub name: Option<String>,
}

/// A new token: shown once.
#[derive(Debug, Serialize)]
pub struct CreatedToken {
    pub id: String,
    /// Send as `Authorization: Bearer <token>`. Not shown again.
    pub token: String,
    pub role: Role,
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body(content_type = "application/json", description = "{\"role\": \"viewer\", \"name\": \"...\"}"), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn create_token(
    State(s): State<ConsoleState>,
    p: Principal,
    b: JsonBody<TokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let t = body(b)?;
    let name = t.name.unwrap_or_else(|| "api".into());
    check_name(&name)?;
    let actor = p.actor();
    let role = t.role;
    let created = s
        .with_security_store(move |st| issue_token(st, role, &name, &actor))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

fn issue_token(
    st: &mut Store,
    role: Role,
    name: &str,
    actor: &str,
) -> Result<CreatedToken, ApiError> {
    let (id, token) = auth::new_token();
    let hash = auth::secret_hash(&token);
    let now = now_ms();
    st.create_token(
        &NewToken {
            id: &id,
            hash: &hash,
            role: role.as_str(),
            name,
            created_by: actor,
        },
        now,
    )
    .map_err(ApiError::store)?;
    st.append_audit(
        &entry(
            actor,
            "token.create",
            &id,
            serde_json::json!({"role": role, "name": name}),
        ),
        now,
    )
    .map_err(ApiError::store)?;
    Ok(CreatedToken {
        id,
        token,
        role,
        name: name.into(),
    })
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin", params(("id" = String, Path, description = "token id")), responses((status = 200, description = "OK", content_type = "application/json"), (status = 404, description = "not found", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn revoke_token(
    State(s): State<ConsoleState>,
    p: Principal,
    UrlPath(id): UrlPath<String>,
) -> Result<StatusCode, ApiError> {
    let actor = p.actor();
    s.with_security_store(move |st| {
        let now = now_ms();
        if !st.revoke_token(&id, now).map_err(ApiError::store)? {
            return Err(ApiError::not_found(format!("no live token with id `{id}`")));
        }
        st.append_audit(
            &entry(&actor, "token.revoke", &id, serde_json::json!({})),
            now,
        )
        .map_err(ApiError::store)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

// ---- for the command line ----

fn open(spec: &palisade_store::StoreSpec) -> Result<Store, ApiError> {
    Store::open_spec(spec).map_err(|e| ApiError::internal(e.to_string()))
}

/// `palisade user add`: creates a user; the actor is `cli`.
pub fn cli_add_user(
    store: &palisade_store::StoreSpec,
    name: &str,
    role: Role,
    password: &str,
) -> Result<UserRecord, ApiError> {
    check_name(name)?;
    auth::check_password(password)?;
    let hash = auth::hash_password(password)?;
    let mut st = open(store)?;
    add_user(&mut st, name, role, &hash, "cli")
}

/// `palisade token create`: a new token, to print once.
pub fn cli_create_token(
    store: &palisade_store::StoreSpec,
    role: Role,
    name: &str,
) -> Result<CreatedToken, ApiError> {
    check_name(name)?;
    let mut st = open(store)?;
    issue_token(&mut st, role, name, "cli")
}

/// `palisade audit verify`.
pub fn cli_verify_audit(store: &palisade_store::StoreSpec) -> Result<AuditReport, ApiError> {
    if let palisade_store::StoreSpec::Sqlite(data_dir) = store
        && !Store::db_path(data_dir).exists()
    {
        return Err(ApiError::not_found(format!(
            "no store in {} (fix: pass --data-dir with the node's data directory, or --postgres with its PostgreSQL URL)",
            data_dir.display()
        )));
    }
    open(store)?
        .verify_audit()
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// At the first start of a node without users: creates [`BOOTSTRAP_ADMIN`]
/// with a random password, writes it to [`INITIAL_PASSWORD_FILE`] (0600) and
/// returns it so the caller prints it once. `None` when users exist.
pub fn ensure_first_admin(data_dir: &Path) -> Result<Option<String>, ApiError> {
    ensure_first_admin_in(&palisade_store::StoreSpec::sqlite(data_dir), data_dir)
}

/// [`ensure_first_admin`] with the users in the store `spec` names (SQLite
/// or PostgreSQL); the password file is still written to `data_dir`.
pub fn ensure_first_admin_in(
    spec: &palisade_store::StoreSpec,
    data_dir: &Path,
) -> Result<Option<String>, ApiError> {
    let mut st = Store::open_spec(spec).map_err(|e| ApiError::internal(e.to_string()))?;
    if st
        .user_count()
        .map_err(|e| ApiError::internal(e.to_string()))?
        > 0
    {
        return Ok(None);
    }
    let password = auth::random_password();
    let hash = auth::hash_password(&password)?;
    add_user(&mut st, BOOTSTRAP_ADMIN, Role::Admin, &hash, "system")?;
    let path = data_dir.join(INITIAL_PASSWORD_FILE);
    write_private(&path, &format!("{password}\n"))
        .map_err(|e| ApiError::internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(Some(password))
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()
}

/// The environment variable `palisade user add` reads a password from.
pub const PASSWORD_ENV: &str = "PALISADE_PASSWORD";

/// Reads a new password for `palisade user add`: from [`PASSWORD_ENV`], else
/// from the terminal without echo (asked twice), else the first line of
/// standard input. Never printed.
pub fn read_new_password(user: &str) -> Result<String, ApiError> {
    use std::io::{BufRead, IsTerminal};
    if let Ok(p) = std::env::var(PASSWORD_ENV)
        && !p.is_empty()
    {
        return Ok(p);
    }
    let io = |e: std::io::Error| ApiError::bad_request(format!("cannot read the password: {e}"));
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password(format!("password for {user}: ")).map_err(io)?;
        let again = rpassword::prompt_password("again: ").map_err(io)?;
        if p != again {
            return Err(ApiError::bad_request("the two passwords differ"));
        }
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(io)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
