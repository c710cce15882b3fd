//! LiveKit participant tokens for browsers joining a lesson room.
//!
//! Three shapes of the same thing: LiveKit's standard token endpoint
//! (`POST /api/token`), the starter apps' `/api/connection-details`, and the
//! older `GET /api/getToken`. Every token grants only joining one room and
//! publishing/subscribing there, lives `token_ttl_secs`, and dispatches the
//! tutor agent into the room with the lesson's subtopic and the learner (the
//! token's identity) in the dispatch metadata
//! (`{"subtopic_id": "…", "learner": "…"}`).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol::{RoomAgentDispatch, RoomConfiguration};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::config::LiveKitConfig;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::rate_limit::RateLimited;
use crate::state::AppState;

/// Longest identity, in characters.
pub const MAX_IDENTITY_CHARS: usize = 128;
/// Longest room name, in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 128;
/// Longest display name, in characters.
pub const MAX_PARTICIPANT_NAME_CHARS: usize = 128;
/// Largest participant metadata, in bytes.
pub const MAX_METADATA_BYTES: usize = 4 * 1024;
/// Most participant attributes.
pub const MAX_ATTRIBUTES: usize = 16;
/// Longest attribute key, in characters.
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
/// Largest attribute value, in bytes.
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;
/// Longest subtopic id, in characters.
pub const MAX_SUBTOPIC_ID_CHARS: usize = 128;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(connection_details_get, connection_details_post))
        .routes(routes!(get_token))
}

/// LiveKit's standard token-endpoint request. Every field is optional: a
/// missing room or identity is generated.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Room to join (letters, digits, `_`, `-`, `.`; at most 128).
    room_name: Option<String>,
    /// Participant identity (letters, digits, `_`, `-`, `.`, `@`, `:`; at most 128).
    participant_identity: Option<String>,
    /// Display name.
    participant_name: Option<String>,
    /// Participant metadata (at most 4 KiB).
    participant_metadata: Option<String>,
    /// Participant attributes (at most 16).
    participant_attributes: Option<HashMap<String, String>>,
    /// Room configuration: only agent dispatch is accepted.
    room_config: Option<RoomConfigRequest>,
}

/// The part of LiveKit's room configuration a client may ask for.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomConfigRequest {
    /// Room name; must equal `room_name` when both are given.
    #[serde(default)]
    name: Option<String>,
    /// At most one dispatch, of the tutor agent.
    #[serde(default)]
    agents: Vec<AgentDispatchRequest>,
}

/// A requested agent dispatch.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDispatchRequest {
    /// Must be the server's agent name when given.
    #[serde(default)]
    agent_name: Option<String>,
    /// JSON object `{"subtopic_id": "…"}` choosing the lesson.
    #[serde(default)]
    metadata: Option<String>,
}

/// LiveKit's standard token-endpoint response.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// LiveKit server URL.
    server_url: String,
    /// Signed participant token (JWT).
    participant_token: String,
}

/// The starter apps' connection details.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionDetails {
    /// LiveKit server URL.
    server_url: String,
    /// Room to join.
    room_name: String,
    /// Participant identity.
    participant_name: String,
    /// Signed participant token (JWT).
    participant_token: String,
}

/// Body of `POST /api/connection-details` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDetailsRequest {
    /// Room configuration: only agent dispatch is accepted.
    room_config: Option<RoomConfigRequest>,
}

/// Query of `GET /api/connection-details`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDetailsQuery {
    /// Subtopic the lesson teaches.
    subtopic_id: Option<String>,
}

/// Query of the older `GET /api/getToken`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GetTokenQuery {
    /// Participant identity.
    name: String,
    /// Room to join.
    room: String,
    /// Subtopic the lesson teaches.
    subtopic_id: Option<String>,
}

/// Answer of the older `GET /api/getToken`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyToken {
    /// Signed participant token (JWT).
    token: String,
    /// LiveKit server URL.
    server_url: String,
}

/// What a token is issued for, validated.
struct Grant {
    room: String,
    identity: String,
    name: Option<String>,
    metadata: Option<String>,
    attributes: HashMap<String, String>,
    subtopic_id: Option<String>,
}

/// Issues a participant token (LiveKit's standard token endpoint).
#[utoipa::path(post, path = "/api/token", tag = "tokens",
    request_body = TokenRequest,
    responses((status = 201, body = TokenResponse),
              (status = 400, body = crate::error::ErrorBody),
              (status = 415, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
async fn token(
    _limit: RateLimited,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<(StatusCode, TokenResponse), ApiError> {
    let livekit = livekit(&state)?;
    let subtopic_id =
        subtopic_from_room_config(request.room_config.as_ref(), &state.config.agent_name)?;
    if let (Some(room), Some(config_room)) = (
        &request.room_name,
        request.room_config.as_ref().and_then(|c| c.name.as_ref()),
    ) && room != config_room
    {
        return Err(ApiError::bad_request(
            "room_name_mismatch",
            "room_name and room_config.name differ; send one room name.",
        ));
    }
    let room = request
        .room_name
        .or_else(|| request.room_config.and_then(|c| c.name))
        .unwrap_or_else(|| generated("lesson"));
    let grant = Grant {
        room: validate_room(room)?,
        identity: validate_identity(
            request
                .participant_identity
                .unwrap_or_else(|| generated("learner")),
        )?,
        name: request.participant_name.map(validate_name).transpose()?,
        metadata: request
            .participant_metadata
            .map(validate_metadata)
            .transpose()?,
        attributes: validate_attributes(request.participant_attributes.unwrap_or_default())?,
        subtopic_id,
    };
    let participant_token = sign(&state, livekit, &grant)?;
    state
        .metrics
        .tokens_issued_total
        .with_label_values(&["token"])
        .inc();
    Ok((
        StatusCode::CREATED,
        TokenResponse {
            server_url: livekit.url.clone(),
            participant_token,
        },
    ))
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        match plain_token_body(&self.server_url, &self.participant_token) {
            Some(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            None => ApiJson(self).into_response(),
        }
    }
}

/// The JSON of a [`TokenResponse`], byte for byte what serde writes, when the
/// token needs no escaping. A signed token is base64url segments joined by
/// dots, so it never does, and it is copied in whole instead of being scanned
/// for escapes character by character (a visible share of a token request's
/// cost). `None` for anything else, which then goes through serde.
fn plain_token_body(server_url: &str, token: &str) -> Option<String> {
    // Without short-circuits the check compiles to vector compares; a
    // byte-at-a-time `all` cost as much as serde's own scan.
    let plain = token.bytes().fold(true, |plain, b| {
        plain & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.'))
    });
    if !plain {
        return None;
    }
    let url = serde_json::to_string(server_url).ok()?;
    const HEAD: &str = r#"{"server_url":"#;
    const MIDDLE: &str = r#","participant_token":""#;
    const TAIL: &str = r#""}"#;
    let mut body =
        String::with_capacity(HEAD.len() + url.len() + MIDDLE.len() + token.len() + TAIL.len());
    body.push_str(HEAD);
    body.push_str(&url);
    body.push_str(MIDDLE);
    body.push_str(token);
    body.push_str(TAIL);
    Some(body)
}

/// Connection details for a new lesson room (starter apps' shape).
#[utoipa::path(get, path = "/api/connection-details", tag = "tokens",
    params(ConnectionDetailsQuery),
    responses((status = 200, body = ConnectionDetails),
              (status = 400, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
async fn connection_details_get(
    _limit: RateLimited,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ConnectionDetailsQuery>,
) -> Result<ApiJson<ConnectionDetails>, ApiError> {
    let subtopic_id = query.subtopic_id.map(validate_subtopic_id).transpose()?;
    connection_details(&state, subtopic_id)
}

/// Connection details for a new lesson room; the optional body asks for the
/// agent dispatch (starter apps' shape).
#[utoipa::path(post, path = "/api/connection-details", tag = "tokens",
    request_body(content = Option<ConnectionDetailsRequest>, content_type = "application/json"),
    responses((status = 200, body = ConnectionDetails),
              (status = 400, body = crate::error::ErrorBody),
              (status = 415, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
async fn connection_details_post(
    _limit: RateLimited,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ApiJson<ConnectionDetails>, ApiError> {
    let request: ConnectionDetailsRequest = optional_json(&headers, &body)?;
    if request
        .room_config
        .as_ref()
        .is_some_and(|c| c.name.is_some())
    {
        return Err(ApiError::bad_request(
            "room_name_not_accepted",
            "connection-details always creates a new room; leave room_config.name out or use POST /api/token.",
        ));
    }
    let subtopic_id =
        subtopic_from_room_config(request.room_config.as_ref(), &state.config.agent_name)?;
    connection_details(&state, subtopic_id)
}

fn connection_details(
    state: &AppState,
    subtopic_id: Option<String>,
) -> Result<ApiJson<ConnectionDetails>, ApiError> {
    let livekit = livekit(state)?;
    let grant = Grant {
        room: generated("lesson"),
        identity: generated("learner"),
        name: None,
        metadata: None,
        attributes: HashMap::new(),
        subtopic_id,
    };
    let participant_token = sign(state, livekit, &grant)?;
    state
        .metrics
        .tokens_issued_total
        .with_label_values(&["connection_details"])
        .inc();
    Ok(ApiJson(ConnectionDetails {
        server_url: livekit.url.clone(),
        room_name: grant.room,
        participant_name: grant.identity,
        participant_token,
    }))
}

/// Issues a token for `name` in `room` (the older endpoint).
#[utoipa::path(get, path = "/api/getToken", tag = "tokens",
    params(GetTokenQuery),
    responses((status = 200, body = LegacyToken),
              (status = 400, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
async fn get_token(
    _limit: RateLimited,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<GetTokenQuery>,
) -> Result<ApiJson<LegacyToken>, ApiError> {
    let livekit = livekit(&state)?;
    let grant = Grant {
        room: validate_room(query.room)?,
        identity: validate_identity(query.name)?,
        name: None,
        metadata: None,
        attributes: HashMap::new(),
        subtopic_id: query.subtopic_id.map(validate_subtopic_id).transpose()?,
    };
    let token = sign(&state, livekit, &grant)?;
    state
        .metrics
        .tokens_issued_total
        .with_label_values(&["get_token"])
        .inc();
    Ok(ApiJson(LegacyToken {
        token,
        server_url: livekit.url.clone(),
    }))
}

fn livekit(state: &AppState) -> Result<&LiveKitConfig, ApiError> {
    state.livekit.as_deref().ok_or_else(|| {
        ApiError::unavailable(
            "livekit_not_configured",
            "LiveKit is not configured on this server: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET, then restart.",
        )
    })
}

/// The tutor's dispatch metadata. Fields in key order: the text is what a
/// JSON object of the two keys has always serialized to, written without
/// building a map first.
#[derive(Serialize)]
struct DispatchMetadata<'a> {
    learner: &'a str,
    subtopic_id: &'a str,
}

fn sign(state: &AppState, livekit: &LiveKitConfig, grant: &Grant) -> Result<String, ApiError> {
    // The learner is the token's identity, never something the client names,
    // so the tutor's job records the lesson against the participant who joins.
    let dispatch_metadata = match &grant.subtopic_id {
        Some(id) => serde_json::to_string(&DispatchMetadata {
            learner: &grant.identity,
            subtopic_id: id,
        })
        .map_err(|e| ApiError::internal(anyhow::anyhow!("dispatch metadata: {e}")))?,
        None => String::new(),
    };
    let room_config = RoomConfiguration {
        agents: vec![RoomAgentDispatch {
            agent_name: state.config.agent_name.clone(),
            metadata: dispatch_metadata,
            ..Default::default()
        }],
        ..Default::default()
    };
    let grants = VideoGrants {
        room_join: true,
        room: grant.room.clone(),
        can_publish: Some(true),
        can_subscribe: Some(true),
        can_publish_data: Some(true),
        ..Default::default()
    };
    let mut token = AccessToken::with_api_key(&livekit.api_key, livekit.api_secret.expose())
        .with_ttl(Duration::from_secs(state.config.token_ttl_secs))
        .with_identity(&grant.identity)
        .with_grants(grants)
        .with_room_config(room_config);
    if let Some(name) = &grant.name {
        token = token.with_name(name);
    }
    if let Some(metadata) = &grant.metadata {
        token = token.with_metadata(metadata);
    }
    if !grant.attributes.is_empty() {
        token = token.with_attributes(grant.attributes.clone());
    }
    token
        .to_jwt()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("signing a LiveKit token: {e}")))
}

/// Parses an optional JSON body: empty means defaults; otherwise it must be
/// `application/json`.
fn optional_json<T: serde::de::DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    if body.is_empty() {
        return Ok(T::default());
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::unsupported_media_type("application/json"));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::bad_request(
                "malformed_json",
                format!("The body is not valid JSON ({e}); fix its syntax."),
            )
        } else {
            ApiError::unprocessable(
                "invalid_body",
                format!("The JSON does not match what this route expects: {e}."),
            )
        }
    })
}

/// The subtopic carried by a requested agent dispatch, after checking the
/// dispatch names our agent.
fn subtopic_from_room_config(
    config: Option<&RoomConfigRequest>,
    agent_name: &str,
) -> Result<Option<String>, ApiError> {
    let Some(config) = config else {
        return Ok(None);
    };
    if config.agents.len() > 1 {
        return Err(ApiError::bad_request(
            "too_many_agents",
            "room_config.agents may hold at most one dispatch (the tutor).",
        ));
    }
    let Some(dispatch) = config.agents.first() else {
        return Ok(None);
    };
    if let Some(name) = &dispatch.agent_name
        && !name.is_empty()
        && name != agent_name
    {
        return Err(ApiError::bad_request(
            "unknown_agent",
            format!(
                "This server dispatches the agent `{agent_name}`; leave agent_name out or use that name."
            ),
        ));
    }
    let Some(metadata) = dispatch.metadata.as_deref().filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DispatchMetadata {
        subtopic_id: String,
    }
    let parsed: DispatchMetadata = serde_json::from_str(metadata).map_err(|_| {
        ApiError::bad_request(
            "invalid_dispatch_metadata",
            r#"room_config.agents[0].metadata must be a JSON object {"subtopic_id": "<id>"}."#,
        )
    })?;
    validate_subtopic_id(parsed.subtopic_id).map(Some)
}

fn generated(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn check_chars(value: &str, max_chars: usize, allowed: impl Fn(char) -> bool) -> bool {
    let count = value.chars().count();
    count > 0 && count <= max_chars && value.chars().all(allowed)
}

fn validate_room(room: String) -> Result<String, ApiError> {
    if check_chars(&room, MAX_ROOM_NAME_CHARS, |c| {
        c.is_ascii_alphanumeric() || "_-.".contains(c)
    }) {
        Ok(room)
    } else {
        Err(ApiError::bad_request(
            "invalid_room_name",
            format!(
                "Room names are 1 to {MAX_ROOM_NAME_CHARS} characters of letters, digits, `_`, `-` and `.`."
            ),
        ))
    }
}

fn validate_identity(identity: String) -> Result<String, ApiError> {
    if check_chars(&identity, MAX_IDENTITY_CHARS, |c| {
        c.is_ascii_alphanumeric() || "_-.@:".contains(c)
    }) {
        Ok(identity)
    } else {
        Err(ApiError::bad_request(
            "invalid_identity",
            format!(
                "Identities are 1 to {MAX_IDENTITY_CHARS} characters of letters, digits, `_`, `-`, `.`, `@` and `:`."
            ),
        ))
    }
}

fn validate_subtopic_id(id: String) -> Result<String, ApiError> {
    if check_chars(&id, MAX_SUBTOPIC_ID_CHARS, |c| {
        c.is_ascii_alphanumeric() || "_-.".contains(c)
    }) {
        Ok(id)
    } else {
        Err(ApiError::bad_request(
            "invalid_subtopic_id",
            format!(
                "Subtopic ids are 1 to {MAX_SUBTOPIC_ID_CHARS} characters of letters, digits, `_`, `-` and `.`."
            ),
        ))
    }
}

fn validate_name(name: String) -> Result<String, ApiError> {
    if check_chars(&name, MAX_PARTICIPANT_NAME_CHARS, |c| !c.is_control()) {
        Ok(name)
    } else {
        Err(ApiError::bad_request(
            "invalid_participant_name",
            format!(
                "Display names are 1 to {MAX_PARTICIPANT_NAME_CHARS} characters without control characters."
            ),
        ))
    }
}

fn validate_metadata(metadata: String) -> Result<String, ApiError> {
    if metadata.len() <= MAX_METADATA_BYTES {
        Ok(metadata)
    } else {
        Err(ApiError::bad_request(
            "metadata_too_large",
            format!("participant_metadata may hold at most {MAX_METADATA_BYTES} bytes."),
        ))
    }
}

fn validate_attributes(
    attributes: HashMap<String, String>,
) -> Result<HashMap<String, String>, ApiError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(ApiError::bad_request(
            "too_many_attributes",
            format!("participant_attributes may hold at most {MAX_ATTRIBUTES} entries."),
        ));
    }
    for (key, value) in &attributes {
        if !check_chars(key, MAX_ATTRIBUTE_KEY_CHARS, |c| {
            c.is_ascii_alphanumeric() || "_-.:".contains(c)
        }) || value.len() > MAX_ATTRIBUTE_VALUE_BYTES
        {
            return Err(ApiError::bad_request(
                "invalid_attribute",
                format!(
                    "Attribute keys are 1 to {MAX_ATTRIBUTE_KEY_CHARS} characters of letters, digits, `_`, `-`, `.` and `:`; values at most {MAX_ATTRIBUTE_VALUE_BYTES} bytes."
                ),
            ));
        }
    }
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_token_body_is_what_serde_writes() {
        let response = TokenResponse {
            server_url: "wss://live.example/\"quoted\"\u{e9}".into(),
            participant_token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFybmVyLTEifQ.a-b_c09".into(),
        };
        assert_eq!(
            plain_token_body(&response.server_url, &response.participant_token).as_deref(),
            Some(serde_json::to_string(&response).unwrap().as_str())
        );
    }

    #[test]
    fn token_needing_escapes_goes_through_serde() {
        assert_eq!(plain_token_body("wss://x", "a\"b"), None);
        assert_eq!(plain_token_body("wss://x", "a\\b"), None);
        assert_eq!(plain_token_body("wss://x", "caf\u{e9}"), None);
    }
}
