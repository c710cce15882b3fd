//! Plugin administration (admin only): list, upload, activate, roll back,
//! disable/enable, invoke a tool (the playground). The audit log is read
//! through [`super::audit`].
//!
//! Every change is validated by the runtime before anything is written, is
//! written to the database (the truth every instance follows, see
//! [`crate::plugin_sync`]), recorded in `audit_log`, counted in
//! `lectern_plugin_swaps_total`, and announced to the other instances.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use lectern_runtime::plugin::{LoadError, RegistryError, ToolCall, digest_of};
use lectern_runtime::store::{
    NewAuditEntry, NewPluginVersion, PluginRecord, PluginVersionRecord, StoreError, VersionStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::plugin_sync;
use crate::state::AppState;

/// Actor recorded in the audit log for changes made with the admin token.
const ADMIN_ACTOR: &str = "admin";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plugins, upload_plugin))
        .routes(routes!(get_plugin))
        .routes(routes!(list_versions))
        .routes(routes!(activate))
        .routes(routes!(rollback))
        .routes(routes!(disable))
        .routes(routes!(enable))
        .routes(routes!(invoke))
}

/// A plugin with its stored versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginDetail {
    /// The plugin.
    #[serde(flatten)]
    plugin: PluginRecord,
    /// Whether this instance serves the active version right now.
    loaded: bool,
    /// Stored versions, newest first.
    versions: Vec<PluginVersionRecord>,
}

/// Result of an upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// Plugin name (from the manifest).
    plugin: String,
    /// Version (from the manifest).
    version: String,
    /// sha256 of the component.
    sha256: String,
    /// Component size.
    size_bytes: usize,
    /// `false` when these exact bytes were already stored.
    newly_stored: bool,
    /// Whether the version is now active.
    active: bool,
    /// The checked manifest.
    #[schema(value_type = Object)]
    manifest: serde_json::Value,
}

/// Query of the upload.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Activate the version once stored.
    #[serde(default)]
    activate: bool,
}

/// Which version to activate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// Version string or sha256.
    version: String,
}

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

pub(super) fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound { what } => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} does not exist; list plugins with GET /api/plugins."),
        ),
        StoreError::Conflict(message) => ApiError::conflict(
            "conflict",
            format!("{message}; change the version in the plugin's manifest."),
        ),
        StoreError::Invalid(message) => ApiError::unprocessable("invalid", message),
        other => ApiError::internal(other),
    }
}

fn load_error(error: LoadError) -> ApiError {
    ApiError::unprocessable(error.code.as_str(), error.to_string())
}

fn registry_error(error: RegistryError) -> ApiError {
    let status = match &error {
        RegistryError::UnknownPlugin(_) | RegistryError::UnknownVersion { .. } => {
            StatusCode::NOT_FOUND
        }
        RegistryError::ToolNameClash { .. } | RegistryError::AmbiguousVersion { .. } => {
            StatusCode::CONFLICT
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, error.code(), error.to_string())
}

fn validate_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_plugin_name",
            "Plugin names are 1 to 100 characters of lowercase letters, digits, `-` and `_`.",
        ))
    }
}

async fn audit(
    state: &AppState,
    action: &str,
    plugin: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    state
        .store
        .audit()
        .append(&NewAuditEntry {
            actor: ADMIN_ACTOR.to_owned(),
            action: action.to_owned(),
            target: format!("plugin:{plugin}"),
            details,
        })
        .await
        .map_err(store_error)?;
    Ok(())
}

async fn detail(state: &AppState, name: &str) -> Result<PluginDetail, ApiError> {
    let started = std::time::Instant::now();
    let plugin = state.store.plugins().get(name).await.map_err(store_error)?;
    let versions = state
        .store
        .plugins()
        .versions(name)
        .await
        .map_err(store_error)?;
    state.metrics.observe_db("plugin_detail", started.elapsed());
    let loaded = match (&plugin.active_sha256, state.plugins.registry().get(name)) {
        (Some(sha), Ok(summary)) => {
            summary.active.as_deref() == Some(sha.as_str()) && !summary.disabled
        }
        _ => false,
    };
    Ok(PluginDetail {
        plugin,
        loaded,
        versions,
    })
}

/// Lists plugins.
#[utoipa::path(get, path = "/api/plugins", tag = "plugins", security(("admin_token" = [])),
    responses((status = 200, body = [PluginRecord]), (status = 401, body = crate::error::ErrorBody)))]
async fn list_plugins(
    _admin: AdminAuth,
    State(state): State<AppState>,
) -> Result<ApiJson<Vec<PluginRecord>>, ApiError> {
    let started = std::time::Instant::now();
    let list = state.store.plugins().list().await.map_err(store_error)?;
    state.metrics.observe_db("plugin_list", started.elapsed());
    Ok(ApiJson(list))
}

/// Uploads a version: the raw component as `application/wasm`. It is validated
/// by the runtime (contract version, imports, compilation, manifest, schemas)
/// before anything is stored.
#[utoipa::path(post, path = "/api/plugins", tag = "plugins", security(("admin_token" = [])),
    params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = Uploaded), (status = 200, body = Uploaded, description = "These bytes were already stored"),
              (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
              (status = 415, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn upload_plugin(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, ApiJson<Uploaded>), ApiError> {
    let is_wasm = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/wasm"))
        });
    if !is_wasm {
        return Err(ApiError::unsupported_media_type("application/wasm"));
    }
    // Read with the upload limit rather than the JSON body limit.
    let limit = state.config.max_plugin_upload_bytes;
    let body: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::payload_too_large(limit))?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "empty_body",
            "Send the component's bytes as the request body.",
        ));
    }
    // Validate without keeping: nothing changes unless everything passes.
    let version = state.plugins.load(&body).await.map_err(load_error)?;
    let name = version.name().to_owned();
    let sha256 = digest_of(&body);
    let manifest = serde_json::to_value(version.manifest()).map_err(ApiError::internal)?;

    let existing = state.store.plugins().versions(&name).await;
    let existing = match existing {
        Ok(list) => list,
        Err(StoreError::NotFound { .. }) => Vec::new(),
        Err(other) => return Err(store_error(other)),
    };
    let same = existing.iter().find(|v| v.sha256 == sha256);
    let newly_stored = same.is_none();
    if let Some(clash) = existing
        .iter()
        .find(|v| v.version == version.version() && v.sha256 != sha256)
    {
        return Err(ApiError::conflict(
            "version_exists",
            format!(
                "{name} version {} is already stored with different bytes ({}); bump the version in the manifest.",
                clash.version, clash.sha256
            ),
        ));
    }
    if newly_stored {
        state
            .store
            .plugins()
            .add_version(&NewPluginVersion {
                plugin_name: name.clone(),
                version: version.version().to_owned(),
                sha256: sha256.clone(),
                manifest: manifest.clone(),
                wasm: Some(body.to_vec()),
                path: None,
                size_bytes: body.len() as i64,
                status: VersionStatus::Inactive,
            })
            .await
            .map_err(store_error)?;
        state.plugins.install(&body).await.map_err(load_error)?;
        audit(
            &state,
            "plugin.upload",
            &name,
            serde_json::json!({ "version": version.version(), "sha256": sha256, "size_bytes": body.len() }),
        )
        .await?;
    }
    let mut active = false;
    if query.activate {
        activate_version(&state, &name, &sha256, "plugin.activate").await?;
        active = true;
    }
    let status = if newly_stored {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        ApiJson(Uploaded {
            plugin: name,
            version: version.version().to_owned(),
            sha256,
            size_bytes: body.len(),
            newly_stored,
            active,
            manifest,
        }),
    ))
}

/// Makes a stored version active: registry first (it refuses what cannot
/// serve, e.g. a tool-name clash), then the database, then the audit log.
async fn activate_version(
    state: &AppState,
    name: &str,
    spec: &str,
    action: &str,
) -> Result<PluginVersionRecord, ApiError> {
    let versions = state
        .store
        .plugins()
        .versions(name)
        .await
        .map_err(store_error)?;
    let target = versions
        .iter()
        .find(|v| v.sha256 == spec)
        .or_else(|| versions.iter().find(|v| v.version == spec))
        .cloned()
        .ok_or_else(|| ApiError::not_found("version", spec))?;
    if target.status == VersionStatus::Rejected {
        return Err(ApiError::unprocessable(
            "version_rejected",
            format!(
                "{name} {} was rejected and cannot be activated.",
                target.version
            ),
        ));
    }
    plugin_sync::ensure_loaded(
        &state.plugins,
        &state.store,
        name,
        &target.version,
        &target.sha256,
    )
    .await
    .map_err(ApiError::internal)?;
    let registry = state.plugins.registry();
    let previous = registry.get(name).ok().and_then(|s| s.active);
    let was_disabled = registry.get(name).map(|s| s.disabled).unwrap_or(false);
    if was_disabled {
        registry.enable(name).map_err(registry_error)?;
    }
    let result = registry.activate(name, &target.sha256);
    if was_disabled {
        let _ = registry.disable(name);
    }
    result.map_err(registry_error)?;
    if let Err(error) = state
        .store
        .plugins()
        .activate_version(name, &target.version)
        .await
    {
        // Keep memory equal to the database.
        if let Some(previous) = previous {
            let _ = registry.activate(name, &previous);
        }
        return Err(store_error(error));
    }
    audit(
        state,
        action,
        name,
        serde_json::json!({ "version": target.version, "sha256": target.sha256, "previous_sha256": previous }),
    )
    .await?;
    state
        .metrics
        .record_plugin_swap(name, action.trim_start_matches("plugin."));
    state.plugin_sync.publish(name).await;
    Ok(target)
}

/// One plugin with its versions.
#[utoipa::path(get, path = "/api/plugins/{name}", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 200, body = PluginDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_plugin(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<PluginDetail>, ApiError> {
    validate_name(&name)?;
    Ok(ApiJson(detail(&state, &name).await?))
}

/// The stored versions of a plugin, newest first.
#[utoipa::path(get, path = "/api/plugins/{name}/versions", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 200, body = [PluginVersionRecord]), (status = 404, body = crate::error::ErrorBody)))]
async fn list_versions(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<Vec<PluginVersionRecord>>, ApiError> {
    validate_name(&name)?;
    Ok(ApiJson(detail(&state, &name).await?.versions))
}

/// Makes a stored version the active one.
#[utoipa::path(post, path = "/api/plugins/{name}/activate", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    request_body = ActivateRequest,
    responses((status = 200, body = PluginDetail), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn activate(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<ActivateRequest>,
) -> Result<ApiJson<PluginDetail>, ApiError> {
    validate_name(&name)?;
    activate_version(&state, &name, &request.version, "plugin.activate").await?;
    Ok(ApiJson(detail(&state, &name).await?))
}

/// Goes back to the version that was active before the current one (by
/// activation time in the database, so it works on every instance).
#[utoipa::path(post, path = "/api/plugins/{name}/rollback", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 200, body = PluginDetail), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
async fn rollback(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<PluginDetail>, ApiError> {
    validate_name(&name)?;
    let versions = state
        .store
        .plugins()
        .versions(&name)
        .await
        .map_err(store_error)?;
    let previous = versions
        .iter()
        .filter(|v| v.status == VersionStatus::Inactive && v.activated_at_ms.is_some())
        .max_by_key(|v| (v.activated_at_ms, v.id))
        .ok_or_else(|| {
            ApiError::conflict(
                "nothing_to_roll_back",
                format!(
                    "{name} has no previously active version; activate a specific version instead."
                ),
            )
        })?;
    let sha = previous.sha256.clone();
    activate_version(&state, &name, &sha, "plugin.rollback").await?;
    Ok(ApiJson(detail(&state, &name).await?))
}

async fn set_enabled(
    state: &AppState,
    name: &str,
    enabled: bool,
) -> Result<PluginDetail, ApiError> {
    validate_name(name)?;
    let record = state.store.plugins().get(name).await.map_err(store_error)?;
    let registry = state.plugins.registry();
    let change = if enabled {
        registry.enable(name)
    } else {
        registry.disable(name)
    };
    match change {
        Ok(()) | Err(RegistryError::UnknownPlugin(_)) => {}
        Err(other) => return Err(registry_error(other)),
    }
    if let Err(error) = state.store.plugins().set_enabled(name, enabled).await {
        let _ = if record.enabled {
            registry.enable(name)
        } else {
            registry.disable(name)
        };
        return Err(store_error(error));
    }
    let action = if enabled {
        "plugin.enable"
    } else {
        "plugin.disable"
    };
    audit(state, action, name, serde_json::json!({})).await?;
    state
        .metrics
        .record_plugin_swap(name, action.trim_start_matches("plugin."));
    state.plugin_sync.publish(name).await;
    detail(state, name).await
}

/// Stops offering the plugin's tools (versions are kept).
#[utoipa::path(post, path = "/api/plugins/{name}/disable", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 200, body = PluginDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn disable(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<PluginDetail>, ApiError> {
    Ok(ApiJson(set_enabled(&state, &name, false).await?))
}

/// Offers the plugin's tools again.
#[utoipa::path(post, path = "/api/plugins/{name}/enable", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 200, body = PluginDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn enable(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<PluginDetail>, ApiError> {
    Ok(ApiJson(set_enabled(&state, &name, true).await?))
}

/// Runs one tool of the plugin against a subtopic's lesson (the playground).
/// The answer is the full call record, whatever the outcome.
#[utoipa::path(post, path = "/api/plugins/{name}/invoke", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    request_body = InvokeRequest,
    responses((status = 200, description = "The call record (outcome, output or error, logs, limits hit)", body = Object),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn invoke(
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
