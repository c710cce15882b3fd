//! The teaching-tool plugin host.
//!
//! [`PluginHost`] is the one object the rest of Lectern uses:
//!
//! ```no_run
//! # async fn demo(bytes: Vec<u8>, lesson: std::sync::Arc<lectern_runtime::lesson::Subtopic>) -> anyhow::Result<()> {
//! use lectern_runtime::plugin::{HostConfig, PluginHost, ToolBinding, ToolCall};
//! let host = PluginHost::new(HostConfig::default())?;
//! // Admin upload: validate and keep, then make it the active version.
//! let installed = host.install(&bytes).await?;
//! host.registry().activate(&installed.manifest.name, &installed.digest)?;
//! // A lesson: the plugins bound to its subtopic become its tools …
//! let tools = host.tool_set(&[ToolBinding::active(&installed.manifest.name)])?;
//! let for_session_update = tools.realtime_tools();
//! // … and each function call the model makes is run like this:
//! let record = host
//!     .call(&tools, ToolCall::new("check_understanding", r#"{"answer":"…"}"#, "session-1", lesson))
//!     .await;
//! let function_call_output = record.model_text();
//! # Ok(()) }
//! ```
//!
//! Loading validates everything before anything changes (see [`loader`]); each call
//! runs in a fresh sandbox from the version's pre-linked instance (see
//! [`sandbox`]) and always yields a [`CallRecord`] with a named [`Outcome`].

mod bindings;
mod breaker;
mod call;
mod contract;
mod error;
mod imports;
mod invoke;
pub mod limits;
mod loader;
mod manifest;
mod output;
mod registry;
mod sandbox;
mod state;
mod toolset;
mod watch;

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use wasmtime::component::Linker;

pub use breaker::{BreakerConfig, BreakerState};
pub use call::{CallRecord, Evidence, LogLevel, LogLine, Mastery, Outcome, ToolCall};
pub use contract::{CONTRACT_VERSION_SECTION, HOST_CONTRACT_VERSION, MAX_COMPONENT_BYTES};
pub use error::{LoadError, LoadErrorCode, RegistryError};
#[doc(hidden)]
pub use invoke::StageTimes;
pub use limits::{CallLimits, LimitHit, LimitOverrides};
pub use loader::{DESCRIBE_DEADLINE_MS, PluginVersion, VersionInfo, digest_of};
pub use manifest::{Manifest, ToolSpec};
pub use output::{Display, ToolOutput};
pub use registry::{PluginRegistry, PluginSummary, RegistryEvent};
pub use state::{StateMap, StateStore};
pub use toolset::{ToolBinding, ToolSet};
pub use watch::{PluginDirWatcher, WATCH_DEBOUNCE_MS};

use crate::engine::{EngineConfig, PluginEngine};
use sandbox::CallState;

/// Everything the host is configured with.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The wasmtime engine.
    pub engine: EngineConfig,
    /// Default limits per call (per-plugin overrides go through the registry).
    pub limits: CallLimits,
    /// Circuit breaker settings.
    pub breaker: BreakerConfig,
    /// Log lines per second per plugin version.
    pub log_lines_per_second: u32,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            engine: EngineConfig::default(),
            limits: CallLimits::default(),
            breaker: BreakerConfig::default(),
            log_lines_per_second: limits::DEFAULT_LOG_LINES_PER_SECOND,
        }
    }
}

/// What [`PluginHost::install`] kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Installed {
    /// sha256 of the bytes (hex): the version's key.
    pub digest: String,
    /// The checked manifest.
    pub manifest: Manifest,
    /// `false` when these exact bytes were already installed (nothing changed).
    pub newly_installed: bool,
    /// Details (size, contract version, compile time, imports …).
    pub info: VersionInfo,
}

/// The plugin host: engine, registry, session state. Cheap to clone (shared).
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<HostInner>,
}

struct HostInner {
    engine: PluginEngine,
    linker: Linker<CallState>,
    config: HostConfig,
    registry: PluginRegistry,
    state: StateStore,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// A host with its own engine and an empty registry.
    pub fn new(config: HostConfig) -> anyhow::Result<PluginHost> {
        let engine = PluginEngine::new(config.engine.clone())?;
        PluginHost::with_engine(engine, config)
    }

    /// A host on an existing engine (several hosts may share one engine).
    pub fn with_engine(engine: PluginEngine, config: HostConfig) -> anyhow::Result<PluginHost> {
        let linker = sandbox::linker(&engine)?;
        Ok(PluginHost {
            inner: Arc::new(HostInner {
                engine,
                linker,
                config,
                registry: PluginRegistry::default(),
                state: StateStore::new(),
            }),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &PluginEngine {
        &self.inner.engine
    }

    /// The configuration.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// The registry: activate, roll back, disable, list, subscribe.
    pub fn registry(&self) -> &PluginRegistry {
        &self.inner.registry
    }

    /// Session state per (session, plugin).
    pub fn state(&self) -> &StateStore {
        &self.inner.state
    }

    /// Validate a component without keeping it: contract version, imports,
    /// compilation, `describe`, manifest and schemas.
    pub async fn load(&self, bytes: &[u8]) -> Result<Arc<PluginVersion>, LoadError> {
        let inner = &self.inner;
        loader::load(&inner.engine, &inner.linker, &inner.config, bytes).await
    }

    /// Validate and keep a version (it does not become active). A failed install
    /// changes nothing and says why. Installing the same bytes twice is harmless.
    pub async fn install(&self, bytes: &[u8]) -> Result<Installed, LoadError> {
        let version = self.load(bytes).await?;
        Ok(self.keep(version))
    }

    /// Keep a version [`PluginHost::load`] validated (it does not become
    /// active), as it is: nothing is compiled or run again. Keeping the same
    /// bytes twice is harmless.
    ///
    /// # Panics
    ///
    /// If `version` was loaded on another engine: its compiled code cannot run
    /// on this host's.
    pub fn keep(&self, version: Arc<PluginVersion>) -> Installed {
        assert!(
            version.compiled_by(&self.inner.engine),
            "{version:?} was loaded on another engine; load it with this host"
        );
        let newly_installed = self.inner.registry.insert(version.clone());
        Installed {
            digest: version.digest().to_owned(),
            manifest: version.manifest().clone(),
            newly_installed,
            info: version.info(),
        }
    }

    /// Install and activate in one step (development reload, bundled plugins).
    pub async fn install_and_activate(&self, bytes: &[u8]) -> Result<Installed, LoadError> {
        let installed = self.install(bytes).await?;
        self.inner
            .registry
            .activate(&installed.manifest.name, &installed.digest)
            .expect("a version just installed can be activated");
        Ok(installed)
    }

    /// Resolve the tools of the plugins bound to a subtopic.
    pub fn tool_set(&self, bindings: &[ToolBinding]) -> Result<ToolSet, RegistryError> {
        ToolSet::resolve(&self.inner.registry, bindings)
    }

    /// Run a function call the model made with the lesson's tool set. Never fails:
    /// every problem is a [`CallRecord`] with an outcome and a message.
    pub async fn call(&self, tools: &ToolSet, call: ToolCall) -> CallRecord {
        self.call_in(tools, call, None).await
    }

    /// [`PluginHost::call`], and where its time went, for benchmarks: the
    /// sandboxed stages of this very call (a fresh store and instantiation, the
    /// `invoke` export, the instance's teardown), so that the host's own work
    /// around them is the call's wall time less these. The stages stay zero
    /// when the call never reached the sandbox or failed to instantiate.
    #[doc(hidden)]
    pub async fn call_staged(&self, tools: &ToolSet, call: ToolCall) -> (CallRecord, StageTimes) {
        let mut stages = StageTimes::default();
        let record = self.call_in(tools, call, Some(&mut stages)).await;
        (record, stages)
    }

    async fn call_in(
        &self,
        tools: &ToolSet,
        call: ToolCall,
        stages: Option<&mut StageTimes>,
    ) -> CallRecord {
        let started = Instant::now();
        let Some(bound) = tools.tools.get(&call.tool) else {
            let names: Vec<&str> = tools.tools.keys().map(String::as_str).collect();
            let msg = format!(
                "there is no tool named `{}` in this lesson (available: {})",
                call.tool,
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            );
            return invoke::unavailable(&call, "", msg, started);
        };
        let resolved = match &bound.pinned {
            Some(v) => self
                .inner
                .registry
                .version(&bound.plugin, v.digest())
                .map(|(_, overrides)| (v.clone(), overrides)),
            None => self.inner.registry.active(&bound.plugin),
        };
        match resolved {
            Ok((version, overrides)) => {
                let limits = self.inner.config.limits.with(&overrides);
                self.invoker()
                    .invoke(&version, &limits, &bound.config, call, started, stages)
                    .await
            }
            Err(e) => invoke::unavailable(&call, &bound.plugin, e.to_string(), started),
        }
    }

    /// Run a tool of one plugin directly (playground, CLI, tests): the active
    /// version, or the version given by digest or number. `config` is the plugin's
    /// configuration JSON (`{}` for none).
    pub async fn call_plugin(
        &self,
        plugin: &str,
        version: Option<&str>,
        config: &str,
        call: ToolCall,
    ) -> CallRecord {
        let started = Instant::now();
        let resolved = match version {
            Some(spec) => self.inner.registry.version(plugin, spec),
            None => self.inner.registry.active(plugin),
        };
        match resolved {
            Ok((version, overrides)) => {
                let limits = self.inner.config.limits.with(&overrides);
                self.invoker()
                    .invoke(&version, &limits, config, call, started, None)
                    .await
            }
            Err(e) => invoke::unavailable(&call, plugin, e.to_string(), started),
        }
    }

    /// Run a call on a loaded version that need not be in the registry, with the
    /// given limits.
    pub async fn call_version(
        &self,
        version: &Arc<PluginVersion>,
        limits: &CallLimits,
        config: &str,
        call: ToolCall,
    ) -> CallRecord {
        self.invoker()
            .invoke(version, limits, config, call, Instant::now(), None)
            .await
    }

    /// The minimum a call can cost, for benchmarks: a fresh store, instantiation
    /// from the version's pre-linked instance and one `invoke`, with none of the
    /// checks, limits, imports state or recording of [`PluginHost::call`].
    #[doc(hidden)]
    pub async fn raw_invoke(
        &self,
        version: &PluginVersion,
        tool: &str,
        arguments: &str,
    ) -> anyhow::Result<()> {
        invoke::raw(&self.inner.engine, version, tool, arguments).await
    }

    /// The sandboxed part of `call` on `version`, stage by stage (instantiate,
    /// invoke, teardown), for benchmarks: it reads the call's lesson, mastery and
    /// session state like [`PluginHost::call`] but commits nothing and applies
    /// no checks or limits.
    #[doc(hidden)]
    pub async fn raw_stages(
        &self,
        version: &PluginVersion,
        call: &ToolCall,
    ) -> anyhow::Result<StageTimes> {
        invoke::stages(&self.inner.engine, &self.inner.state, version, call).await
    }

    /// Watch `dir` for `*.wasm` files (development): every file is installed and
    /// activated when it appears or changes, after [`WATCH_DEBOUNCE_MS`] of quiet.
    /// Failures are logged and announced as [`RegistryEvent::LoadFailed`]. Stops
    /// when the returned watcher is dropped. Must be called within a tokio runtime.
    pub async fn watch_dir(
        &self,
        dir: impl AsRef<std::path::Path>,
    ) -> anyhow::Result<PluginDirWatcher> {
        watch::watch(self.clone(), dir.as_ref()).await
    }

    fn invoker(&self) -> invoke::Invoker<'_> {
        invoke::Invoker {
            engine: &self.inner.engine,
            state: &self.inner.state,
        }
    }
}
