//! Authentication and authorisation of the console: roles, the middleware
//! that finds who is calling, session cookies, CSRF, the login rate limit,
//! and the `/api/v1/auth/*` routes.
//!
//! A caller is either an **API token** (`Authorization: Bearer pal_...`, for
//! automation; exempt from CSRF since a browser never sends it on its own) or
//! a **session** (the `palisade_session` cookie set by `POST /auth/login`:
//! `HttpOnly; SameSite=Strict; Path=/`, plus `Secure` when configured). A
//! cookie-authenticated request with an unsafe method must carry
//! `X-CSRF-Token` equal to the session's CSRF token (synchronizer pattern:
//! the server stores its hash and derives it from the session id, so
//! `GET /auth/me` can hand it again to a reloaded page).
//!
//! Which role a route needs is decided in one place, [`required_role`]: reads
//! need `viewer`, writes need `admin` unless listed in [`ANALYST_WRITES`], and
//! a few reads need more ([`RESTRICTED_READS`]). A new route is therefore
//! admin-only for writes until someone decides otherwise.
//!
//! Secrets never leave this module in clear except once, to their owner:
//! passwords are stored as argon2id PHC strings, tokens, session ids and CSRF
//! tokens as blake3 hashes. Nothing here logs a secret.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::{ApiError, ConsoleState, now_ms};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "palisade_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What a caller may do. Ordered: each role can do what the ones below can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything except users, tokens and the audit log.
    Viewer,
    /// Viewer, plus incident and status changes, rule tests, ingest, the audit log.
    Analyst,
    /// Everything: users, tokens, settings, rules.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = ApiError;
    fn from_str(s: &str) -> Result<Self, ApiError> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(ApiError::bad_request(format!(
                "unknown role `{other}`: use viewer, analyst or admin"
            ))),
        }
    }
}

/// How a caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum AuthMethod {
    Token {
        id: String,
    },
    Session {
        #[serde(skip)]
        id_hash: String,
        #[serde(skip)]
        csrf_token: String,
    },
}

/// The authenticated caller of a request. Handlers take it as an extractor;
/// it is only there behind the auth middleware (401 otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The user name, or the token's name.
    pub name: String,
    pub role: Role,
    pub via: AuthMethod,
}

impl Principal {
    /// How the audit log names this caller: `user:NAME` or `token:ID`.
    pub fn actor(&self) -> String {
        match &self.via {
            AuthMethod::Token { id } => format!("token:{id}"),
            AuthMethod::Session { .. } => format!("user:{}", self.name),
        }
    }

    /// Fails with 403 `forbidden` below `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(forbidden(role, self.role))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(unauthenticated)
    }
}

fn forbidden(needed: Role, has: Role) -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: "forbidden",
        message: format!("this needs the {needed} role; the caller is {has}"),
    }
}

fn unauthenticated() -> Response {
    let mut r = ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthenticated",
        message: "sign in (POST /api/v1/auth/login) or send Authorization: Bearer <token>".into(),
    }
    .into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

fn csrf_error() -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: "csrf",
        message: format!(
            "a signed-in browser request that changes something must send {CSRF_HEADER} with the token from login or GET /api/v1/auth/me"
        ),
    }
}

/// Routes (templates under `/api/v1`) whose writes an analyst may make. An
/// entry ending in `/` covers everything below it.
pub const ANALYST_WRITES: &[&str] = &[
    "/ingest",
    "/incidents/",
    "/rules/test",
    "/rules/check",
    "/auth/logout",
    "/auth/password",
];

/// Reads that need more than `viewer`.
pub const RESTRICTED_READS: &[(&str, Role)] = &[
    ("/settings", Role::Admin),
    ("/users", Role::Admin),
    ("/tokens", Role::Admin),
    ("/audit", Role::Analyst),
    ("/audit/verify", Role::Analyst),
];

/// Routes anyone may call.
const PUBLIC: &[&str] = &["/auth/login"];

fn matches(pattern: &str, path: &str) -> bool {
    if pattern.ends_with('/') {
        path.starts_with(pattern) || path == pattern.trim_end_matches('/')
    } else {
        path == pattern
    }
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The role a request needs, from its method and route template (relative to
/// `/api/v1`, or `/metrics`); `None` for public routes.
pub fn required_role(method: &Method, route: &str) -> Option<Role> {
    if PUBLIC.contains(&route) {
        return None;
    }
    if is_safe(method) {
        let role = RESTRICTED_READS
            .iter()
            .find(|(p, _)| *p == route)
            .map_or(Role::Viewer, |(_, r)| *r);
        Some(role)
    } else if ANALYST_WRITES.iter().any(|p| matches(p, route)) {
        // Logging out and changing one's own password: any signed-in user.
        if route.starts_with("/auth/") {
            Some(Role::Viewer)
        } else {
            Some(Role::Analyst)
        }
    } else {
        Some(Role::Admin)
    }
}

// ---- secrets ----

fn random_b64(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// blake3 of a secret, hex: how tokens, session ids and CSRF tokens are
/// stored and looked up.
pub fn secret_hash(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

/// A new API token (`pal_` + 256 random bits) and its public id.
pub fn new_token() -> (String, String) {
    let mut id = [0u8; 6];
    rand::rng().fill_bytes(&mut id);
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    (format!("tok_{id}"), format!("pal_{}", random_b64(32)))
}

/// A random password for the first admin (about 128 bits).
pub fn random_password() -> String {
    random_b64(16)
}

fn csrf_for(session_id: &str) -> String {
    let k = blake3::derive_key("palisade console 2026 csrf token v1", session_id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k)
}

fn argon2() -> argon2::Argon2<'static> {
    // The OWASP minimum for argon2id (19 MiB, 2 passes) in the product; a
    // small cost in this crate's unit tests, which hash many passwords
    // unoptimised. The PHC string records the parameters used.
    let params = if cfg!(test) {
        argon2::Params::new(1024, 1, 1, None)
    } else {
        argon2::Params::new(19 * 1024, 2, 1, None)
    };
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.unwrap_or_default(),
    )
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Checks a new password's length; the message never repeats it.
pub fn check_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ApiError::bad_request(format!(
            "the password is too short: at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if n > 1024 {
        return Err(ApiError::bad_request(
            "the password is too long: at most 1024 characters",
        ));
    }
    Ok(())
}

/// The argon2id PHC string of a password.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|_| ApiError::internal("salt"))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ApiError::internal("cannot hash the password"))
}

/// Whether `password` matches a stored PHC string (false on any malformed hash).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    match PasswordHash::new(phc) {
        Ok(h) => argon2().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so that unknown
/// and known names take the same time.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("palisade-no-such-user").unwrap_or_default())
}

// ---- rate limit ----

/// In-memory login rate limit: after `max_failures` failed logins for a user
/// name (or `max_failures_per_ip` from one address) within `window`, logins
/// for it are refused with 429 until the window ends.
pub struct LoginLimiter {
    inner: Mutex<HashMap<String, Failures>>,
    pub max_failures: u32,
    pub max_failures_per_ip: u32,
    pub window: Duration,
}

struct Failures {
    count: u32,
    since: Instant,
}

/// Keys tracked at most; beyond it, expired ones are dropped first.
const LIMITER_CAP: usize = 100_000;

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            inner: Mutex::new(HashMap::new()),
            max_failures: 5,
            max_failures_per_ip: 20,
            window: Duration::from_secs(60),
        }
    }
}

impl LoginLimiter {
    fn keys(user: &str, ip: Option<IpAddr>) -> Vec<(String, bool)> {
        let mut k = vec![(format!("u:{user}"), false)];
        if let Some(ip) = ip {
            k.push((format!("ip:{ip}"), true));
        }
        k
    }

    /// Seconds to wait when this login must be refused now.
    pub fn retry_after(&self, user: &str, ip: Option<IpAddr>) -> Option<u64> {
        let now = Instant::now();
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Self::keys(user, ip)
            .into_iter()
            .filter_map(|(k, is_ip)| {
                let f = map.get(&k)?;
                let max = if is_ip {
                    self.max_failures_per_ip
                } else {
                    self.max_failures
                };
                let elapsed = now.duration_since(f.since);
                (f.count >= max && elapsed < self.window)
                    .then(|| (self.window - elapsed).as_secs().max(1))
            })
            .max()
    }

    /// Counts a failed login.
    pub fn failed(&self, user: &str, ip: Option<IpAddr>) {
        let now = Instant::now();
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= LIMITER_CAP {
            let w = self.window;
            map.retain(|_, f| now.duration_since(f.since) < w);
        }
        for (k, _) in Self::keys(user, ip) {
            if map.len() >= LIMITER_CAP && !map.contains_key(&k) {
                continue;
            }
            let f = map.entry(k).or_insert(Failures {
                count: 0,
                since: now,
            });
            if now.duration_since(f.since) >= self.window {
                *f = Failures {
                    count: 0,
                    since: now,
                };
            }
            f.count += 1;
        }
    }

    /// Forgets the failures of a user name after a successful login.
    pub fn succeeded(&self, user: &str) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("u:{user}"));
    }
}

// ---- middleware ----

fn route_of(req: &Request) -> String {
    let p = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    match p.strip_prefix("/api/v1") {
        Some(rest) => rest.to_string(),
        None => p,
    }
}

fn bearer(headers: &HeaderMap) -> Option<Result<&str, ()>> {
    let v = headers.get(header::AUTHORIZATION)?;
    let v = v.to_str().map_err(|_| ());
    Some(v.and_then(|v| {
        let (scheme, token) = v.split_once(' ').ok_or(())?;
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            Ok(token.trim())
        } else {
            Err(())
        }
    }))
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, v)| *k == SESSION_COOKIE && !v.is_empty())
        .map(|(_, v)| v)
}

/// Finds the caller of a request from its headers; `Ok(None)` when it sent
/// no credentials.
async fn identify(s: &ConsoleState, headers: &HeaderMap) -> Result<Option<Principal>, Response> {
    if let Some(b) = bearer(headers) {
        let Ok(token) = b else {
            return Err(unauthenticated());
        };
        let hash = secret_hash(token);
        let now = now_ms();
        let rec = s
            .with_security_store(move |st| {
                let rec = st.token_by_hash(&hash).map_err(ApiError::store)?;
                if let Some(r) = &rec
                    && r.revoked_ms.is_none()
                    && r.last_used_ms.is_none_or(|t| now - t > 60_000)
                {
                    st.touch_token(&r.id, now).map_err(ApiError::store)?;
                }
                Ok(rec)
            })
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(rec) = rec.filter(|r| r.revoked_ms.is_none()) else {
            return Err(unauthenticated());
        };
        let role = rec.role.parse().map_err(IntoResponse::into_response)?;
        return Ok(Some(Principal {
            name: rec.name,
            role,
            via: AuthMethod::Token { id: rec.id },
        }));
    }
    if let Some(sid) = session_cookie(headers) {
        let id_hash = secret_hash(sid);
        let csrf_token = csrf_for(sid);
        let key = id_hash.clone();
        let now = now_ms();
        let rec = s
            .with_security_store(move |st| st.session(&key, now).map_err(ApiError::store))
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(rec) = rec else {
            return Err(unauthenticated());
        };
        let role = rec.role.parse().map_err(IntoResponse::into_response)?;
        if rec.csrf_hash != secret_hash(&csrf_token) {
            return Err(unauthenticated());
        }
        return Ok(Some(Principal {
            name: rec.user,
            role,
            via: AuthMethod::Session {
                id_hash,
                csrf_token,
            },
        }));
    }
    Ok(None)
}

/// The auth middleware: finds the caller, checks CSRF and the route's role,
/// and hands the [`Principal`] to the handler.
pub async fn authorize(State(s): State<ConsoleState>, mut req: Request, next: Next) -> Response {
    let route = route_of(&req);
    let Some(needed) = required_role(req.method(), &route) else {
        return next.run(req).await;
    };
    let p = match identify(&s, req.headers()).await {
        Ok(Some(p)) => p,
        Ok(None) => return unauthenticated(),
        Err(r) => return r,
    };
    if let AuthMethod::Session { csrf_token, .. } = &p.via
        && !is_safe(req.method())
    {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // Compare hashes: equal-length values, no early exit on a prefix.
        if blake3::hash(sent.as_bytes()) != blake3::hash(csrf_token.as_bytes()) {
            return csrf_error().into_response();
        }
    }
    if let Err(e) = p.require(needed) {
        return e.into_response();
    }
    req.extensions_mut().insert(p);
    next.run(req).await
}

// ---- routes ----

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/auth/password", post(change_own_password))
}

/// Body of `POST /api/v1/auth/login`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Answer of login and `GET /api/v1/auth/me`.
#[derive(Debug, Serialize)]
pub struct SessionInfo {
    pub user: String,
    pub role: Role,
    /// Send it as `X-CSRF-Token` with every change (sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    pub via: AuthMethod,
}

fn client_ip(ext: &axum::http::Extensions) -> Option<IpAddr> {
    ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

fn cookie(s: &ConsoleState, value: &str, max_age_s: u64) -> HeaderValue {
    let secure = if s.security.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let c = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    );
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body(content_type = "application/json", description = "{\"username\": \"...\", \"password\": \"...\"}"), responses((status = 200, description = "OK", content_type = "application/json"), (status = 429, description = "too many failed logins", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn login(
    State(s): State<ConsoleState>,
    ext: axum::http::Extensions,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(e.body_text()).into_response(),
    };
    if body.username.is_empty() || body.username.len() > 128 {
        return ApiError::bad_request("username: 1 to 128 bytes").into_response();
    }
    let ip = client_ip(&ext);
    let user = body.username.clone();
    if let Some(secs) = s.limiter.retry_after(&user, ip) {
        tracing::warn!(user = %user, ip = ?ip, "login refused: too many failures");
        let mut r = ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            message: format!("too many failed logins: try again in {secs} s"),
        }
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return r;
    }
    let name = user.clone();
    let creds = s
        .with_security_store(move |st| st.user_credentials(&name).map_err(ApiError::store))
        .await;
    let creds = match creds {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let password = body.password;
    let role: Option<Role> = tokio::task::spawn_blocking(move || match creds {
        Some((u, phc)) => (verify_password(&password, &phc) && !u.disabled).then_some(u.role),
        None => {
            let _ = verify_password(&password, dummy_hash());
            None
        }
    })
    .await
    .ok()
    .flatten()
    .and_then(|r| r.parse().ok());
    let Some(role) = role else {
        s.limiter.failed(&user, ip);
        tracing::info!(user = %user, ip = ?ip, "login failed");
        return ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "bad_credentials",
            message: "unknown user or wrong password".into(),
        }
        .into_response();
    };
    s.limiter.succeeded(&user);
    let sid = random_b64(32);
    let csrf = csrf_for(&sid);
    let (id_hash, csrf_hash) = (secret_hash(&sid), secret_hash(&csrf));
    let ttl = s.security.session_ttl;
    let now = now_ms();
    let name = user.clone();
    let created = s
        .with_security_store(move |st| {
            st.delete_expired_sessions(now).map_err(ApiError::store)?;
            st.create_session(
                &id_hash,
                &name,
                &csrf_hash,
                now,
                now + ttl.as_millis() as i64,
            )
            .map_err(ApiError::store)
        })
        .await;
    if let Err(e) = created {
        return e.into_response();
    }
    tracing::info!(user = %user, ip = ?ip, "signed in");
    let mut r = Json(SessionInfo {
        user,
        role,
        csrf_token: Some(csrf),
        via: AuthMethod::Session {
            id_hash: String::new(),
            csrf_token: String::new(),
        },
    })
    .into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, cookie(&s, &sid, ttl.as_secs()));
    r
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn logout(
    State(s): State<ConsoleState>,
    p: Principal,
) -> Result<Response, ApiError> {
    if let AuthMethod::Session { id_hash, .. } = p.via {
        s.with_security_store(move |st| st.delete_session(&id_hash).map_err(ApiError::store))
            .await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, cookie(&s, "", 0));
    Ok(r)
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn me(p: Principal) -> Json<SessionInfo> {
    let csrf_token = match &p.via {
        AuthMethod::Session { csrf_token, .. } => Some(csrf_token.clone()),
        AuthMethod::Token { .. } => None,
    };
    Json(SessionInfo {
        user: p.name,
        role: p.role,
        csrf_token,
        via: p.via,
    })
}

/// Body of `POST /api/v1/auth/password`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body(content_type = "application/json", description = "{\"current\": \"...\", \"new\": \"...\"}"), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn change_own_password(
    State(s): State<ConsoleState>,
    p: Principal,
    body: Result<Json<PasswordChange>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if !matches!(p.via, AuthMethod::Session { .. }) {
        return Err(ApiError::bad_request(
            "only a signed-in user can change its password; an admin can set any user's with PATCH /api/v1/users/{name}",
        ));
    }
    check_password(&body.new_password)?;
    let name = p.name.clone();
    let creds = s
        .with_security_store(move |st| st.user_credentials(&name).map_err(ApiError::store))
        .await?;
    let Some((_, phc)) = creds else {
        return Err(ApiError::not_found("no such user"));
    };
    let current = body.current_password;
    let new = body.new_password;
    let hash = tokio::task::spawn_blocking(move || {
        if verify_password(&current, &phc) {
            hash_password(&new).map(Some)
        } else {
            Ok(None)
        }
    })
    .await
    .map_err(|_| ApiError::internal("hash task failed"))??;
    let Some(hash) = hash else {
        return Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "bad_credentials",
            message: "the current password is wrong".into(),
        });
    };
    crate::users::set_password(&s, &p, &p.name, &hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_defaults_to_admin_for_writes() {
        assert_eq!(required_role(&Method::POST, "/auth/login"), None);
        assert_eq!(
            required_role(&Method::GET, "/exchanges"),
            Some(Role::Viewer)
        );
        assert_eq!(required_role(&Method::GET, "/users"), Some(Role::Admin));
        assert_eq!(required_role(&Method::GET, "/audit"), Some(Role::Analyst));
        assert_eq!(required_role(&Method::POST, "/ingest"), Some(Role::Analyst));
        assert_eq!(
            required_role(&Method::PATCH, "/incidents/{id}"),
            Some(Role::Analyst)
        );
        assert_eq!(
            required_role(&Method::PUT, "/rules/{id}"),
            Some(Role::Admin)
        );
        assert_eq!(
            required_role(&Method::POST, "/something/new"),
            Some(Role::Admin)
        );
        assert_eq!(
            required_role(&Method::POST, "/auth/logout"),
            Some(Role::Viewer)
        );
    }

    #[test]
    fn passwords_hash_and_verify_and_tokens_are_random() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a phc string"));
        let (id1, t1) = new_token();
        let (id2, t2) = new_token();
        assert_ne!((id1, &t1), (id2, &t2));
        assert!(t1.starts_with("pal_") && t1.len() > 40);
        assert_eq!(secret_hash(&t1).len(), 64);
        assert!(check_password("short").is_err());
        assert!(check_password("long enough password").is_ok());
    }

    #[test]
    fn limiter_locks_after_failures_and_a_success_clears_the_user() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert_eq!(l.retry_after("ann", Some(ip)), None);
            l.failed("ann", Some(ip));
        }
        let secs = l.retry_after("ann", Some(ip)).unwrap();
        assert!((1..=60).contains(&secs));
        assert_eq!(l.retry_after("bob", Some(ip)), None, "per user");
        l.succeeded("ann");
        assert_eq!(l.retry_after("ann", Some(ip)), None);
    }
}
