//! A tool call as the caller describes it, and the record the host returns.
//!
//! Whatever happens, the record has an [`Outcome`] and [`CallRecord::model_text`]
//! gives the text to send back to the model as the `function_call_output`: the
//! model always has something to read, and a lesson never ends because a tool failed.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::limits::LimitHit;
use super::output::ToolOutput;
use crate::lesson::Subtopic;

/// One call the model (or an author's playground) asked for.
#[derive(Debug, Clone)]
pub struct ToolCall {
    /// Tool name as the model used it.
    pub tool: String,
    /// Arguments as JSON text, exactly as the model sent them.
    pub arguments: String,
    /// The lesson session (opaque); state is kept per session and plugin.
    pub session_id: String,
    /// The learner (opaque).
    pub learner_id: String,
    /// BCP 47 language tag of the lesson.
    pub locale: String,
    /// The subtopic being taught; what the `lesson` import returns.
    pub lesson: Arc<Subtopic>,
    /// The learner's mastery of this subtopic's objectives before the call (from
    /// storage); the `progress.mastery` import returns it plus this call's evidence.
    pub mastery: Vec<Mastery>,
}

impl ToolCall {
    /// A call with the given lesson, empty mastery, locale `en-US`.
    pub fn new(
        tool: impl Into<String>,
        arguments: impl Into<String>,
        session_id: impl Into<String>,
        lesson: Arc<Subtopic>,
    ) -> ToolCall {
        ToolCall {
            tool: tool.into(),
            arguments: arguments.into(),
            session_id: session_id.into(),
            learner_id: String::new(),
            locale: "en-US".into(),
            lesson,
            mastery: Vec::new(),
        }
    }
}

/// Mastery of one objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mastery {
    /// The objective.
    pub objective_id: String,
    /// 0.0 to 1.0.
    pub score: f32,
    /// Pieces of evidence the score rests on.
    pub evidence_count: u32,
}

/// Evidence a call recorded through `progress.record-evidence`. The caller persists
/// it (e.g. `learner_progress`) when the call ended `ok`; a failed call records none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// One of the subtopic's objectives.
    pub objective_id: String,
    /// 0.0 to 1.0.
    pub score: f32,
    /// A short note for the teacher.
    pub note: String,
}

/// Severity of a plugin log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Very detailed.
    Trace,
    /// For the author.
    Debug,
    /// Normal events.
    Info,
    /// Something looks wrong.
    Warn,
    /// Something failed.
    Error,
}

/// A log line a plugin wrote during the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Severity.
    pub level: LogLevel,
    /// The text (cut to the per-line limit).
    pub message: String,
}

/// How a call ended. The names are stable (metrics, storage, API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tool returned a valid output.
    Ok,
    /// The tool ran and reported that it could not do its work.
    PluginError,
    /// The arguments failed the tool's schema (tool not called) or the tool itself
    /// rejected them.
    InvalidArguments,
    /// The call passed its wall-clock deadline or fuel budget and was stopped.
    DeadlineExceeded,
    /// The call tried to grow its memory past its limit.
    MemoryLimit,
    /// The tool crashed (panic, stack overflow, invalid operation …).
    Trap,
    /// The tool returned an output that breaks the output rules.
    InvalidOutput,
    /// The tool could not be called: unknown, disabled, or quarantined by the
    /// circuit breaker after repeated failures.
    Unavailable,
}

impl Outcome {
    /// The stable name, e.g. `deadline_exceeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::PluginError => "plugin_error",
            Outcome::InvalidArguments => "invalid_arguments",
            Outcome::DeadlineExceeded => "deadline_exceeded",
            Outcome::MemoryLimit => "memory_limit",
            Outcome::Trap => "trap",
            Outcome::InvalidOutput => "invalid_output",
            Outcome::Unavailable => "unavailable",
        }
    }

    /// Whether this outcome counts towards opening the circuit breaker.
    pub fn is_fault(self) -> bool {
        matches!(
            self,
            Outcome::Trap | Outcome::DeadlineExceeded | Outcome::MemoryLimit
        )
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything about one call, for the model, the learner's screen, storage
/// (`tool_invocations`), metrics and the author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Plugin name (empty when the tool could not be resolved).
    pub plugin: String,
    /// Plugin version (semver) that ran.
    pub version: String,
    /// sha256 (hex) of the component that ran.
    pub digest: String,
    /// Tool name.
    pub tool: String,
    /// Arguments as given.
    pub arguments: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The output when `outcome` is `ok`.
    pub output: Option<ToolOutput>,
    /// What went wrong otherwise, in words (names the plugin and version).
    pub error: Option<String>,
    /// Wall time from the host receiving the call to the record, in microseconds.
    pub duration_us: u64,
    /// Fuel the call consumed, when the engine meters fuel.
    pub fuel_used: Option<u64>,
    /// Limits the call ran into.
    pub limits_hit: Vec<LimitHit>,
    /// Log lines kept.
    pub logs: Vec<LogLine>,
    /// Log lines dropped by the limits.
    pub logs_dropped: u32,
    /// Evidence recorded (empty unless `outcome` is `ok`).
    pub evidence: Vec<Evidence>,
    /// Whether the call changed the session's state for this plugin.
    pub state_changed: bool,
}

impl CallRecord {
    /// The text to return to the model as the `function_call_output`.
    ///
    /// `ok` gives the tool's content as is; every other outcome gives a short JSON
    /// object `{"error": outcome, "message": …}` telling the model what happened and
    /// how to carry on with the lesson.
    pub fn model_text(&self) -> String {
        if let (Outcome::Ok, Some(out)) = (self.outcome, &self.output) {
            return out.content.clone();
        }
        let advice = match self.outcome {
            Outcome::Ok | Outcome::PluginError => {
                "The tool could not do this; tell the learner briefly and continue the lesson without it."
            }
            Outcome::InvalidArguments => "Fix the arguments as described and call the tool again.",
            Outcome::DeadlineExceeded => {
                "The tool took too long and was stopped; continue the lesson without it."
            }
            Outcome::MemoryLimit | Outcome::Trap | Outcome::InvalidOutput => {
                "The tool failed; continue the lesson without it."
            }
            Outcome::Unavailable => {
                "The tool is not available right now; continue the lesson without it."
            }
        };
        let detail = self.error.as_deref().unwrap_or("");
        serde_json::json!({
            "error": self.outcome.as_str(),
            "message": if matches!(self.outcome, Outcome::InvalidArguments | Outcome::PluginError) && !detail.is_empty() {
                format!("{detail}. {advice}")
            } else {
                advice.to_owned()
            },
        })
        .to_string()
    }
}
