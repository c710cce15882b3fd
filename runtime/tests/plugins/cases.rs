//! The test cases the JavaScript and Python tools (and the Rust benchmark twin)
//! ship in their `cases.json` pass on this host: real lesson fixtures, state
//! before and after, progress evidence, outcomes and fuel budgets, read and
//! checked by `lectern-plugin-cases` as `lectern plugin test` does. Wall-time
//! budgets are left to the benchmarks; fuel is deterministic and is checked.

use std::path::Path;

use lectern_plugin_cases::RunOptions;
use lectern_runtime::plugin::Outcome;

/// What one call of a case gave, to compare the language twins.
#[derive(Debug, PartialEq)]
struct Answer {
    step: String,
    outcome: Outcome,
    content: Option<serde_json::Value>,
    state: Vec<(String, serde_json::Value)>,
}

/// The plugins directory of the repository.
fn plugins_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins"))
}

/// Runs every case of `<plugins>/<dir>/cases.json` on the component at `path`.
/// Returns each call's answer and every mismatch, labelled.
async fn run_cases(dir: &str, path: &str) -> (Vec<Answer>, Vec<String>) {
    let file = lectern_plugin_cases::load(&plugins_dir().join(dir).join("cases.json"))
        .unwrap_or_else(|e| panic!("{dir}/cases.json: {e}"));
    assert!(!file.cases.is_empty(), "{dir} ships no cases");
    let lessons = lectern_plugin_cases::lessons(&file)
        .unwrap_or_else(|(case, e)| panic!("{dir}: the lesson of {case:?}: {e}"));
    let host = crate::scripted_host();
    let installed = crate::install_file(&host, path).await;
    let plugin = installed.manifest.name.as_str();
    if let Some(declared) = &file.plugin {
        assert_eq!(declared, plugin, "{dir}/cases.json names another plugin");
    }
    let (version, _) = host.registry().active(plugin).unwrap();
    // Wall time is left to the benchmarks; fuel is deterministic and is checked.
    let options = RunOptions { wall_time: false };
    let mut answers = Vec::new();
    let mut failures = Vec::new();
    for (case, lesson) in file.cases.iter().zip(lessons) {
        lectern_plugin_cases::run_case(&host, &version, case, lesson, options, |run| {
            let record = &run.record;
            let label = format!("{dir}: {} / {}", case.name, run.step.name);
            for mismatch in &run.mismatches {
                failures.push(format!("{label}: {mismatch}"));
            }
            println!(
                "{label}: {} in {} µs, fuel {:?}",
                record.outcome, record.duration_us, record.fuel_used
            );
            answers.push(Answer {
                step: format!("{} / {}", case.name, run.step.name),
                outcome: record.outcome,
                content: record
                    .output
                    .as_ref()
                    .map(|o| serde_json::from_str(&o.content).unwrap_or_default()),
                state: run
                    .state_after
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap_or_default()))
                    .collect(),
            });
        })
        .await;
    }
    (answers, failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_case_passes_on_the_host() {
    let _shared = crate::exclusive().read().await;
    let mut failures = Vec::new();
    for tool in crate::scripted::all() {
        let dir = tool.artifact.replacen('-', "/", 1);
        failures.extend(run_cases(&dir, tool.path).await.1);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The benchmark's twins are only comparable if they do the same work: on the
/// same cases they give the same answers and leave the same state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_twins_answer_alike() {
    let _shared = crate::exclusive().read().await;
    let (rust, failures) =
        run_cases("testing/bench-tool", lectern_plugin_artifacts::BENCH_TOOL).await;
    assert!(failures.is_empty(), "{failures:#?}");
    for (dir, path) in [
        ("js/bench-tool", lectern_plugin_artifacts::JS_BENCH_TOOL),
        (
            "python/bench-tool",
            lectern_plugin_artifacts::PYTHON_BENCH_TOOL,
        ),
    ] {
        let (answers, _) = run_cases(dir, path).await;
        assert_eq!(answers, rust, "{dir} differs from the Rust twin");
    }
}
