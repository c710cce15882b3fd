//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .routes(routes!(api_metrics))
}

/// Liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    status: &'static str,
    /// Server version.
    version: &'static str,
}

/// Readiness answer: each dependency and whether it is usable.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when every check passed.
    status: &'static str,
    /// One entry per dependency.
    checks: Vec<ReadinessCheck>,
}

/// One readiness check.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessCheck {
    /// What was checked (`database`, `plugins`).
    name: &'static str,
    /// Whether it is usable.
    ok: bool,
    /// Details when not usable.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// The process is alive.
#[utoipa::path(get, path = "/api/health", tag = "operations",
    responses((status = 200, body = Health)))]
async fn health() -> ApiJson<Health> {
    ApiJson(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The server can serve lessons: database reachable, plugins loaded.
#[utoipa::path(get, path = "/api/ready", tag = "operations",
    responses((status = 200, body = Readiness),
              (status = 503, body = crate::error::ErrorBody)))]
async fn ready(State(state): State<AppState>) -> Result<ApiJson<Readiness>, ApiError> {
    let checks = state.readiness_checks().await;
    let failing: Vec<String> = checks
        .iter()
        .filter(|(_, result)| result.is_err())
        .map(|(name, result)| {
            format!(
                "{name}: {}",
                result.as_ref().err().map_or("", |s| s.as_str())
            )
        })
        .collect();
    if !failing.is_empty() {
        return Err(ApiError::unavailable(
            "not_ready",
            format!(
                "The server is not ready ({}); check its logs and dependencies.",
                failing.join("; ")
            ),
        ));
    }
    Ok(ApiJson(Readiness {
        status: "ready",
        checks: checks
            .into_iter()
            .map(|(name, result)| ReadinessCheck {
                name,
                ok: result.is_ok(),
                detail: result.err(),
            })
            .collect(),
    }))
}

fn render_metrics(state: &AppState) -> impl IntoResponse + use<> {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render_all(state),
    )
}

/// The server's registry, then the lesson metrics, then (when LiveKit is
/// configured, so an agent worker may run) the worker's: one exposition.
fn render_all(state: &AppState) -> String {
    let mut text = state.metrics.render();
    text.push_str(&state.lesson_metrics.render_prometheus());
    if state.livekit.is_some() {
        text.push_str(&state.worker_metrics.render_prometheus());
    }
    text
}

/// Prometheus metrics in text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    render_metrics(&state)
}

/// Prometheus metrics in text format (same as `/metrics`).
#[utoipa::path(get, path = "/api/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
async fn api_metrics(State(state): State<AppState>) -> impl IntoResponse {
    render_metrics(&state)
}
