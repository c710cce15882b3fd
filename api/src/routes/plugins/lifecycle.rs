//! Changing which version serves: activate, roll back, disable, enable. The
//! registry is changed first (it refuses what cannot serve), then the database,
//! then the audit log; the other instances are told last.

use axum::extract::State;
use lectern_runtime::plugin::RegistryError;
use lectern_runtime::store::{PluginVersionRecord, VersionStatus};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{PluginDetail, audit, detail, registry_error, store_error, validate_name};
use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::plugin_sync;
use crate::state::AppState;

/// Which version to activate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// Version string or sha256.
    version: String,
}

/// Makes a stored version active: registry first (it refuses what cannot
/// serve, e.g. a tool-name clash), then the database, then the audit log.
pub(super) async fn activate_version(
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

/// Makes a stored version the active one.
#[utoipa::path(post, path = "/api/plugins/{name}/activate", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    request_body = ActivateRequest,
    responses((status = 200, body = PluginDetail), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn activate(
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
pub(super) async fn rollback(
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
pub(super) async fn disable(
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
pub(super) async fn enable(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<PluginDetail>, ApiError> {
    Ok(ApiJson(set_enabled(&state, &name, true).await?))
}
