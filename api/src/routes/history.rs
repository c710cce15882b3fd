//! Lesson history and learner progress: conversations with their messages and tool
//! invocations, progress per learner, and deleting everything about a learner.
//! Lessons write history through the store directly; the write routes here (start
//! a conversation, append a message) serve imports, tests and operators.
//!
//! Every route is admin: transcripts and progress are personal data. There is no
//! learner-scoped read credential because learner ids are asserted by the client
//! when a lesson starts (`POST /api/sessions` takes any `learner_id`), so a token
//! minted there would prove nothing about who is asking; learner self-service
//! needs an identity provider in front of Lectern first.

use axum::extract::State;
use axum::http::StatusCode;
use lectern_runtime::plugin::Outcome;
use lectern_runtime::store::{
    ConversationFilter, ConversationRecord, ConversationStatus, LearnerDeletion, MAX_PAGE_LIMIT,
    Mastery, MessageRecord, MessageRole, NewConversation, NewMessage, Page, ToolInvocationRecord,
    parse_conversation_cursor,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::content::{audit, store_error};
use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// Longest message content accepted through the API, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(get_conversation))
        .routes(routes!(list_messages, append_message))
        .routes(routes!(list_tool_invocations))
        .routes(routes!(recent_tool_invocations))
        .routes(routes!(learner_progress))
        .routes(routes!(delete_learner))
}

/// Filters and paging of the conversation list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConversationQuery {
    /// Only this learner's conversations.
    learner_id: Option<String>,
    /// Only this subtopic's.
    subtopic_id: Option<String>,
    /// Only `active`, `ended` or `failed` ones.
    status: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (1 to 500, default 50).
    limit: Option<i64>,
}

/// Lists conversations, newest first, with a cursor for the next page.
#[utoipa::path(get, path = "/api/conversations", tag = "history", security(("admin_token" = [])), params(ConversationQuery),
    responses((status = 200, body = Page<ConversationRecord>), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn list_conversations(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ConversationQuery>,
) -> Result<ApiJson<Page<ConversationRecord>>, ApiError> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(ConversationStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_status",
                format!("Unknown status `{s}`; use active, ended or failed."),
            )
        })?),
    };
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(parse_conversation_cursor(c).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                "The cursor is not one this API returned; use `next_cursor` as given.",
            )
        })?),
    };
    let limit = check_limit(q.limit)?;
    let filter = ConversationFilter {
        learner_id: q.learner_id,
        subtopic_id: q.subtopic_id,
        status,
        before,
        limit,
    };
    Ok(ApiJson(
        state
            .store
            .history()
            .list_conversations(&filter)
            .await
            .map_err(store_error)?,
    ))
}

fn check_limit(limit: Option<i64>) -> Result<Option<i64>, ApiError> {
    match limit {
        Some(n) if !(1..=MAX_PAGE_LIMIT).contains(&n) => Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PAGE_LIMIT}; page with the cursor for more."),
        )),
        other => Ok(other),
    }
}

/// A conversation to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    /// Id to use; generated when absent.
    #[serde(default)]
    id: Option<String>,
    /// Room name.
    #[serde(default)]
    room: String,
    /// The learner.
    learner_id: String,
    /// The subtopic being taught.
    #[serde(default)]
    subtopic_id: Option<String>,
}

/// Starts a conversation (admin).
#[utoipa::path(post, path = "/api/conversations", tag = "history", security(("admin_token" = [])),
    request_body = CreateConversation,
    responses((status = 201, body = ConversationRecord), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_conversation(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateConversation>,
) -> Result<(StatusCode, ApiJson<ConversationRecord>), ApiError> {
    if let Some(id) = &body.id {
        check_id("id", id)?;
    }
    check_id("learner_id", &body.learner_id)?;
    let new = NewConversation {
        id: body.id,
        room: body.room,
        learner_id: body.learner_id,
        subtopic_id: body.subtopic_id,
        started_at_ms: None,
    };
    let record = state
        .store
        .history()
        .create_conversation(new)
        .await
        .map_err(store_error)?;
    Ok((StatusCode::CREATED, ApiJson(record)))
}

fn check_id(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 200
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b':'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_id",
            format!("{field} must be 1 to 200 letters, digits or -_.@: characters."),
        ))
    }
}

/// A conversation with its first messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationDetail {
    /// The conversation.
    #[serde(flatten)]
    conversation: ConversationRecord,
    /// Its messages in order (the first 500; page on with `/messages?after=`).
    messages: Vec<MessageRecord>,
}

/// Reads a conversation and its messages.
#[utoipa::path(get, path = "/api/conversations/{id}", tag = "history", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = ConversationDetail), (status = 404, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn get_conversation(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<ConversationDetail>, ApiError> {
    let history = state.store.history();
    let conversation = history.conversation(&id).await.map_err(store_error)?;
    let messages = history
        .messages(&id, 0, Some(MAX_PAGE_LIMIT))
        .await
        .map_err(store_error)?;
    Ok(ApiJson(ConversationDetail {
        conversation,
        messages,
    }))
}

/// Paging of messages and tool invocations.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AfterQuery {
    /// Only items with an id above this (the last id of the previous page).
    after: Option<i64>,
    /// Page size (1 to 500, default 50).
    limit: Option<i64>,
}

/// Lists a conversation's messages in order.
#[utoipa::path(get, path = "/api/conversations/{id}/messages", tag = "history", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Conversation id"), AfterQuery),
    responses((status = 200, body = [MessageRecord]), (status = 404, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn list_messages(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AfterQuery>,
) -> Result<ApiJson<Vec<MessageRecord>>, ApiError> {
    let history = state.store.history();
    let limit = check_limit(q.limit)?;
    let messages = history
        .messages(&id, q.after.unwrap_or(0), limit)
        .await
        .map_err(store_error)?;
    if messages.is_empty() {
        history.conversation(&id).await.map_err(store_error)?;
    }
    Ok(ApiJson(messages))
}

/// A message to append.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendMessage {
    /// `learner`, `tutor` or `system`.
    role: MessageRole,
    /// The text.
    content: String,
    /// Realtime item id (unique within the conversation).
    #[serde(default)]
    item_id: Option<String>,
    /// When it was spoken (Unix ms).
    #[serde(default)]
    spoken_at_ms: Option<i64>,
}

/// Appends a message to a conversation (admin). When this answers 201 the message
/// is on disk.
#[utoipa::path(post, path = "/api/conversations/{id}/messages", tag = "history", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = AppendMessage,
    responses((status = 201, body = MessageRecord), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn append_message(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AppendMessage>,
) -> Result<(StatusCode, ApiJson<MessageRecord>), ApiError> {
    if body.content.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::unprocessable(
            "message_too_long",
            format!("content is longer than {MAX_MESSAGE_BYTES} bytes; split it."),
        ));
    }
    let new = NewMessage {
        role: body.role,
        content: body.content,
        item_id: body.item_id,
        spoken_at_ms: body.spoken_at_ms,
    };
    let record = state
        .store
        .history()
        .append_message(&id, new)
        .await
        .map_err(store_error)?;
    Ok((StatusCode::CREATED, ApiJson(record)))
}

/// Lists the tool calls made in a conversation, in order.
#[utoipa::path(get, path = "/api/conversations/{id}/tool-invocations", tag = "history", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Conversation id"), AfterQuery),
    responses((status = 200, body = [ToolInvocationRecord]), (status = 404, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn list_tool_invocations(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AfterQuery>,
) -> Result<ApiJson<Vec<ToolInvocationRecord>>, ApiError> {
    let history = state.store.history();
    let limit = check_limit(q.limit)?;
    let calls = history
        .tool_invocations(&id, q.after.unwrap_or(0), limit)
        .await
        .map_err(store_error)?;
    if calls.is_empty() {
        history.conversation(&id).await.map_err(store_error)?;
    }
    Ok(ApiJson(calls))
}

/// Filters and paging of the recent tool calls.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecentToolCallsQuery {
    /// Only this plugin's calls.
    plugin: Option<String>,
    /// Only calls that ended this way (`ok`, `trap`, `deadline_exceeded` …).
    outcome: Option<String>,
    /// Only calls with an id below this (the last id of the previous page).
    before: Option<i64>,
    /// Page size (1 to 500, default 50).
    limit: Option<i64>,
}

/// The most recent tool calls across every lesson and the playground, newest first:
/// what the operator console shows as "recent tool calls".
#[utoipa::path(get, path = "/api/tool-invocations", tag = "history", security(("admin_token" = [])),
    params(RecentToolCallsQuery),
    responses((status = 200, body = [ToolInvocationRecord]), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn recent_tool_invocations(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RecentToolCallsQuery>,
) -> Result<ApiJson<Vec<ToolInvocationRecord>>, ApiError> {
    let limit = check_limit(q.limit)?;
    if let Some(outcome) = q.outcome.as_deref()
        && serde_json::from_value::<Outcome>(serde_json::Value::from(outcome)).is_err()
    {
        return Err(ApiError::bad_request(
            "invalid_outcome",
            "outcome must be one of ok, plugin_error, invalid_arguments, deadline_exceeded, \
             memory_limit, trap, invalid_output, unavailable.",
        ));
    }
    let calls = state
        .store
        .history()
        .recent_tool_invocations(q.plugin.as_deref(), q.outcome.as_deref(), q.before, limit)
        .await
        .map_err(store_error)?;
    Ok(ApiJson(calls))
}

/// A learner's mastery of every subtopic they have worked on (empty for a learner
/// with no recorded evidence).
#[utoipa::path(get, path = "/api/learners/{id}/progress", tag = "history", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Learner identity")),
    responses((status = 200, body = [Mastery]),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn learner_progress(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Vec<Mastery>>, ApiError> {
    Ok(ApiJson(
        state
            .store
            .progress()
            .learner_progress(&id)
            .await
            .map_err(store_error)?,
    ))
}

/// Deletes everything kept about a learner (admin): conversations, messages, tool
/// invocations, analytics, progress and profile, in one transaction. 404 when
/// nothing was kept.
#[utoipa::path(delete, path = "/api/learners/{id}", tag = "history", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Learner identity")),
    responses((status = 200, body = LearnerDeletion), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_learner(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<LearnerDeletion>, ApiError> {
    let deleted = state
        .store
        .progress()
        .delete_learner(&id)
        .await
        .map_err(store_error)?;
    if deleted.is_empty() {
        return Err(ApiError::not_found("learner", &id));
    }
    audit(
        &state.store,
        "learner.delete",
        format!("learner:{id}"),
        serde_json::to_value(deleted).unwrap_or_default(),
    )
    .await;
    Ok(ApiJson(deleted))
}
