//! Uploaded plugins and their versions: the durable side of the plugin registry.
//!
//! The API stores each validated upload with [`PluginRepo::add_version`] (the
//! component bytes go in the database so every instance can load them), makes one
//! version active per plugin with [`PluginRepo::activate_version`] (which is also how a
//! rollback is done: activate the previous version), and disables a whole plugin with
//! [`PluginRepo::set_enabled`]. The in-memory registry is rebuilt from
//! [`PluginRepo::active_versions`] at start.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, from_json, now_ms, to_json};

/// The state of a plugin version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VersionStatus {
    /// Stored, not serving.
    Inactive,
    /// The version lessons use (at most one per plugin).
    Active,
    /// Stored for the record but refused (failed validation or withdrawn).
    Rejected,
}

impl VersionStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Inactive => "inactive",
            VersionStatus::Active => "active",
            VersionStatus::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "inactive" => Ok(VersionStatus::Inactive),
            "active" => Ok(VersionStatus::Active),
            "rejected" => Ok(VersionStatus::Rejected),
            other => Err(StoreError::Invalid(format!(
                "unknown version status {other:?}"
            ))),
        }
    }
}

/// A plugin version to store.
#[derive(Debug, Clone)]
pub struct NewPluginVersion {
    /// Plugin name (created on first upload).
    pub plugin_name: String,
    /// Version string from the manifest (unique per plugin).
    pub version: String,
    /// sha256 of the component bytes, lowercase hex.
    pub sha256: String,
    /// The manifest, as JSON.
    pub manifest: serde_json::Value,
    /// The component bytes (`None` when only `path` is kept).
    pub wasm: Option<Vec<u8>>,
    /// Where the component lives on disk, for bundled plugins.
    pub path: Option<String>,
    /// Size of the component in bytes.
    pub size_bytes: i64,
    /// Initial state.
    pub status: VersionStatus,
}

/// A plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginRecord {
    /// Name.
    pub name: String,
    /// Whether lessons may use it at all.
    pub enabled: bool,
    /// The active version string, if any.
    pub active_version: Option<String>,
    /// sha256 of the active version, if any.
    pub active_sha256: Option<String>,
    /// Number of stored versions.
    pub version_count: i64,
    /// Created (Unix ms).
    pub created_at_ms: i64,
    /// Last changed (Unix ms).
    pub updated_at_ms: i64,
}

/// A stored plugin version (without its bytes; see [`PluginRepo::wasm`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginVersionRecord {
    /// Row id.
    pub id: i64,
    /// Plugin name.
    pub plugin_name: String,
    /// Version string.
    pub version: String,
    /// sha256 (hex).
    pub sha256: String,
    /// Manifest.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub manifest: serde_json::Value,
    /// Path on disk, if any.
    pub path: Option<String>,
    /// Size in bytes.
    pub size_bytes: i64,
    /// State.
    pub status: VersionStatus,
    /// Uploaded (Unix ms).
    pub created_at_ms: i64,
    /// Last activated (Unix ms).
    pub activated_at_ms: Option<i64>,
}

/// Plugins and versions. Get one with [`Store::plugins`].
#[derive(Debug, Clone, Copy)]
pub struct PluginRepo<'s> {
    pub(super) store: &'s Store,
}

macro_rules! version_columns {
    () => {
        "id, plugin_name, version, sha256, manifest, path, size_bytes, status, created_at_ms, \
         activated_at_ms"
    };
}

impl PluginRepo<'_> {
    /// Stores a version (creating the plugin on first upload). If `status` is
    /// `Active`, the previously active version becomes inactive in the same transaction.
    pub async fn add_version(
        &self,
        new: &NewPluginVersion,
    ) -> Result<PluginVersionRecord, StoreError> {
        let mut problems = Vec::new();
        crate::curriculum::check_plugin_name("plugin name", &new.plugin_name, &mut problems);
        if new.sha256.len() != 64 || !new.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            problems.push("sha256: must be 64 hex characters".to_owned());
        }
        if new.wasm.is_none() && new.path.is_none() {
            problems.push("a version needs its component bytes or a path".to_owned());
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join("; ")));
        }
        let now = now_ms();
        let mut tx = self.store.writer().begin().await?;
        sqlx::query(
            "INSERT INTO plugins (name, enabled, created_at_ms, updated_at_ms) VALUES ($1, 1, $2, $2) \
             ON CONFLICT (name) DO UPDATE SET updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&new.plugin_name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if new.status == VersionStatus::Active {
            sqlx::query(
                "UPDATE plugin_versions SET status = 'inactive' \
                 WHERE plugin_name = $1 AND status = 'active'",
            )
            .bind(&new.plugin_name)
            .execute(&mut *tx)
            .await?;
        }
        let activated = (new.status == VersionStatus::Active).then_some(now);
        let row = sqlx::query(
            "INSERT INTO plugin_versions (plugin_name, version, sha256, manifest, wasm, path, \
             size_bytes, status, created_at_ms, activated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&new.plugin_name)
        .bind(&new.version)
        .bind(new.sha256.to_ascii_lowercase())
        .bind(to_json(&new.manifest))
        .bind(new.wasm.as_deref())
        .bind(&new.path)
        .bind(new.size_bytes)
        .bind(new.status.as_str())
        .bind(now)
        .bind(activated)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "plugin {:?} already has a version {:?}; bump the version in its manifest",
                new.plugin_name, new.version
            )),
            other => other,
        })?;
        let id: i64 = row.try_get("id")?;
        tx.commit().await?;
        self.version_by_id(id).await
    }

    /// Makes `version` the active version of `plugin_name`; returns the version that
    /// was active before (the rollback target), if any.
    pub async fn activate_version(
        &self,
        plugin_name: &str,
        version: &str,
    ) -> Result<Option<PluginVersionRecord>, StoreError> {
        let previous = self.active_version(plugin_name).await?;
        let mut tx = self.store.writer().begin().await?;
        let target = sqlx::query(
            "SELECT status FROM plugin_versions WHERE plugin_name = $1 AND version = $2",
        )
        .bind(plugin_name)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::not_found(format!("version {version:?} of plugin {plugin_name:?}"))
        })?;
        if target.try_get::<String, _>("status")? == "rejected" {
            return Err(StoreError::Invalid(format!(
                "version {version:?} of plugin {plugin_name:?} was rejected and cannot be activated"
            )));
        }
        let now = now_ms();
        sqlx::query(
            "UPDATE plugin_versions SET status = 'inactive' WHERE plugin_name = $1 AND status = 'active'",
        )
        .bind(plugin_name)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE plugin_versions SET status = 'active', activated_at_ms = $3 \
             WHERE plugin_name = $1 AND version = $2",
        )
        .bind(plugin_name)
        .bind(version)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE plugins SET updated_at_ms = $2 WHERE name = $1")
            .bind(plugin_name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(previous.filter(|p| p.version != version))
    }

    /// Sets a version's status without touching the others (e.g. `Rejected`).
    /// Use [`Self::activate_version`] to make one active.
    pub async fn set_version_status(
        &self,
        plugin_name: &str,
        version: &str,
        status: VersionStatus,
    ) -> Result<(), StoreError> {
        if status == VersionStatus::Active {
            self.activate_version(plugin_name, version).await?;
            return Ok(());
        }
        let done = sqlx::query(
            "UPDATE plugin_versions SET status = $3 WHERE plugin_name = $1 AND version = $2",
        )
        .bind(plugin_name)
        .bind(version)
        .bind(status.as_str())
        .execute(self.store.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!(
                "version {version:?} of plugin {plugin_name:?}"
            )));
        }
        Ok(())
    }

    /// Enables or disables a plugin as a whole (its versions are kept).
    pub async fn set_enabled(&self, plugin_name: &str, enabled: bool) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE plugins SET enabled = $2, updated_at_ms = $3 WHERE name = $1")
                .bind(plugin_name)
                .bind(i64::from(enabled))
                .bind(now_ms())
                .execute(self.store.writer())
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("plugin {plugin_name:?}")));
        }
        Ok(())
    }

    /// Every plugin, by name.
    pub async fn list(&self) -> Result<Vec<PluginRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.name, p.enabled, p.created_at_ms, p.updated_at_ms, \
             a.version AS active_version, a.sha256 AS active_sha256, \
             (SELECT COUNT(*) FROM plugin_versions v WHERE v.plugin_name = p.name) AS version_count \
             FROM plugins p LEFT JOIN plugin_versions a \
             ON a.plugin_name = p.name AND a.status = 'active' ORDER BY p.name",
        )
        .fetch_all(self.store.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PluginRecord {
                    name: row.try_get("name")?,
                    enabled: row.try_get::<i64, _>("enabled")? != 0,
                    active_version: row.try_get("active_version")?,
                    active_sha256: row.try_get("active_sha256")?,
                    version_count: row.try_get("version_count")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                    updated_at_ms: row.try_get("updated_at_ms")?,
                })
            })
            .collect()
    }

    /// One plugin.
    pub async fn get(&self, plugin_name: &str) -> Result<PluginRecord, StoreError> {
        self.list()
            .await?
            .into_iter()
            .find(|p| p.name == plugin_name)
            .ok_or_else(|| StoreError::not_found(format!("plugin {plugin_name:?}")))
    }

    /// The versions of a plugin, oldest first; `NotFound` if the plugin is unknown.
    pub async fn versions(
        &self,
        plugin_name: &str,
    ) -> Result<Vec<PluginVersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM plugin_versions WHERE plugin_name = $1 ORDER BY id"
        ))
        .bind(plugin_name)
        .fetch_all(self.store.reader())
        .await?;
        if rows.is_empty() {
            self.get(plugin_name).await?;
        }
        rows.iter().map(version_from_row).collect()
    }

    /// The active version of a plugin, if it has one.
    pub async fn active_version(
        &self,
        plugin_name: &str,
    ) -> Result<Option<PluginVersionRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM plugin_versions WHERE plugin_name = $1 AND status = 'active'"
        ))
        .bind(plugin_name)
        .fetch_optional(self.store.reader())
        .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// The active version of every enabled plugin (what the registry loads at start).
    pub async fn active_versions(&self) -> Result<Vec<PluginVersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM plugin_versions v WHERE v.status = 'active' AND EXISTS \
             (SELECT 1 FROM plugins p WHERE p.name = v.plugin_name AND p.enabled = 1) \
             ORDER BY plugin_name"
        ))
        .fetch_all(self.store.reader())
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// A version by plugin and version string.
    pub async fn version(
        &self,
        plugin_name: &str,
        version: &str,
    ) -> Result<PluginVersionRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM plugin_versions WHERE plugin_name = $1 AND version = $2"
        ))
        .bind(plugin_name)
        .bind(version)
        .fetch_optional(self.store.reader())
        .await?
        .ok_or_else(|| {
            StoreError::not_found(format!("version {version:?} of plugin {plugin_name:?}"))
        })?;
        version_from_row(&row)
    }

    async fn version_by_id(&self, id: i64) -> Result<PluginVersionRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM plugin_versions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.store.reader())
        .await?
        .ok_or_else(|| StoreError::not_found(format!("plugin version #{id}")))?;
        version_from_row(&row)
    }

    /// The component bytes of a version (`None` if only a path is stored).
    pub async fn wasm(
        &self,
        plugin_name: &str,
        version: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row =
            sqlx::query("SELECT wasm FROM plugin_versions WHERE plugin_name = $1 AND version = $2")
                .bind(plugin_name)
                .bind(version)
                .fetch_optional(self.store.reader())
                .await?
                .ok_or_else(|| {
                    StoreError::not_found(format!("version {version:?} of plugin {plugin_name:?}"))
                })?;
        Ok(row.try_get("wasm")?)
    }
}

fn version_from_row(row: &AnyRow) -> Result<PluginVersionRecord, StoreError> {
    Ok(PluginVersionRecord {
        id: row.try_get("id")?,
        plugin_name: row.try_get("plugin_name")?,
        version: row.try_get("version")?,
        sha256: row.try_get("sha256")?,
        manifest: from_json("manifest", &row.try_get::<String, _>("manifest")?)?,
        path: row.try_get("path")?,
        size_bytes: row.try_get("size_bytes")?,
        status: VersionStatus::parse(&row.try_get::<String, _>("status")?)?,
        created_at_ms: row.try_get("created_at_ms")?,
        activated_at_ms: row.try_get("activated_at_ms")?,
    })
}
