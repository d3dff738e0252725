//! `/api/v1/rules`: view the custom rules, check an edit (every problem with
//! line and hint), test it against recent traffic, and save it (admin; the
//! engine reloads without dropping connections; audited).
//!
//! The console knows nothing of the detection engine: the running node hands
//! it a [`RulesControl`].

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use palisade_core::Exchange;
use palisade_store::ExchangeQuery;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::{ApiError, ConsoleState};

/// One rule as listed.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSummary {
    pub id: String,
    pub description: String,
    pub action: String,
    pub origin: String,
    pub line: usize,
}

/// The editable rule file and what is loaded.
#[derive(Debug, Clone, Serialize)]
pub struct RulesView {
    /// The file edits are saved to.
    pub file: String,
    pub text: String,
    /// Rules in that file.
    pub rules: Vec<RuleSummary>,
    /// Built-in rules loaded beside them.
    pub builtin: usize,
}

/// What a tested rule text would do to one recorded request.
#[derive(Debug, Clone, Serialize)]
pub struct RuleHit {
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub rules: Vec<String>,
    pub verdict: String,
}

/// The node's side of rule management.
pub trait RulesControl: Send + Sync {
    fn view(&self) -> Result<RulesView, String>;
    /// Parses and validates; every problem as `file:line:col: message (hint)`.
    fn check(&self, text: &str) -> Result<Vec<RuleSummary>, Vec<String>>;
    /// Validates, writes the file and reloads the engine.
    fn save(&self, text: &str) -> Result<Vec<RuleSummary>, Vec<String>>;
    /// Runs the engine with these rules over recorded exchanges.
    fn test(&self, text: &str, exchanges: Vec<Exchange>) -> Result<Vec<RuleHit>, Vec<String>>;
}

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/rules", get(view).put(save))
        .route("/rules/check", post(check))
        .route("/rules/test", post(test))
}

fn control(s: &ConsoleState) -> Result<Arc<dyn RulesControl>, ApiError> {
    s.rules.clone().ok_or_else(|| ApiError {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        code: "rules_unavailable",
        message: "this process does not run a detection engine".into(),
    })
}

fn invalid(problems: Vec<String>) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: "invalid_rules",
        message: problems.join("\n"),
    }
}

/// Body of the rule edits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesText {
    /// The whole rule file (TOML).
    pub text: String,
    /// For `test`: how many recent exchanges (default 200, at most 2000).
    #[serde(default)]
    pub limit: Option<usize>,
}

type Body = Result<Json<RulesText>, axum::extract::rejection::JsonRejection>;

fn body(b: Body) -> Result<RulesText, ApiError> {
    let Json(t) = b.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if t.text.len() > 1024 * 1024 {
        return Err(ApiError::bad_request("a rule file is at most 1 MiB"));
    }
    Ok(t)
}

#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", responses((status = 200, description = "the editable rule file and the rules loaded", content_type = "application/json"), (status = 401, description = "unauthenticated")))]
pub(crate) async fn view(State(s): State<ConsoleState>) -> Result<Json<RulesView>, ApiError> {
    let c = control(&s)?;
    tokio::task::spawn_blocking(move || c.view())
        .await
        .map_err(|_| ApiError::internal("rules task failed"))?
        .map(Json)
        .map_err(ApiError::internal)
}

#[utoipa::path(post, path = "/api/v1/rules/check", tag = "rules", request_body(content_type = "application/json", description = "{\"text\": \"[[rule]] ...\"}"), responses((status = 200, description = "valid: the rules it holds", content_type = "application/json"), (status = 400, description = "every problem, with line and hint")))]
pub(crate) async fn check(
    State(s): State<ConsoleState>,
    b: Body,
) -> Result<Json<Vec<RuleSummary>>, ApiError> {
    let t = body(b)?;
    let c = control(&s)?;
    tokio::task::spawn_blocking(move || c.check(&t.text))
        .await
        .map_err(|_| ApiError::internal("rules task failed"))?
        .map(Json)
        .map_err(invalid)
}

#[utoipa::path(put, path = "/api/v1/rules", tag = "rules", request_body(content_type = "application/json", description = "{\"text\": \"[[rule]] ...\"}"), responses((status = 200, description = "saved and reloaded", content_type = "application/json"), (status = 400, description = "invalid: nothing saved"), (status = 403, description = "admins only")))]
pub(crate) async fn save(
    State(s): State<ConsoleState>,
    who: Principal,
    b: Body,
) -> Result<Json<Vec<RuleSummary>>, ApiError> {
    let t = body(b)?;
    let c = control(&s)?;
    let text = t.text.clone();
    let saved = tokio::task::spawn_blocking(move || c.save(&text))
        .await
        .map_err(|_| ApiError::internal("rules task failed"))?
        .map_err(invalid)?;
    let ids: Vec<&str> = saved.iter().map(|r| r.id.as_str()).collect();
    s.audit(
        &who,
        "rules.update",
        "rules",
        serde_json::json!({"rules": ids, "bytes": t.text.len()}),
    )
    .await?;
    Ok(Json(saved))
}

#[utoipa::path(post, path = "/api/v1/rules/test", tag = "rules", request_body(content_type = "application/json", description = "{\"text\": \"[[rule]] ...\", \"limit\": 200}"), responses((status = 200, description = "the recorded requests these rules fire on", content_type = "application/json"), (status = 400, description = "invalid rules")))]
pub(crate) async fn test(
    State(s): State<ConsoleState>,
    b: Body,
) -> Result<Json<Vec<RuleHit>>, ApiError> {
    let t = body(b)?;
    let c = control(&s)?;
    let limit = t.limit.unwrap_or(200).clamp(1, 2000);
    let exchanges: Vec<Exchange> = s
        .with_store(move |st| {
            let mut out = Vec::new();
            let mut q = ExchangeQuery {
                limit: 500.min(limit),
                ..Default::default()
            };
            while out.len() < limit {
                let page = st.exchanges(&q).map_err(ApiError::store)?;
                for item in &page.items {
                    if let Some(full) = st.exchange(&item.id).map_err(ApiError::store)? {
                        out.extend(full.exchange);
                    }
                }
                match page.next_cursor {
                    Some(c) => q.before = Some(c),
                    None => break,
                }
            }
            out.truncate(limit);
            Ok(out)
        })
        .await?;
    tokio::task::spawn_blocking(move || c.test(&t.text, exchanges))
        .await
        .map_err(|_| ApiError::internal("rules task failed"))?
        .map(Json)
        .map_err(invalid)
}
