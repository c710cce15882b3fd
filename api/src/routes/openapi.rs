//! `GET /api/openapi.json`: the OpenAPI document built from the router itself.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// The serialized OpenAPI document, added to requests by [`crate::app::router`].
#[derive(Debug, Clone)]
pub struct OpenApiDocument(pub Arc<String>);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// The OpenAPI 3.1 description of every route.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI document", content_type = "application/json", body = Object)))]
async fn openapi_json(Extension(doc): Extension<OpenApiDocument>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_ref().clone(),
    )
}
