//! `/api/v1` routes over the live views analysis publishes: actors,
//! campaigns, and the API catalog.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use palisade_analysis::LiveViews;
use serde::{Deserialize, Serialize};

use crate::{ApiError, ConsoleState};

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/overview", get(overview))
        .route("/settings", get(settings))
        .route("/actors", get(actors))
        .route("/actors/{id}", get(actor))
        .route("/campaigns", get(campaigns))
        .route("/catalog/endpoints", get(endpoints))
        .route("/catalog/endpoints/{id}", get(endpoint))
        .route("/catalog/spec-report", get(spec_report))
        .route("/catalog/changes", get(changes))
        .route("/catalog/openapi.json", get(openapi))
}

/// A page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub offset: usize,
}

fn live(s: &ConsoleState) -> Result<&Arc<LiveViews>, ApiError> {
    s.live.as_ref().ok_or_else(|| ApiError {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        code: "analysis_unavailable",
        message: "live analysis is not running in this process".into(),
    })
}

fn page<T: Clone>(all: impl Iterator<Item = T>, offset: usize, limit: usize) -> Page<T> {
    let all: Vec<T> = all.collect();
    let total = all.len();
    Page {
        items: all
            .into_iter()
            .skip(offset)
            .take(limit.clamp(1, 500))
            .collect(),
        total,
        offset,
    }
}

type Q<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn params<T>(q: Q<T>) -> Result<T, ApiError> {
    q.map(|Query(p)| p)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// `GET /api/v1/actors`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActorParams {
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// Only actors at or above this risk.
    pub min_risk: Option<u8>,
    /// Only actors in this phase (`recon`, `probing`, `exploitation`, `abuse`).
    pub phase: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/actors", tag = "actors", params(ActorParams), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn actors(
    State(s): State<ConsoleState>,
    q: Q<ActorParams>,
) -> Result<impl IntoResponse, ApiError> {
    let p = params(q)?;
    let views = live(&s)?.actors.load_full();
    let min = p.min_risk.unwrap_or(0);
    let phase = p.phase.clone();
    Ok(Json(page(
        views
            .iter()
            .filter(|a| a.risk >= min)
            .filter(|a| match &phase {
                Some(ph) => a.phase.map(|x| x.as_str() == ph).unwrap_or(false),
                None => true,
            })
            .cloned(),
        p.offset.unwrap_or(0),
        p.limit.unwrap_or(50),
    )))
}

#[utoipa::path(get, path = "/api/v1/actors/{id}", tag = "actors", params(("id" = String, Path, description = "actor id or name")), responses((status = 200, description = "OK", content_type = "application/json"), (status = 404, description = "not found", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn actor(
    State(s): State<ConsoleState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let views = live(&s)?.actors.load_full();
    views
        .iter()
        .find(|a| a.id.to_string() == id || a.name == id)
        .cloned()
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no recent actor `{id}` (the console keeps the {} riskiest and latest)",
                palisade_analysis::live::MAX_ACTORS
            ))
        })
}

#[utoipa::path(get, path = "/api/v1/campaigns", tag = "actors", responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn campaigns(
    State(s): State<ConsoleState>,
) -> Result<impl IntoResponse, ApiError> {
    let c = live(&s)?.campaigns.load_full();
    Ok(Json(Page {
        total: c.len(),
        items: c.as_ref().clone(),
        offset: 0,
    }))
}

/// `GET /api/v1/catalog/endpoints`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EndpointParams {
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    pub host: Option<String>,
    /// `shadow`, `zombie`, `unauthenticated`, `sensitive`.
    pub flag: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/catalog/endpoints", tag = "catalog", params(EndpointParams), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn endpoints(
    State(s): State<ConsoleState>,
    q: Q<EndpointParams>,
) -> Result<impl IntoResponse, ApiError> {
    let p = params(q)?;
    if let Some(f) = &p.flag
        && !["shadow", "zombie", "unauthenticated", "sensitive"].contains(&f.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "unknown flag `{f}`: use shadow, zombie, unauthenticated or sensitive"
        )));
    }
    let views = live(&s)?.endpoints.load_full();
    let flag = p.flag.clone();
    Ok(Json(page(
        views
            .iter()
            .filter(|e| p.host.as_ref().is_none_or(|h| &e.host == h))
            .filter(|e| match flag.as_deref() {
                Some("shadow") => e.shadow,
                Some("zombie") => e.zombie,
                Some("sensitive") => !e.data.is_empty(),
                Some("unauthenticated") => serde_json::to_value(&e.auth)
                    .map(|a| {
                        a["unauthenticated_success"].as_u64().unwrap_or(0) > 0
                            || a["unauthenticated_success"] == true
                    })
                    .unwrap_or(false),
                _ => true,
            })
            .cloned(),
        p.offset.unwrap_or(0),
        p.limit.unwrap_or(100),
    )))
}

#[utoipa::path(get, path = "/api/v1/catalog/endpoints/{id}", tag = "catalog", params(("id" = String, Path, description = "endpoint id")), responses((status = 200, description = "OK", content_type = "application/json"), (status = 404, description = "not found", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn endpoint(
    State(s): State<ConsoleState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let views = live(&s)?.endpoints.load_full();
    views
        .iter()
        .find(|e| e.id.to_string() == id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no endpoint `{id}`")))
}

#[utoipa::path(get, path = "/api/v1/catalog/spec-report", tag = "catalog", responses((status = 200, description = "OK", content_type = "application/json"), (status = 404, description = "not found", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn spec_report(
    State(s): State<ConsoleState>,
) -> Result<impl IntoResponse, ApiError> {
    match live(&s)?.spec_report.load_full().as_ref() {
        Some(r) => Ok(Json(r.clone()).into_response()),
        None => Err(ApiError::not_found(
            "no OpenAPI spec is imported (add [spec] files = [\"openapi.yaml\"] to the configuration)",
        )),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangeParams {
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/catalog/changes", tag = "catalog", params(ChangeParams), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn changes(
    State(s): State<ConsoleState>,
    q: Q<ChangeParams>,
) -> Result<impl IntoResponse, ApiError> {
    let p = params(q)?;
    let c = live(&s)?.changes.load_full();
    Ok(Json(page(c.iter().cloned(), 0, p.limit.unwrap_or(100))))
}

#[utoipa::path(get, path = "/api/v1/catalog/openapi.json", tag = "catalog", responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn openapi(State(s): State<ConsoleState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(live(&s)?.openapi.load_full().as_ref().clone()))
}

/// `GET /api/v1/overview`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OverviewParams {
    /// The window, in minutes (default 60, at most 7 days).
    pub minutes: Option<i64>,
}

/// What the dashboard's first page shows.
#[derive(Debug, Serialize)]
pub struct Overview {
    pub now_ms: i64,
    pub window_ms: i64,
    pub current: palisade_store::Counts,
    /// The same window exactly a week before.
    pub week_before: palisade_store::Counts,
    pub series: Vec<palisade_store::Bucket>,
    pub bucket_ms: i64,
    pub status: Vec<(String, u64)>,
    pub top_targets: Vec<palisade_store::TargetCount>,
    pub top_actors: Vec<palisade_actors::ActorView>,
    pub actors_tracked: usize,
    pub campaigns: usize,
    pub endpoints: usize,
    pub shadow_endpoints: usize,
}

#[utoipa::path(get, path = "/api/v1/overview", tag = "overview", params(OverviewParams), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn overview(
    State(s): State<ConsoleState>,
    q: Q<OverviewParams>,
) -> Result<impl IntoResponse, ApiError> {
    let p = params(q)?;
    let minutes = p.minutes.unwrap_or(60);
    if !(1..=7 * 24 * 60).contains(&minutes) {
        return Err(ApiError::bad_request("minutes must be between 1 and 10080"));
    }
    let now = palisade_core::now_ms();
    let window = minutes * 60_000;
    let bucket_ms = (window / 60).max(1000);
    let since = now - window;
    let week = 7 * 24 * 3600 * 1000;
    let (current, week_before, series, status, top_targets) = s
        .with_store(move |st| {
            let e = ApiError::store;
            Ok((
                st.counts(since).map_err(e)?,
                st.counts_between(since - week, now - week)
                    .map_err(ApiError::store)?,
                st.timeseries(since, bucket_ms).map_err(ApiError::store)?,
                st.status_mix(since).map_err(ApiError::store)?,
                st.top_targets(since, 8).map_err(ApiError::store)?,
            ))
        })
        .await?;
    let (top_actors, actors_tracked, campaigns, endpoints, shadow_endpoints) = match &s.live {
        Some(l) => {
            let actors = l.actors.load();
            let eps = l.endpoints.load();
            (
                actors
                    .iter()
                    .filter(|a| a.risk > 0)
                    .take(8)
                    .cloned()
                    .collect(),
                actors.len(),
                l.campaigns.load().len(),
                eps.len(),
                eps.iter().filter(|e| e.shadow).count(),
            )
        }
        None => (Vec::new(), 0, 0, 0, 0),
    };
    Ok(Json(Overview {
        now_ms: now,
        window_ms: window,
        current,
        week_before,
        series,
        bucket_ms,
        status,
        top_targets,
        top_actors,
        actors_tracked,
        campaigns,
        endpoints,
        shadow_endpoints,
    }))
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "admin", responses((status = 200, description = "the running configuration, secrets masked", content_type = "application/json"), (status = 403, description = "admins only")))]
pub(crate) async fn settings(State(s): State<ConsoleState>) -> Result<impl IntoResponse, ApiError> {
    match &s.settings {
        Some(v) => Ok(Json(v.clone())),
        None => Err(ApiError::not_found(
            "no configuration is known to this console",
        )),
    }
}
