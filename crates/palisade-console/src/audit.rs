//! The audit log routes: `GET /api/v1/audit` (newest first, paginated) and
//! `GET /api/v1/audit/verify` (recomputes the hash chain), plus
//! [`ConsoleState::audit`], which every route that changes configuration or
//! administration calls.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use palisade_store::{AuditEntry, AuditPage, AuditReport};
use serde::Deserialize;

use crate::auth::Principal;
use crate::{ApiError, ConsoleState, now_ms};

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/audit", get(list))
        .route("/audit/verify", get(verify))
}

/// Query parameters of `GET /api/v1/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// 1 to 500 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub before: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditParams), responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn list(
    State(s): State<ConsoleState>,
    q: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(p) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    s.with_security_store(move |st| st.audit_page(p.before, limit).map_err(ApiError::store))
        .await
        .map(Json)
}

/// Answer of `GET /api/v1/audit/verify`.
#[derive(Debug, serde::Serialize)]
pub struct VerifyAnswer {
    pub intact: bool,
    #[serde(flatten)]
    pub report: AuditReport,
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "admin", responses((status = 200, description = "OK", content_type = "application/json"), (status = 400, description = "bad request: a JSON error with code and message", content_type = "application/json"), (status = 401, description = "unauthenticated", content_type = "application/json"), (status = 403, description = "forbidden (role) or csrf", content_type = "application/json")))]
pub(crate) async fn verify(State(s): State<ConsoleState>) -> Result<Json<VerifyAnswer>, ApiError> {
    let report = s
        .with_security_store(|st| st.verify_audit().map_err(ApiError::store))
        .await?;
    Ok(Json(VerifyAnswer {
        intact: report.intact(),
        report,
    }))
}

impl ConsoleState {
    /// Appends "`who` did `action` on `target`" to the audit log. Call it
    /// from every route that changes configuration or administration, after
    /// the change succeeded. `detail` must hold no secret.
    pub async fn audit(
        &self,
        who: &Principal,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        let e = AuditEntry {
            actor: who.actor(),
            action: action.into(),
            target: target.into(),
            detail,
        };
        self.with_security_store(move |st| {
            st.append_audit(&e, now_ms())
                .map(|_| ())
                .map_err(ApiError::store)
        })
        .await
    }
}
