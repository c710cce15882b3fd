//! Plugin administration (admin only): list, upload, activate, roll back,
//! disable/enable, invoke a tool (the playground). The audit log is read
//! through [`super::audit`].
//!
//! Every change is validated by the runtime before anything is written, is
//! written to the database (the truth every instance follows, see
//! [`crate::plugin_sync`]), recorded in `audit_log`, counted in
//! `lectern_plugin_swaps_total`, and announced to the other instances.
//!
//! One module per concern: [`read`] (list, one plugin, its versions),
//! [`upload`], [`lifecycle`] (activate, roll back, disable, enable) and
//! [`playground`]; the error mapping and audit helpers they share are here.

use axum::http::StatusCode;
use lectern_runtime::plugin::{LoadError, RegistryError};
use lectern_runtime::store::{NewAuditEntry, PluginRecord, PluginVersionRecord, StoreError};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiError;
use crate::state::AppState;

mod lifecycle;
mod playground;
mod read;
mod upload;

/// Actor recorded in the audit log for changes made with the admin token.
const ADMIN_ACTOR: &str = "admin";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read::list_plugins, upload::upload_plugin))
        .routes(routes!(read::get_plugin))
        .routes(routes!(read::list_versions))
        .routes(routes!(lifecycle::activate))
        .routes(routes!(lifecycle::rollback))
        .routes(routes!(lifecycle::disable))
        .routes(routes!(lifecycle::enable))
        .routes(routes!(playground::invoke))
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

pub(super) fn load_error(error: LoadError) -> ApiError {
    ApiError::unprocessable(error.code.as_str(), error.to_string())
}

pub(super) fn registry_error(error: RegistryError) -> ApiError {
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

pub(super) fn validate_name(name: &str) -> Result<(), ApiError> {
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

pub(super) async fn audit(
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

pub(super) async fn detail(state: &AppState, name: &str) -> Result<PluginDetail, ApiError> {
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
