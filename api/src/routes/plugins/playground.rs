//! The playground: one tool call against a subtopic's lesson, answered with
//! the full call record.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use lectern_runtime::plugin::ToolCall;
use lectern_runtime::store::StoreError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{store_error, validate_name};
use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// A playground call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeRequest {
    /// Tool name.
    tool: String,
    /// Arguments (a JSON object).
    #[schema(value_type = Object)]
    arguments: serde_json::Value,
    /// The subtopic whose lesson the tool sees.
    subtopic_id: String,
    /// Version string or sha256 (default: the active version).
    #[serde(default)]
    version: Option<String>,
    /// Plugin configuration (default `{}`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    config: Option<serde_json::Value>,
}

/// Runs one tool of the plugin against a subtopic's lesson (the playground).
/// The answer is the full call record, whatever the outcome.
#[utoipa::path(post, path = "/api/plugins/{name}/invoke", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    request_body = InvokeRequest,
    responses((status = 200, description = "The call record (outcome, output or error, logs, limits hit)", body = Object),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn invoke(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<InvokeRequest>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    validate_name(&name)?;
    if !request.arguments.is_object() {
        return Err(ApiError::unprocessable(
            "invalid_arguments",
            "`arguments` must be a JSON object.",
        ));
    }
    state
        .store
        .plugins()
        .get(&name)
        .await
        .map_err(store_error)?;
    let lesson = state
        .store
        .content()
        .lesson(&request.subtopic_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::not_found("subtopic", &request.subtopic_id),
            other => store_error(other),
        })?;
    let config = request
        .config
        .unwrap_or_else(|| serde_json::json!({}))
        .to_string();
    let call = ToolCall::new(
        request.tool,
        request.arguments.to_string(),
        format!("playground-{}", uuid::Uuid::new_v4().simple()),
        Arc::new(lesson),
    );
    let record = state
        .plugins
        .call_plugin(&name, request.version.as_deref(), &config, call)
        .await;
    let outcome = serde_json::to_value(record.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    state.metrics.record_plugin_call(
        &name,
        &record.tool,
        &outcome,
        Duration::from_micros(record.duration_us),
    );
    Ok(ApiJson(
        serde_json::to_value(&record).map_err(ApiError::internal)?,
    ))
}
