//! The tools a lesson offers the model: the plugins bound to the current subtopic,
//! resolved into one name -> plugin map with no clashes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::RegistryError;
use super::loader::PluginVersion;
use super::manifest::ToolSpec;
use super::registry::PluginRegistry;

/// A plugin bound to a subtopic (a `subtopic_tools` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolBinding {
    /// Plugin name.
    pub plugin: String,
    /// Version pin: a digest or a version number. `None` follows the active
    /// version, including hot swaps.
    #[serde(default)]
    pub version: Option<String>,
    /// The plugin's configuration for this subtopic (a JSON object; `{}` if none).
    #[serde(default = "empty_object")]
    pub config: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

impl ToolBinding {
    /// A binding to the active version with no configuration.
    pub fn active(plugin: impl Into<String>) -> ToolBinding {
        ToolBinding {
            plugin: plugin.into(),
            version: None,
            config: empty_object(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BoundTool {
    pub(crate) plugin: String,
    pub(crate) pinned: Option<Arc<PluginVersion>>,
    pub(crate) config: Arc<str>,
    pub(crate) spec: ToolSpec,
}

/// The tools of a set of bound plugins, as of when it was built. Rebuild it when a
/// [`super::RegistryEvent`] names one of the bound plugins (at the next turn).
#[derive(Debug, Clone, Default)]
pub struct ToolSet {
    pub(crate) tools: BTreeMap<String, BoundTool>,
}

impl ToolSet {
    /// Resolve `bindings` against the registry. Refused (and nothing is built) when
    /// a plugin is unknown, inactive, a pin is unknown, a config is not an object,
    /// or two plugins provide a tool of the same name.
    pub fn resolve(
        registry: &PluginRegistry,
        bindings: &[ToolBinding],
    ) -> Result<ToolSet, RegistryError> {
        let mut tools: BTreeMap<String, BoundTool> = BTreeMap::new();
        for binding in bindings {
            if !binding.config.is_object() {
                return Err(RegistryError::InvalidConfig(binding.plugin.clone()));
            }
            let (version, pinned) = match &binding.version {
                Some(spec) => {
                    let (v, _) = registry.version(&binding.plugin, spec)?;
                    (v.clone(), Some(v))
                }
                None => (registry.active(&binding.plugin)?.0, None),
            };
            let config: Arc<str> = Arc::from(binding.config.to_string());
            for spec in &version.manifest().tools {
                if let Some(existing) = tools.get(&spec.name) {
                    return Err(RegistryError::ToolNameClash {
                        tool: spec.name.clone(),
                        first: existing.plugin.clone(),
                        second: binding.plugin.clone(),
                    });
                }
                tools.insert(
                    spec.name.clone(),
                    BoundTool {
                        plugin: binding.plugin.clone(),
                        pinned: pinned.clone(),
                        config: config.clone(),
                        spec: spec.clone(),
                    },
                );
            }
        }
        Ok(ToolSet { tools })
    }

    /// The tools in the OpenAI Realtime function-tool shape, for `session.update`.
    pub fn realtime_tools(&self) -> Vec<Value> {
        self.tools
            .values()
            .map(|t| t.spec.realtime_function())
            .collect()
    }

    /// The tool specs, by name.
    pub fn specs(&self) -> impl Iterator<Item = &ToolSpec> {
        self.tools.values().map(|t| &t.spec)
    }

    /// The plugin providing `tool`, if any.
    pub fn plugin_for(&self, tool: &str) -> Option<&str> {
        self.tools.get(tool).map(|t| t.plugin.as_str())
    }

    /// Whether any bound plugin is `plugin` (to decide whether an event matters).
    pub fn uses_plugin(&self, plugin: &str) -> bool {
        self.tools.values().any(|t| t.plugin == plugin)
    }

    /// Number of tools.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether there are no tools.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}
