//! `GET /api/audit`: the audit log (admin): plugin uploads, swaps,
//! rollbacks, content and learner-data changes, newest first.

use axum::extract::State;
use lectern_runtime::store::AuditEntry;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::plugins::store_error;
use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;

/// Largest page of audit entries.
const MAX_AUDIT_PAGE: i64 = 500;
/// Page size when the caller does not say.
const DEFAULT_AUDIT_PAGE: i64 = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

/// Query of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries whose target starts with this (e.g. `plugin:flash-cards`).
    target_prefix: Option<String>,
    /// Only entries with an id below this (paging).
    before: Option<i64>,
    /// Entries to return (at most 500).
    limit: Option<i64>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "audit", security(("admin_token" = [])),
    params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 401, body = crate::error::ErrorBody)))]
async fn audit_log(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<ApiJson<Vec<AuditEntry>>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_AUDIT_PAGE}."),
        ));
    }
    let entries = state
        .store
        .audit()
        .list(query.target_prefix.as_deref(), query.before, Some(limit))
        .await
        .map_err(store_error)?;
    Ok(ApiJson(entries))
}
