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
}

/// Query parameters of `GET /api/v1/exchanges`.
#[derive(Debug, Deserialize)]
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

async fn list_exchanges(
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

async fn get_exchange(
    State(s): State<ConsoleState>,
    Path(id): Path<String>,
) -> Result<Json<StoredExchange>, ApiError> {
    let key = id.clone();
    s.with_store(move |st| st.exchange(&key).map_err(ApiError::store))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no exchange with id `{id}`")))
}
