//! Limits on one plugin call: host defaults, and per-plugin overrides an operator
//! may set. Every figure carries its unit in its name.

use serde::{Deserialize, Serialize};

use crate::engine::MAX_PLUGIN_MEMORY_BYTES;

/// Wall-clock time a call may take. A voice lesson waits for the tool while the
/// learner hears silence; half a second is the most that still feels like a pause.
pub const DEFAULT_CALL_DEADLINE_MS: u64 = 500;
/// Linear memory a call may grow to. Rust tools use 1-2 MiB; interpreters more.
pub const DEFAULT_MEMORY_BYTES: u64 = 64 << 20;
/// Largest output (content + display) a call may return. The model reads `content`
/// on every later turn, so it must stay short; cards are small too.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 32 << 10;
/// Largest arguments the model may pass.
pub const DEFAULT_MAX_ARGUMENT_BYTES: usize = 16 << 10;
/// Log lines kept per call; the rest are counted and dropped.
pub const DEFAULT_MAX_LOG_LINES_PER_CALL: u32 = 32;
/// Longest log line kept, in bytes; longer lines are cut.
pub const DEFAULT_MAX_LOG_LINE_BYTES: usize = 1024;
/// Log lines per second a plugin version may emit across all its calls (a token
/// bucket with this rate and a burst of the same size), so a hot plugin cannot
/// flood the operator's logs.
pub const DEFAULT_LOG_LINES_PER_SECOND: u32 = 200;
/// Total size (keys + values) of one session's state for one plugin.
pub const DEFAULT_MAX_STATE_BYTES: usize = 64 << 10;
/// Captured stderr (panic messages) kept per call.
pub const MAX_STDERR_BYTES: usize = 4 << 10;

/// The limits a call actually runs under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallLimits {
    /// Wall-clock deadline for the whole call.
    pub call_deadline_ms: u64,
    /// Linear memory ceiling.
    pub memory_bytes: u64,
    /// Largest output accepted.
    pub max_output_bytes: usize,
    /// Largest arguments accepted.
    pub max_argument_bytes: usize,
    /// Log lines kept per call.
    pub max_log_lines_per_call: u32,
    /// Longest log line kept.
    pub max_log_line_bytes: usize,
    /// Session state size per plugin.
    pub max_state_bytes: usize,
    /// Fuel budget (WebAssembly work units); `None` meters without a budget. Only
    /// effective when the engine meters fuel.
    pub fuel: Option<u64>,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            call_deadline_ms: DEFAULT_CALL_DEADLINE_MS,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_argument_bytes: DEFAULT_MAX_ARGUMENT_BYTES,
            max_log_lines_per_call: DEFAULT_MAX_LOG_LINES_PER_CALL,
            max_log_line_bytes: DEFAULT_MAX_LOG_LINE_BYTES,
            max_state_bytes: DEFAULT_MAX_STATE_BYTES,
            fuel: None,
        }
    }
}

/// Per-plugin changes to the host defaults (fields left `None` keep the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// See [`CallLimits::call_deadline_ms`].
    pub call_deadline_ms: Option<u64>,
    /// See [`CallLimits::memory_bytes`]; capped at the engine's maximum.
    pub memory_bytes: Option<u64>,
    /// See [`CallLimits::max_output_bytes`].
    pub max_output_bytes: Option<usize>,
    /// See [`CallLimits::max_argument_bytes`].
    pub max_argument_bytes: Option<usize>,
    /// See [`CallLimits::max_log_lines_per_call`].
    pub max_log_lines_per_call: Option<u32>,
    /// See [`CallLimits::max_state_bytes`].
    pub max_state_bytes: Option<usize>,
    /// See [`CallLimits::fuel`].
    pub fuel: Option<u64>,
}

impl CallLimits {
    /// These limits with `overrides` applied; memory never exceeds what the engine's
    /// pool can hold.
    pub fn with(&self, overrides: &LimitOverrides) -> CallLimits {
        let mut out = self.clone();
        if let Some(v) = overrides.call_deadline_ms {
            out.call_deadline_ms = v.max(1);
        }
        if let Some(v) = overrides.memory_bytes {
            out.memory_bytes = v.min(MAX_PLUGIN_MEMORY_BYTES);
        }
        if let Some(v) = overrides.max_output_bytes {
            out.max_output_bytes = v;
        }
        if let Some(v) = overrides.max_argument_bytes {
            out.max_argument_bytes = v;
        }
        if let Some(v) = overrides.max_log_lines_per_call {
            out.max_log_lines_per_call = v;
        }
        if let Some(v) = overrides.max_state_bytes {
            out.max_state_bytes = v;
        }
        if overrides.fuel.is_some() {
            out.fuel = overrides.fuel;
        }
        out
    }
}

/// A limit a call ran into (recorded even when the call still succeeded, e.g. log
/// lines dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitHit {
    /// The wall-clock deadline passed.
    Deadline,
    /// The memory ceiling refused a grow.
    Memory,
    /// The fuel budget ran out.
    Fuel,
    /// The output was larger than allowed.
    OutputBytes,
    /// The arguments were larger than allowed.
    ArgumentBytes,
    /// Log lines were dropped (per-call count, line size or rate).
    Log,
    /// A state write was refused for the size cap.
    StateBytes,
}
