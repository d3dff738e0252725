//! The OpenAPI 3 description of `/api/v1`, generated from the handlers'
//! `#[utoipa::path]` annotations, served at `/api/v1/openapi.json` (public:
//! it describes, it reveals no data).

use axum::Json;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{api, audit, auth, incidents_api, live_api, rules_api, users};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Palisade console API",
        description = "Traffic, actors, incidents, the API catalog, ingest, users, tokens and the audit log. \
Send `Authorization: Bearer <token>` (`palisade token create`) or sign in with `POST /api/v1/auth/login` \
(session cookie plus `X-CSRF-Token` on changes). Errors are JSON: `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        api::list_exchanges, api::get_exchange, api::ingest,
        live_api::overview, live_api::settings, live_api::actors, live_api::actor, live_api::campaigns,
        live_api::endpoints, live_api::endpoint, live_api::spec_report, live_api::changes, live_api::openapi,
        incidents_api::list, incidents_api::one, incidents_api::set_status, incidents_api::add_note,
        auth::login, auth::logout, auth::me, auth::change_own_password,
        users::list_users, users::create_user, users::update_user,
        users::list_tokens, users::create_token, users::revoke_token,
        audit::list, audit::verify,
        rules_api::view, rules_api::check, rules_api::save, rules_api::test,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

pub async fn document() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
