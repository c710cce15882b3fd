//! Voice lessons over the embedded `ws` transport (see `docs/ws-protocol.md`).
//!
//! `POST /api/sessions` checks the subtopic and hands out a single-use token
//! that lives [`SESSION_TOKEN_TTL_SECS`]; nothing is written until the browser
//! connects to `GET /api/sessions/{id}/ws?token=…`, which consumes the token,
//! upgrades, and runs the lesson in its own task. `GET /api/sessions` (admin)
//! lists the lessons running in this process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use lectern_runtime::session::{LessonDeps, LessonSession, LessonSpec};
use lectern_runtime::store::StoreError;
use lectern_runtime::transport::ws::{
    MAX_AUDIO_MESSAGE_BYTES, MAX_TEXT_MESSAGE_BYTES, READ_BUFFER_BYTES, WsFrame, WsTransport,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{Notify, watch};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::rate_limit::RateLimited;
use crate::state::AppState;

/// A session token must be used within this many seconds.
pub const SESSION_TOKEN_TTL_SECS: u64 = 60;
/// Random bytes in a session token (hex-encoded on the wire).
pub const SESSION_TOKEN_BYTES: usize = 32;
/// Most tokens waiting to be used at once; beyond it new lessons are refused
/// until some expire, so a flood of unused tokens cannot grow memory.
pub const MAX_PENDING_SESSIONS: usize = 10_000;
/// Longest learner id, in characters.
pub const MAX_LEARNER_ID_CHARS: usize = 128;
/// Longest learner display name, in characters.
pub const MAX_LEARNER_NAME_CHARS: usize = 128;
/// Longest subtopic id, in characters.
pub const MAX_SUBTOPIC_ID_CHARS: usize = 128;
/// Largest WebSocket message accepted from a browser: the larger of the audio
/// and text limits; the transport applies the exact per-kind limit.
pub const MAX_WS_MESSAGE_BYTES: usize = if MAX_AUDIO_MESSAGE_BYTES > MAX_TEXT_MESSAGE_BYTES {
    MAX_AUDIO_MESSAGE_BYTES
} else {
    MAX_TEXT_MESSAGE_BYTES
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session, list_sessions))
        .routes(routes!(connect_session))
}

/// A lesson that was asked for but not yet connected.
struct Pending {
    token_sha256: [u8; 32],
    expires_at: Instant,
    lesson: LiveLesson,
}

/// Pending session tokens and the lessons running in this process.
pub struct LessonSessions {
    pending: Mutex<HashMap<String, Pending>>,
    live: Mutex<HashMap<String, LiveLesson>>,
    /// Set once the server shuts down: no lesson starts any more.
    draining: AtomicBool,
    /// Turns true at shutdown; every running lesson watches it.
    shutdown: watch::Sender<bool>,
    /// Signalled whenever a lesson leaves the live list.
    ended: Notify,
}

impl Default for LessonSessions {
    fn default() -> Self {
        Self {
            pending: Mutex::default(),
            live: Mutex::default(),
            draining: AtomicBool::new(false),
            shutdown: watch::Sender::new(false),
            ended: Notify::new(),
        }
    }
}

impl std::fmt::Debug for LessonSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LessonSessions")
            .field("pending", &self.pending.lock().expect("pending lock").len())
            .field("live", &self.live.lock().expect("live lock").len())
            .finish()
    }
}

/// Why a token was refused.
enum TokenRefusal {
    Unknown,
    Expired,
}

impl LessonSessions {
    /// Tokens handed out and neither used nor expired.
    pub fn pending_count(&self) -> usize {
        let now = Instant::now();
        let pending = self.pending.lock().expect("pending lock");
        pending.values().filter(|p| p.expires_at > now).count()
    }

    /// Lessons running now.
    pub fn live_count(&self) -> usize {
        self.live.lock().expect("live lock").len()
    }

    /// Whether the server is shutting down (new lessons are refused).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Refuses new lessons from now on and tells every running lesson to
    /// end cleanly.
    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::Release);
        self.pending.lock().expect("pending lock").clear();
        self.shutdown.send_replace(true);
    }

    /// Waits until no lesson runs, at most `limit`; true when none is left.
    pub async fn wait_drained(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.live_count() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return self.live_count() == 0;
            }
        }
    }

    fn refuse_when_draining(&self) -> Result<(), ApiError> {
        if self.is_draining() {
            return Err(ApiError::unavailable(
                "shutting_down",
                "This server is shutting down and starts no new lessons; retry in a moment (another instance may take it).",
            ));
        }
        Ok(())
    }

    fn add_pending(&self, token: &str, lesson: LiveLesson) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut pending = self.pending.lock().expect("pending lock");
        pending.retain(|_, p| p.expires_at > now);
        if pending.len() >= MAX_PENDING_SESSIONS {
            return Err(ApiError::unavailable(
                "too_many_pending_sessions",
                "Too many lessons are waiting to connect; retry in a minute.",
            ));
        }
        pending.insert(
            lesson.session_id.clone(),
            Pending {
                token_sha256: Sha256::digest(token.as_bytes()).into(),
                expires_at: now + Duration::from_secs(SESSION_TOKEN_TTL_SECS),
                lesson,
            },
        );
        Ok(())
    }

    /// Checks `token` for `session_id`; when it is good and `consume` is set,
    /// removes it (single use).
    fn check(
        &self,
        session_id: &str,
        token: &str,
        consume: bool,
    ) -> Result<Option<LiveLesson>, TokenRefusal> {
        let mut pending = self.pending.lock().expect("pending lock");
        let entry = pending.get(session_id).ok_or(TokenRefusal::Unknown)?;
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if !bool::from(presented.ct_eq(&entry.token_sha256)) {
            return Err(TokenRefusal::Unknown);
        }
        if entry.expires_at <= Instant::now() {
            pending.remove(session_id);
            return Err(TokenRefusal::Expired);
        }
        Ok(consume.then(|| pending.remove(session_id).expect("present above").lesson))
    }

    fn live(&self) -> Vec<LiveLesson> {
        let mut out: Vec<LiveLesson> = self
            .live
            .lock()
            .expect("live lock")
            .values()
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.started_at_ms, &a.session_id).cmp(&(b.started_at_ms, &b.session_id)));
        out
    }
}

/// Keeps a lesson in the live list and the gauge for as long as it runs,
/// even if its task panics.
struct LiveGuard {
    state: AppState,
    session_id: String,
}

impl LiveGuard {
    fn new(state: AppState, mut lesson: LiveLesson) -> Self {
        lesson.started_at_ms = now_ms();
        let session_id = lesson.session_id.clone();
        state
            .lessons
            .live
            .lock()
            .expect("live lock")
            .insert(session_id.clone(), lesson);
        state.metrics.live_sessions.inc();
        Self { state, session_id }
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.state.metrics.live_sessions.dec();
        if let Ok(mut live) = self.state.lessons.live.lock() {
            live.remove(&self.session_id);
        }
        self.state.lessons.ended.notify_waiters();
    }
}

/// Body of `POST /api/sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// The subtopic to teach.
    subtopic_id: String,
    /// The learner, opaque and stable (letters, digits, `_`, `-`, `.`, `@`, `:`; at most 128).
    learner_id: String,
    /// Display name (at most 128 characters).
    #[serde(default)]
    learner_name: Option<String>,
}

/// A lesson ready to connect.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    /// The lesson's id (also its conversation id in the history).
    session_id: String,
    /// Single-use token for the WebSocket.
    token: String,
    /// WebSocket path to open, relative to this server, token included.
    ws_url: String,
    /// Seconds left to connect.
    expires_in_s: u64,
}

/// A lesson running in this process.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LiveLesson {
    /// The lesson's id.
    session_id: String,
    /// The learner.
    learner_id: String,
    /// The learner's display name, when given.
    learner_name: Option<String>,
    /// The subtopic the lesson started with.
    subtopic_id: String,
    /// Title of that subtopic.
    subtopic_title: String,
    /// When the learner connected (ms since the Unix epoch).
    started_at_ms: i64,
    /// Always `ws` (LiveKit lessons run in the agent worker).
    transport: &'static str,
}

/// The lessons running in this process.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveLessons {
    /// Oldest first.
    sessions: Vec<LiveLesson>,
}

/// Query of the lesson WebSocket.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConnectQuery {
    /// The token from `POST /api/sessions`.
    #[serde(default)]
    token: Option<String>,
}

/// Starts a lesson: answers a single-use token for its WebSocket.
#[utoipa::path(post, path = "/api/sessions", tag = "sessions",
    request_body = CreateSession,
    responses((status = 201, body = SessionCreated),
              (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 415, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
async fn create_session(
    _limit: RateLimited,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateSession>,
) -> Result<(StatusCode, ApiJson<SessionCreated>), ApiError> {
    let subtopic_id = validate_subtopic_id(request.subtopic_id)?;
    let learner_id = validate_learner_id(request.learner_id)?;
    let learner_name = request
        .learner_name
        .map(validate_learner_name)
        .transpose()?;
    state.lessons.refuse_when_draining()?;
    if state.lesson_config.is_none() {
        return Err(ApiError::unavailable(
            "realtime_not_configured",
            "Voice lessons need the OpenAI Realtime API: set OPENAI_API_KEY (or OPENAI_REALTIME_URL for a local or compatible Realtime server), then restart.",
        ));
    }
    let subtopic = state
        .store
        .content()
        .subtopic(&subtopic_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                "subtopic_not_found",
                format!(
                    "Subtopic {subtopic_id:?} does not exist; pick one from GET /api/topics/{{id}}/subtopics."
                ),
            ),
            other => ApiError::internal(other),
        })?;
    let session_id = format!("lesson-{}", uuid::Uuid::new_v4().simple());
    let token = new_token()?;
    state.lessons.add_pending(
        &token,
        LiveLesson {
            session_id: session_id.clone(),
            learner_id,
            learner_name,
            subtopic_id,
            subtopic_title: subtopic.title,
            started_at_ms: 0,
            transport: "ws",
        },
    )?;
    Ok((
        StatusCode::CREATED,
        ApiJson(SessionCreated {
            ws_url: format!("/api/sessions/{session_id}/ws?token={token}"),
            session_id,
            token,
            expires_in_s: SESSION_TOKEN_TTL_SECS,
        }),
    ))
}

/// Lists the lessons running in this process (admin).
#[utoipa::path(get, path = "/api/sessions", tag = "sessions",
    security(("admin_token" = [])),
    responses((status = 200, body = LiveLessons),
              (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
async fn list_sessions(_admin: AdminAuth, State(state): State<AppState>) -> ApiJson<LiveLessons> {
    ApiJson(LiveLessons {
        sessions: state.lessons.live(),
    })
}

/// The lesson's WebSocket (protocol in `docs/ws-protocol.md`). The token is
/// checked before the upgrade and is good for one connection.
#[utoipa::path(get, path = "/api/sessions/{id}/ws", tag = "sessions",
    params(("id" = String, Path, description = "Session id from POST /api/sessions"), ConnectQuery),
    responses((status = 101, description = "Switched to the lesson WebSocket"),
              (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
async fn connect_session(
    State(state): State<AppState>,
    ApiPath(session_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ConnectQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Some(token) = query.token.filter(|t| !t.is_empty()) else {
        return Err(ApiError::unauthorized(
            "Connect with `?token=<token>` from POST /api/sessions.",
        ));
    };
    state.lessons.refuse_when_draining()?;
    // Check first, so a request that cannot upgrade does not burn the token.
    state
        .lessons
        .check(&session_id, &token, false)
        .map_err(refusal)?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::bad_request(
            "websocket_required",
            format!("This route only accepts a WebSocket upgrade ({e})."),
        )
    })?;
    let lesson = state
        .lessons
        .check(&session_id, &token, true)
        .map_err(refusal)?
        .expect("consumed");
    let response = upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(MAX_WS_MESSAGE_BYTES)
        .max_frame_size(MAX_WS_MESSAGE_BYTES)
        .on_upgrade(move |socket| run_lesson(state, lesson, socket));
    Ok(response.into_response())
}

fn refusal(reason: TokenRefusal) -> ApiError {
    match reason {
        TokenRefusal::Unknown => ApiError::forbidden(
            "session_token_invalid",
            "This token does not open this lesson, or was already used; start a new lesson with POST /api/sessions.",
        ),
        TokenRefusal::Expired => ApiError::forbidden(
            "session_token_expired",
            format!(
                "The token expired (tokens live {SESSION_TOKEN_TTL_SECS} s); start a new lesson with POST /api/sessions."
            ),
        ),
    }
}

async fn run_lesson(state: AppState, lesson: LiveLesson, socket: WebSocket) {
    let Some(config) = state.lesson_config.clone() else {
        return;
    };
    let spec = LessonSpec {
        session_id: lesson.session_id.clone(),
        learner_id: lesson.learner_id.clone(),
        subtopic_id: lesson.subtopic_id.clone(),
        room: lesson.session_id.clone(),
    };
    let deps = LessonDeps {
        host: state.plugins.clone(),
        store: state.store.clone(),
        metrics: state.lesson_metrics.clone(),
    };
    let transport = WsTransport::new(
        socket
            .map(|m| m.map(frame_from_axum))
            .with(|f: WsFrame| futures::future::ready(Ok::<_, axum::Error>(frame_to_axum(f)))),
    );
    let session_id = lesson.session_id.clone();
    let _live = LiveGuard::new(state.clone(), lesson);
    let shutdown = state.lessons.shutdown.subscribe();
    match LessonSession::run_until(deps, (*config).clone(), spec, transport, shutdown).await {
        Ok(summary) => tracing::info!(
            session_id,
            reason = summary.reason.as_str(),
            tool_calls = summary.tool_calls,
            interruptions = summary.interruptions,
            reconnects = summary.reconnects,
            "lesson ended"
        ),
        Err(e) => tracing::warn!(session_id, error = %e, "lesson could not start"),
    }
}

fn frame_from_axum(m: Message) -> WsFrame {
    match m {
        Message::Text(t) => WsFrame::Text(t.as_str().to_owned()),
        Message::Binary(b) => WsFrame::Binary(b),
        Message::Close(_) => WsFrame::Close,
        Message::Ping(_) | Message::Pong(_) => WsFrame::Other,
    }
}

fn frame_to_axum(f: WsFrame) -> Message {
    match f {
        WsFrame::Text(t) => Message::Text(t.into()),
        WsFrame::Binary(b) => Message::Binary(b),
        WsFrame::Close => Message::Close(None),
        WsFrame::Other => Message::Pong(Default::default()),
    }
}

fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; SESSION_TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("reading the OS random source: {e}")))?;
    Ok(hex::encode(bytes))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn check_chars(value: &str, max_chars: usize, allowed: impl Fn(char) -> bool) -> bool {
    let count = value.chars().count();
    count > 0 && count <= max_chars && value.chars().all(allowed)
}

fn validate_subtopic_id(id: String) -> Result<String, ApiError> {
    if check_chars(&id, MAX_SUBTOPIC_ID_CHARS, |c| {
        c.is_ascii_alphanumeric() || "_-.".contains(c)
    }) {
        Ok(id)
    } else {
        Err(ApiError::unprocessable(
            "invalid_subtopic_id",
            format!(
                "Subtopic ids are 1 to {MAX_SUBTOPIC_ID_CHARS} characters of letters, digits, `_`, `-` and `.`."
            ),
        ))
    }
}

fn validate_learner_id(id: String) -> Result<String, ApiError> {
    if check_chars(&id, MAX_LEARNER_ID_CHARS, |c| {
        c.is_ascii_alphanumeric() || "_-.@:".contains(c)
    }) {
        Ok(id)
    } else {
        Err(ApiError::unprocessable(
            "invalid_learner_id",
            format!(
                "Learner ids are 1 to {MAX_LEARNER_ID_CHARS} characters of letters, digits, `_`, `-`, `.`, `@` and `:`."
            ),
        ))
    }
}

fn validate_learner_name(name: String) -> Result<String, ApiError> {
    let trimmed = name.trim();
    if check_chars(trimmed, MAX_LEARNER_NAME_CHARS, |c| !c.is_control()) {
        Ok(trimmed.to_owned())
    } else {
        Err(ApiError::unprocessable(
            "invalid_learner_name",
            format!(
                "learner_name is 1 to {MAX_LEARNER_NAME_CHARS} characters without control characters."
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson(id: &str) -> LiveLesson {
        LiveLesson {
            session_id: id.into(),
            learner_id: "l".into(),
            learner_name: None,
            subtopic_id: "s".into(),
            subtopic_title: "S".into(),
            started_at_ms: 0,
            transport: "ws",
        }
    }

    #[test]
    fn an_expired_token_is_refused_and_forgotten() {
        let sessions = LessonSessions::default();
        sessions.add_pending("t", lesson("a")).unwrap();
        sessions
            .pending
            .lock()
            .unwrap()
            .get_mut("a")
            .unwrap()
            .expires_at = Instant::now() - Duration::from_millis(1);
        assert_eq!(sessions.pending_count(), 0);
        assert!(matches!(
            sessions.check("a", "t", false),
            Err(TokenRefusal::Expired)
        ));
        assert!(matches!(
            sessions.check("a", "t", true),
            Err(TokenRefusal::Unknown)
        ));
    }

    #[test]
    fn a_token_opens_its_lesson_once() {
        let sessions = LessonSessions::default();
        sessions.add_pending("t", lesson("a")).unwrap();
        assert!(matches!(sessions.check("a", "t", false), Ok(None)));
        assert!(matches!(
            sessions.check("a", "x", true),
            Err(TokenRefusal::Unknown)
        ));
        let opened = sessions.check("a", "t", true).ok().flatten().unwrap();
        assert_eq!(opened.session_id, "a");
        assert!(matches!(
            sessions.check("a", "t", true),
            Err(TokenRefusal::Unknown)
        ));
    }

    #[test]
    fn tokens_are_random_hex() {
        let a = new_token().unwrap();
        assert_eq!(a.len(), SESSION_TOKEN_BYTES * 2);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_token().unwrap());
    }
}
