//! Palisade's console: the REST API under `/api/v1` (and, with later issues,
//! the dashboard), plus the operational endpoints `/healthz`, `/readyz` and
//! `/metrics`.
//!
//! This is the only crate that defines REST wire types. It reads the store
//! through its own read-only connection (SQLite in WAL mode lets it read
//! beside the writer; on PostgreSQL a read-only session) on the blocking
//! pool, so a slow query never stalls the runtime, and it reads live
//! analysis state through the handles it is given.
//!
//! Everything under `/api/v1` needs authentication (an API token or a
//! session cookie) and a role, checked by one middleware ([`auth`]); only
//! `POST /api/v1/auth/login`, `/healthz`, `/readyz` and (unless
//! [`SecuritySettings::metrics_public`] is off) `/metrics` answer anyone.
//! Every configuration and admin change is appended to the hash-chained
//! audit log ([`ConsoleState::audit`]). See docs/security.md.

mod api;
mod audit;
pub mod auth;
mod error;
mod incidents_api;
mod live_api;
pub mod openapi;
pub mod rules_api;
mod ui;
pub mod users;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use palisade_analysis::PipelineStats;
use palisade_store::{Store, StoreSpec};

pub use auth::{Principal, Role};
pub use error::ApiError;

/// Milliseconds since the Unix epoch, by the system clock.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How the console protects itself.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// Mark the session cookie `Secure` (set it when the console is served
    /// over TLS, directly or behind a terminating proxy).
    pub secure_cookies: bool,
    /// `/metrics` answers without authentication (default true).
    pub metrics_public: bool,
    /// How long a session lasts after login.
    pub session_ttl: std::time::Duration,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            metrics_public: true,
            session_ttl: std::time::Duration::from_secs(12 * 3600),
        }
    }
}

/// What the console needs from the running process.
#[derive(Clone)]
pub struct ConsoleState {
    pub data_dir: PathBuf,
    /// Where the store is: SQLite in `data_dir` (the default) or PostgreSQL.
    pub store: StoreSpec,
    pub metrics: Option<PrometheusHandle>,
    pub ready: Arc<AtomicBool>,
    pub pipeline: Option<Arc<PipelineStats>>,
    /// Where `POST /api/v1/ingest` hands exchanges (detection, then analysis).
    pub ingest: Option<Arc<dyn palisade_core::ExchangeSink>>,
    /// The effective configuration, secrets already masked (for `/settings`).
    pub settings: Option<serde_json::Value>,
    /// Rule management, provided by the node running the engine.
    pub rules: Option<std::sync::Arc<dyn rules_api::RulesControl>>,
    /// The incident engine, shared with analysis.
    pub incidents: Option<std::sync::Arc<std::sync::Mutex<palisade_incidents::IncidentEngine>>>,
    /// Live views published by analysis (actors, catalog).
    pub live: Option<Arc<palisade_analysis::LiveViews>>,
    pub security: SecuritySettings,
    reader: Arc<std::sync::Mutex<Option<Store>>>,
    /// The writing connection for users, tokens, sessions and the audit log.
    writer: Arc<std::sync::Mutex<Option<Store>>>,
    limiter: Arc<auth::LoginLimiter>,
}

impl std::fmt::Debug for ConsoleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleState")
            .field("data_dir", &self.data_dir)
            .field("store", &self.store)
            .finish()
    }
}

impl ConsoleState {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            store: StoreSpec::sqlite(&data_dir),
            data_dir,
            metrics: None,
            ready: Arc::new(AtomicBool::new(true)),
            pipeline: None,
            live: None,
            incidents: None,
            settings: None,
            rules: None,
            ingest: None,
            security: SecuritySettings::default(),
            reader: Arc::new(std::sync::Mutex::new(None)),
            writer: Arc::new(std::sync::Mutex::new(None)),
            limiter: Arc::new(auth::LoginLimiter::default()),
        }
    }

    /// Runs `f` with the console's writing connection to the store (users,
    /// tokens, sessions, audit log), on the blocking pool.
    pub async fn with_security_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let writer = self.writer.clone();
        let spec = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = writer.lock().unwrap_or_else(|p| p.into_inner());
            if guard.is_none() {
                *guard = Some(Store::open_spec(&spec).map_err(ApiError::store)?);
            }
            match guard.as_mut() {
                Some(s) => f(s),
                None => Err(ApiError::internal("store unavailable")),
            }
        })
        .await
        .map_err(|_| ApiError::internal("store task failed"))?
    }

    /// Runs `f` with a read connection to the store, on the blocking pool.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let reader = self.reader.clone();
        let spec = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = reader.lock().unwrap_or_else(|p| p.into_inner());
            if guard.is_none() {
                *guard = Some(Store::open_read_only_spec(&spec).map_err(ApiError::store)?);
            }
            match guard.as_ref() {
                Some(s) => f(s),
                None => Err(ApiError::internal("store unavailable")),
            }
        })
        .await
        .map_err(|_| ApiError::internal("store task failed"))?
    }
}

/// The console's router.
pub fn router(state: ConsoleState) -> Router {
    let guard = axum::middleware::from_fn_with_state(state.clone(), auth::authorize);
    let api = api::router()
        .merge(live_api::router())
        .merge(incidents_api::router())
        .merge(rules_api::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(audit::router())
        .route_layer(guard.clone());
    let mut metrics_route = Router::new().route("/metrics", get(metrics));
    if !state.security.metrics_public {
        metrics_route = metrics_route.route_layer(guard);
    }
    Router::new()
        .route("/", get(ui::index))
        .route("/ui/app.js", get(ui::script))
        .route("/ui/app.css", get(ui::style))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .merge(metrics_route)
        .nest(
            "/api/v1",
            api.route("/openapi.json", get(openapi::document)),
        )
        .fallback(|| async { ApiError::not_found("no such route") })
        .with_state(state)
}

async fn readyz(State(s): State<ConsoleState>) -> impl IntoResponse {
    if s.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

async fn metrics(State(s): State<ConsoleState>) -> impl IntoResponse {
    let mut body = s.metrics.as_ref().map(|m| m.render()).unwrap_or_default();
    if let Some(p) = &s.pipeline {
        use std::fmt::Write;
        let _ = writeln!(
            body,
            "# TYPE palisade_pipeline_offered_total counter\npalisade_pipeline_offered_total {}",
            p.offered.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            body,
            "# TYPE palisade_pipeline_stored_total counter\npalisade_pipeline_stored_total {}",
            p.stored.load(Ordering::Relaxed)
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Serves the console on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ConsoleState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Connect info: the login rate limit counts failures per client address.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;
