//! One tool call: its context, its arguments and typed access to the host.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::env::{Env, LogLevel};
use crate::lesson::{Mastery, Subtopic};
use crate::types::{CallContext, ToolError};

/// One call of one tool, handed to [`TeachingTool::invoke`](crate::TeachingTool::invoke).
///
/// It carries what the host sent (context, tool name, arguments) and gives
/// typed access to the lesson, the plugin's JSON state, progress and the log.
/// The lesson is fetched from the host once per call, on first use; a call
/// that never asks for it never crosses into the host.
pub struct Call<'env> {
    context: CallContext,
    tool: String,
    arguments: String,
    host: Host<'env>,
    lesson: Option<Subtopic>,
}

/// Who serves a call's requests.
enum Host<'env> {
    /// The contract's imports, called directly rather than through `dyn
    /// Env`: a trait object keeps every method, and so every import, in the
    /// component, while direct calls let the linker drop the imports a tool
    /// never uses. The component then declares only what it touches, and
    /// each instance links fewer functions.
    #[cfg(target_arch = "wasm32")]
    Imports,
    /// Any other host, such as an author's [`FakeEnv`](crate::testing::FakeEnv).
    Env(&'env mut dyn Env),
}

/// Calls `$method` of the call's host.
macro_rules! host {
    ($host:expr, $method:ident ( $($argument:expr),* )) => {
        match $host {
            #[cfg(target_arch = "wasm32")]
            Host::Imports => crate::wasm::HostEnv.$method($($argument),*),
            Host::Env(env) => env.$method($($argument),*),
        }
    };
}

impl<'env> Call<'env> {
    /// A call of `tool` with `arguments` (JSON text) served by `env`.
    pub fn new(
        context: CallContext,
        tool: impl Into<String>,
        arguments: impl Into<String>,
        env: &'env mut dyn Env,
    ) -> Self {
        Call {
            context,
            tool: tool.into(),
            arguments: arguments.into(),
            host: Host::Env(env),
            lesson: None,
        }
    }

    /// A call served by the contract's imports.
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn from_imports(context: CallContext, tool: String, arguments: String) -> Self {
        Call {
            context,
            tool,
            arguments,
            host: Host::Imports,
            lesson: None,
        }
    }

    /// Session, subtopic, learner, locale, config and time budget.
    pub fn context(&self) -> &CallContext {
        &self.context
    }

    /// The name of the tool the model called.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The arguments exactly as the model sent them (JSON text).
    pub fn raw_arguments(&self) -> &str {
        &self.arguments
    }

    /// The arguments parsed into `T`.
    ///
    /// The host has already checked them against the tool's schema, so a
    /// failure here means the schema and `T` disagree; it is reported to the
    /// model as invalid arguments with serde's explanation.
    pub fn arguments<T: DeserializeOwned>(&self) -> Result<T, ToolError> {
        serde_json::from_str(&self.arguments).map_err(|error| {
            ToolError::invalid_arguments(format!(
                "the arguments for `{}` could not be read: {error}",
                self.tool
            ))
        })
    }

    /// This plugin's configuration for the subtopic parsed into `T`; an
    /// empty configuration gives `T::default()`.
    pub fn config<T: DeserializeOwned + Default>(&self) -> Result<T, ToolError> {
        let text = self.context.config.trim();
        if text.is_empty() || text == "{}" {
            return Ok(T::default());
        }
        serde_json::from_str(text).map_err(|error| {
            ToolError::failed(format!(
                "the operator's configuration for this plugin is not valid: {error}"
            ))
        })
    }

    /// The subtopic being taught (fetched once per call).
    pub fn lesson(&mut self) -> &Subtopic {
        let host = &mut self.host;
        self.lesson.get_or_insert_with(|| host!(host, lesson()))
    }

    /// The JSON value stored under `key`, or `None` when nothing is stored.
    ///
    /// A stored value that is not a `T` (for instance written by an older
    /// version of the plugin) is an error; use [`Call::state_or_default`] to
    /// start afresh instead.
    pub fn state<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, ToolError> {
        match host!(&mut self.host, state_get(key)) {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text).map(Some).map_err(|error| {
                ToolError::failed(format!(
                    "the stored state `{key}` could not be read: {error}"
                ))
            }),
        }
    }

    /// The JSON value stored under `key`, or `T::default()` when nothing (or
    /// something unreadable, which is logged) is stored.
    pub fn state_or_default<T: DeserializeOwned + Default>(&mut self, key: &str) -> T {
        match self.state(key) {
            Ok(value) => value.unwrap_or_default(),
            Err(error) => {
                let message = format!("starting `{key}` afresh: {error}");
                host!(&mut self.host, log(LogLevel::Warn, &message));
                T::default()
            }
        }
    }

    /// Stores `value` as JSON under `key`. Fails, changing nothing, when the
    /// host's state size cap would be passed.
    pub fn set_state<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), ToolError> {
        let text = serde_json::to_string(value).map_err(|error| {
            ToolError::failed(format!("the state `{key}` could not be written: {error}"))
        })?;
        host!(&mut self.host, state_set(key, &text))
            .map_err(|error| ToolError::failed(format!("the state `{key}` was not saved: {error}")))
    }

    /// The text stored under `key` as it is, without JSON: for a tool that
    /// keeps its own compact layout because decoding JSON on every call is
    /// too costly.
    pub fn state_text(&mut self, key: &str) -> Option<String> {
        host!(&mut self.host, state_get(key))
    }

    /// Stores `value` under `key` as it is, without JSON (see
    /// [`Call::state_text`]). Fails, changing nothing, when the host's state
    /// size cap would be passed.
    pub fn set_state_text(&mut self, key: &str, value: &str) -> Result<(), ToolError> {
        host!(&mut self.host, state_set(key, value))
            .map_err(|error| ToolError::failed(format!("the state `{key}` was not saved: {error}")))
    }

    /// Removes `key` from the state; a missing key is not an error.
    pub fn delete_state(&mut self, key: &str) {
        host!(&mut self.host, state_delete(key));
    }

    /// Every key in this plugin's state for the session, sorted.
    pub fn state_keys(&mut self) -> Vec<String> {
        host!(&mut self.host, state_keys())
    }

    /// Records evidence that the learner has (`score` 1.0) or has not (0.0)
    /// mastered `objective_id`, with a short note for the teacher.
    ///
    /// `score` is clamped to 0..=1 (a NaN counts as 0) so rounding never
    /// makes the host refuse it; an objective the subtopic does not have is
    /// an error.
    pub fn record_progress(
        &mut self,
        objective_id: &str,
        score: f32,
        note: &str,
    ) -> Result<(), ToolError> {
        let score = if score.is_nan() {
            0.0
        } else {
            score.clamp(0.0, 1.0)
        };
        host!(&mut self.host, record_evidence(objective_id, score, note)).map_err(|error| {
            ToolError::failed(format!(
                "progress for objective `{objective_id}` was not recorded: {error}"
            ))
        })
    }

    /// The learner's mastery of the subtopic's objectives, including what
    /// this call recorded.
    pub fn mastery(&mut self) -> Vec<Mastery> {
        host!(&mut self.host, mastery())
    }

    /// Writes a log line tagged with the plugin's name and version. The log
    /// macros ([`info!`](crate::info) …) are shorter to use.
    pub fn log(&mut self, level: LogLevel, message: &str) {
        host!(&mut self.host, log(level, message));
    }
}
