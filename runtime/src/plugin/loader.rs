//! Loading a plugin: bytes in, a validated [`PluginVersion`] out, or a
//! [`LoadError`] saying why not. Nothing outside the returned value changes.
//!
//! Order matters: the cheap checks on the raw binary (contract version, imports)
//! come before compiling, and the component runs (`describe`) only after it linked
//! against the host's imports.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use wasmtime::component::Linker;

use super::HostConfig;
use super::bindings::{TeachingToolPre, types as wit};
use super::breaker::{Breaker, BreakerState};
use super::contract;
use super::error::{LoadError, LoadErrorCode};
use super::imports::{LogBucket, LogCollector, ProgressLedger};
use super::manifest::{self, Manifest, Validators};
use super::sandbox::{self, CallState};
use super::state::StateView;
use crate::engine::PluginEngine;
use crate::lesson::{Level, Subtopic};

/// Time `describe` may take when a plugin is loaded.
pub const DESCRIBE_DEADLINE_MS: u64 = 2_000;

/// One loaded, validated build of a plugin, ready to be called. Shared (`Arc`) by
/// the registry and by the calls running on it.
pub struct PluginVersion {
    manifest: Manifest,
    digest: String,
    size_bytes: usize,
    contract_version: semver::Version,
    compile_time: Duration,
    imports: Vec<String>,
    installed_at: SystemTime,
    pub(crate) pre: TeachingToolPre<CallState>,
    pub(crate) validators: Validators,
    pub(crate) breaker: Breaker,
    pub(crate) log_bucket: Arc<LogBucket>,
    pub(crate) name_tag: Arc<str>,
    pub(crate) version_tag: Arc<str>,
}

impl std::fmt::Debug for PluginVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginVersion")
            .field("name", &self.manifest.name)
            .field("version", &self.manifest.version)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// A version as listed to operators and authors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// Plugin name.
    pub name: String,
    /// Plugin version (semver).
    pub version: String,
    /// sha256 of the component (hex); the version's key.
    pub digest: String,
    /// Component size.
    pub size_bytes: usize,
    /// `lectern:tool` contract version it was built for.
    pub contract_version: String,
    /// Time compiling took (0 when the compilation was cached).
    pub compile_ms: f64,
    /// What it imports.
    pub imports: Vec<String>,
    /// The manifest (tools and their schemas).
    pub manifest: Manifest,
    /// Circuit breaker state.
    pub breaker: BreakerState,
    /// Seconds since the Unix epoch when it was loaded.
    pub installed_at_unix_s: u64,
}

impl PluginVersion {
    /// The manifest `describe` returned (checked).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// Plugin name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }
    /// Plugin version (semver text).
    pub fn version(&self) -> &str {
        &self.manifest.version
    }
    /// sha256 of the component bytes (hex).
    pub fn digest(&self) -> &str {
        &self.digest
    }
    /// Component size in bytes.
    pub fn size_bytes(&self) -> usize {
        self.size_bytes
    }
    /// Contract version recorded in the component.
    pub fn contract_version(&self) -> &semver::Version {
        &self.contract_version
    }
    /// Time compiling took.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }
    /// Whether `engine` compiled this version: only hosts on that engine can
    /// call it.
    pub fn compiled_by(&self, engine: &PluginEngine) -> bool {
        wasmtime::Engine::same(self.pre.engine(), engine.wasmtime())
    }
    /// Circuit breaker state.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }
    /// A summary for listings.
    pub fn info(&self) -> VersionInfo {
        VersionInfo {
            name: self.manifest.name.clone(),
            version: self.manifest.version.clone(),
            digest: self.digest.clone(),
            size_bytes: self.size_bytes,
            contract_version: self.contract_version.to_string(),
            compile_ms: self.compile_time.as_secs_f64() * 1000.0,
            imports: self.imports.clone(),
            manifest: self.manifest.clone(),
            breaker: self.breaker.state(),
            installed_at_unix_s: self
                .installed_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

/// sha256 of `bytes`, hex.
pub fn digest_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A subtopic with nothing in it: what `describe` sees if it reads the lesson.
pub(crate) fn empty_lesson() -> Arc<Subtopic> {
    static EMPTY: std::sync::OnceLock<Arc<Subtopic>> = std::sync::OnceLock::new();
    EMPTY
        .get_or_init(|| {
            Arc::new(Subtopic {
                id: String::new(),
                topic_id: String::new(),
                topic_title: String::new(),
                title: String::new(),
                summary: String::new(),
                content: String::new(),
                objectives: Vec::new(),
                key_points: Vec::new(),
                examples: Vec::new(),
                level: Level::default(),
            })
        })
        .clone()
}

pub(crate) async fn load(
    engine: &PluginEngine,
    linker: &Linker<CallState>,
    config: &HostConfig,
    bytes: &[u8],
) -> Result<Arc<PluginVersion>, LoadError> {
    let facts = contract::inspect(bytes)?;
    let digest = digest_of(bytes);
    let (component, compile_time) = engine.compile(&digest, bytes).map_err(|e| {
        LoadError::new(
            LoadErrorCode::CompileFailed,
            format!("wasmtime could not compile the component: {e:#}; rebuild it with the lectern-tool SDK"),
        )
    })?;
    let result = link_and_describe(engine, linker, config, &component).await;
    let (pre, raw) = match result {
        Ok(found) => found,
        Err(e) => {
            engine.forget(&digest);
            return Err(e);
        }
    };
    let (manifest, validators) = match manifest::check(raw) {
        Ok(checked) => checked,
        Err(e) => {
            engine.forget(&digest);
            return Err(e);
        }
    };
    Ok(Arc::new(PluginVersion {
        name_tag: Arc::from(manifest.name.as_str()),
        version_tag: Arc::from(manifest.version.as_str()),
        manifest,
        digest,
        size_bytes: bytes.len(),
        contract_version: facts.contract_version,
        compile_time,
        imports: facts.imports,
        installed_at: SystemTime::now(),
        pre,
        validators,
        breaker: Breaker::new(config.breaker),
        log_bucket: Arc::new(LogBucket::new(config.log_lines_per_second)),
    }))
}

async fn link_and_describe(
    engine: &PluginEngine,
    linker: &Linker<CallState>,
    config: &HostConfig,
    component: &wasmtime::component::Component,
) -> Result<(TeachingToolPre<CallState>, wit::Manifest), LoadError> {
    let instance_pre = linker.instantiate_pre(component).map_err(|e| {
        LoadError::new(
            LoadErrorCode::UnknownImport,
            format!("the component needs imports this host does not provide: {e:#}"),
        )
    })?;
    let pre = TeachingToolPre::new(instance_pre).map_err(|e| {
        LoadError::new(
            LoadErrorCode::UnsupportedContractVersion,
            format!(
                "the component does not export the lectern:tool/teaching-tool world of contract {} \
                 ({e:#}); build it with the lectern-tool SDK",
                contract::HOST_CONTRACT_VERSION
            ),
        )
    })?;
    let lesson = empty_lesson();
    let state = CallState::new(
        config.limits.memory_bytes,
        lesson.clone(),
        StateView::new(Default::default(), 0, config.limits.max_state_bytes),
        ProgressLedger {
            lesson,
            before: Vec::new(),
            recorded: Vec::new(),
        },
        LogCollector {
            plugin: Arc::from("(loading)"),
            version: Arc::from(""),
            bucket: Arc::new(LogBucket::new(config.log_lines_per_second)),
            max_lines: config.limits.max_log_lines_per_call,
            max_line_bytes: config.limits.max_log_line_bytes,
            lines: Vec::new(),
            dropped: 0,
        },
    );
    let budget = Duration::from_millis(DESCRIBE_DEADLINE_MS);
    let deadline = Instant::now() + budget;
    let mut store = sandbox::store(engine, state, deadline, None);
    let result = {
        let run = async {
            let tool = pre.instantiate_async(&mut store).await?;
            tool.call_describe(&mut store).await
        };
        tokio::time::timeout(budget + super::invoke::HOST_WAIT_GRACE, run).await
    };
    let failed = |why: String| {
        LoadError::new(
            LoadErrorCode::DescribeFailed,
            format!(
                "`describe` failed when the plugin was loaded: {why}; run it locally with `lectern plugin check`"
            ),
        )
    };
    match result {
        Err(_) => Err(failed(format!(
            "it took longer than {DESCRIBE_DEADLINE_MS} ms"
        ))),
        Ok(Err(e)) => {
            let data = store.data();
            let why = if data.memory.hit {
                format!(
                    "it needed more than {} bytes of memory",
                    config.limits.memory_bytes
                )
            } else {
                let stderr = data.stderr.text();
                if stderr.is_empty() {
                    format!("{e:#}")
                } else {
                    format!("{e:#} ({stderr})")
                }
            };
            Err(failed(why))
        }
        Ok(Ok(raw)) => Ok((pre, raw)),
    }
}
