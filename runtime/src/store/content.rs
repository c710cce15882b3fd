//! Curriculum content: topics, subtopics and the tools bound to each subtopic, plus
//! importing and exporting the whole curriculum as one document.
//!
//! Lists are ordered by `position`, then id. A new topic or subtopic without a
//! position goes after its last sibling.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError, from_json, now_ms, to_json};
use crate::curriculum::{
    Curriculum, CurriculumError, SubtopicDoc, ToolBinding, TopicDoc, check_bindings,
    check_subtopic, check_topic_fields,
};
use crate::lesson::{self, Level, Objective, WorkedExample};

/// A topic to create or replace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTopic {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// A sentence or two.
    #[serde(default)]
    pub description: String,
    /// Display position; after the last topic when absent.
    #[serde(default)]
    pub position: Option<i64>,
}

/// A stored topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopicRecord {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Display position.
    pub position: i64,
    /// Number of subtopics.
    pub subtopic_count: i64,
    /// Created (Unix ms).
    pub created_at_ms: i64,
    /// Last changed (Unix ms).
    pub updated_at_ms: i64,
}

/// A subtopic to create or replace (its tool bindings are set separately).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSubtopic {
    /// Stable id.
    pub id: String,
    /// The topic it belongs to.
    pub topic_id: String,
    /// Title.
    pub title: String,
    /// One or two sentences.
    #[serde(default)]
    pub summary: String,
    /// How advanced it is.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub level: Level,
    /// Teaching content (markdown).
    #[serde(default)]
    pub content: String,
    /// Learning objectives.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub objectives: Vec<Objective>,
    /// Key points.
    #[serde(default)]
    pub key_points: Vec<String>,
    /// Worked examples.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub examples: Vec<WorkedExample>,
    /// Position within the topic; after the last subtopic when absent.
    #[serde(default)]
    pub position: Option<i64>,
}

/// A subtopic as listed under its topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubtopicSummary {
    /// Id.
    pub id: String,
    /// Topic.
    pub topic_id: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// Level.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub level: Level,
    /// Position within the topic.
    pub position: i64,
}

/// A stored subtopic with its content and tool bindings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubtopicRecord {
    /// Id.
    pub id: String,
    /// Topic.
    pub topic_id: String,
    /// Title of the topic.
    pub topic_title: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// Level.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub level: Level,
    /// Content (markdown).
    pub content: String,
    /// Objectives.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub objectives: Vec<Objective>,
    /// Key points.
    pub key_points: Vec<String>,
    /// Worked examples.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub examples: Vec<WorkedExample>,
    /// Position within the topic.
    pub position: i64,
    /// Tool bindings in order.
    pub tools: Vec<ToolBinding>,
    /// Created (Unix ms).
    pub created_at_ms: i64,
    /// Last changed (Unix ms).
    pub updated_at_ms: i64,
}

impl SubtopicRecord {
    /// The lesson a teaching tool reads.
    pub fn to_lesson(&self) -> lesson::Subtopic {
        lesson::Subtopic {
            id: self.id.clone(),
            topic_id: self.topic_id.clone(),
            topic_title: self.topic_title.clone(),
            title: self.title.clone(),
            summary: self.summary.clone(),
            content: self.content.clone(),
            objectives: self.objectives.clone(),
            key_points: self.key_points.clone(),
            examples: self.examples.clone(),
            level: self.level,
        }
    }
}

impl From<SubtopicRecord> for lesson::Subtopic {
    fn from(record: SubtopicRecord) -> Self {
        lesson::Subtopic {
            id: record.id,
            topic_id: record.topic_id,
            topic_title: record.topic_title,
            title: record.title,
            summary: record.summary,
            content: record.content,
            objectives: record.objectives,
            key_points: record.key_points,
            examples: record.examples,
            level: record.level,
        }
    }
}

/// What an import changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    /// Topics created or replaced.
    pub topics: usize,
    /// Subtopics created or replaced.
    pub subtopics: usize,
    /// Tool bindings written.
    pub tool_bindings: usize,
}

/// Topics, subtopics and bindings. Get one with [`Store::content`].
#[derive(Debug, Clone, Copy)]
pub struct ContentRepo<'s> {
    pub(super) store: &'s Store,
}

macro_rules! topic_select {
    () => {
        "SELECT t.id, t.title, t.description, t.position, t.created_at_ms, t.updated_at_ms, \
         (SELECT COUNT(*) FROM subtopics s WHERE s.topic_id = t.id) AS subtopic_count \
         FROM topics t"
    };
}

macro_rules! subtopic_select {
    () => {
        "SELECT s.id, s.topic_id, t.title AS topic_title, s.title, s.summary, s.level, \
         s.content, s.objectives, s.key_points, s.examples, s.position, s.created_at_ms, \
         s.updated_at_ms FROM subtopics s JOIN topics t ON t.id = s.topic_id"
    };
}

fn invalid(problems: Vec<String>) -> Result<(), StoreError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(problems.join("; ")))
    }
}

fn validate_subtopic(new: &NewSubtopic) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    check_subtopic("subtopic", &doc_of(new), &mut problems);
    crate::curriculum::check_id("subtopic.topic_id", &new.topic_id, &mut problems);
    invalid(problems)
}

fn doc_of(new: &NewSubtopic) -> SubtopicDoc {
    SubtopicDoc {
        id: new.id.clone(),
        title: new.title.clone(),
        summary: new.summary.clone(),
        level: new.level,
        content: new.content.clone(),
        objectives: new.objectives.clone(),
        key_points: new.key_points.clone(),
        examples: new.examples.clone(),
        tools: Vec::new(),
    }
}

impl ContentRepo<'_> {
    /// Every topic in display order.
    pub async fn list_topics(&self) -> Result<Vec<TopicRecord>, StoreError> {
        let rows = sqlx::query(concat!(topic_select!(), " ORDER BY t.position, t.id"))
            .fetch_all(self.store.reader())
            .await?;
        rows.iter().map(topic_from_row).collect()
    }

    /// One topic.
    pub async fn topic(&self, id: &str) -> Result<TopicRecord, StoreError> {
        let row = sqlx::query(concat!(topic_select!(), " WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(self.store.reader())
            .await?
            .ok_or_else(|| StoreError::not_found(format!("topic {id:?}")))?;
        topic_from_row(&row)
    }

    /// Creates a topic; `Conflict` if the id is taken.
    pub async fn create_topic(&self, new: &NewTopic) -> Result<TopicRecord, StoreError> {
        let mut problems = Vec::new();
        check_topic_fields(
            "topic",
            &new.id,
            &new.title,
            &new.description,
            &mut problems,
        );
        invalid(problems)?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO topics (id, title, description, position, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, COALESCE($4, (SELECT COALESCE(MAX(position) + 1, 0) FROM topics)), \
             $5, $5)",
        )
        .bind(&new.id)
        .bind(&new.title)
        .bind(&new.description)
        .bind(new.position)
        .bind(now)
        .execute(self.store.writer())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("topic {:?} already exists", new.id))
            }
            other => other,
        })?;
        self.topic(&new.id).await
    }

    /// Replaces a topic's title, description and (when given) position.
    pub async fn update_topic(&self, new: &NewTopic) -> Result<TopicRecord, StoreError> {
        let mut problems = Vec::new();
        check_topic_fields(
            "topic",
            &new.id,
            &new.title,
            &new.description,
            &mut problems,
        );
        invalid(problems)?;
        let done = sqlx::query(
            "UPDATE topics SET title = $2, description = $3, position = COALESCE($4, position), \
             updated_at_ms = $5 WHERE id = $1",
        )
        .bind(&new.id)
        .bind(&new.title)
        .bind(&new.description)
        .bind(new.position)
        .bind(now_ms())
        .execute(self.store.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("topic {:?}", new.id)));
        }
        self.topic(&new.id).await
    }

    /// Deletes a topic with its subtopics and their bindings and progress.
    /// Conversations keep their history (their subtopic becomes unknown).
    pub async fn delete_topic(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM topics WHERE id = $1")
            .bind(id)
            .execute(self.store.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("topic {id:?}")));
        }
        Ok(())
    }

    /// The subtopics of a topic in teaching order; `NotFound` if the topic is unknown.
    pub async fn list_subtopics(&self, topic_id: &str) -> Result<Vec<SubtopicSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, topic_id, title, summary, level, position FROM subtopics \
             WHERE topic_id = $1 ORDER BY position, id",
        )
        .bind(topic_id)
        .fetch_all(self.store.reader())
        .await?;
        if rows.is_empty() {
            // Distinguish "no subtopics yet" from "no such topic".
            self.topic(topic_id).await?;
        }
        rows.iter()
            .map(|row| {
                Ok(SubtopicSummary {
                    id: row.try_get("id")?,
                    topic_id: row.try_get("topic_id")?,
                    title: row.try_get("title")?,
                    summary: row.try_get("summary")?,
                    level: parse_level(&row.try_get::<String, _>("level")?)?,
                    position: row.try_get("position")?,
                })
            })
            .collect()
    }

    /// One subtopic with its content and bindings.
    pub async fn subtopic(&self, id: &str) -> Result<SubtopicRecord, StoreError> {
        let row = sqlx::query(concat!(subtopic_select!(), " WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(self.store.reader())
            .await?
            .ok_or_else(|| StoreError::not_found(format!("subtopic {id:?}")))?;
        let mut record = subtopic_from_row(&row)?;
        record.tools = self.tool_bindings_unchecked(id).await?;
        Ok(record)
    }

    /// The lesson a teaching tool reads for a subtopic.
    pub async fn lesson(&self, subtopic_id: &str) -> Result<lesson::Subtopic, StoreError> {
        Ok(self.subtopic(subtopic_id).await?.into())
    }

    /// Creates a subtopic; `Conflict` if the id is taken, `NotFound` if the topic is not.
    pub async fn create_subtopic(&self, new: &NewSubtopic) -> Result<SubtopicRecord, StoreError> {
        validate_subtopic(new)?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO subtopics (id, topic_id, title, summary, level, content, objectives, \
             key_points, examples, position, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             COALESCE($10, (SELECT COALESCE(MAX(position) + 1, 0) FROM subtopics WHERE topic_id = $2)), \
             $11, $11)",
        )
        .bind(&new.id)
        .bind(&new.topic_id)
        .bind(&new.title)
        .bind(&new.summary)
        .bind(new.level.as_str())
        .bind(&new.content)
        .bind(to_json(&new.objectives))
        .bind(to_json(&new.key_points))
        .bind(to_json(&new.examples))
        .bind(new.position)
        .bind(now)
        .execute(self.store.writer())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("subtopic {:?} already exists", new.id))
            }
            StoreError::Invalid(msg) if msg.contains("does not exist") => {
                StoreError::not_found(format!("topic {:?}", new.topic_id))
            }
            other => other,
        })?;
        self.subtopic(&new.id).await
    }

    /// Replaces a subtopic's content (it may move to another topic); bindings are kept.
    pub async fn update_subtopic(&self, new: &NewSubtopic) -> Result<SubtopicRecord, StoreError> {
        validate_subtopic(new)?;
        let done = sqlx::query(
            "UPDATE subtopics SET topic_id = $2, title = $3, summary = $4, level = $5, \
             content = $6, objectives = $7, key_points = $8, examples = $9, \
             position = COALESCE($10, position), updated_at_ms = $11 WHERE id = $1",
        )
        .bind(&new.id)
        .bind(&new.topic_id)
        .bind(&new.title)
        .bind(&new.summary)
        .bind(new.level.as_str())
        .bind(&new.content)
        .bind(to_json(&new.objectives))
        .bind(to_json(&new.key_points))
        .bind(to_json(&new.examples))
        .bind(new.position)
        .bind(now_ms())
        .execute(self.store.writer())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Invalid(msg) if msg.contains("does not exist") => {
                StoreError::not_found(format!("topic {:?}", new.topic_id))
            }
            other => other,
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("subtopic {:?}", new.id)));
        }
        self.subtopic(&new.id).await
    }

    /// Deletes a subtopic with its bindings and progress.
    pub async fn delete_subtopic(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM subtopics WHERE id = $1")
            .bind(id)
            .execute(self.store.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("subtopic {id:?}")));
        }
        Ok(())
    }

    /// The tools bound to a subtopic, in order; `NotFound` if the subtopic is unknown.
    pub async fn tool_bindings(&self, subtopic_id: &str) -> Result<Vec<ToolBinding>, StoreError> {
        let exists = sqlx::query("SELECT 1 AS one FROM subtopics WHERE id = $1")
            .bind(subtopic_id)
            .fetch_optional(self.store.reader())
            .await?;
        if exists.is_none() {
            return Err(StoreError::not_found(format!("subtopic {subtopic_id:?}")));
        }
        self.tool_bindings_unchecked(subtopic_id).await
    }

    async fn tool_bindings_unchecked(
        &self,
        subtopic_id: &str,
    ) -> Result<Vec<ToolBinding>, StoreError> {
        let rows = sqlx::query(
            "SELECT plugin_name, version_digest, config, enabled FROM subtopic_tools \
             WHERE subtopic_id = $1 ORDER BY position, plugin_name",
        )
        .bind(subtopic_id)
        .fetch_all(self.store.reader())
        .await?;
        rows.iter().map(binding_from_row).collect()
    }

    /// Every subtopic bound to `plugin_name`, with its binding (for hot reload and
    /// deciding what a plugin change affects).
    pub async fn bindings_of_plugin(
        &self,
        plugin_name: &str,
    ) -> Result<Vec<(String, ToolBinding)>, StoreError> {
        let rows = sqlx::query(
            "SELECT subtopic_id, plugin_name, version_digest, config, enabled FROM subtopic_tools \
             WHERE plugin_name = $1 ORDER BY subtopic_id",
        )
        .bind(plugin_name)
        .fetch_all(self.store.reader())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("subtopic_id")?, binding_from_row(row)?)))
            .collect()
    }

    /// Replaces the tools bound to a subtopic (all or nothing).
    pub async fn set_tool_bindings(
        &self,
        subtopic_id: &str,
        tools: &[ToolBinding],
    ) -> Result<Vec<ToolBinding>, StoreError> {
        let mut problems = Vec::new();
        check_bindings("tools", tools, &mut problems);
        invalid(problems)?;
        let mut tx = self.store.writer().begin().await?;
        let exists = sqlx::query("SELECT 1 AS one FROM subtopics WHERE id = $1")
            .bind(subtopic_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::not_found(format!("subtopic {subtopic_id:?}")));
        }
        write_bindings(&mut tx, subtopic_id, tools).await?;
        tx.commit().await?;
        self.tool_bindings_unchecked(subtopic_id).await
    }

    /// True when there is no topic at all (a fresh database).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM topics")
            .fetch_one(self.store.reader())
            .await?;
        Ok(row.try_get::<i64, _>("n")? == 0)
    }

    /// Imports a curriculum in one transaction: every topic and subtopic in the
    /// document is created or replaced (matched by id) with the document's order, and
    /// each listed subtopic's bindings become exactly the document's. Content not in
    /// the document is left as it is. Nothing is written if anything fails.
    pub async fn import_curriculum(&self, doc: &Curriculum) -> Result<ImportSummary, StoreError> {
        doc.validate().map_err(|e| match e {
            CurriculumError::Invalid(problems) => StoreError::Invalid(problems.join("; ")),
            CurriculumError::Syntax(msg) => StoreError::Invalid(msg),
        })?;
        let now = now_ms();
        let mut summary = ImportSummary {
            topics: 0,
            subtopics: 0,
            tool_bindings: 0,
        };
        let mut tx = self.store.writer().begin().await?;
        for (position, topic) in doc.topics.iter().enumerate() {
            sqlx::query(
                "INSERT INTO topics (id, title, description, position, created_at_ms, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO UPDATE SET \
                 title = excluded.title, description = excluded.description, \
                 position = excluded.position, updated_at_ms = excluded.updated_at_ms",
            )
            .bind(&topic.id)
            .bind(&topic.title)
            .bind(&topic.description)
            .bind(position as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            summary.topics += 1;
            for (position, sub) in topic.subtopics.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO subtopics (id, topic_id, title, summary, level, content, \
                     objectives, key_points, examples, position, created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                     ON CONFLICT (id) DO UPDATE SET topic_id = excluded.topic_id, \
                     title = excluded.title, summary = excluded.summary, level = excluded.level, \
                     content = excluded.content, objectives = excluded.objectives, \
                     key_points = excluded.key_points, examples = excluded.examples, \
                     position = excluded.position, updated_at_ms = excluded.updated_at_ms",
                )
                .bind(&sub.id)
                .bind(&topic.id)
                .bind(&sub.title)
                .bind(&sub.summary)
                .bind(sub.level.as_str())
                .bind(&sub.content)
                .bind(to_json(&sub.objectives))
                .bind(to_json(&sub.key_points))
                .bind(to_json(&sub.examples))
                .bind(position as i64)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                write_bindings(&mut tx, &sub.id, &sub.tools).await?;
                summary.subtopics += 1;
                summary.tool_bindings += sub.tools.len();
            }
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// The whole curriculum as one document (what [`Self::import_curriculum`] reads).
    pub async fn export_curriculum(&self) -> Result<Curriculum, StoreError> {
        let topics = self.list_topics().await?;
        let rows = sqlx::query(concat!(
            subtopic_select!(),
            " ORDER BY s.topic_id, s.position, s.id"
        ))
        .fetch_all(self.store.reader())
        .await?;
        let binding_rows = sqlx::query(
            "SELECT subtopic_id, plugin_name, version_digest, config, enabled FROM subtopic_tools \
             ORDER BY subtopic_id, position, plugin_name",
        )
        .fetch_all(self.store.reader())
        .await?;
        let mut bindings: std::collections::HashMap<String, Vec<ToolBinding>> = Default::default();
        for row in &binding_rows {
            bindings
                .entry(row.try_get("subtopic_id")?)
                .or_default()
                .push(binding_from_row(row)?);
        }
        let mut docs: Vec<TopicDoc> = topics
            .into_iter()
            .map(|t| TopicDoc {
                id: t.id,
                title: t.title,
                description: t.description,
                subtopics: Vec::new(),
            })
            .collect();
        for row in &rows {
            let s = subtopic_from_row(row)?;
            if let Some(topic) = docs.iter_mut().find(|t| t.id == s.topic_id) {
                topic.subtopics.push(SubtopicDoc {
                    tools: bindings.remove(&s.id).unwrap_or_default(),
                    id: s.id,
                    title: s.title,
                    summary: s.summary,
                    level: s.level,
                    content: s.content,
                    objectives: s.objectives,
                    key_points: s.key_points,
                    examples: s.examples,
                });
            }
        }
        Ok(Curriculum {
            format: crate::curriculum::CURRICULUM_FORMAT,
            topics: docs,
        })
    }
}

async fn write_bindings(
    tx: &mut Transaction<'static, Any>,
    subtopic_id: &str,
    tools: &[ToolBinding],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM subtopic_tools WHERE subtopic_id = $1")
        .bind(subtopic_id)
        .execute(&mut **tx)
        .await?;
    for (position, b) in tools.iter().enumerate() {
        sqlx::query(
            "INSERT INTO subtopic_tools (subtopic_id, plugin_name, version_digest, config, \
             enabled, position) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(subtopic_id)
        .bind(&b.plugin)
        .bind(&b.version)
        .bind(to_json(&b.config))
        .bind(i64::from(b.enabled))
        .bind(position as i64)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn parse_level(s: &str) -> Result<Level, StoreError> {
    match s {
        "beginner" => Ok(Level::Beginner),
        "intermediate" => Ok(Level::Intermediate),
        "advanced" => Ok(Level::Advanced),
        other => Err(StoreError::Invalid(format!(
            "unknown level {other:?} in the database"
        ))),
    }
}

fn topic_from_row(row: &AnyRow) -> Result<TopicRecord, StoreError> {
    Ok(TopicRecord {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        position: row.try_get("position")?,
        subtopic_count: row.try_get("subtopic_count")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

fn subtopic_from_row(row: &AnyRow) -> Result<SubtopicRecord, StoreError> {
    Ok(SubtopicRecord {
        id: row.try_get("id")?,
        topic_id: row.try_get("topic_id")?,
        topic_title: row.try_get("topic_title")?,
        title: row.try_get("title")?,
        summary: row.try_get("summary")?,
        level: parse_level(&row.try_get::<String, _>("level")?)?,
        content: row.try_get("content")?,
        objectives: from_json("objectives", &row.try_get::<String, _>("objectives")?)?,
        key_points: from_json("key_points", &row.try_get::<String, _>("key_points")?)?,
        examples: from_json("examples", &row.try_get::<String, _>("examples")?)?,
        position: row.try_get("position")?,
        tools: Vec::new(),
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

fn binding_from_row(row: &AnyRow) -> Result<ToolBinding, StoreError> {
    Ok(ToolBinding {
        plugin: row.try_get("plugin_name")?,
        version: row.try_get("version_digest")?,
        config: from_json("config", &row.try_get::<String, _>("config")?)?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
    })
}
