//! `GET /api/config`: what the web client needs to know before a lesson, i.e.
//! which transport carries it.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(client_config))
}

/// How lessons reach this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LessonTransport {
    /// The embedded WebSocket protocol (`POST /api/sessions`).
    Ws,
    /// A LiveKit room the lesson agent joins (`POST /api/connection-details`).
    Livekit,
}

/// The public client configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientConfig {
    /// `livekit` only when LiveKit credentials are configured and this binary
    /// was built with the LiveKit agent; `ws` otherwise.
    transport: LessonTransport,
    /// The LiveKit server URL browsers join, when `transport` is `livekit`.
    livekit_url: Option<String>,
}

/// Which transport lessons use.
///
/// Credentials alone are not enough for `livekit`: without the agent in this
/// binary nobody would answer in the room, so such a server stays on `ws`
/// (whose lessons work) rather than send learners into an empty room.
#[utoipa::path(get, path = "/api/config", tag = "sessions",
    responses((status = 200, body = ClientConfig)))]
async fn client_config(State(state): State<AppState>) -> ApiJson<ClientConfig> {
    let livekit = state
        .livekit
        .as_deref()
        .filter(|_| cfg!(feature = "livekit"));
    ApiJson(match livekit {
        Some(livekit) => ClientConfig {
            transport: LessonTransport::Livekit,
            livekit_url: Some(livekit.url.clone()),
        },
        None => ClientConfig {
            transport: LessonTransport::Ws,
            livekit_url: None,
        },
    })
}
