//! The same teaching tool written in Rust, JavaScript and Python, side by side.
//!
//! `cargo bench -p lectern-runtime --bench languages`
//!
//! The three `bench-tool` twins (`plugins/testing/bench-tool`,
//! `plugins/js/bench-tool`, `plugins/python/bench-tool`) do identical work: one
//! flash-card drill step over the lesson's key points that grades the current
//! card, records progress, picks the next card and writes the deck to state.
//! For each the benchmark prints:
//!
//! - component size: the `.wasm` bytes an author uploads;
//! - compile time: wasmtime compiling those bytes to native code (what an upload
//!   or a server start costs per version; cached afterwards);
//! - instantiate + call: `PluginHost::call` through a lesson's tool set, each call
//!   in a fresh instance, from the same state every time (p50 and p99), plus the
//!   sandboxed stages alone (instantiate, invoke) at p50;
//! - fuel per call: the WebAssembly work the call did, deterministic.
//!
//! Compiles and calls run in interleaved rounds (each round does every language
//! in turn), so machine noise hits all three alike. Ratios are to Rust, measured
//! in the same run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lectern_runtime::engine::PluginEngine;
use lectern_runtime::lesson::Subtopic;
use lectern_runtime::plugin::{
    HostConfig, Outcome, PluginHost, PluginVersion, ToolBinding, ToolCall, ToolSet,
};

/// Compiles per language (interleaved); each one recompiles from the bytes.
const COMPILE_ROUNDS: usize = 3;
/// Call rounds (interleaved).
const CALL_ROUNDS: usize = 10;
/// Calls per language per round.
const CALLS_PER_ROUND: usize = 100;
/// Calls per language before measuring (pool slots, caches, allocator warm).
const WARM_UP_CALLS: usize = 50;
/// The tool every twin has.
const TOOL: &str = "bench_drill";
/// The answer every measured call gives: right for the current card, so each
/// call grades, records evidence, reschedules and picks the next card.
const ARGUMENTS: &str = r#"{"answer":"the denominator"}"#;
/// The lesson the calls teach (the fixture the twins' `cases.json` use).
const LESSON: &str = include_str!("../../plugins/cases/lessons/adding-fractions.json");
/// The deck before every measured call: four cards seen, the first one current.
const DECK: &str = r#"{"clock":4,"cards":{"kp-b6602b59":{"box":2,"due":4},"kp-97986ceb":{"box":1,"due":5},"kp-b122beb0":{"box":3,"due":9},"kp-c2c7f6ea":{"box":1,"due":6}},"current":"kp-b6602b59"}"#;

struct Language {
    name: &'static str,
    path: &'static str,
    bytes: Vec<u8>,
    /// Its own host (the twins share a plugin name), on the shared engine.
    host: PluginHost,
    version: Option<Arc<PluginVersion>>,
    tools: Option<ToolSet>,
    compile: Vec<Duration>,
    calls: Vec<Duration>,
    instantiate: Vec<Duration>,
    invoke: Vec<Duration>,
    teardown: Vec<Duration>,
    fuel: Option<u64>,
}

impl Language {
    fn new(engine: &PluginEngine, name: &'static str, path: &'static str) -> Language {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        Language {
            name,
            path,
            bytes,
            host: PluginHost::with_engine(engine.clone(), HostConfig::default())
                .expect("plugin host"),
            version: None,
            tools: None,
            compile: Vec::new(),
            calls: Vec::new(),
            instantiate: Vec::new(),
            invoke: Vec::new(),
            teardown: Vec::new(),
            fuel: None,
        }
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
    } else {
        format!("{:.0} KiB", n as f64 / 1024.0)
    }
}

fn human_micros(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let lesson: Arc<Subtopic> =
        Arc::new(serde_json::from_str(LESSON).expect("the lesson fixture is a Subtopic"));
    // The server's defaults: fuel metered, pooling allocator, no compile cache.
    let engine = PluginEngine::new(HostConfig::default().engine).expect("plugin engine");
    let mut languages = [
        Language::new(&engine, "Rust", lectern_plugin_artifacts::BENCH_TOOL),
        Language::new(
            &engine,
            "JavaScript",
            lectern_plugin_artifacts::JS_BENCH_TOOL,
        ),
        Language::new(
            &engine,
            "Python",
            lectern_plugin_artifacts::PYTHON_BENCH_TOOL,
        ),
    ];

    // Compile time: the engine's compile of the bytes, under a fresh cache key
    // each time so nothing is reused.
    for round in 0..COMPILE_ROUNDS {
        for language in &mut languages {
            let key = format!("languages-bench-{round}");
            let (_, took) = engine
                .compile(&key, &language.bytes)
                .unwrap_or_else(|e| panic!("compiling {}: {e:#}", language.path));
            engine.forget(&key);
            language.compile.push(took);
        }
    }

    // Each twin bound in a lesson's tool set, as a lesson binds a plugin.
    for language in &mut languages {
        let installed = language
            .host
            .install_and_activate(&language.bytes)
            .await
            .unwrap_or_else(|e| panic!("installing {}: {e}", language.path));
        let name = installed.manifest.name;
        let (version, _) = language
            .host
            .registry()
            .active(&name)
            .expect("the version just installed");
        language.tools = Some(
            language
                .host
                .tool_set(&[ToolBinding::active(name)])
                .expect("tool set"),
        );
        language.version = Some(version);
    }
    let session = "languages-bench";
    let call_of = |language: &Language| {
        let mut call = ToolCall::new(TOOL, ARGUMENTS, session, lesson.clone());
        call.learner_id = "learner-1".into();
        // Every call starts from the same deck, so every call does the same work.
        language.host.state().replace(
            session,
            language.version.as_ref().unwrap().name(),
            BTreeMap::from([("deck".to_owned(), DECK.to_owned())]),
        );
        call
    };

    for _ in 0..WARM_UP_CALLS {
        for language in &languages {
            let call = call_of(language);
            let record = language
                .host
                .call(language.tools.as_ref().unwrap(), call)
                .await;
            assert_eq!(record.outcome, Outcome::Ok, "{}: {record:?}", language.name);
            let content: serde_json::Value =
                serde_json::from_str(&record.output.unwrap().content).expect("JSON content");
            assert_eq!(content["correct"], true, "{}: {content}", language.name);
            assert_eq!(record.evidence.len(), 1, "{}", language.name);
        }
    }
    let mut contents = BTreeMap::new();
    for _ in 0..CALL_ROUNDS {
        for language in &mut languages {
            for _ in 0..CALLS_PER_ROUND {
                let call = call_of(language);
                let started = Instant::now();
                let record = language
                    .host
                    .call(language.tools.as_ref().unwrap(), call)
                    .await;
                language.calls.push(started.elapsed());
                assert_eq!(record.outcome, Outcome::Ok, "{}: {record:?}", language.name);
                let fuel = record.fuel_used.expect("fuel is metered");
                assert!(
                    language.fuel.is_none_or(|f| f == fuel),
                    "{}: the same call used {fuel} fuel, earlier {:?}",
                    language.name,
                    language.fuel
                );
                language.fuel = Some(fuel);
                contents.insert(language.name, record.output.unwrap().content);
            }
            for _ in 0..CALLS_PER_ROUND {
                let call = call_of(language);
                let stages = language
                    .host
                    .raw_stages(language.version.as_ref().unwrap(), &call)
                    .await
                    .expect("stages");
                language.instantiate.push(stages.instantiate);
                language.invoke.push(stages.invoke);
                language.teardown.push(stages.teardown);
            }
        }
    }
    // The twins are only comparable if they did the same thing.
    let rust = contents["Rust"].clone();
    for (name, content) in &contents {
        let a: serde_json::Value = serde_json::from_str(content).unwrap();
        let b: serde_json::Value = serde_json::from_str(&rust).unwrap();
        assert_eq!(a, b, "{name} answered differently from Rust");
    }

    println!(
        "languages: the bench-tool twins, {COMPILE_ROUNDS} compiles and {} calls each, \
         interleaved rounds; fuel metered (server default)",
        CALL_ROUNDS * CALLS_PER_ROUND
    );
    println!(
        "  {:<11} {:>10} {:>12} {:>12} {:>12} {:>13} {:>11} {:>11} {:>13}",
        "language",
        "size",
        "compile p50",
        "call p50",
        "call p99",
        "instantiate",
        "invoke",
        "teardown",
        "fuel/call"
    );
    let mut rows = Vec::new();
    for language in &mut languages {
        let row = (
            language.bytes.len(),
            micros(percentile(&mut language.compile, 0.5)),
            micros(percentile(&mut language.calls, 0.5)),
            micros(percentile(&mut language.calls, 0.99)),
            micros(percentile(&mut language.instantiate, 0.5)),
            micros(percentile(&mut language.invoke, 0.5)),
            language.fuel.unwrap(),
            micros(percentile(&mut language.teardown, 0.5)),
        );
        println!(
            "  {:<11} {:>10} {:>12} {:>12} {:>12} {:>13} {:>11} {:>11} {:>13}",
            language.name,
            human_bytes(row.0),
            human_micros(row.1),
            human_micros(row.2),
            human_micros(row.3),
            human_micros(row.4),
            human_micros(row.5),
            human_micros(row.7),
            row.6
        );
        rows.push(row);
    }
    let rust = rows[0];
    for (language, row) in languages.iter().zip(&rows).skip(1) {
        println!(
            "  {:<11} vs Rust: size x{:.0}, compile x{:.0}, call p50 x{:.1}, call p99 x{:.1}, fuel x{:.1}",
            language.name,
            row.0 as f64 / rust.0 as f64,
            row.1 / rust.1,
            row.2 / rust.2,
            row.3 / rust.3,
            row.6 as f64 / rust.6 as f64
        );
    }
    println!(
        "  (call: the whole PluginHost::call in a fresh instance, checks and state commit \
         included; instantiate, invoke, teardown: the sandboxed stages alone at p50)"
    );
}
