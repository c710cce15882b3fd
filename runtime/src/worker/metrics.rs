//! Worker metrics, rendered in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use super::jobs::Refusal;

/// Counters and gauges of the agent worker.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    /// Jobs answered with "available".
    pub jobs_accepted: AtomicU64,
    /// Jobs refused because every slot was taken.
    pub jobs_refused_full: AtomicU64,
    /// Jobs refused while draining.
    pub jobs_refused_draining: AtomicU64,
    /// Jobs refused because their metadata was malformed.
    pub jobs_refused_invalid: AtomicU64,
    /// Jobs refused because their subtopic (or the default one) is not in the
    /// curriculum, or the curriculum is empty.
    pub jobs_refused_unknown_subtopic: AtomicU64,
    /// Jobs refused because the curriculum could not be read in time.
    pub jobs_refused_curriculum_unavailable: AtomicU64,
    /// Lessons running now.
    pub jobs_active: AtomicI64,
    /// Lessons that ended cleanly.
    pub jobs_succeeded: AtomicU64,
    /// Lessons that failed (error, internal fault or drain timeout).
    pub jobs_failed: AtomicU64,
    /// Successful registrations with the server.
    pub registrations: AtomicU64,
    /// Connections to the server lost or refused.
    pub connection_failures: AtomicU64,
    /// 1 while registered.
    pub connected: AtomicI64,
    /// 1 once draining.
    pub draining: AtomicI64,
}

impl WorkerMetrics {
    pub(crate) fn accepted(&self) {
        self.jobs_accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn refused(&self, why: Refusal) {
        let counter = match why {
            Refusal::Full => &self.jobs_refused_full,
            Refusal::Draining => &self.jobs_refused_draining,
            Refusal::InvalidMetadata => &self.jobs_refused_invalid,
            Refusal::UnknownSubtopic => &self.jobs_refused_unknown_subtopic,
            Refusal::CurriculumUnavailable => &self.jobs_refused_curriculum_unavailable,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn job_started(&self) {
        self.jobs_active.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn job_finished(&self, success: bool) {
        self.jobs_active.fetch_sub(1, Ordering::Relaxed);
        let counter = if success {
            &self.jobs_succeeded
        } else {
            &self.jobs_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_draining(&self) {
        self.draining.store(1, Ordering::Relaxed);
    }

    /// Jobs refused so far, for any reason.
    pub fn jobs_refused(&self) -> u64 {
        self.jobs_refused_full.load(Ordering::Relaxed)
            + self.jobs_refused_draining.load(Ordering::Relaxed)
            + self.jobs_refused_invalid.load(Ordering::Relaxed)
            + self.jobs_refused_unknown_subtopic.load(Ordering::Relaxed)
            + self
                .jobs_refused_curriculum_unavailable
                .load(Ordering::Relaxed)
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render_prometheus(&self) -> String {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP lectern_worker_jobs_accepted_total Lesson jobs this worker said yes to.\n\
             # TYPE lectern_worker_jobs_accepted_total counter\n\
             lectern_worker_jobs_accepted_total {}",
            load(&self.jobs_accepted)
        );
        let _ = writeln!(
            out,
            "# HELP lectern_worker_jobs_refused_total Lesson jobs refused, by reason.\n\
             # TYPE lectern_worker_jobs_refused_total counter"
        );
        for (reason, counter) in [
            ("full", &self.jobs_refused_full),
            ("draining", &self.jobs_refused_draining),
            ("invalid_metadata", &self.jobs_refused_invalid),
            ("unknown_subtopic", &self.jobs_refused_unknown_subtopic),
            (
                "curriculum_unavailable",
                &self.jobs_refused_curriculum_unavailable,
            ),
        ] {
            let _ = writeln!(
                out,
                "lectern_worker_jobs_refused_total{{reason=\"{reason}\"}} {}",
                load(counter)
            );
        }
        let _ = writeln!(
            out,
            "# HELP lectern_worker_jobs_finished_total Lesson jobs ended, by outcome.\n\
             # TYPE lectern_worker_jobs_finished_total counter\n\
             lectern_worker_jobs_finished_total{{outcome=\"success\"}} {}\n\
             lectern_worker_jobs_finished_total{{outcome=\"failed\"}} {}",
            load(&self.jobs_succeeded),
            load(&self.jobs_failed)
        );
        let _ = writeln!(
            out,
            "# HELP lectern_worker_registrations_total Registrations with the LiveKit server.\n\
             # TYPE lectern_worker_registrations_total counter\n\
             lectern_worker_registrations_total {}",
            load(&self.registrations)
        );
        let _ = writeln!(
            out,
            "# HELP lectern_worker_connection_failures_total Connections to the LiveKit server lost or refused.\n\
             # TYPE lectern_worker_connection_failures_total counter\n\
             lectern_worker_connection_failures_total {}",
            load(&self.connection_failures)
        );
        for (name, help, gauge) in [
            (
                "lectern_worker_jobs_active",
                "Lesson jobs running now.",
                &self.jobs_active,
            ),
            (
                "lectern_worker_connected",
                "1 while registered with the LiveKit server.",
                &self.connected,
            ),
            (
                "lectern_worker_draining",
                "1 once the worker is draining.",
                &self.draining,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                gauge.load(Ordering::Relaxed)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series() {
        let m = WorkerMetrics::default();
        m.accepted();
        m.refused(Refusal::Full);
        m.refused(Refusal::InvalidMetadata);
        m.refused(Refusal::UnknownSubtopic);
        m.job_started();
        m.job_started();
        m.job_finished(false);
        let text = m.render_prometheus();
        for line in [
            "lectern_worker_jobs_accepted_total 1",
            "lectern_worker_jobs_refused_total{reason=\"full\"} 1",
            "lectern_worker_jobs_refused_total{reason=\"draining\"} 0",
            "lectern_worker_jobs_refused_total{reason=\"invalid_metadata\"} 1",
            "lectern_worker_jobs_refused_total{reason=\"unknown_subtopic\"} 1",
            "lectern_worker_jobs_refused_total{reason=\"curriculum_unavailable\"} 0",
            "lectern_worker_jobs_finished_total{outcome=\"failed\"} 1",
            "lectern_worker_jobs_active 1",
            "# TYPE lectern_worker_jobs_active gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert_eq!(m.jobs_refused(), 3);
    }
}
