//! Keeping every instance's plugin registry equal to the database.
//!
//! The database is the truth: which versions exist (with their bytes), which is
//! active, whether a plugin is enabled. [`reconcile`] makes this instance's
//! in-memory registry match it for one plugin, loading any missing version's
//! bytes from the database through the runtime's full validation.
//!
//! After a change, the instance that made it publishes the plugin's name on the
//! Redis channel [`CHANNEL`]; every other instance reconciles that plugin when it
//! hears it. A message carries no state, only "look again", so a lost or
//! duplicated message cannot leave an instance in a state the database does not
//! describe, and every instance also reconciles everything when (re)subscribing.
//! Without Redis there is one instance and nothing to publish.

use std::time::Duration;

use futures::StreamExt;
use lectern_runtime::plugin::{PluginHost, RegistryError, digest_of};
use lectern_runtime::store::{NewAuditEntry, NewPluginVersion, Store, StoreError, VersionStatus};
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;

/// Redis pub/sub channel for plugin changes.
pub const CHANNEL: &str = "lectern:plugins";
/// Wait between attempts to (re)subscribe after Redis fails.
pub const RESUBSCRIBE_DELAY_MS: u64 = 1_000;

/// One change notice on [`CHANNEL`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeNotice {
    /// The instance that made the change (it ignores its own notices).
    pub instance: String,
    /// The plugin that changed.
    pub plugin: String,
}

/// Publishes change notices (no-op without Redis).
#[derive(Debug, Clone)]
pub struct PluginSync {
    instance: String,
    redis: Option<redis::Client>,
}

impl PluginSync {
    /// A publisher for this instance; `redis_url` switches sharing on.
    pub fn new(redis_url: Option<&str>) -> anyhow::Result<Self> {
        let redis = redis_url
            .map(redis::Client::open)
            .transpose()
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        Ok(Self {
            instance: uuid::Uuid::new_v4().to_string(),
            redis,
        })
    }

    /// This instance's id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Tells the other instances that `plugin` changed. A failure is logged: the
    /// change is already in the database, and instances reconcile on resubscribe.
    pub async fn publish(&self, plugin: &str) {
        let Some(client) = &self.redis else { return };
        let notice = ChangeNotice {
            instance: self.instance.clone(),
            plugin: plugin.to_owned(),
        };
        let payload = serde_json::to_string(&notice).expect("a notice serializes");
        let result: redis::RedisResult<i64> = async {
            let mut connection = client.get_multiplexed_async_connection().await?;
            redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(payload)
                .query_async(&mut connection)
                .await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, plugin, "could not announce a plugin change on Redis; other instances pick it up when they resubscribe");
        }
    }

    /// Listens for other instances' notices until the process ends, reconciling
    /// each named plugin; on every (re)subscription reconciles all plugins.
    pub fn spawn_listener(&self, host: PluginHost, store: Store, metrics: std::sync::Arc<Metrics>) {
        let Some(client) = self.redis.clone() else {
            return;
        };
        let instance = self.instance.clone();
        tokio::spawn(async move {
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if let Err(error) = pubsub.subscribe(CHANNEL).await {
                            tracing::warn!(%error, "subscribing to plugin changes failed");
                        } else {
                            if let Err(error) = reconcile_all(&host, &store, &metrics).await {
                                tracing::warn!(error = ?error, "reconciling plugins after subscribing failed");
                            }
                            let mut messages = pubsub.on_message();
                            while let Some(message) = messages.next().await {
                                let Ok(payload) = message.get_payload::<String>() else {
                                    continue;
                                };
                                let Ok(notice) = serde_json::from_str::<ChangeNotice>(&payload)
                                else {
                                    tracing::warn!("ignoring a malformed plugin change notice");
                                    continue;
                                };
                                if notice.instance == instance {
                                    continue;
                                }
                                match reconcile(&host, &store, &notice.plugin).await {
                                    Ok(true) => {
                                        metrics.record_plugin_swap(&notice.plugin, "remote")
                                    }
                                    Ok(false) => {}
                                    Err(error) => tracing::error!(
                                        error = ?error,
                                        plugin = notice.plugin,
                                        "applying another instance's plugin change failed"
                                    ),
                                }
                            }
                            tracing::warn!("the plugin change subscription ended; resubscribing");
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot subscribe to plugin changes on Redis")
                    }
                }
                tokio::time::sleep(Duration::from_millis(RESUBSCRIBE_DELAY_MS)).await;
            }
        });
    }
}

/// Makes the registry's view of `plugin` match the database: active version
/// (loaded from its stored bytes if needed) and enabled flag. Returns whether
/// anything changed.
pub async fn reconcile(host: &PluginHost, store: &Store, plugin: &str) -> anyhow::Result<bool> {
    let record = store.plugins().get(plugin).await?;
    let registry = host.registry();
    let mut changed = false;
    if let (Some(version), Some(sha256)) = (&record.active_version, &record.active_sha256) {
        let current = registry.get(plugin).ok().and_then(|s| s.active);
        if current.as_deref() != Some(sha256.as_str()) {
            ensure_loaded(host, store, plugin, version, sha256).await?;
            // A disabled plugin cannot be activated; enable first, disable after.
            let _ = registry.enable(plugin);
            registry.activate(plugin, sha256)?;
            changed = true;
        }
    }
    let disabled = registry.get(plugin).map(|s| s.disabled).unwrap_or(false);
    if record.enabled == disabled {
        match (record.enabled, registry.get(plugin)) {
            (true, Ok(_)) => registry.enable(plugin)?,
            (false, Ok(_)) => registry.disable(plugin)?,
            (_, Err(RegistryError::UnknownPlugin(_))) => {}
            (_, Err(error)) => return Err(error.into()),
        }
        changed = true;
    }
    Ok(changed)
}

/// Reconciles every plugin in the database.
pub async fn reconcile_all(
    host: &PluginHost,
    store: &Store,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    for record in store.plugins().list().await? {
        match reconcile(host, store, &record.name).await {
            Ok(true) => metrics.record_plugin_swap(&record.name, "reconcile"),
            Ok(false) => {}
            Err(error) => {
                tracing::error!(error = ?error, plugin = record.name, "cannot load plugin from the database")
            }
        }
    }
    Ok(())
}

/// Installs a stored version into the registry unless it is already there.
pub async fn ensure_loaded(
    host: &PluginHost,
    store: &Store,
    plugin: &str,
    version: &str,
    sha256: &str,
) -> anyhow::Result<()> {
    let known = host
        .registry()
        .get(plugin)
        .map(|s| s.versions.iter().any(|v| v.digest == sha256))
        .unwrap_or(false);
    if known {
        return Ok(());
    }
    let bytes = store
        .plugins()
        .wasm(plugin, version)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("version {version} of plugin {plugin} has no stored bytes")
        })?;
    anyhow::ensure!(
        digest_of(&bytes) == sha256,
        "stored bytes of {plugin}@{version} do not match their sha256"
    );
    host.install(&bytes)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Stores the bundled example plugins' versions that the database does not
/// have yet, after the runtime validated them. A plugin without an active
/// version gets the bundled one activated; an operator's choice of version is
/// never overridden.
pub async fn store_bundled(host: &PluginHost, store: &Store) -> anyhow::Result<()> {
    for (file, bytes) in lectern_plugin_artifacts::bundled() {
        let version = match host.load(bytes).await {
            Ok(version) => version,
            Err(error) => {
                tracing::error!(%error, file, "a bundled plugin failed validation; skipping it");
                continue;
            }
        };
        let name = version.name().to_owned();
        let sha256 = digest_of(bytes);
        let stored = match store.plugins().versions(&name).await {
            Ok(list) => list,
            Err(StoreError::NotFound { .. }) => Vec::new(),
            Err(other) => return Err(other.into()),
        };
        if stored
            .iter()
            .any(|v| v.sha256 == sha256 || v.version == version.version())
        {
            continue;
        }
        let has_active = stored.iter().any(|v| v.status == VersionStatus::Active);
        store
            .plugins()
            .add_version(&NewPluginVersion {
                plugin_name: name.clone(),
                version: version.version().to_owned(),
                sha256: sha256.clone(),
                manifest: serde_json::to_value(version.manifest())?,
                wasm: Some(bytes.to_vec()),
                path: None,
                size_bytes: bytes.len() as i64,
                status: if has_active {
                    VersionStatus::Inactive
                } else {
                    VersionStatus::Active
                },
            })
            .await?;
        store
            .audit()
            .append(&NewAuditEntry {
                actor: "system".to_owned(),
                action: "plugin.bundle".to_owned(),
                target: format!("plugin:{name}"),
                details: serde_json::json!({ "version": version.version(), "sha256": sha256, "activated": !has_active }),
            })
            .await?;
        tracing::info!(
            plugin = name,
            version = version.version(),
            "stored bundled plugin"
        );
    }
    Ok(())
}
