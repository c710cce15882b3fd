//! Reading plugins: the list, one plugin with its versions, its versions alone.

use axum::extract::State;
use lectern_runtime::store::{PluginRecord, PluginVersionRecord};

use super::{PluginDetail, detail, store_error, validate_name};
use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// Lists plugins.
#[utoipa::path(get, path = "/api/plugins", tag = "plugins", security(("admin_token" = [])),
    responses((status = 200, body = [PluginRecord]), (status = 401, body = crate::error::ErrorBody)))]
pub(super) async fn list_plugins(
    _admin: AdminAuth,
    State(state): State<AppState>,
) -> Result<ApiJson<Vec<PluginRecord>>, ApiError> {
    let started = std::time::Instant::now();
    let list = state.store.plugins().list().await.map_err(store_error)?;
    state.metrics.observe_db("plugin_list", started.elapsed());
    Ok(ApiJson(list))
}

/// One plugin with its versions.
#[utoipa::path(get, path = "/api/plugins/{name}", tag = "plugins", security(("admin_token" = [])),
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 200, body = PluginDetail), (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn get_plugin(
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
pub(super) async fn list_versions(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<Vec<PluginVersionRecord>>, ApiError> {
    validate_name(&name)?;
    Ok(ApiJson(detail(&state, &name).await?.versions))
}
