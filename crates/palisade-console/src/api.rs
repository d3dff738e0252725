//! `/api/v1` routes.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use palisade_store::{ExchangePage, ExchangeQuery, StoredExchange};
use serde::Deserialize;

use crate::{ApiError, ConsoleState};

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/exchanges", get(list_exchanges))
        .route("/exchanges/{id}", get(get_exchange))
        .route(
            "/ingest",
            axum::routing::post(ingest)
                .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
}

/// Query parameters of `GET /api/v1/exchanges`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<usize>,
    /// Cursor from `next_cursor` of the previous page.
    pub before: Option<String>,
    pub action: Option<String>,
    pub client_ip: Option<String>,
    /// Only exchanges with findings.
    pub flagged: Option<bool>,
    pub since_ms: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/exchanges", tag = "traffic", params(ListParams), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn list_exchanges(
    State(s): State<ConsoleState>,
    q: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ExchangePage>, ApiError> {
    let Query(p) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some(a) = &p.action
        && !["allow", "log", "tarpit", "rate_limit", "block"].contains(&a.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "unknown action `{a}`: use allow, log, tarpit, rate_limit or block"
        )));
    }
    let query = ExchangeQuery {
        limit: p.limit.unwrap_or(50).clamp(1, 500),
        before: p.before,
        action: p.action,
        client_ip: p.client_ip,
        flagged: p.flagged.unwrap_or(false),
        since_ms: p.since_ms,
    };
    s.with_store(move |st| st.exchanges(&query).map_err(ApiError::store))
        .await
        .map(Json)
}

#[utoipa::path(get, path = "/api/v1/exchanges/{id}", tag = "traffic", params(("id" = String, Path, description = "request id")), responses((status = 200, description = "OK", content_type = "application/json"), (status = 404, description = "not found", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn get_exchange(
    State(s): State<ConsoleState>,
    Path(id): Path<String>,
) -> Result<Json<StoredExchange>, ApiError> {
    let key = id.clone();
    s.with_store(move |st| st.exchange(&key).map_err(ApiError::store))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no exchange with id `{id}`")))
}

/// Query parameters of `POST /api/v1/ingest`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IngestParams {
    /// `ndjson` (default), `nginx-json`, `envoy` or `har`.
    pub format: Option<String>,
}

/// Answer of `POST /api/v1/ingest`.
#[derive(Debug, serde::Serialize)]
pub struct IngestAnswer {
    pub parsed: u64,
    pub accepted: u64,
    /// Shed because analysis is behind (retry later).
    pub shed: u64,
    pub malformed: u64,
    /// The first problems, with line numbers.
    pub errors: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/ingest", tag = "sensor", params(IngestParams), request_body(content_type = "application/json", description = "exchanges as a JSON array (NDJSON and HAR are accepted too; see ?format=)"), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn ingest(
    State(s): State<ConsoleState>,
    q: Result<Query<IngestParams>, axum::extract::rejection::QueryRejection>,
    body: axum::body::Bytes,
) -> Result<Json<IngestAnswer>, ApiError> {
    let Query(p) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let format: palisade_sensor::Format = p
        .format
        .as_deref()
        .unwrap_or("ndjson")
        .parse()
        .map_err(|e: palisade_sensor::Error| ApiError::bad_request(e.to_string()))?;
    let Some(sink) = s.ingest.clone() else {
        return Err(ApiError {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            code: "analysis_unavailable",
            message: "this process does not run analysis".into(),
        });
    };
    let answer = tokio::task::spawn_blocking(move || {
        let (exchanges, report) = palisade_sensor::parse_batch(&body, format);
        let mut accepted = 0;
        let mut shed = 0;
        for ex in exchanges {
            if sink.offer(ex) {
                accepted += 1;
            } else {
                shed += 1;
            }
        }
        IngestAnswer {
            parsed: report.parsed,
            accepted,
            shed,
            malformed: report.malformed,
            errors: report.first_errors.iter().map(|m| m.to_string()).collect(),
        }
    })
    .await
    .map_err(|_| ApiError::internal("ingest task failed"))?;
    if answer.parsed == 0 && answer.malformed > 0 {
        return Err(ApiError::bad_request(format!(
            "nothing could be parsed: {}",
            answer.errors.first().cloned().unwrap_or_default()
        )));
    }
    Ok(Json(answer))
}
