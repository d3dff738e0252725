//! Palisade's console: the REST API under `/api/v1` (and, with later issues,
//! the dashboard), plus the operational endpoints `/healthz`, `/readyz` and
//! `/metrics`.
//!
//! This is the only crate that defines REST wire types. It reads the store
//! through its own read-only SQLite connection (WAL lets it read beside the
//! writer) on the blocking pool, so a slow query never stalls the runtime, and
//! it reads live analysis state through the handles it is given.
//!
//! Not yet here: authentication and roles (issue 7). Until then the console
//! listens on loopback by default; do not expose it.

mod api;
mod error;
mod live_api;

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
use palisade_store::Store;

pub use error::ApiError;

/// What the console needs from the running process.
#[derive(Clone)]
pub struct ConsoleState {
    pub data_dir: PathBuf,
    pub metrics: Option<PrometheusHandle>,
    pub ready: Arc<AtomicBool>,
    pub pipeline: Option<Arc<PipelineStats>>,
    /// Where `POST /api/v1/ingest` hands exchanges (detection, then analysis).
    pub ingest: Option<Arc<dyn palisade_core::ExchangeSink>>,
    /// Live views published by analysis (actors, catalog).
    pub live: Option<Arc<palisade_analysis::LiveViews>>,
    reader: Arc<std::sync::Mutex<Option<Store>>>,
}

impl std::fmt::Debug for ConsoleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleState")
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

impl ConsoleState {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            metrics: None,
            ready: Arc::new(AtomicBool::new(true)),
            pipeline: None,
            live: None,
            ingest: None,
            reader: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    /// Runs `f` with a read connection to the store, on the blocking pool.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let reader = self.reader.clone();
        let dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = reader.lock().unwrap_or_else(|p| p.into_inner());
            if guard.is_none() {
                *guard = Some(Store::open_read_only(&dir).map_err(ApiError::store)?);
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
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .nest("/api/v1", api::router().merge(live_api::router()))
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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests;
