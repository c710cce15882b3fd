//! Curriculum content: topics, subtopics and their tool bindings (reads are public,
//! writes need the admin token), and the whole curriculum as one YAML or JSON
//! document (`POST|GET /api/curriculum`, admin).
//!
//! Every write is validated before anything is stored, is one transaction, and is
//! recorded in the audit log.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lectern_runtime::curriculum::{Curriculum, CurriculumError, Format, ToolBinding};
use lectern_runtime::lesson::{Level, Objective, WorkedExample};
use lectern_runtime::store::{
    ImportSummary, NewAuditEntry, NewSubtopic, NewTopic, Store, StoreError, SubtopicRecord,
    SubtopicSummary, TopicRecord,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// Actor recorded in the audit log for changes made with the admin token.
const ADMIN_ACTOR: &str = "admin";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_topics, create_topic))
        .routes(routes!(get_topic, update_topic, delete_topic))
        .routes(routes!(list_subtopics))
        .routes(routes!(create_subtopic))
        .routes(routes!(get_subtopic, update_subtopic, delete_subtopic))
        .routes(routes!(get_tools, put_tools))
        .routes(routes!(import_curriculum, export_curriculum))
}

/// Maps a storage error to the answer a client can act on.
pub(crate) fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound { what } => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} does not exist; check the id (list them with GET)."),
        ),
        StoreError::Conflict(message) => ApiError::conflict(
            "conflict",
            format!("{message}; use PUT to change it, or pick another id."),
        ),
        StoreError::Invalid(message) => ApiError::unprocessable(
            "invalid_content",
            format!("{message}. Fix these and resend."),
        ),
        other => ApiError::internal(other),
    }
}

pub(crate) async fn audit(store: &Store, action: &str, target: String, details: serde_json::Value) {
    // The change is already committed; a failed audit write is logged, not undone.
    let entry = NewAuditEntry {
        actor: ADMIN_ACTOR.into(),
        action: action.into(),
        target,
        details,
    };
    if let Err(error) = store.audit().append(&entry).await {
        tracing::error!(%error, action, "could not write the audit log");
    }
}

/// Finishes a content write: maps its storage error, then records `action` on
/// the target `target_of` names in the audit log.
async fn audited<T>(
    state: &AppState,
    action: &str,
    target_of: impl FnOnce(&T) -> String,
    details: serde_json::Value,
    write: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, ApiError> {
    let written = write.await.map_err(store_error)?;
    audit(&state.store, action, target_of(&written), details).await;
    Ok(written)
}

/// Lists topics in display order.
#[utoipa::path(get, path = "/api/topics", tag = "content",
    responses((status = 200, body = [TopicRecord])))]
async fn list_topics(State(state): State<AppState>) -> Result<ApiJson<Vec<TopicRecord>>, ApiError> {
    Ok(ApiJson(
        state
            .store
            .content()
            .list_topics()
            .await
            .map_err(store_error)?,
    ))
}

/// Creates a topic (admin).
#[utoipa::path(post, path = "/api/topics", tag = "content", security(("admin_token" = [])),
    request_body = NewTopic,
    responses((status = 201, body = TopicRecord), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn create_topic(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewTopic>,
) -> Result<(StatusCode, ApiJson<TopicRecord>), ApiError> {
    let topic = audited(
        &state,
        "topic.create",
        |w| format!("topic:{}", w.id),
        serde_json::json!({}),
        state.store.content().create_topic(&new),
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(topic)))
}

/// Reads one topic.
#[utoipa::path(get, path = "/api/topics/{id}", tag = "content",
    params(("id" = String, Path, description = "Topic id")),
    responses((status = 200, body = TopicRecord), (status = 404, body = crate::error::ErrorBody)))]
async fn get_topic(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<TopicRecord>, ApiError> {
    Ok(ApiJson(
        state
            .store
            .content()
            .topic(&id)
            .await
            .map_err(store_error)?,
    ))
}

/// The fields of a topic that `PUT` replaces.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicUpdate {
    /// Title.
    title: String,
    /// A sentence or two.
    #[serde(default)]
    description: String,
    /// Display position; unchanged when absent.
    #[serde(default)]
    position: Option<i64>,
}

/// Replaces a topic's title, description and position (admin).
#[utoipa::path(put, path = "/api/topics/{id}", tag = "content", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Topic id")), request_body = TopicUpdate,
    responses((status = 200, body = TopicRecord), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn update_topic(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(update): ApiJson<TopicUpdate>,
) -> Result<ApiJson<TopicRecord>, ApiError> {
    let new = NewTopic {
        id,
        title: update.title,
        description: update.description,
        position: update.position,
    };
    let topic = audited(
        &state,
        "topic.update",
        |w| format!("topic:{}", w.id),
        serde_json::json!({}),
        state.store.content().update_topic(&new),
    )
    .await?;
    Ok(ApiJson(topic))
}

/// Deletes a topic with its subtopics, their bindings and progress (admin).
/// Conversations keep their history.
#[utoipa::path(delete, path = "/api/topics/{id}", tag = "content", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Topic id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_topic(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    audited(
        &state,
        "topic.delete",
        |_| format!("topic:{id}"),
        serde_json::json!({}),
        state.store.content().delete_topic(&id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists a topic's subtopics in teaching order.
#[utoipa::path(get, path = "/api/topics/{id}/subtopics", tag = "content",
    params(("id" = String, Path, description = "Topic id")),
    responses((status = 200, body = [SubtopicSummary]), (status = 404, body = crate::error::ErrorBody)))]
async fn list_subtopics(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Vec<SubtopicSummary>>, ApiError> {
    Ok(ApiJson(
        state
            .store
            .content()
            .list_subtopics(&id)
            .await
            .map_err(store_error)?,
    ))
}

/// Creates a subtopic (admin); bind tools with `PUT /api/subtopics/{id}/tools`.
#[utoipa::path(post, path = "/api/subtopics", tag = "content", security(("admin_token" = [])),
    request_body = NewSubtopic,
    responses((status = 201, body = SubtopicRecord), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_subtopic(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewSubtopic>,
) -> Result<(StatusCode, ApiJson<SubtopicRecord>), ApiError> {
    let record = audited(
        &state,
        "subtopic.create",
        |w| format!("subtopic:{}", w.id),
        serde_json::json!({}),
        state.store.content().create_subtopic(&new),
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(record)))
}

/// Reads one subtopic with its content and tool bindings.
#[utoipa::path(get, path = "/api/subtopics/{id}", tag = "content",
    params(("id" = String, Path, description = "Subtopic id")),
    responses((status = 200, body = SubtopicRecord), (status = 404, body = crate::error::ErrorBody)))]
async fn get_subtopic(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<SubtopicRecord>, ApiError> {
    Ok(ApiJson(
        state
            .store
            .content()
            .subtopic(&id)
            .await
            .map_err(store_error)?,
    ))
}

/// The fields of a subtopic that `PUT` replaces (bindings are kept).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubtopicUpdate {
    /// The topic it belongs to (may move it).
    topic_id: String,
    /// Title.
    title: String,
    /// One or two sentences.
    #[serde(default)]
    summary: String,
    /// `beginner`, `intermediate` or `advanced`.
    #[serde(default)]
    #[schema(value_type = String)]
    level: Level,
    /// Teaching content (markdown).
    #[serde(default)]
    content: String,
    /// Learning objectives (`{id, text}`).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    objectives: Vec<Objective>,
    /// Key points.
    #[serde(default)]
    key_points: Vec<String>,
    /// Worked examples (`{title, concept, problem, solution}`).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    examples: Vec<WorkedExample>,
    /// Position within the topic; unchanged when absent.
    #[serde(default)]
    position: Option<i64>,
}

/// Replaces a subtopic's content (admin).
#[utoipa::path(put, path = "/api/subtopics/{id}", tag = "content", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Subtopic id")), request_body = SubtopicUpdate,
    responses((status = 200, body = SubtopicRecord), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn update_subtopic(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(u): ApiJson<SubtopicUpdate>,
) -> Result<ApiJson<SubtopicRecord>, ApiError> {
    let new = NewSubtopic {
        id,
        topic_id: u.topic_id,
        title: u.title,
        summary: u.summary,
        level: u.level,
        content: u.content,
        objectives: u.objectives,
        key_points: u.key_points,
        examples: u.examples,
        position: u.position,
    };
    let record = audited(
        &state,
        "subtopic.update",
        |w| format!("subtopic:{}", w.id),
        serde_json::json!({}),
        state.store.content().update_subtopic(&new),
    )
    .await?;
    Ok(ApiJson(record))
}

/// Deletes a subtopic with its bindings and progress (admin).
#[utoipa::path(delete, path = "/api/subtopics/{id}", tag = "content", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Subtopic id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_subtopic(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    audited(
        &state,
        "subtopic.delete",
        |_| format!("subtopic:{id}"),
        serde_json::json!({}),
        state.store.content().delete_subtopic(&id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tools bound to a subtopic, in the order lessons offer them.
#[utoipa::path(get, path = "/api/subtopics/{id}/tools", tag = "content",
    params(("id" = String, Path, description = "Subtopic id")),
    responses((status = 200, body = [ToolBinding]), (status = 404, body = crate::error::ErrorBody)))]
async fn get_tools(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Vec<ToolBinding>>, ApiError> {
    Ok(ApiJson(
        state
            .store
            .content()
            .tool_bindings(&id)
            .await
            .map_err(store_error)?,
    ))
}

/// Replaces the tools bound to a subtopic (admin). The body is the whole list:
/// `[{"plugin": "quiz", "config": {"questions": 3}}, …]`. Plugins need not be
/// installed yet; lessons skip bindings to missing plugins.
#[utoipa::path(put, path = "/api/subtopics/{id}/tools", tag = "content", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Subtopic id")), request_body = [ToolBinding],
    responses((status = 200, body = [ToolBinding]), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn put_tools(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(tools): ApiJson<Vec<ToolBinding>>,
) -> Result<ApiJson<Vec<ToolBinding>>, ApiError> {
    let saved = state
        .store
        .content()
        .set_tool_bindings(&id, &tools)
        .await
        .map_err(store_error)?;
    let plugins: Vec<&str> = saved.iter().map(|b| b.plugin.as_str()).collect();
    audit(
        &state.store,
        "subtopic.tools",
        format!("subtopic:{id}"),
        serde_json::json!({ "plugins": plugins }),
    )
    .await;
    Ok(ApiJson(saved))
}

/// The syntax of a curriculum document named by a content type, if supported.
fn format_of_content_type(value: &str) -> Option<Format> {
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => Some(Format::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => {
            Some(Format::Yaml)
        }
        _ => None,
    }
}

/// Imports a curriculum document (admin): YAML (`Content-Type: application/yaml`)
/// or JSON (`application/json`). Topics and subtopics are created or replaced by id,
/// in one transaction; the document is validated first and nothing is written if
/// any part is wrong.
#[utoipa::path(post, path = "/api/curriculum", tag = "content", security(("admin_token" = [])),
    request_body(content = Curriculum, content_type = "application/yaml",
        description = "The curriculum as YAML (application/yaml) or JSON (application/json)"),
    responses((status = 200, body = ImportSummary), (status = 400, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn import_curriculum(
    _admin: AdminAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<ApiJson<ImportSummary>, ApiError> {
    let format = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(format_of_content_type)
        .ok_or_else(|| {
            ApiError::unsupported_media_type("application/yaml` or `application/json")
        })?;
    let limit = state.config.max_body_bytes;
    let body: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::payload_too_large(limit))?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::bad_request(
            "invalid_encoding",
            "The document is not UTF-8; save it as UTF-8 and resend.",
        )
    })?;
    let doc = Curriculum::parse(text, format).map_err(|e| match e {
        CurriculumError::Syntax(msg) => ApiError::bad_request(
            "malformed_curriculum",
            format!("The curriculum document cannot be read: {msg}. Fix it and resend."),
        ),
        CurriculumError::Invalid(problems) => ApiError::unprocessable(
            "invalid_curriculum",
            format!(
                "The curriculum has {} problem(s): {}. Fix them and resend.",
                problems.len(),
                problems.join("; ")
            ),
        ),
    })?;
    let summary = state
        .store
        .content()
        .import_curriculum(&doc)
        .await
        .map_err(store_error)?;
    audit(
        &state.store,
        "curriculum.import",
        "curriculum".into(),
        serde_json::to_value(summary).unwrap_or_default(),
    )
    .await;
    Ok(ApiJson(summary))
}

/// Query of the curriculum export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `yaml` (default) or `json`.
    format: Option<String>,
}

/// Exports the whole curriculum as one document (admin), in the format
/// `POST /api/curriculum` and `lectern content import` read.
#[utoipa::path(get, path = "/api/curriculum", tag = "content", security(("admin_token" = [])),
    params(ExportQuery),
    responses((status = 200, body = Curriculum, content_type = "application/yaml"),
              (status = 400, body = crate::error::ErrorBody)))]
async fn export_curriculum(
    _admin: AdminAuth,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let (format, content_type) = match query.format.as_deref() {
        None | Some("yaml") => (Format::Yaml, "application/yaml"),
        Some("json") => (Format::Json, "application/json"),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_format",
                format!("Unknown format `{other}`; use `yaml` or `json`."),
            ));
        }
    };
    let doc = state
        .store
        .content()
        .export_curriculum()
        .await
        .map_err(store_error)?;
    let mut response = doc.to_text(format).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}
