//! `lectern plugin call FILE.wasm TOOL 'JSON' [--lesson FILE] [--state FILE]`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use lectern_runtime::lesson::Subtopic;
use lectern_runtime::plugin::{Outcome, StateMap, ToolCall};
use serde_json::Value;

use super::{
    CallArgs, EXIT_PLUGIN_FAILED, EXIT_USAGE, cache_dir, fail, local_host, read_component,
};

/// The lesson used when `--lesson` is not given.
const SAMPLE_LESSON: &str = include_str!("sample-lesson.json");

/// The session id of a local call (state is kept per session).
const LOCAL_SESSION: &str = "local";

/// The built-in sample lesson.
pub(crate) fn sample_lesson() -> Result<Subtopic, i32> {
    read_lesson(None)
}

fn read_lesson(path: Option<&Path>) -> Result<Subtopic, i32> {
    let (text, source) = match path {
        None => (
            SAMPLE_LESSON.to_owned(),
            "the built-in sample lesson".to_owned(),
        ),
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => (t, p.display().to_string()),
            Err(e) => {
                return Err(fail(
                    EXIT_USAGE,
                    "lesson_unreadable",
                    &format!(
                        "cannot read the lesson file {}: {e}; check the path",
                        p.display()
                    ),
                ));
            }
        },
    };
    serde_json::from_str(&text).map_err(|e| {
        fail(
            EXIT_USAGE,
            "lesson_invalid",
            &format!(
                "{source} is not a subtopic ({e}); it needs at least id, topic_id and title, and may \
                 have topic_title, summary, content, objectives [{{id, text}}], key_points [text], \
                 examples [{{title, concept, problem, solution}}] and level"
            ),
        )
    })
}

/// State file: a JSON object. String values are the stored text; other values are
/// stored as their JSON text (and written back as JSON), so the file stays readable.
fn read_state(path: &Path) -> Result<StateMap, i32> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StateMap::new()),
        Err(e) => {
            return Err(fail(
                EXIT_USAGE,
                "state_unreadable",
                &format!("cannot read the state file {}: {e}", path.display()),
            ));
        }
    };
    let invalid = |why: String| {
        fail(
            EXIT_USAGE,
            "state_invalid",
            &format!(
                "the state file {} must be a JSON object of key -> value ({why}); fix it or delete it to start empty",
                path.display()
            ),
        )
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(invalid("it is not an object".into()));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

fn write_state(path: &Path, state: &StateMap) -> Result<(), i32> {
    let object: serde_json::Map<String, Value> = state
        .iter()
        .map(|(k, text)| {
            let value = match serde_json::from_str::<Value>(text) {
                Ok(v) if !v.is_string() => v,
                _ => Value::String(text.clone()),
            };
            (k.clone(), value)
        })
        .collect();
    let text = serde_json::to_string_pretty(&Value::Object(object)).unwrap_or_default();
    std::fs::write(path, text + "\n").map_err(|e| {
        fail(
            EXIT_USAGE,
            "state_unwritable",
            &format!("cannot write the state file {}: {e}", path.display()),
        )
    })
}

pub(crate) async fn run(args: &CallArgs) -> i32 {
    match run_inner(args).await {
        Ok(status) | Err(status) => status,
    }
}

async fn run_inner(args: &CallArgs) -> Result<i32, i32> {
    let lesson = Arc::new(read_lesson(args.lesson.as_deref())?);
    let state = match &args.state {
        Some(path) => Some(read_state(path)?),
        None => None,
    };
    match serde_json::from_str::<Value>(&args.config) {
        Ok(Value::Object(_)) => {}
        _ => {
            return Err(fail(
                EXIT_USAGE,
                "config_invalid",
                "--config must be a JSON object, e.g. '{\"language\": \"fr\"}'",
            ));
        }
    }
    let bytes = read_component(&args.file)?;
    let host = local_host(cache_dir(), args.deadline_ms)?;
    let load_started = Instant::now();
    let installed = host.install_and_activate(&bytes).await.map_err(|e| {
        fail(
            EXIT_PLUGIN_FAILED,
            e.code.as_str(),
            &format!("{} was refused: {}", args.file.display(), e.message),
        )
    })?;
    let load_ms = load_started.elapsed().as_secs_f64() * 1000.0;
    let plugin = installed.manifest.name.clone();
    if let Some(state) = &state {
        host.state().replace(LOCAL_SESSION, &plugin, state.clone());
    }
    let mut call = ToolCall::new(&args.tool, &args.arguments, LOCAL_SESSION, lesson);
    call.learner_id = "local-learner".into();
    let started = Instant::now();
    let record = host.call_plugin(&plugin, None, &args.config, call).await;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;

    if record.outcome == Outcome::Ok
        && let Some(path) = &args.state
    {
        write_state(path, &host.state().snapshot(LOCAL_SESSION, &plugin))?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&record).unwrap_or_default()
        );
    } else {
        print_record(&record, &installed, load_ms, wall_ms, args.state.as_deref());
    }
    if record.outcome == Outcome::Ok {
        Ok(0)
    } else {
        let what_to_do = match record.outcome {
            Outcome::InvalidArguments => {
                "fix the arguments (see the tool's schema with `lectern plugin check`)"
            }
            Outcome::PluginError => {
                "the tool reported a failure; check the lesson fixture and its logic"
            }
            Outcome::DeadlineExceeded => {
                "make the tool faster (look for loops that never end) or raise --deadline-ms"
            }
            Outcome::MemoryLimit => "the tool allocates too much memory; look for unbounded growth",
            Outcome::Trap => {
                "the tool crashed; the message above shows where (a panic, stack overflow …)"
            }
            Outcome::InvalidOutput => {
                "return a non-empty content and a display card that follows the rules in the contract"
            }
            Outcome::Unavailable => "call a tool the plugin provides (see `lectern plugin check`)",
            Outcome::Ok => "",
        };
        Err(fail(
            EXIT_PLUGIN_FAILED,
            record.outcome.as_str(),
            &format!(
                "{}; {what_to_do}",
                record.error.as_deref().unwrap_or("the call failed")
            ),
        ))
    }
}

fn print_record(
    record: &lectern_runtime::plugin::CallRecord,
    installed: &lectern_runtime::plugin::Installed,
    load_ms: f64,
    wall_ms: f64,
    state_path: Option<&Path>,
) {
    println!(
        "plugin     {} {} ({})",
        record.plugin,
        record.version,
        &installed.digest[..12]
    );
    println!("tool       {}", record.tool);
    println!("outcome    {}", record.outcome);
    println!(
        "wall time  {wall_ms:.2} ms for the call ({:.1} ms loading: checks, compile {:.1} ms, describe)",
        load_ms, installed.info.compile_ms
    );
    match record.fuel_used {
        Some(f) => println!("fuel used  {f}"),
        None => println!("fuel used  -"),
    }
    if !record.limits_hit.is_empty() {
        let hits: Vec<String> = record
            .limits_hit
            .iter()
            .map(|h| {
                serde_json::to_value(h)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        println!("limits hit {}", hits.join(", "));
    }
    if let Some(output) = &record.output {
        println!("output     {}", output.content);
        match &output.display {
            Some(display) => println!(
                "display    {}",
                serde_json::to_string_pretty(display)
                    .unwrap_or_default()
                    .replace('\n', "\n           ")
            ),
            None => println!("display    -"),
        }
    } else {
        println!("model sees {}", record.model_text());
    }
    for e in &record.evidence {
        println!("evidence   {} = {:.2}: {}", e.objective_id, e.score, e.note);
    }
    for line in &record.logs {
        let level = serde_json::to_value(line.level)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("log        [{level}] {}", line.message);
    }
    if record.logs_dropped > 0 {
        println!(
            "log        ({} lines dropped by the log limits)",
            record.logs_dropped
        );
    }
    if let Some(path) = state_path {
        if record.outcome == Outcome::Ok {
            println!(
                "state      {} ({})",
                path.display(),
                if record.state_changed {
                    "updated"
                } else {
                    "unchanged"
                }
            );
        } else {
            println!(
                "state      {} (unchanged: the call did not succeed)",
                path.display()
            );
        }
    }
}
