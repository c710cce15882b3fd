//! The audit log: who changed what (plugin uploads, activations, rollbacks, disables,
//! content imports, learner deletions). Append-only.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError, clamp_limit, from_json, now_ms, to_json};

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    /// Who did it (e.g. `admin`, a token name, `cli`).
    pub actor: String,
    /// What was done, dotted (e.g. `plugin.upload`, `plugin.activate`, `learner.delete`).
    pub action: String,
    /// What it was done to (e.g. `plugin:quiz@1.2.0`, `learner:ada`).
    pub target: String,
    /// Anything else worth keeping.
    pub details: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Id, increasing.
    pub id: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub target: String,
    /// Details.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    /// When (Unix ms).
    pub at_ms: i64,
}

/// The audit log. Get one with [`Store::audit`].
#[derive(Debug, Clone, Copy)]
pub struct AuditRepo<'s> {
    pub(super) store: &'s Store,
}

impl AuditRepo<'_> {
    /// Appends an entry; returns its id.
    pub async fn append(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        if entry.actor.is_empty() || entry.action.is_empty() {
            return Err(StoreError::Invalid(
                "an audit entry needs an actor and an action".to_owned(),
            ));
        }
        let row = sqlx::query(
            "INSERT INTO audit_log (actor, action, target, details, at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(to_json(&entry.details))
        .bind(now_ms())
        .fetch_one(self.store.writer())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Entries newest first, older than id `before` (all when `None`), optionally only
    /// those whose target starts with `target_prefix`; at most `limit` (clamped).
    pub async fn list(
        &self,
        target_prefix: Option<&str>,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        // A prefix match without LIKE, whose escaping rules differ between databases.
        let prefix = target_prefix.unwrap_or("");
        let rows = sqlx::query(
            "SELECT id, actor, action, target, details, at_ms FROM audit_log \
             WHERE ($1 IS NULL OR id < $1) AND substr(target, 1, $2) = $3 \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(before)
        .bind(i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX))
        .bind(prefix)
        .bind(clamp_limit(limit))
        .fetch_all(self.store.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    details: from_json("details", &row.try_get::<String, _>("details")?)?,
                    at_ms: row.try_get("at_ms")?,
                })
            })
            .collect()
    }
}
