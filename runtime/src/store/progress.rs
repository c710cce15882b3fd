//! Learner progress (evidence per objective, mastery per subtopic), learner profiles,
//! per-lesson analytics, and deleting everything kept about a learner.
//!
//! Each piece of evidence is a score in `0..=1` for one objective of one subtopic
//! (from a quiz answer, a check of understanding …). The stored score is a running
//! average that leans towards recent evidence: the first answers count equally, after
//! that each new one moves the score by at least [`RECENT_EVIDENCE_WEIGHT`], so a
//! learner who has since understood is not held back by early mistakes.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, from_json, now_ms, to_json};
use crate::lesson::Objective;

/// The least weight a new piece of evidence has in an objective's score.
pub const RECENT_EVIDENCE_WEIGHT: f64 = 0.3;
/// Mastery (mean objective score) at or above which a subtopic counts as mastered.
pub const MASTERY_THRESHOLD: f64 = 0.8;
/// Longest note kept with a piece of evidence, in bytes.
pub const MAX_NOTE_BYTES: usize = 2_000;

/// One piece of evidence about a learner and an objective.
#[derive(Debug, Clone, Deserialize)]
pub struct Evidence {
    /// The learner.
    pub learner_id: String,
    /// The subtopic.
    pub subtopic_id: String,
    /// One of the subtopic's objective ids.
    pub objective_id: String,
    /// How well the learner did, `0.0..=1.0`.
    pub score: f64,
    /// A short note (what was asked, what was answered).
    #[serde(default)]
    pub note: String,
}

/// Where a learner stands on one objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectiveProgress {
    /// Objective id.
    pub objective_id: String,
    /// Objective text (empty if the objective was since removed from the subtopic).
    pub text: String,
    /// Score, `0..=1` (0 without evidence).
    pub score: f64,
    /// Pieces of evidence so far.
    pub evidence_count: i64,
    /// Note of the latest evidence.
    pub last_note: String,
    /// Latest evidence (Unix ms), if any.
    pub updated_at_ms: Option<i64>,
}

/// Where a learner stands on a subtopic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mastery {
    /// The learner.
    pub learner_id: String,
    /// The subtopic.
    pub subtopic_id: String,
    /// Mean score over the subtopic's objectives (objectives without evidence count 0).
    pub mastery: f64,
    /// `mastery >= MASTERY_THRESHOLD`.
    pub mastered: bool,
    /// Per objective, in the subtopic's order.
    pub objectives: Vec<ObjectiveProgress>,
}

/// A learner's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserProfile {
    /// Learner identity.
    pub learner_id: String,
    /// Name to show.
    pub display_name: String,
    /// Free-form settings (preferred pace, language …).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: serde_json::Value,
    /// Created (Unix ms).
    pub created_at_ms: i64,
    /// Last changed (Unix ms).
    pub updated_at_ms: i64,
}

/// Counters for one lesson, written by the session when it ends (or periodically).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionAnalytics {
    /// The conversation.
    pub conversation_id: String,
    /// The learner.
    pub learner_id: String,
    /// Subtopic at the end.
    pub subtopic_id: Option<String>,
    /// Lesson length in milliseconds.
    pub duration_ms: i64,
    /// Learner turns.
    pub learner_turns: i64,
    /// Tutor turns.
    pub tutor_turns: i64,
    /// Tool calls.
    pub tool_calls: i64,
    /// Times the learner interrupted the tutor.
    pub interruptions: i64,
    /// Realtime reconnects.
    pub reconnects: i64,
}

/// What [`ProgressRepo::delete_learner`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LearnerDeletion {
    /// Conversations (with their messages, tool invocations and analytics).
    pub conversations: u64,
    /// Messages.
    pub messages: u64,
    /// Tool invocations.
    pub tool_invocations: u64,
    /// Progress rows.
    pub progress: u64,
    /// Profiles (0 or 1).
    pub profiles: u64,
}

impl LearnerDeletion {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        *self == LearnerDeletion::default()
    }
}

/// Progress, profiles and analytics. Get one with [`Store::progress`].
#[derive(Debug, Clone, Copy)]
pub struct ProgressRepo<'s> {
    pub(super) store: &'s Store,
}

impl ProgressRepo<'_> {
    /// Records a piece of evidence and returns the objective's new standing.
    /// `NotFound` if the subtopic is unknown, `Invalid` if the objective is not one
    /// of the subtopic's or the score is outside `0..=1`.
    pub async fn record_evidence(&self, e: &Evidence) -> Result<ObjectiveProgress, StoreError> {
        if e.learner_id.trim().is_empty() {
            return Err(StoreError::Invalid("learner_id must not be empty".into()));
        }
        if !(0.0..=1.0).contains(&e.score) {
            return Err(StoreError::Invalid(format!(
                "score {} is outside 0..=1",
                e.score
            )));
        }
        let objectives = self.objectives_of(&e.subtopic_id).await?;
        let Some(objective) = objectives.iter().find(|o| o.id == e.objective_id) else {
            let known: Vec<&str> = objectives.iter().map(|o| o.id.as_str()).collect();
            return Err(StoreError::Invalid(format!(
                "subtopic {:?} has no objective {:?}; its objectives are {known:?}",
                e.subtopic_id, e.objective_id
            )));
        };
        let note: String = truncate(&e.note, MAX_NOTE_BYTES);
        let now = now_ms();
        // One statement, so concurrent evidence for the same objective cannot lose an
        // update: weight = max(1 / (n + 1), RECENT_EVIDENCE_WEIGHT).
        let row = sqlx::query(
            "INSERT INTO learner_progress (learner_id, subtopic_id, objective_id, score, \
             evidence_count, last_note, updated_at_ms) VALUES ($1, $2, $3, $4, 1, $5, $6) \
             ON CONFLICT (learner_id, subtopic_id, objective_id) DO UPDATE SET \
             score = learner_progress.score + (excluded.score - learner_progress.score) * \
               CASE WHEN 1.0 / (learner_progress.evidence_count + 1) > $7 \
                    THEN 1.0 / (learner_progress.evidence_count + 1) ELSE $7 END, \
             evidence_count = learner_progress.evidence_count + 1, \
             last_note = excluded.last_note, updated_at_ms = excluded.updated_at_ms \
             RETURNING score, evidence_count, last_note, updated_at_ms",
        )
        .bind(&e.learner_id)
        .bind(&e.subtopic_id)
        .bind(&e.objective_id)
        .bind(e.score)
        .bind(&note)
        .bind(now)
        .bind(RECENT_EVIDENCE_WEIGHT)
        .fetch_one(self.store.writer())
        .await?;
        Ok(ObjectiveProgress {
            objective_id: objective.id.clone(),
            text: objective.text.clone(),
            score: clamp_score(row.try_get("score")?),
            evidence_count: row.try_get("evidence_count")?,
            last_note: row.try_get("last_note")?,
            updated_at_ms: Some(row.try_get("updated_at_ms")?),
        })
    }

    /// A learner's mastery of one subtopic (zero everywhere before any evidence).
    pub async fn mastery(
        &self,
        learner_id: &str,
        subtopic_id: &str,
    ) -> Result<Mastery, StoreError> {
        let objectives = self.objectives_of(subtopic_id).await?;
        let rows = sqlx::query(
            "SELECT objective_id, score, evidence_count, last_note, updated_at_ms \
             FROM learner_progress WHERE learner_id = $1 AND subtopic_id = $2",
        )
        .bind(learner_id)
        .bind(subtopic_id)
        .fetch_all(self.store.reader())
        .await?;
        mastery_of(learner_id, subtopic_id, &objectives, &rows)
    }

    /// A learner's mastery of every subtopic they have evidence for, by subtopic id.
    pub async fn learner_progress(&self, learner_id: &str) -> Result<Vec<Mastery>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.subtopic_id, p.objective_id, p.score, p.evidence_count, p.last_note, \
             p.updated_at_ms, s.objectives FROM learner_progress p \
             JOIN subtopics s ON s.id = p.subtopic_id \
             WHERE p.learner_id = $1 ORDER BY p.subtopic_id",
        )
        .bind(learner_id)
        .fetch_all(self.store.reader())
        .await?;
        let mut out = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let subtopic: String = rows[start].try_get("subtopic_id")?;
            let mut end = start + 1;
            while end < rows.len() && rows[end].try_get::<String, _>("subtopic_id")? == subtopic {
                end += 1;
            }
            let objectives: Vec<Objective> = from_json(
                "objectives",
                &rows[start].try_get::<String, _>("objectives")?,
            )?;
            out.push(mastery_of(
                learner_id,
                &subtopic,
                &objectives,
                &rows[start..end],
            )?);
            start = end;
        }
        Ok(out)
    }

    /// Creates or replaces a learner's profile.
    pub async fn upsert_profile(
        &self,
        learner_id: &str,
        display_name: &str,
        metadata: &serde_json::Value,
    ) -> Result<UserProfile, StoreError> {
        if learner_id.trim().is_empty() {
            return Err(StoreError::Invalid("learner_id must not be empty".into()));
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO user_profiles (learner_id, display_name, metadata, created_at_ms, \
             updated_at_ms) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (learner_id) DO UPDATE SET \
             display_name = excluded.display_name, metadata = excluded.metadata, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(learner_id)
        .bind(display_name)
        .bind(to_json(metadata))
        .bind(now)
        .execute(self.store.writer())
        .await?;
        self.profile(learner_id)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("profile {learner_id:?}")))
    }

    /// A learner's profile, if one was saved.
    pub async fn profile(&self, learner_id: &str) -> Result<Option<UserProfile>, StoreError> {
        let row = sqlx::query(
            "SELECT learner_id, display_name, metadata, created_at_ms, updated_at_ms \
             FROM user_profiles WHERE learner_id = $1",
        )
        .bind(learner_id)
        .fetch_optional(self.store.reader())
        .await?;
        row.map(|row| {
            Ok(UserProfile {
                learner_id: row.try_get("learner_id")?,
                display_name: row.try_get("display_name")?,
                metadata: from_json("metadata", &row.try_get::<String, _>("metadata")?)?,
                created_at_ms: row.try_get("created_at_ms")?,
                updated_at_ms: row.try_get("updated_at_ms")?,
            })
        })
        .transpose()
    }

    /// Creates or replaces a lesson's counters.
    pub async fn save_analytics(&self, a: &SessionAnalytics) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_analytics (conversation_id, learner_id, subtopic_id, duration_ms, \
             learner_turns, tutor_turns, tool_calls, interruptions, reconnects, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (conversation_id) DO UPDATE SET subtopic_id = excluded.subtopic_id, \
             duration_ms = excluded.duration_ms, learner_turns = excluded.learner_turns, \
             tutor_turns = excluded.tutor_turns, tool_calls = excluded.tool_calls, \
             interruptions = excluded.interruptions, reconnects = excluded.reconnects, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&a.conversation_id)
        .bind(&a.learner_id)
        .bind(&a.subtopic_id)
        .bind(a.duration_ms.max(0))
        .bind(a.learner_turns.max(0))
        .bind(a.tutor_turns.max(0))
        .bind(a.tool_calls.max(0))
        .bind(a.interruptions.max(0))
        .bind(a.reconnects.max(0))
        .bind(now_ms())
        .execute(self.store.writer())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Invalid(m) if m.contains("does not exist") => {
                StoreError::not_found(format!("conversation {:?}", a.conversation_id))
            }
            other => other,
        })?;
        Ok(())
    }

    /// A lesson's counters, if saved.
    pub async fn analytics(
        &self,
        conversation_id: &str,
    ) -> Result<Option<SessionAnalytics>, StoreError> {
        let row = sqlx::query(
            "SELECT conversation_id, learner_id, subtopic_id, duration_ms, learner_turns, \
             tutor_turns, tool_calls, interruptions, reconnects FROM session_analytics \
             WHERE conversation_id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(self.store.reader())
        .await?;
        row.map(|row| {
            Ok(SessionAnalytics {
                conversation_id: row.try_get("conversation_id")?,
                learner_id: row.try_get("learner_id")?,
                subtopic_id: row.try_get("subtopic_id")?,
                duration_ms: row.try_get("duration_ms")?,
                learner_turns: row.try_get("learner_turns")?,
                tutor_turns: row.try_get("tutor_turns")?,
                tool_calls: row.try_get("tool_calls")?,
                interruptions: row.try_get("interruptions")?,
                reconnects: row.try_get("reconnects")?,
            })
        })
        .transpose()
    }

    /// Deletes everything kept about a learner, in one transaction: conversations
    /// (with messages, tool invocations, analytics), progress and profile.
    pub async fn delete_learner(&self, learner_id: &str) -> Result<LearnerDeletion, StoreError> {
        let mut tx = self.store.writer().begin().await?;
        let messages = sqlx::query(
            "DELETE FROM messages WHERE conversation_id IN \
             (SELECT id FROM conversations WHERE learner_id = $1)",
        )
        .bind(learner_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let tool_invocations = sqlx::query(
            "DELETE FROM tool_invocations WHERE conversation_id IN \
             (SELECT id FROM conversations WHERE learner_id = $1)",
        )
        .bind(learner_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Analytics rows carry the learner too, in case one outlived its conversation.
        sqlx::query("DELETE FROM session_analytics WHERE learner_id = $1")
            .bind(learner_id)
            .execute(&mut *tx)
            .await?;
        let conversations = sqlx::query("DELETE FROM conversations WHERE learner_id = $1")
            .bind(learner_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let progress = sqlx::query("DELETE FROM learner_progress WHERE learner_id = $1")
            .bind(learner_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let profiles = sqlx::query("DELETE FROM user_profiles WHERE learner_id = $1")
            .bind(learner_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(LearnerDeletion {
            conversations,
            messages,
            tool_invocations,
            progress,
            profiles,
        })
    }

    async fn objectives_of(&self, subtopic_id: &str) -> Result<Vec<Objective>, StoreError> {
        let row = sqlx::query("SELECT objectives FROM subtopics WHERE id = $1")
            .bind(subtopic_id)
            .fetch_optional(self.store.reader())
            .await?
            .ok_or_else(|| StoreError::not_found(format!("subtopic {subtopic_id:?}")))?;
        from_json("objectives", &row.try_get::<String, _>("objectives")?)
    }
}

fn mastery_of(
    learner_id: &str,
    subtopic_id: &str,
    objectives: &[Objective],
    rows: &[AnyRow],
) -> Result<Mastery, StoreError> {
    let mut out: Vec<ObjectiveProgress> = objectives
        .iter()
        .map(|o| ObjectiveProgress {
            objective_id: o.id.clone(),
            text: o.text.clone(),
            score: 0.0,
            evidence_count: 0,
            last_note: String::new(),
            updated_at_ms: None,
        })
        .collect();
    for row in rows {
        let id: String = row.try_get("objective_id")?;
        let progress = ObjectiveProgress {
            objective_id: id.clone(),
            text: String::new(),
            score: clamp_score(row.try_get("score")?),
            evidence_count: row.try_get("evidence_count")?,
            last_note: row.try_get("last_note")?,
            updated_at_ms: Some(row.try_get("updated_at_ms")?),
        };
        match out.iter_mut().find(|p| p.objective_id == id) {
            Some(slot) => {
                let text = std::mem::take(&mut slot.text);
                *slot = ObjectiveProgress { text, ..progress };
            }
            // Evidence for an objective the author has since removed: shown, not counted.
            None => out.push(progress),
        }
    }
    let counted: Vec<f64> = out
        .iter()
        .filter(|p| objectives.iter().any(|o| o.id == p.objective_id))
        .map(|p| p.score)
        .collect();
    let mastery = if counted.is_empty() {
        0.0
    } else {
        counted.iter().sum::<f64>() / counted.len() as f64
    };
    Ok(Mastery {
        learner_id: learner_id.to_owned(),
        subtopic_id: subtopic_id.to_owned(),
        mastery,
        mastered: mastery >= MASTERY_THRESHOLD,
        objectives: out,
    })
}

fn clamp_score(score: f64) -> f64 {
    score.clamp(0.0, 1.0)
}

fn truncate(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_owned();
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
