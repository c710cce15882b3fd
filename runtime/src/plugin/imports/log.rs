//! `log`: leveled lines, tagged with the plugin's name and version, collected in
//! the call record and emitted through `tracing` (target `lectern::plugin`).
//!
//! Two limits apply: lines per call (and bytes per line), and a per-version token
//! bucket across all calls so a busy plugin cannot flood the operator's logs.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::plugin::bindings::log as wit;
use crate::plugin::call::{LogLevel, LogLine};
use crate::plugin::sandbox::CallState;

/// Token bucket shared by all calls of one plugin version.
#[derive(Debug)]
pub(crate) struct LogBucket {
    lines_per_second: f64,
    inner: Mutex<(f64, Instant)>,
}

impl LogBucket {
    pub(crate) fn new(lines_per_second: u32) -> LogBucket {
        let rate = f64::from(lines_per_second.max(1));
        LogBucket {
            lines_per_second: rate,
            inner: Mutex::new((rate, Instant::now())),
        }
    }

    fn take(&self) -> bool {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = &mut *guard;
        let now = Instant::now();
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.lines_per_second)
            .min(self.lines_per_second);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The lines one call wrote.
#[derive(Debug)]
pub(crate) struct LogCollector {
    pub(crate) plugin: Arc<str>,
    pub(crate) version: Arc<str>,
    pub(crate) bucket: Arc<LogBucket>,
    pub(crate) max_lines: u32,
    pub(crate) max_line_bytes: usize,
    pub(crate) lines: Vec<LogLine>,
    pub(crate) dropped: u32,
}

impl LogCollector {
    fn push(&mut self, level: LogLevel, mut message: String) {
        if self.lines.len() >= self.max_lines as usize || !self.bucket.take() {
            self.dropped += 1;
            return;
        }
        if message.len() > self.max_line_bytes {
            let mut cut = self.max_line_bytes;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let (plugin, version) = (&*self.plugin, &*self.version);
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: "lectern::plugin", plugin, version, "{message}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: "lectern::plugin", plugin, version, "{message}")
            }
            LogLevel::Info => {
                tracing::info!(target: "lectern::plugin", plugin, version, "{message}")
            }
            LogLevel::Warn => {
                tracing::warn!(target: "lectern::plugin", plugin, version, "{message}")
            }
            LogLevel::Error => {
                tracing::error!(target: "lectern::plugin", plugin, version, "{message}")
            }
        }
        self.lines.push(LogLine { level, message });
    }
}

impl wit::Host for CallState {
    fn log(&mut self, level: wit::Level, message: String) {
        let level = match level {
            wit::Level::Trace => LogLevel::Trace,
            wit::Level::Debug => LogLevel::Debug,
            wit::Level::Info => LogLevel::Info,
            wit::Level::Warn => LogLevel::Warn,
            wit::Level::Error => LogLevel::Error,
        };
        self.log.push(level, message);
    }
}
