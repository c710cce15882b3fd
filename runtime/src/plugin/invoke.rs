//! The full path of one call on one plugin version: breaker, argument checks,
//! a fresh sandbox, the call under its limits, output rules, the record.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Trap;

use super::bindings::types as wit;
use super::breaker::Admission;
use super::call::{CallRecord, Outcome, ToolCall};
use super::imports::{LogCollector, ProgressLedger};
use super::limits::{CallLimits, LimitHit};
use super::loader::PluginVersion;
use super::output;
use super::sandbox::{self, CallState};
use super::state::{StateStore, StateView};
use crate::engine::PluginEngine;

/// Slack after the deadline before the host abandons a call that is waiting in a
/// host function (e.g. a WASI sleep) rather than running guest code, which the
/// epoch interruption stops on its own.
pub(crate) const HOST_WAIT_GRACE: Duration = Duration::from_millis(5);

/// Longest error message from a plugin passed on to the model and the record.
const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

/// Argument validation errors listed in one message.
const MAX_SCHEMA_ERRORS_REPORTED: usize = 3;

pub(crate) struct Invoker<'a> {
    pub(crate) engine: &'a PluginEngine,
    pub(crate) state: &'a StateStore,
}

/// A record for a call that never reached a plugin version.
pub(crate) fn unavailable(
    call: &ToolCall,
    plugin: &str,
    message: String,
    started: Instant,
) -> CallRecord {
    let mut record = blank_record(
        plugin.to_owned(),
        String::new(),
        String::new(),
        call.tool.clone(),
        call.arguments.clone(),
    );
    record.error = Some(message);
    record.duration_us = micros(started);
    record
}

/// A record of a call not yet made: outcome `Unavailable`, nothing else.
fn blank_record(
    plugin: String,
    version: String,
    digest: String,
    tool: String,
    arguments: String,
) -> CallRecord {
    CallRecord {
        plugin,
        version,
        digest,
        tool,
        arguments,
        outcome: Outcome::Unavailable,
        output: None,
        error: None,
        duration_us: 0,
        fuel_used: None,
        limits_hit: Vec::new(),
        logs: Vec::new(),
        logs_dropped: 0,
        evidence: Vec::new(),
        state_changed: false,
    }
}

/// `name@version` of a plugin version, for messages; written out only when a
/// call fails, not on every call.
#[derive(Clone, Copy)]
struct Tag<'a>(&'a PluginVersion);

impl std::fmt::Display for Tag<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.0.name(), self.0.version())
    }
}

fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Plugin text made safe to pass on: control characters removed, length capped.
fn sanitize(message: &str) -> String {
    let mut out: String = message
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    if out.len() > MAX_ERROR_MESSAGE_BYTES {
        let mut cut = MAX_ERROR_MESSAGE_BYTES;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

impl Invoker<'_> {
    pub(crate) async fn invoke(
        &self,
        version: &Arc<PluginVersion>,
        limits: &CallLimits,
        config: &str,
        call: ToolCall,
        started: Instant,
        stages: Option<&mut StageTimes>,
    ) -> CallRecord {
        let tag = Tag(version);
        // The call's parts move where they are needed (the record, the sandbox,
        // the guest's call context) rather than being copied there.
        let ToolCall {
            tool,
            arguments,
            session_id,
            learner_id,
            locale,
            lesson,
            mastery,
        } = call;
        let mut record = blank_record(
            version.name().to_owned(),
            version.version().to_owned(),
            version.digest().to_owned(),
            tool,
            arguments,
        );
        let finish = |mut record: CallRecord, outcome: Outcome, error: Option<String>| {
            record.outcome = outcome;
            record.error = error.map(|e| format!("{tag}: {e}"));
            record.duration_us = micros(started);
            record
        };

        let admission = version.breaker.admit();
        if let Admission::Refused { retry_in } = admission {
            let msg = format!(
                "quarantined after repeated crashes or timeouts; the next trial call is allowed in {} s",
                retry_in.as_secs().max(1)
            );
            return finish(record, Outcome::Unavailable, Some(msg));
        }
        let Some(validator) = version.validators.get(&record.tool) else {
            version.breaker.skip(admission);
            let msg = format!("this plugin has no tool named `{}`", record.tool);
            return finish(record, Outcome::Unavailable, Some(msg));
        };

        // Arguments: size, JSON, schema. The plugin is not called when any fails.
        if record.arguments.len() > limits.max_argument_bytes {
            version.breaker.skip(admission);
            record.limits_hit.push(LimitHit::ArgumentBytes);
            let msg = format!(
                "the arguments are {} bytes, more than the {} allowed",
                record.arguments.len(),
                limits.max_argument_bytes
            );
            return finish(record, Outcome::InvalidArguments, Some(msg));
        }
        let arguments: &str = if record.arguments.trim().is_empty() {
            "{}"
        } else {
            &record.arguments
        };
        let parsed: serde_json::Value = match serde_json::from_str(arguments) {
            Ok(v) => v,
            Err(e) => {
                version.breaker.skip(admission);
                let msg = format!("the arguments are not valid JSON ({e})");
                return finish(record, Outcome::InvalidArguments, Some(msg));
            }
        };
        if !validator.is_valid(&parsed) {
            version.breaker.skip(admission);
            let problems: Vec<String> = validator
                .iter_errors(&parsed)
                .take(MAX_SCHEMA_ERRORS_REPORTED)
                .map(|e| {
                    let at = e.instance_path().to_string();
                    if at.is_empty() {
                        e.to_string()
                    } else {
                        format!("{at}: {e}")
                    }
                })
                .collect();
            let msg = format!(
                "the arguments do not match the schema of `{}`: {}",
                record.tool,
                problems.join("; ")
            );
            return finish(record, Outcome::InvalidArguments, Some(msg));
        }

        // A fresh sandbox for this call.
        let (base, base_bytes) = self.state.view(&session_id, version.name());
        let timed = stages.is_some();
        let sandbox_started = timed.then(Instant::now);
        let state = CallState::new(
            limits.memory_bytes,
            lesson.clone(),
            StateView::new(base, base_bytes, limits.max_state_bytes),
            ProgressLedger {
                lesson: lesson.clone(),
                before: mastery,
                recorded: Vec::new(),
            },
            LogCollector {
                plugin: version.name_tag.clone(),
                version: version.version_tag.clone(),
                bucket: version.log_bucket.clone(),
                max_lines: limits.max_log_lines_per_call,
                max_line_bytes: limits.max_log_line_bytes,
                lines: Vec::new(),
                dropped: 0,
            },
        );
        let budget = Duration::from_millis(limits.call_deadline_ms);
        let deadline = started + budget;
        let fuel_budget = limits.fuel;
        let mut store = sandbox::store(self.engine, state, deadline, fuel_budget);
        let ctx = wit::CallContext {
            session_id,
            subtopic_id: lesson.id.clone(),
            learner_id,
            locale,
            config: config.to_owned(),
            budget_ms: u32::try_from(
                deadline
                    .saturating_duration_since(Instant::now())
                    .as_millis(),
            )
            .unwrap_or(u32::MAX),
        };
        enum Step {
            Instantiate(wasmtime::Error),
            Call(wasmtime::Error),
            Done(Result<wit::ToolOutput, wit::ToolError>),
        }
        let mut instantiated_at = None;
        let result = {
            let run = async {
                let tool = match version.pre.instantiate_async(&mut store).await {
                    Ok(tool) => tool,
                    Err(e) => return Step::Instantiate(e),
                };
                if timed {
                    instantiated_at = Some(Instant::now());
                }
                match tool
                    .call_invoke(&mut store, &ctx, &record.tool, arguments)
                    .await
                {
                    Ok(done) => Step::Done(done),
                    Err(e) => Step::Call(e),
                }
            };
            tokio::time::timeout_at((deadline + HOST_WAIT_GRACE).into(), run).await
        };

        let invoked_at = timed.then(Instant::now);
        let session_id = ctx.session_id;
        record.fuel_used = sandbox::fuel_used(self.engine, &store, fuel_budget);
        let data = store.into_data();
        if let (Some(stages), Some(sandbox_started), Some(instantiated), Some(invoked)) =
            (stages, sandbox_started, instantiated_at, invoked_at)
        {
            *stages = StageTimes {
                instantiate: instantiated - sandbox_started,
                invoke: invoked - instantiated,
                teardown: invoked.elapsed(),
                fuel: record.fuel_used,
            };
        }
        let memory_hit = data.memory.hit;
        let (outcome, error, output) = match result {
            Err(_elapsed) => {
                record.limits_hit.push(LimitHit::Deadline);
                (
                    Outcome::DeadlineExceeded,
                    Some(deadline_message(limits)),
                    None,
                )
            }
            Ok(Step::Instantiate(e)) if e.downcast_ref::<Trap>().is_none() && !memory_hit => {
                // The pool is full or similar: the host's problem, not the plugin's.
                tracing::warn!(plugin = %tag, error = %format!("{e:#}"), "could not instantiate plugin");
                (
                    Outcome::Unavailable,
                    Some(
                        "the host is at capacity and could not start the tool; try again shortly"
                            .into(),
                    ),
                    None,
                )
            }
            Ok(Step::Instantiate(e) | Step::Call(e)) => {
                if memory_hit {
                    record.limits_hit.push(LimitHit::Memory);
                    let msg = format!(
                        "the tool needed more than its {} MiB of memory and was stopped",
                        limits.memory_bytes >> 20
                    );
                    (Outcome::MemoryLimit, Some(msg), None)
                } else {
                    match e.downcast_ref::<Trap>() {
                        Some(Trap::Interrupt) => {
                            record.limits_hit.push(LimitHit::Deadline);
                            (
                                Outcome::DeadlineExceeded,
                                Some(deadline_message(limits)),
                                None,
                            )
                        }
                        Some(Trap::OutOfFuel) => {
                            record.limits_hit.push(LimitHit::Fuel);
                            let msg = format!(
                                "the tool used up its fuel budget of {} and was stopped",
                                fuel_budget.unwrap_or(0)
                            );
                            (Outcome::DeadlineExceeded, Some(msg), None)
                        }
                        trap => {
                            // The trap's kind and the guest's own words (a panic
                            // message on stderr); the wasm backtrace stays out of
                            // what the model and the author read first.
                            let kind = match trap {
                                Some(t) => t.to_string(),
                                None => e.root_cause().to_string(),
                            };
                            let mut msg = format!("the tool crashed ({kind})");
                            let stderr = panic_message(&data.stderr.text());
                            if !stderr.is_empty() {
                                msg.push_str(&format!(": {}", sanitize(&stderr)));
                            }
                            tracing::debug!(plugin = %tag, error = ?e, "plugin trapped");
                            (Outcome::Trap, Some(msg), None)
                        }
                    }
                }
            }
            Ok(Step::Done(Err(wit::ToolError::InvalidArguments(m)))) => {
                (Outcome::InvalidArguments, Some(sanitize(&m)), None)
            }
            Ok(Step::Done(Err(wit::ToolError::Failed(m)))) => {
                (Outcome::PluginError, Some(sanitize(&m)), None)
            }
            Ok(Step::Done(Ok(raw))) => match output::check(raw, &lesson, limits.max_output_bytes) {
                Ok(out) => (Outcome::Ok, None, Some(out)),
                Err(rejected) => {
                    if rejected.too_large {
                        record.limits_hit.push(LimitHit::OutputBytes);
                    }
                    (
                        Outcome::InvalidOutput,
                        Some(format!(
                            "the tool returned an invalid output: {}",
                            rejected.message
                        )),
                        None,
                    )
                }
            },
        };
        if memory_hit && outcome != Outcome::MemoryLimit {
            record.limits_hit.push(LimitHit::Memory);
        }
        if data.log.dropped > 0 {
            record.limits_hit.push(LimitHit::Log);
        }
        if data.state.refused_writes > 0 {
            record.limits_hit.push(LimitHit::StateBytes);
        }
        record.logs = data.log.lines;
        record.logs_dropped = data.log.dropped;
        if outcome == Outcome::Ok {
            // Only a successful call changes the session: its state writes and its
            // evidence. Anything else leaves the lesson as it was.
            let writes = data.state.into_writes();
            record.state_changed = !writes.is_empty();
            self.state.commit(&session_id, version.name(), writes);
            record.evidence = data.progress.recorded;
        }
        record.output = output;
        if outcome == Outcome::Unavailable {
            // The host could not start the call: no news about the plugin.
            version.breaker.skip(admission);
        } else {
            version.breaker.record(admission, outcome.is_fault());
        }
        let record = finish(record, outcome, error);
        tracing::debug!(
            plugin = %version.name(), version = %version.version(), tool = %record.tool,
            outcome = %record.outcome, duration_us = record.duration_us, "tool call"
        );
        record
    }
}

/// What a guest wrote to stderr, without the runtime's hints: `thread '…'
/// panicked at FILE:LINE:COL:` and the message, on one line.
fn panic_message(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn deadline_message(limits: &CallLimits) -> String {
    format!(
        "the tool did not finish within its {} ms deadline and was stopped",
        limits.call_deadline_ms
    )
}

/// The floor of a call (see [`super::PluginHost::raw_invoke`]).
pub(crate) async fn raw(
    engine: &PluginEngine,
    version: &PluginVersion,
    tool: &str,
    arguments: &str,
) -> anyhow::Result<()> {
    let mut store = wasmtime::Store::new(engine.wasmtime(), CallState::minimal());
    store.set_epoch_deadline(u64::MAX / 2);
    if engine.config().fuel {
        store.set_fuel(u64::MAX)?;
    }
    let ctx = wit::CallContext {
        session_id: String::new(),
        subtopic_id: String::new(),
        learner_id: String::new(),
        locale: String::new(),
        config: String::new(),
        budget_ms: 0,
    };
    let instance = version.pre.instantiate_async(&mut store).await?;
    let _ = instance
        .call_invoke(&mut store, &ctx, tool, arguments)
        .await?;
    Ok(())
}

/// Where the time of one sandboxed call goes, for benchmarks (see
/// [`super::PluginHost::raw_stages`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    /// A fresh store and instantiation from the version's pre-linked instance.
    pub instantiate: Duration,
    /// The `invoke` export: the call context and arguments into the guest, the
    /// tool's own work with every import it makes, the result back out.
    pub invoke: Duration,
    /// Dropping the store: the pool slot's memory, tables and stack reset.
    pub teardown: Duration,
    /// Fuel the instantiation and call used, when the engine meters fuel.
    pub fuel: Option<u64>,
}

/// The sandboxed part of a call, stage by stage, with the call's lesson, mastery
/// and its session's state (read, never committed), but none of the checks,
/// limits or recording around it.
pub(crate) async fn stages(
    engine: &PluginEngine,
    state: &StateStore,
    version: &PluginVersion,
    call: &ToolCall,
) -> anyhow::Result<StageTimes> {
    let started = Instant::now();
    let (base, base_bytes) = state.view(&call.session_id, version.name());
    let mut call_state = CallState::minimal();
    call_state.lesson = call.lesson.clone();
    call_state.state = StateView::new(base, base_bytes, usize::MAX);
    call_state.progress = ProgressLedger {
        lesson: call.lesson.clone(),
        before: call.mastery.clone(),
        recorded: Vec::new(),
    };
    let mut store = wasmtime::Store::new(engine.wasmtime(), call_state);
    store.set_epoch_deadline(u64::MAX / 2);
    if engine.config().fuel {
        store.set_fuel(u64::MAX)?;
    }
    let ctx = wit::CallContext {
        session_id: call.session_id.clone(),
        subtopic_id: call.lesson.id.clone(),
        learner_id: call.learner_id.clone(),
        locale: call.locale.clone(),
        config: String::new(),
        budget_ms: 0,
    };
    let instance = version.pre.instantiate_async(&mut store).await?;
    let instantiated = Instant::now();
    let result = instance
        .call_invoke(&mut store, &ctx, &call.tool, &call.arguments)
        .await?;
    let invoked = Instant::now();
    if let Err(e) = result {
        anyhow::bail!("the tool failed: {e:?}");
    }
    let fuel = if engine.config().fuel {
        Some(u64::MAX - store.get_fuel()?)
    } else {
        None
    };
    drop(store);
    Ok(StageTimes {
        instantiate: instantiated - started,
        invoke: invoked - instantiated,
        teardown: invoked.elapsed(),
        fuel,
    })
}
