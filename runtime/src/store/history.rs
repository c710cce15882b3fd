//! Lesson history: conversations, their messages and the tool invocations made in them.
//!
//! Sessions write here as a lesson goes: [`HistoryRepo::create_conversation`] when it
//! starts, [`HistoryRepo::append_message`] for each transcript the learner heard or
//! said, [`HistoryRepo::record_tool_invocation`] for each tool call, and
//! [`HistoryRepo::end_conversation`] at the end. Each call is one committed
//! transaction: once it returns, the row survives a crash.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, clamp_limit, from_json, now_ms, to_json};

/// The state of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConversationStatus {
    /// The lesson is running.
    Active,
    /// The lesson ended normally (or the learner left).
    Ended,
    /// The lesson stopped because of an error.
    Failed,
}

impl ConversationStatus {
    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Active => "active",
            ConversationStatus::Ended => "ended",
            ConversationStatus::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(ConversationStatus::Active),
            "ended" => Some(ConversationStatus::Ended),
            "failed" => Some(ConversationStatus::Failed),
            _ => None,
        }
    }
}

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MessageRole {
    /// The learner (transcribed speech or typed text).
    Learner,
    /// The tutor (what the learner actually heard).
    Tutor,
    /// A note from the host (lesson started, subtopic switched …).
    System,
}

impl MessageRole {
    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::Learner => "learner",
            MessageRole::Tutor => "tutor",
            MessageRole::System => "system",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "learner" => Ok(MessageRole::Learner),
            "tutor" => Ok(MessageRole::Tutor),
            "system" => Ok(MessageRole::System),
            other => Err(StoreError::Invalid(format!(
                "unknown message role {other:?}"
            ))),
        }
    }
}

/// A conversation to start.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewConversation {
    /// Id to use (for instance the session id); a UUID is generated when `None`.
    pub id: Option<String>,
    /// The room (LiveKit room name or local session room).
    pub room: String,
    /// The learner's identity.
    pub learner_id: String,
    /// The subtopic being taught (must exist when given).
    pub subtopic_id: Option<String>,
    /// Start time; now when `None`.
    pub started_at_ms: Option<i64>,
}

/// A stored conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationRecord {
    /// Id.
    pub id: String,
    /// Room name.
    pub room: String,
    /// Learner identity.
    pub learner_id: String,
    /// Current subtopic (NULL once the subtopic is deleted).
    pub subtopic_id: Option<String>,
    /// State.
    pub status: ConversationStatus,
    /// Start (Unix ms).
    pub started_at_ms: i64,
    /// End (Unix ms), once ended.
    pub ended_at_ms: Option<i64>,
    /// Number of messages.
    pub message_count: i64,
}

/// A message to append.
#[derive(Debug, Clone, Deserialize)]
pub struct NewMessage {
    /// Who said it.
    pub role: MessageRole,
    /// What was said (text or transcript).
    pub content: String,
    /// The Realtime conversation item id, if any (unique within a conversation).
    pub item_id: Option<String>,
    /// When it was spoken (Unix ms), if known.
    pub spoken_at_ms: Option<i64>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageRecord {
    /// Id, increasing in insertion order.
    pub id: i64,
    /// Conversation.
    pub conversation_id: String,
    /// Who said it.
    pub role: MessageRole,
    /// What was said.
    pub content: String,
    /// Realtime item id.
    pub item_id: Option<String>,
    /// When it was spoken (Unix ms).
    pub spoken_at_ms: Option<i64>,
    /// When it was stored (Unix ms).
    pub created_at_ms: i64,
    /// When it was last changed (Unix ms); differs from `created_at_ms` after truncation.
    pub updated_at_ms: i64,
}

/// A tool call to record.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewToolInvocation {
    /// The lesson it happened in; `None` for playground calls.
    pub conversation_id: Option<String>,
    /// The model's function call id.
    pub call_id: Option<String>,
    /// The subtopic the tool ran against.
    pub subtopic_id: Option<String>,
    /// Plugin name.
    pub plugin_name: String,
    /// Plugin version string.
    pub plugin_version: Option<String>,
    /// sha256 (hex) of the component that ran.
    pub version_digest: Option<String>,
    /// Tool name.
    pub tool_name: String,
    /// Arguments as given by the model.
    pub arguments: serde_json::Value,
    /// How it ended: `ok`, or an error kind named by the plugin host
    /// (`tool_error`, `timeout`, `out_of_memory`, `trap`, `invalid_arguments` …).
    pub outcome: String,
    /// Wall time of the call in microseconds.
    pub duration_us: i64,
    /// Output returned to the model, on success.
    pub output: Option<String>,
    /// Error message, on failure.
    pub error: Option<String>,
    /// Names of the limits that were hit.
    pub limits_hit: Vec<String>,
}

/// A stored tool invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolInvocationRecord {
    /// Id.
    pub id: i64,
    /// Conversation, if any.
    pub conversation_id: Option<String>,
    /// Model's call id.
    pub call_id: Option<String>,
    /// Subtopic.
    pub subtopic_id: Option<String>,
    /// Plugin name.
    pub plugin_name: String,
    /// Plugin version.
    pub plugin_version: Option<String>,
    /// Component digest.
    pub version_digest: Option<String>,
    /// Tool name.
    pub tool_name: String,
    /// Arguments.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub arguments: serde_json::Value,
    /// Outcome.
    pub outcome: String,
    /// Duration in microseconds.
    pub duration_us: i64,
    /// Output.
    pub output: Option<String>,
    /// Error.
    pub error: Option<String>,
    /// Limits hit.
    pub limits_hit: Vec<String>,
    /// When (Unix ms).
    pub created_at_ms: i64,
}

/// Which conversations to list. Results are newest first; pass the last item's
/// `(started_at_ms, id)` back as `before` to get the next page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConversationFilter {
    /// Only this learner's.
    pub learner_id: Option<String>,
    /// Only this subtopic's.
    pub subtopic_id: Option<String>,
    /// Only in this state.
    pub status: Option<ConversationStatus>,
    /// Keyset cursor: only conversations strictly older than this one.
    pub before: Option<(i64, String)>,
    /// Page size (clamped to `1..=MAX_PAGE_LIMIT`).
    pub limit: Option<i64>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor for the next page, when there may be one.
    pub next_cursor: Option<String>,
}

/// Conversations, messages and tool invocations. Get one with [`Store::history`].
#[derive(Debug, Clone, Copy)]
pub struct HistoryRepo<'s> {
    pub(super) store: &'s Store,
}

const CONVERSATION_COLUMNS: &str = "c.id, c.room, c.learner_id, c.subtopic_id, c.status, \
     c.started_at_ms, c.ended_at_ms, \
     (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count";

impl HistoryRepo<'_> {
    /// Starts a conversation (status `active`).
    pub async fn create_conversation(
        &self,
        new: NewConversation,
    ) -> Result<ConversationRecord, StoreError> {
        let id = new
            .id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if new.learner_id.trim().is_empty() {
            return Err(StoreError::Invalid("learner_id must not be empty".into()));
        }
        let started = new.started_at_ms.unwrap_or_else(now_ms);
        let result = sqlx::query(
            "INSERT INTO conversations (id, room, learner_id, subtopic_id, status, started_at_ms) \
             VALUES ($1, $2, $3, $4, 'active', $5)",
        )
        .bind(&id)
        .bind(&new.room)
        .bind(&new.learner_id)
        .bind(&new.subtopic_id)
        .bind(started)
        .execute(self.store.writer())
        .await;
        match result {
            Err(sqlx::Error::Database(db))
                if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation =>
            {
                return Err(StoreError::not_found(format!(
                    "subtopic {:?}",
                    new.subtopic_id.unwrap_or_default()
                )));
            }
            other => {
                other?;
            }
        }
        Ok(ConversationRecord {
            id,
            room: new.room,
            learner_id: new.learner_id,
            subtopic_id: new.subtopic_id,
            status: ConversationStatus::Active,
            started_at_ms: started,
            ended_at_ms: None,
            message_count: 0,
        })
    }

    /// Ends a conversation with `status` (`ended` or `failed`) at now.
    pub async fn end_conversation(
        &self,
        id: &str,
        status: ConversationStatus,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE conversations SET status = $2, \
             ended_at_ms = CASE WHEN $3 < started_at_ms THEN started_at_ms ELSE $3 END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(now_ms())
        .execute(self.store.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("conversation {id:?}")));
        }
        Ok(())
    }

    /// Records that the lesson moved to another subtopic.
    pub async fn set_conversation_subtopic(
        &self,
        id: &str,
        subtopic_id: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE conversations SET subtopic_id = $2 WHERE id = $1")
            .bind(id)
            .bind(subtopic_id)
            .execute(self.store.writer())
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Invalid(_) => {
                    StoreError::not_found(format!("subtopic {subtopic_id:?}"))
                }
                other => other,
            })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("conversation {id:?}")));
        }
        Ok(())
    }

    /// One conversation.
    pub async fn conversation(&self, id: &str) -> Result<ConversationRecord, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.store.reader())
            .await?
            .ok_or_else(|| StoreError::not_found(format!("conversation {id:?}")))?;
        conversation_from_row(&row)
    }

    /// Conversations matching `filter`, newest first.
    pub async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Page<ConversationRecord>, StoreError> {
        let limit = clamp_limit(filter.limit);
        // Optional filters are written as `($n IS NULL OR col = $n)` so the SQL text
        // stays fixed (and the prepared statement cached) whatever is filtered on.
        let (before_at, before_id) = match &filter.before {
            Some((at, id)) => (Some(*at), Some(id.clone())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c \
             WHERE ($1 IS NULL OR c.learner_id = $1) \
               AND ($2 IS NULL OR c.subtopic_id = $2) \
               AND ($3 IS NULL OR c.status = $3) \
               AND ($4 IS NULL OR c.started_at_ms < $4 OR (c.started_at_ms = $4 AND c.id < $5)) \
             ORDER BY c.started_at_ms DESC, c.id DESC LIMIT $6"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&filter.learner_id)
            .bind(&filter.subtopic_id)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(before_at)
            .bind(before_id)
            .bind(limit)
            .fetch_all(self.store.reader())
            .await?;
        let items = rows
            .iter()
            .map(conversation_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() as i64 == limit {
            items
                .last()
                .map(|c| format!("{}:{}", c.started_at_ms, c.id))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Appends a message to a conversation; returns it with its id.
    pub async fn append_message(
        &self,
        conversation_id: &str,
        new: NewMessage,
    ) -> Result<MessageRecord, StoreError> {
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO messages (conversation_id, role, content, item_id, spoken_at_ms, \
             created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(conversation_id)
        .bind(new.role.as_str())
        .bind(&new.content)
        .bind(&new.item_id)
        .bind(new.spoken_at_ms)
        .bind(now)
        .fetch_one(self.store.writer())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Invalid(_) => {
                StoreError::not_found(format!("conversation {conversation_id:?}"))
            }
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "conversation {conversation_id:?} already has a message for item {:?}",
                new.item_id.as_deref().unwrap_or_default()
            )),
            other => other,
        })?;
        Ok(MessageRecord {
            id: row.try_get("id")?,
            conversation_id: conversation_id.to_owned(),
            role: new.role,
            content: new.content,
            item_id: new.item_id,
            spoken_at_ms: new.spoken_at_ms,
            created_at_ms: now,
            updated_at_ms: now,
        })
    }

    /// Replaces the text of the message for a Realtime item (after the tutor was
    /// interrupted, only what the learner heard is kept).
    pub async fn replace_message_content(
        &self,
        conversation_id: &str,
        item_id: &str,
        content: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE messages SET content = $3, updated_at_ms = $4 \
             WHERE conversation_id = $1 AND item_id = $2",
        )
        .bind(conversation_id)
        .bind(item_id)
        .bind(content)
        .bind(now_ms())
        .execute(self.store.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!(
                "message for item {item_id:?} in conversation {conversation_id:?}"
            )));
        }
        Ok(())
    }

    /// Messages of a conversation in order, after message id `after_id` (0 for the
    /// start), at most `limit` (clamped).
    pub async fn messages(
        &self,
        conversation_id: &str,
        after_id: i64,
        limit: Option<i64>,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, conversation_id, role, content, item_id, spoken_at_ms, created_at_ms, \
             updated_at_ms FROM messages WHERE conversation_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(conversation_id)
        .bind(after_id)
        .bind(clamp_limit(limit))
        .fetch_all(self.store.reader())
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    /// Every message of a conversation in order (for replaying a lesson after a
    /// reconnect). Unbounded: meant for one lesson, not for listing.
    pub async fn all_messages(
        &self,
        conversation_id: &str,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, conversation_id, role, content, item_id, spoken_at_ms, created_at_ms, \
             updated_at_ms FROM messages WHERE conversation_id = $1 ORDER BY id",
        )
        .bind(conversation_id)
        .fetch_all(self.store.reader())
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    /// Records a tool call; returns its id.
    pub async fn record_tool_invocation(&self, new: &NewToolInvocation) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO tool_invocations (conversation_id, call_id, subtopic_id, plugin_name, \
             plugin_version, version_digest, tool_name, arguments, outcome, duration_us, output, \
             error, limits_hit, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(&new.conversation_id)
        .bind(&new.call_id)
        .bind(&new.subtopic_id)
        .bind(&new.plugin_name)
        .bind(&new.plugin_version)
        .bind(&new.version_digest)
        .bind(&new.tool_name)
        .bind(to_json(&new.arguments))
        .bind(&new.outcome)
        .bind(new.duration_us.max(0))
        .bind(&new.output)
        .bind(&new.error)
        .bind(to_json(&new.limits_hit))
        .bind(now_ms())
        .fetch_one(self.store.writer())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Invalid(msg) if msg.contains("does not exist") => {
                StoreError::not_found(format!(
                    "conversation {:?}",
                    new.conversation_id.as_deref().unwrap_or_default()
                ))
            }
            other => other,
        })?;
        Ok(row.try_get("id")?)
    }

    /// Tool invocations of a conversation in order, after id `after_id`.
    pub async fn tool_invocations(
        &self,
        conversation_id: &str,
        after_id: i64,
        limit: Option<i64>,
    ) -> Result<Vec<ToolInvocationRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            select_tool_invocations!(),
            "WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(conversation_id)
        .bind(after_id)
        .bind(clamp_limit(limit))
        .fetch_all(self.store.reader())
        .await?;
        rows.iter().map(tool_invocation_from_row).collect()
    }

    /// The most recent tool invocations across every conversation (and the
    /// playground), newest first, optionally only one plugin's or one outcome's;
    /// `before_id` pages further back. Operators read this to see what tools did lately.
    pub async fn recent_tool_invocations(
        &self,
        plugin_name: Option<&str>,
        outcome: Option<&str>,
        before_id: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<ToolInvocationRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            select_tool_invocations!(),
            "WHERE ($1 IS NULL OR plugin_name = $1) AND ($2 IS NULL OR outcome = $2) \
             AND id < $3 ORDER BY id DESC LIMIT $4"
        ))
        .bind(plugin_name)
        .bind(outcome)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(clamp_limit(limit))
        .fetch_all(self.store.reader())
        .await?;
        rows.iter().map(tool_invocation_from_row).collect()
    }
}

/// Parses a cursor produced by [`HistoryRepo::list_conversations`].
pub fn parse_conversation_cursor(cursor: &str) -> Option<(i64, String)> {
    let (at, id) = cursor.split_once(':')?;
    Some((at.parse().ok()?, id.to_owned()))
}

fn conversation_from_row(row: &AnyRow) -> Result<ConversationRecord, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(ConversationRecord {
        id: row.try_get("id")?,
        room: row.try_get("room")?,
        learner_id: row.try_get("learner_id")?,
        subtopic_id: row.try_get("subtopic_id")?,
        status: ConversationStatus::parse(&status).ok_or_else(|| {
            StoreError::Invalid(format!("unknown conversation status {status:?}"))
        })?,
        started_at_ms: row.try_get("started_at_ms")?,
        ended_at_ms: row.try_get("ended_at_ms")?,
        message_count: row.try_get("message_count")?,
    })
}

/// The columns [`tool_invocation_from_row`] reads; a macro so queries stay `'static` literals.
macro_rules! select_tool_invocations {
    () => {
        "SELECT id, conversation_id, call_id, subtopic_id, plugin_name, plugin_version, \
         version_digest, tool_name, arguments, outcome, duration_us, output, error, \
         limits_hit, created_at_ms FROM tool_invocations "
    };
}
use select_tool_invocations;

fn tool_invocation_from_row(row: &AnyRow) -> Result<ToolInvocationRecord, StoreError> {
    Ok(ToolInvocationRecord {
        id: row.try_get("id")?,
        conversation_id: row.try_get("conversation_id")?,
        call_id: row.try_get("call_id")?,
        subtopic_id: row.try_get("subtopic_id")?,
        plugin_name: row.try_get("plugin_name")?,
        plugin_version: row.try_get("plugin_version")?,
        version_digest: row.try_get("version_digest")?,
        tool_name: row.try_get("tool_name")?,
        arguments: from_json("arguments", &row.try_get::<String, _>("arguments")?)?,
        outcome: row.try_get("outcome")?,
        duration_us: row.try_get("duration_us")?,
        output: row.try_get("output")?,
        error: row.try_get("error")?,
        limits_hit: from_json("limits_hit", &row.try_get::<String, _>("limits_hit")?)?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

fn message_from_row(row: &AnyRow) -> Result<MessageRecord, StoreError> {
    Ok(MessageRecord {
        id: row.try_get("id")?,
        conversation_id: row.try_get("conversation_id")?,
        role: MessageRole::parse(&row.try_get::<String, _>("role")?)?,
        content: row.try_get("content")?,
        item_id: row.try_get("item_id")?,
        spoken_at_ms: row.try_get("spoken_at_ms")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}
