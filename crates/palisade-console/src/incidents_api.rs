//! `/api/v1/incidents`: the incident list, one incident with its timeline,
//! blast radius, evidence, summary and next steps, and the status workflow
//! (open → acknowledged → resolved / false positive), every change audited.

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_incidents::{IncidentBrief, Status};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::{ApiError, ConsoleState};

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/incidents", get(list))
        .route("/incidents/{id}", get(one))
        .route("/incidents/{id}/status", post(set_status))
        .route("/incidents/{id}/notes", post(add_note))
}

type Shared = std::sync::Arc<std::sync::Mutex<palisade_incidents::IncidentEngine>>;

fn engine(s: &ConsoleState) -> Result<&Shared, ApiError> {
    s.incidents.as_ref().ok_or_else(|| ApiError {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        code: "analysis_unavailable",
        message: "incident analysis is not running in this process".into(),
    })
}

fn locked<T>(
    s: &ConsoleState,
    f: impl FnOnce(&mut palisade_incidents::IncidentEngine) -> T,
) -> Result<T, ApiError> {
    let e = engine(s)?;
    let mut g = e
        .lock()
        .map_err(|_| ApiError::internal("incident engine unavailable"))?;
    Ok(f(&mut g))
}

/// `GET /api/v1/incidents`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// `open`, `acknowledged`, `resolved`, `false_positive`.
    pub status: Option<String>,
    /// Only incidents at or above this severity.
    pub min_severity: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IncidentPage {
    pub items: Vec<IncidentBrief>,
    pub total: usize,
    pub offset: usize,
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListParams), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn list(
    State(s): State<ConsoleState>,
    q: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(p) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status: Option<Status> = match &p.status {
        Some(x) => Some(x.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "unknown status `{x}`: use open, acknowledged, resolved or false_positive"
            ))
        })?),
        None => None,
    };
    let min: Option<palisade_core::Severity> = match &p.min_severity {
        Some(x) => Some(
            serde_json::from_value(serde_json::Value::String(x.clone())).map_err(|_| {
                ApiError::bad_request(format!(
                    "unknown severity `{x}`: use info, low, medium, high or critical"
                ))
            })?,
        ),
        None => None,
    };
    let mut briefs = locked(&s, |e| e.briefs())?;
    briefs
        .retain(|b| status.is_none_or(|st| b.status == st) && min.is_none_or(|m| b.severity >= m));
    briefs.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.last_seen_ms.cmp(&a.last_seen_ms))
    });
    let total = briefs.len();
    let offset = p.offset.unwrap_or(0);
    let items = briefs
        .into_iter()
        .skip(offset)
        .take(p.limit.unwrap_or(50).clamp(1, 500))
        .collect();
    Ok(Json(IncidentPage {
        items,
        total,
        offset,
    }))
}

/// One incident, with its summary and next steps rendered.
#[derive(Debug, Serialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: palisade_incidents::Incident,
    pub summary_text: String,
    pub next_steps_text: serde_json::Value,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = String, Path, description = "incident id")), responses((status = 200, description = "OK", content_type = "application/json"), (status = 404, description = "not found", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn one(
    State(s): State<ConsoleState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let inc = locked(&s, |e| e.get(&id))?
        .ok_or_else(|| ApiError::not_found(format!("no incident `{id}`")))?;
    let summary_text = inc.summary();
    let next_steps_text = serde_json::to_value(inc.next_steps()).unwrap_or_default();
    Ok(Json(IncidentDetail {
        incident: inc,
        summary_text,
        next_steps_text,
    }))
}

/// Body of `POST /api/v1/incidents/{id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: String,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/status", tag = "incidents", params(("id" = String, Path, description = "incident id")), request_body(content_type = "application/json", description = "{\"status\": \"open|acknowledged|resolved|false_positive\", \"note\": \"...\"}"), responses((status = 200, description = "OK", content_type = "application/json"), (status = 404, description = "not found", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn set_status(
    State(s): State<ConsoleState>,
    who: Principal,
    Path(id): Path<String>,
    body: Result<Json<StatusChange>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status: Status = b.status.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "unknown status `{}`: use open, acknowledged, resolved or false_positive",
            b.status
        ))
    })?;
    let now = palisade_core::now_ms();
    let ev = locked(&s, |e| e.set_status(&id, status, &who.name, &b.note, now))?.map_err(|e| {
        let msg = e.to_string();
        if msg.contains("no incident") || msg.contains("not found") {
            ApiError::not_found(msg)
        } else {
            ApiError::bad_request(msg)
        }
    })?;
    s.audit(
        &who,
        "incident.status",
        &id,
        serde_json::json!({"status": status.as_str(), "note": b.note}),
    )
    .await?;
    Ok(Json(ev))
}

/// Body of `POST /api/v1/incidents/{id}/notes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub text: String,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents", params(("id" = String, Path, description = "incident id")), request_body(content_type = "application/json", description = "{\"text\": \"...\"}"), responses((status = 200, description = "OK", content_type = "application/json"), (status = 404, description = "not found", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn add_note(
    State(s): State<ConsoleState>,
    who: Principal,
    Path(id): Path<String>,
    body: Result<Json<Note>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(n) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let now = palisade_core::now_ms();
    locked(&s, |e| e.add_note(&id, &who.name, &n.text, now))?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    s.audit(
        &who,
        "incident.note",
        &id,
        serde_json::json!({"length": n.text.len()}),
    )
    .await?;
    Ok(Json(serde_json::json!({"ok": true})))
}
