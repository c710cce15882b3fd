//! Which plugin versions are kept and which one is active, per plugin name.
//!
//! Versions are keyed by the sha256 of their bytes. Activation swaps one `Arc`
//! under a write lock: a call takes the active version (an `Arc` clone under the
//! read lock) when it starts and keeps it until it ends, so calls in flight finish
//! on the old version while new calls get the new one, and no call ever sees a mix.
//! Every change is announced on a broadcast channel that sessions subscribe to.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::error::RegistryError;
use super::limits::LimitOverrides;
use super::loader::{PluginVersion, VersionInfo};

/// Events buffered for slow subscribers before they see `Lagged` (then they should
/// rebuild their view with [`PluginRegistry::list`]).
const EVENT_BUFFER: usize = 256;

/// A change in the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RegistryEvent {
    /// A version was validated and kept (not yet active).
    Installed {
        /// Plugin name.
        plugin: String,
        /// Plugin version.
        version: String,
        /// sha256 digest.
        digest: String,
    },
    /// A version became the active one (activation or rollback). Sessions bound to
    /// the plugin should refresh their tool list.
    Activated {
        /// Plugin name.
        plugin: String,
        /// Plugin version now active.
        version: String,
        /// Its digest.
        digest: String,
        /// Digest of the version it replaced, if any.
        previous: Option<String>,
    },
    /// The plugin was disabled: its tools are no longer offered.
    Disabled {
        /// Plugin name.
        plugin: String,
    },
    /// The plugin was enabled again.
    Enabled {
        /// Plugin name.
        plugin: String,
    },
    /// A kept version was removed.
    Removed {
        /// Plugin name.
        plugin: String,
        /// Its digest.
        digest: String,
    },
    /// A file in a watched plugin directory could not be loaded (nothing changed).
    LoadFailed {
        /// The file.
        source: String,
        /// Why, with the error code.
        error: String,
    },
}

/// A plugin as listed: its versions, the active one, whether it is enabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginSummary {
    /// Plugin name.
    pub name: String,
    /// Digest of the active version.
    pub active: Option<String>,
    /// Whether the plugin is disabled.
    pub disabled: bool,
    /// Per-plugin limit overrides.
    pub limits: LimitOverrides,
    /// Kept versions, oldest first.
    pub versions: Vec<VersionInfo>,
}

#[derive(Default)]
struct PluginEntry {
    versions: Vec<Arc<PluginVersion>>,
    active: Option<Arc<PluginVersion>>,
    /// Digests that were active before, most recent last (for rollback).
    history: Vec<String>,
    disabled: bool,
    overrides: LimitOverrides,
}

impl PluginEntry {
    fn find(&self, plugin: &str, spec: &str) -> Result<Arc<PluginVersion>, RegistryError> {
        if let Some(v) = self.versions.iter().find(|v| v.digest() == spec) {
            return Ok(v.clone());
        }
        let mut by_version = self.versions.iter().filter(|v| v.version() == spec);
        match (by_version.next(), by_version.next()) {
            (Some(v), None) => Ok(v.clone()),
            (Some(_), Some(_)) => Err(RegistryError::AmbiguousVersion {
                plugin: plugin.to_owned(),
                version: spec.to_owned(),
            }),
            (None, _) => Err(RegistryError::UnknownVersion {
                plugin: plugin.to_owned(),
                version: spec.to_owned(),
            }),
        }
    }
}

/// The in-memory registry. Persisting versions is the caller's business: install
/// the bytes again at start-up and activate what storage says was active.
pub struct PluginRegistry {
    plugins: RwLock<BTreeMap<String, PluginEntry>>,
    events: broadcast::Sender<RegistryEvent>,
}

impl Default for PluginRegistry {
    fn default() -> Self {
        PluginRegistry {
            plugins: RwLock::new(BTreeMap::new()),
            events: broadcast::channel(EVENT_BUFFER).0,
        }
    }
}

impl PluginRegistry {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, PluginEntry>> {
        // Every write replaces whole values, so a poisoned lock still holds a
        // consistent map.
        self.plugins.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, PluginEntry>> {
        self.plugins.write().unwrap_or_else(|p| p.into_inner())
    }

    fn announce(&self, event: RegistryEvent) {
        // No subscribers is normal (e.g. the CLI).
        let _ = self.events.send(event);
    }

    /// Subscribe to changes.
    pub fn subscribe(&self) -> broadcast::Receiver<RegistryEvent> {
        self.events.subscribe()
    }

    pub(crate) fn announce_failure(&self, source: String, error: String) {
        self.announce(RegistryEvent::LoadFailed { source, error });
    }

    /// Keep a loaded version. Returns `false` if the same digest was already kept
    /// (then nothing changes).
    pub(crate) fn insert(&self, version: Arc<PluginVersion>) -> bool {
        let mut plugins = self.write();
        let entry = plugins.entry(version.name().to_owned()).or_default();
        if entry
            .versions
            .iter()
            .any(|v| v.digest() == version.digest())
        {
            return false;
        }
        entry.versions.push(version.clone());
        drop(plugins);
        self.announce(RegistryEvent::Installed {
            plugin: version.name().to_owned(),
            version: version.version().to_owned(),
            digest: version.digest().to_owned(),
        });
        true
    }

    /// Make a kept version (by digest, or by version number when only one build of
    /// it is kept) the active one.
    pub fn activate(&self, plugin: &str, spec: &str) -> Result<Arc<PluginVersion>, RegistryError> {
        let mut plugins = self.write();
        let entry = plugins
            .get_mut(plugin)
            .ok_or_else(|| RegistryError::UnknownPlugin(plugin.to_owned()))?;
        let version = entry.find(plugin, spec)?;
        let previous = entry.active.replace(version.clone());
        let previous_digest = previous.as_ref().map(|p| p.digest().to_owned());
        if let Some(p) = &previous_digest
            && p != version.digest()
        {
            entry.history.push(p.clone());
        }
        drop(plugins);
        self.announce(RegistryEvent::Activated {
            plugin: plugin.to_owned(),
            version: version.version().to_owned(),
            digest: version.digest().to_owned(),
            previous: previous_digest,
        });
        Ok(version)
    }

    /// Go back to the version that was active before the current one.
    pub fn rollback(&self, plugin: &str) -> Result<Arc<PluginVersion>, RegistryError> {
        let target = {
            let mut plugins = self.write();
            let entry = plugins
                .get_mut(plugin)
                .ok_or_else(|| RegistryError::UnknownPlugin(plugin.to_owned()))?;
            let current = entry.active.as_ref().map(|a| a.digest().to_owned());
            // Skip history entries equal to the current version or no longer kept.
            loop {
                let Some(candidate) = entry.history.pop() else {
                    return Err(RegistryError::NothingToRollBack(plugin.to_owned()));
                };
                if Some(&candidate) != current.as_ref()
                    && entry.versions.iter().any(|v| v.digest() == candidate)
                {
                    break candidate;
                }
            }
        };
        // `activate` pushes the version we leave onto the history, so a second
        // rollback undoes the first.
        self.activate(plugin, &target)
    }

    /// Stop offering the plugin's tools (calls end `unavailable`); versions are kept.
    pub fn disable(&self, plugin: &str) -> Result<(), RegistryError> {
        self.set_disabled(plugin, true)
    }

    /// Offer the plugin's tools again.
    pub fn enable(&self, plugin: &str) -> Result<(), RegistryError> {
        self.set_disabled(plugin, false)
    }

    fn set_disabled(&self, plugin: &str, disabled: bool) -> Result<(), RegistryError> {
        let mut plugins = self.write();
        let entry = plugins
            .get_mut(plugin)
            .ok_or_else(|| RegistryError::UnknownPlugin(plugin.to_owned()))?;
        let changed = entry.disabled != disabled;
        entry.disabled = disabled;
        drop(plugins);
        if changed {
            self.announce(if disabled {
                RegistryEvent::Disabled {
                    plugin: plugin.to_owned(),
                }
            } else {
                RegistryEvent::Enabled {
                    plugin: plugin.to_owned(),
                }
            });
        }
        Ok(())
    }

    /// Remove a kept version that is not the active one.
    pub fn remove(&self, plugin: &str, digest: &str) -> Result<(), RegistryError> {
        let mut plugins = self.write();
        let entry = plugins
            .get_mut(plugin)
            .ok_or_else(|| RegistryError::UnknownPlugin(plugin.to_owned()))?;
        let unknown = || RegistryError::UnknownVersion {
            plugin: plugin.to_owned(),
            version: digest.to_owned(),
        };
        if entry.active.as_ref().is_some_and(|a| a.digest() == digest) {
            return Err(unknown());
        }
        let before = entry.versions.len();
        entry.versions.retain(|v| v.digest() != digest);
        if entry.versions.len() == before {
            return Err(unknown());
        }
        entry.history.retain(|d| d != digest);
        drop(plugins);
        self.announce(RegistryEvent::Removed {
            plugin: plugin.to_owned(),
            digest: digest.to_owned(),
        });
        Ok(())
    }

    /// Set per-plugin limit overrides (they apply to calls that start afterwards).
    pub fn set_limits(&self, plugin: &str, overrides: LimitOverrides) -> Result<(), RegistryError> {
        let mut plugins = self.write();
        let entry = plugins
            .get_mut(plugin)
            .ok_or_else(|| RegistryError::UnknownPlugin(plugin.to_owned()))?;
        entry.overrides = overrides;
        Ok(())
    }

    /// The active version of `plugin` and its limit overrides, as of now.
    pub fn active(
        &self,
        plugin: &str,
    ) -> Result<(Arc<PluginVersion>, LimitOverrides), RegistryError> {
        let plugins = self.read();
        let entry = plugins
            .get(plugin)
            .ok_or_else(|| RegistryError::UnknownPlugin(plugin.to_owned()))?;
        match (&entry.active, entry.disabled) {
            (Some(v), false) => Ok((v.clone(), entry.overrides.clone())),
            _ => Err(RegistryError::NotActive(plugin.to_owned())),
        }
    }

    /// A kept version of `plugin` by digest or version number (active or not, but
    /// not if the plugin is disabled), with the plugin's limit overrides.
    pub fn version(
        &self,
        plugin: &str,
        spec: &str,
    ) -> Result<(Arc<PluginVersion>, LimitOverrides), RegistryError> {
        let plugins = self.read();
        let entry = plugins
            .get(plugin)
            .ok_or_else(|| RegistryError::UnknownPlugin(plugin.to_owned()))?;
        if entry.disabled {
            return Err(RegistryError::NotActive(plugin.to_owned()));
        }
        Ok((entry.find(plugin, spec)?, entry.overrides.clone()))
    }

    /// Every plugin with its versions.
    pub fn list(&self) -> Vec<PluginSummary> {
        self.read()
            .iter()
            .map(|(name, entry)| PluginSummary {
                name: name.clone(),
                active: entry.active.as_ref().map(|a| a.digest().to_owned()),
                disabled: entry.disabled,
                limits: entry.overrides.clone(),
                versions: entry.versions.iter().map(|v| v.info()).collect(),
            })
            .collect()
    }

    /// One plugin with its versions.
    pub fn get(&self, plugin: &str) -> Result<PluginSummary, RegistryError> {
        self.list()
            .into_iter()
            .find(|p| p.name == plugin)
            .ok_or_else(|| RegistryError::UnknownPlugin(plugin.to_owned()))
    }
}
