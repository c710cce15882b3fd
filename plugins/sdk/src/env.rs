//! What the host offers a tool during a call, as one trait.
//!
//! Inside the component the implementation calls the contract's imports
//! (`lesson`, `state`, `progress`, `log`); in an author's native unit tests it
//! is [`FakeEnv`](crate::testing::FakeEnv), an in-memory host. Tool logic only
//! ever sees [`Call`](crate::Call), which wraps an `Env`, so the same code
//! runs in both.

use serde::{Deserialize, Serialize};

use crate::lesson::{Mastery, Subtopic};

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Detail useful while developing.
    Debug,
    /// Normal operation worth noting.
    Info,
    /// Something unexpected the tool could cope with.
    Warn,
    /// Something failed.
    Error,
}

/// The host's side of one call: the lesson, the plugin's state for this
/// session, the learner's progress and the log.
///
/// Authors rarely implement this; they call the friendlier methods of
/// [`Call`](crate::Call). Every method mirrors one import of the contract.
pub trait Env {
    /// The subtopic of the current call (`lesson.current`).
    fn lesson(&mut self) -> Subtopic;
    /// The value stored under `key`, if any (`state.get`).
    fn state_get(&mut self, key: &str) -> Option<String>;
    /// Stores `value` under `key`; fails, changing nothing, past the host's
    /// size cap (`state.set`).
    fn state_set(&mut self, key: &str, value: &str) -> Result<(), String>;
    /// Removes `key`; a missing key is not an error (`state.delete`).
    fn state_delete(&mut self, key: &str);
    /// Every stored key, sorted (`state.keys`).
    fn state_keys(&mut self) -> Vec<String>;
    /// Records mastery evidence for an objective (`progress.record-evidence`).
    fn record_evidence(&mut self, objective_id: &str, score: f32, note: &str)
    -> Result<(), String>;
    /// The learner's mastery of the subtopic's objectives (`progress.mastery`).
    fn mastery(&mut self) -> Vec<Mastery>;
    /// Writes a log line (`log.log`); the host may drop lines past its rate limit.
    fn log(&mut self, level: LogLevel, message: &str);
}
