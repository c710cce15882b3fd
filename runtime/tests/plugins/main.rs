//! The plugin host's integration tests, one binary (`cargo test -p lectern-runtime
//! --test plugins`). The plugins are real components built from `plugins/` by
//! `lectern-plugin-artifacts` (the Rust ones, and the JavaScript and Python ones
//! built by their `build.sh`), plus small WAT components for the cases those
//! cannot cover (two builds of one plugin, a plugin that traps on demand).
//!
//! A JavaScript or Python component takes tens of seconds to compile in a debug
//! build. The hosts that load them therefore share wasmtime's on-disk compile
//! cache (in cargo's test scratch directory, [`use_compile_cache`]), and
//! [`install_file`] compiles each component into it once per run before any
//! such host loads it, so every later host loads the compiled code instead of
//! compiling again, in this run and the next.

mod adversarial;
mod cases;
mod examples;
mod loading;
mod resilience;
mod scripted;
mod state_progress;
mod swap;
#[allow(dead_code)]
#[path = "../support/wat_plugin.rs"]
mod wat_plugin;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use lectern_runtime::engine::EngineConfig;
use lectern_runtime::lesson::Subtopic;
use lectern_runtime::plugin::{CallRecord, HostConfig, Installed, PluginHost, ToolCall};

/// Pool size for test hosts: plenty for the concurrency the tests create, and
/// small enough that many hosts in one process reserve little address space.
const TEST_POOL_INSTANCES: u32 = 64;

/// A host with the default limits and a small pool.
pub fn host() -> PluginHost {
    host_with(|_| {})
}

/// A host with changed configuration.
pub fn host_with(change: impl FnOnce(&mut HostConfig)) -> PluginHost {
    let mut config = HostConfig {
        engine: EngineConfig {
            max_concurrent_instances: TEST_POOL_INSTANCES,
            ..EngineConfig::default()
        },
        ..HostConfig::default()
    };
    change(&mut config);
    PluginHost::new(config).expect("the plugin host starts")
}

/// Makes a host keep compiled code in wasmtime's on-disk cache, shared by every
/// such host. Its entries are keyed by the bytes and the engine's code-generation
/// settings, so hosts that differ only in pool size or limits share them. Only
/// for the large JavaScript and Python components: the Rust and WAT ones compile
/// in well under a second, and the swap tests compile hundreds of them.
pub fn use_compile_cache(config: &mut HostConfig) {
    config.engine.cache_dir =
        Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-compile-cache"));
}

/// Compiles the component at `path` into the compile cache, once per run: the
/// first test to need it compiles, the others wait for that instead of
/// compiling the same bytes beside it.
async fn compile_once(path: &str) {
    type Cells = BTreeMap<String, Arc<tokio::sync::OnceCell<()>>>;
    static COMPILED: Mutex<Cells> = Mutex::new(BTreeMap::new());
    let cell = COMPILED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(path.to_owned())
        .or_default()
        .clone();
    cell.get_or_init(|| async {
        // A component that is refused is not compiled; the caller's own install
        // reports why.
        if let Ok(bytes) = std::fs::read(path) {
            let _ = host_with(use_compile_cache).load(&bytes).await;
        }
    })
    .await;
}

/// The lesson fixture most tests teach.
pub fn lesson() -> Arc<Subtopic> {
    static LESSON: std::sync::OnceLock<Arc<Subtopic>> = std::sync::OnceLock::new();
    LESSON
        .get_or_init(|| {
            Arc::new(
                serde_json::from_value(serde_json::json!({
                    "id": "photosynthesis-basics",
                    "topic_id": "biology",
                    "topic_title": "Biology",
                    "title": "How plants make food",
                    "summary": "Plants turn light, water and carbon dioxide into sugar and oxygen.",
                    "content": "Photosynthesis happens in the chloroplasts. Chlorophyll absorbs red and blue light and reflects green, which is why leaves look green. The plant uses the light's energy to split water and fix carbon dioxide into glucose, releasing oxygen.",
                    "objectives": [
                        {"id": "inputs-outputs", "text": "Name the inputs and outputs of photosynthesis"},
                        {"id": "chlorophyll", "text": "Explain why leaves are green"}
                    ],
                    "key_points": [
                        "Photosynthesis needs light, water and carbon dioxide.",
                        "It produces glucose and oxygen.",
                        "Chlorophyll reflects green light, so leaves look green."
                    ],
                    "examples": [
                        {"title": "A plant in the dark", "concept": "inputs-outputs",
                         "problem": "What happens to a plant kept in the dark for a week?",
                         "solution": "Without light it cannot photosynthesise, so it uses up its stored sugar and weakens."},
                        {"title": "Autumn leaves", "concept": "chlorophyll",
                         "problem": "Why do leaves turn yellow in autumn?",
                         "solution": "The tree breaks down chlorophyll, so the yellow pigments that were always there show."}
                    ],
                    "level": "beginner"
                }))
                .expect("the lesson fixture matches lesson::Subtopic"),
            )
        })
        .clone()
}

/// The lesson fixture the plugins' own test cases teach (adding fractions), the
/// one the JavaScript and Python tools are written against.
pub fn fractions() -> Arc<Subtopic> {
    static LESSON: std::sync::OnceLock<Arc<Subtopic>> = std::sync::OnceLock::new();
    LESSON
        .get_or_init(|| {
            let text = include_str!("../../../plugins/cases/lessons/adding-fractions.json");
            Arc::new(serde_json::from_str(text).expect("the fixture matches lesson::Subtopic"))
        })
        .clone()
}

/// A call of `tool` with `arguments` in session `session`.
pub fn call(tool: &str, arguments: &str, session: &str) -> ToolCall {
    let mut call = ToolCall::new(tool, arguments, session, lesson());
    call.learner_id = "learner-1".into();
    call
}

/// Install and activate the component at `path`.
pub async fn install_file(host: &PluginHost, path: &str) -> Installed {
    if host.engine().config().cache_dir.is_some() {
        compile_once(path).await;
    }
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    host.install_and_activate(&bytes)
        .await
        .unwrap_or_else(|e| panic!("installing {path}: {e}"))
}

/// Run `tool` of the active version of `plugin`.
pub async fn run(
    host: &PluginHost,
    plugin: &str,
    tool: &str,
    arguments: &str,
    session: &str,
) -> CallRecord {
    host.call_plugin(plugin, None, "{}", call(tool, arguments, session))
        .await
}

/// Run `tool` of the active version of `plugin` on the [`fractions`] lesson.
pub async fn run_fractions(
    host: &PluginHost,
    plugin: &str,
    tool: &str,
    arguments: &str,
    session: &str,
) -> CallRecord {
    let mut call = call(tool, arguments, session);
    call.lesson = fractions();
    host.call_plugin(plugin, None, "{}", call).await
}

/// A host for JavaScript and Python tools: a deadline no loaded machine reaches
/// with a debug build (speed is the benchmarks' business, not the tests').
pub fn scripted_host() -> PluginHost {
    host_with(|c| {
        use_compile_cache(c);
        c.limits.call_deadline_ms = 30_000;
    })
}

/// Resident set size of this process, from `/proc/self/statm`.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("reading /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm has a resident field");
    pages * 4096
}

/// Tests that measure time or memory hold this lock for writing, every other test
/// for reading, so measurements never run beside other tests' load.
pub fn exclusive() -> &'static tokio::sync::RwLock<()> {
    static LOCK: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());
    &LOCK
}
