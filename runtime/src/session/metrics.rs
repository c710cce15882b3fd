//! Lesson metrics, shared by every session of a process and rendered in the
//! Prometheus text format by the API's `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Histogram bucket bounds, in milliseconds.
pub const LATENCY_BUCKETS_MS: [f64; 10] = [
    50.0, 100.0, 200.0, 300.0, 500.0, 750.0, 1000.0, 2000.0, 5000.0, 10000.0,
];

/// A fixed-bucket histogram in milliseconds.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_MS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe_ms(&self, ms: f64) {
        for (b, bound) in self.buckets.iter().zip(LATENCY_BUCKETS_MS) {
            if ms <= bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add((ms * 1000.0).max(0.0) as u64, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, bound) in self.buckets.iter().zip(LATENCY_BUCKETS_MS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{}\"}} {}",
                bound / 1000.0,
                b.load(Ordering::Relaxed)
            );
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Counters and histograms of lessons.
#[derive(Debug, Default)]
pub struct LessonMetrics {
    /// Lessons started.
    pub started: AtomicU64,
    /// Lessons running now.
    pub active: AtomicI64,
    /// Lessons ended, any reason.
    pub ended: AtomicU64,
    /// Learner barge-ins that cut the tutor off.
    pub interruptions: AtomicU64,
    /// Realtime reconnects.
    pub reconnects: AtomicU64,
    /// End of learner speech to first tutor audio sent to the client.
    pub first_audio_ms: Histogram,
    /// Tool time per turn (all calls of one response).
    pub tool_turn_ms: Histogram,
    /// Realtime `error` events and connection errors by type.
    pub realtime_errors: Mutex<BTreeMap<String, u64>>,
}

impl LessonMetrics {
    /// Counts a Realtime error of `kind`.
    pub fn realtime_error(&self, kind: &str) {
        *self
            .realtime_errors
            .lock()
            .expect("metrics lock")
            .entry(kind.to_string())
            .or_default() += 1;
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        let counters = [
            (
                "lectern_lessons_started_total",
                "Lessons started.",
                self.started.load(Ordering::Relaxed),
            ),
            (
                "lectern_lessons_ended_total",
                "Lessons ended.",
                self.ended.load(Ordering::Relaxed),
            ),
            (
                "lectern_lesson_interruptions_total",
                "Times the learner cut the tutor off.",
                self.interruptions.load(Ordering::Relaxed),
            ),
            (
                "lectern_realtime_reconnects_total",
                "Realtime reconnects.",
                self.reconnects.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP lectern_lessons_active Lessons running now.\n# TYPE lectern_lessons_active gauge\nlectern_lessons_active {}",
            self.active.load(Ordering::Relaxed)
        );
        self.first_audio_ms.render(
            &mut out,
            "lectern_first_audio_seconds",
            "End of learner speech to first tutor audio sent to the client.",
        );
        self.tool_turn_ms
            .render(&mut out, "lectern_tool_turn_seconds", "Tool time per turn.");
        let _ = writeln!(
            out,
            "# HELP lectern_realtime_errors_total Realtime errors by type.\n# TYPE lectern_realtime_errors_total counter"
        );
        for (kind, n) in self.realtime_errors.lock().expect("metrics lock").iter() {
            let kind = kind.replace(['"', '\\', '\n'], "_");
            let _ = writeln!(out, "lectern_realtime_errors_total{{type=\"{kind}\"}} {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = LessonMetrics::default();
        m.started.fetch_add(2, Ordering::Relaxed);
        m.first_audio_ms.observe_ms(120.0);
        m.realtime_error("invalid_request_error");
        let text = m.render_prometheus();
        assert!(text.contains("lectern_lessons_started_total 2"));
        assert!(text.contains("lectern_first_audio_seconds_bucket{le=\"0.2\"} 1"));
        assert!(text.contains("lectern_first_audio_seconds_bucket{le=\"0.1\"} 0"));
        assert!(text.contains("lectern_realtime_errors_total{type=\"invalid_request_error\"} 1"));
    }
}
