//! Every HTTP route, one module per resource, merged here.
//!
//! # Adding a resource module
//!
//! 1. Create `api/src/routes/<resource>.rs` exposing
//!    `pub fn router() -> OpenApiRouter<AppState>` (from `utoipa_axum::router`),
//!    and register each handler with `.routes(routes!(handler))` so it appears in
//!    `GET /api/openapi.json` *and* is served — one registration, no drift:
//!
//!    ```ignore
//!    use axum::extract::State;
//!    use utoipa_axum::{router::OpenApiRouter, routes};
//!    use crate::{auth::AdminAuth, error::{ApiError, ApiJson, ApiPath}, state::AppState};
//!
//!    pub fn router() -> OpenApiRouter<AppState> {
//!        OpenApiRouter::new().routes(routes!(get_topic, delete_topic))
//!    }
//!
//!    /// Reads one topic.
//!    #[utoipa::path(get, path = "/api/topics/{id}", tag = "content",
//!        params(("id" = String, Path, description = "Topic id")),
//!        responses((status = 200, body = Topic), (status = 404, body = crate::error::ErrorBody)))]
//!    async fn get_topic(State(state): State<AppState>, ApiPath(id): ApiPath<String>)
//!        -> Result<ApiJson<Topic>, ApiError> { … }
//!
//!    /// Deletes one topic (admin).
//!    #[utoipa::path(delete, path = "/api/topics/{id}", tag = "content",
//!        security(("admin_token" = [])),
//!        params(("id" = String, Path, description = "Topic id")),
//!        responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
//!    async fn delete_topic(_admin: AdminAuth, State(state): State<AppState>,
//!        ApiPath(id): ApiPath<String>) -> Result<StatusCode, ApiError> { … }
//!    ```
//!    Handlers registered together in one `routes!(…)` must share a path.
//! 2. Add `mod <resource>;` below and `.merge(<resource>::router())` in [`router`].
//!
//! # Rules every route follows
//!
//! - Extract with [`crate::error::ApiJson`], [`crate::error::ApiQuery`] and
//!   [`crate::error::ApiPath`] (not axum's), and return
//!   `Result<_, crate::error::ApiError>`: every error is then the JSON shape
//!   `{"error": {"code", "message"}}`. Mark request structs
//!   `#[serde(deny_unknown_fields)]` where a typo should be refused.
//! - Admin routes take [`crate::auth::AdminAuth`] as their *first* argument
//!   and declare `security(("admin_token" = []))`; the admin test enumerates
//!   routes by that declaration, and it fails for any non-GET route without it
//!   that is not in its short list of public writes.
//! - Token and session routes take [`crate::rate_limit::RateLimited`] first.
//! - The body limit is `Config::max_body_bytes` for every route; a route that
//!   needs more adds `.layer(axum::extract::DefaultBodyLimit::max(n))` to its
//!   method router.
//! - A router that is a plain `axum::Router<AppState>` can be merged with
//!   `.merge(OpenApiRouter::from(router))`, but its routes are then missing from
//!   the OpenAPI document (and from the admin test): prefer `routes!`.

use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::ADMIN_SECURITY_SCHEME;
use crate::state::AppState;

mod audit;
mod config;
mod content;
mod health;
mod history;
mod openapi;
mod plugins;
pub(crate) mod sessions;
mod tokens;

pub use openapi::OpenApiDocument;

#[derive(OpenApi)]
#[openapi(
    info(title = "Lectern API", description = "REST API of the Lectern voice-tutor runtime."),
    modifiers(&AdminSecurity),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail))
)]
struct ApiDoc;

struct AdminSecurity;

impl utoipa::Modify for AdminSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            ADMIN_SECURITY_SCHEME,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// All routes with their OpenAPI description, without state or middleware
/// (see [`crate::app::router`]).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(tokens::router())
        .merge(openapi::router())
        .merge(plugins::router())
        .merge(audit::router())
        .merge(content::router())
        .merge(history::router())
        .merge(sessions::router())
        .merge(config::router())
}
