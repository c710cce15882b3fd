//! Uploading a version: the raw component, validated by the runtime before
//! anything is stored.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use lectern_runtime::plugin::digest_of;
use lectern_runtime::store::{NewPluginVersion, StoreError, VersionStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::lifecycle::activate_version;
use super::{audit, load_error, store_error};
use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;

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

/// Uploads a version: the raw component as `application/wasm`. It is validated
/// by the runtime (contract version, imports, compilation, manifest, schemas)
/// before anything is stored.
#[utoipa::path(post, path = "/api/plugins", tag = "plugins", security(("admin_token" = [])),
    params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = Uploaded), (status = 200, body = Uploaded, description = "These bytes were already stored"),
              (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
              (status = 415, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn upload_plugin(
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
    // Validate without keeping: nothing changes unless everything passes. The
    // validated version is what gets kept below, so the component is compiled
    // and described once.
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
        state.plugins.keep(version.clone());
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
