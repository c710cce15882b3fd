//! The test cases the JavaScript and Python tools (and the Rust benchmark twin)
//! ship in their `cases.json` pass on this host: real lesson fixtures, state
//! before and after, progress evidence, outcomes and fuel budgets, read and
//! checked by `lectern-plugin-cases` as `lectern plugin test` does. Wall-time
//! budgets are left to the benchmarks; fuel is deterministic and is checked.

use std::path::Path;
use std::sync::Arc;

use lectern_plugin_cases::{Evidence, Observed};
use lectern_runtime::lesson::Subtopic;
use lectern_runtime::plugin::{Mastery, Outcome, ToolCall};

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
    let host = crate::scripted_host();
    let installed = crate::install_file(&host, path).await;
    let plugin = installed.manifest.name.as_str();
    if let Some(declared) = &file.plugin {
        assert_eq!(declared, plugin, "{dir}/cases.json names another plugin");
    }
    let mut answers = Vec::new();
    let mut failures = Vec::new();
    for case in &file.cases {
        let lesson: Arc<Subtopic> = Arc::new(
            serde_json::from_value(case.lesson.clone())
                .unwrap_or_else(|e| panic!("{dir}: the lesson of {:?}: {e}", case.name)),
        );
        let session = case.context.session_id.as_str();
        let mut state = case.state.clone();
        let mut mastery: Vec<Mastery> = case
            .mastery
            .iter()
            .map(|m| Mastery {
                objective_id: m.objective_id.clone(),
                score: m.score,
                evidence_count: m.evidence_count,
            })
            .collect();
        for step in &case.steps {
            host.state().replace(session, plugin, state.clone());
            let mut call = ToolCall::new(&step.tool, &step.arguments, session, lesson.clone());
            call.learner_id = case.context.learner_id.clone();
            call.locale = case.context.locale.clone();
            call.mastery = mastery.clone();
            let record = host
                .call_plugin(plugin, None, &case.context.config, call)
                .await;
            let after = host.state().snapshot(session, plugin);
            let display = record
                .output
                .as_ref()
                .and_then(|o| o.display.as_ref())
                .map(|d| serde_json::to_value(d).unwrap());
            let evidence: Vec<Evidence> = record
                .evidence
                .iter()
                .map(|e| Evidence {
                    objective_id: e.objective_id.clone(),
                    score: e.score,
                    note: e.note.clone(),
                })
                .collect();
            let logs: Vec<String> = record.logs.iter().map(|l| l.message.clone()).collect();
            let mut timeless = step.clone();
            timeless.budget.wall_ms = None;
            let observed = Observed {
                outcome: record.outcome.as_str(),
                error: record.error.as_deref(),
                content: record.output.as_ref().map(|o| o.content.as_str()),
                display: display.as_ref(),
                state_before: &state,
                state_after: &after,
                evidence: &evidence,
                logs: &logs,
                wall_ms: record.duration_us as f64 / 1000.0,
                fuel: record.fuel_used,
            };
            let label = format!("{dir}: {} / {}", case.name, step.name);
            for mismatch in lectern_plugin_cases::check(&timeless, &observed) {
                failures.push(format!("{label}: {mismatch}"));
            }
            println!(
                "{label}: {} in {} µs, fuel {:?}",
                record.outcome, record.duration_us, record.fuel_used
            );
            answers.push(Answer {
                step: format!("{} / {}", case.name, step.name),
                outcome: record.outcome,
                content: record
                    .output
                    .as_ref()
                    .map(|o| serde_json::from_str(&o.content).unwrap_or_default()),
                state: after
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap_or_default()))
                    .collect(),
            });
            // State and evidence of an `ok` call carry over to the next step.
            if record.outcome == Outcome::Ok {
                state = after;
                fold_evidence(&mut mastery, &evidence);
            }
        }
        host.state().end_session(session);
    }
    (answers, failures)
}

/// The mastery the next step sees: the running mean the host's storage keeps.
fn fold_evidence(mastery: &mut Vec<Mastery>, evidence: &[Evidence]) {
    for e in evidence {
        match mastery
            .iter_mut()
            .find(|m| m.objective_id == e.objective_id)
        {
            Some(m) => {
                let count = m.evidence_count as f32;
                m.score = (m.score * count + e.score) / (count + 1.0);
                m.evidence_count += 1;
            }
            None => mastery.push(Mastery {
                objective_id: e.objective_id.clone(),
                score: e.score,
                evidence_count: 1,
            }),
        }
    }
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
