//! Circuit breaker per plugin version.
//!
//! After [`BreakerConfig::failure_threshold`] consecutive faults (trap, deadline,
//! memory) the version is quarantined: calls end `unavailable` at once, costing the
//! lesson nothing. After the cool-down one trial call is let through (half-open);
//! if it succeeds the breaker closes, if it faults the quarantine starts again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Consecutive faults that open the breaker.
pub const DEFAULT_BREAKER_FAILURE_THRESHOLD: u32 = 5;
/// Quarantine before a trial call is allowed.
pub const DEFAULT_BREAKER_COOLDOWN_MS: u64 = 30_000;

/// Breaker settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerConfig {
    /// Consecutive faults that open the breaker.
    pub failure_threshold: u32,
    /// Milliseconds the breaker stays open before a trial call.
    pub cooldown_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: DEFAULT_BREAKER_FAILURE_THRESHOLD,
            cooldown_ms: DEFAULT_BREAKER_COOLDOWN_MS,
        }
    }
}

/// State of a breaker, as reported to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Quarantined: calls are refused.
    Open,
    /// One trial call is (or may be) in flight.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    consecutive_faults: u32,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
}

/// One version's breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

/// Permission to call, returned by [`Breaker::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Allowed,
    Trial,
    Refused { retry_in: Duration },
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig) -> Breaker {
        Breaker {
            config,
            inner: Mutex::new(Inner {
                consecutive_faults: 0,
                opened_at: None,
                trial_in_flight: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn admit(&self) -> Admission {
        let mut inner = self.lock();
        let Some(opened) = inner.opened_at else {
            return Admission::Allowed;
        };
        let cooldown = Duration::from_millis(self.config.cooldown_ms);
        let elapsed = opened.elapsed();
        if elapsed < cooldown || inner.trial_in_flight {
            return Admission::Refused {
                retry_in: cooldown.saturating_sub(elapsed),
            };
        }
        inner.trial_in_flight = true;
        Admission::Trial
    }

    /// Report how an admitted call ended (`fault` = trap, deadline or memory).
    pub(crate) fn record(&self, admission: Admission, fault: bool) {
        let mut inner = self.lock();
        if admission == Admission::Trial {
            inner.trial_in_flight = false;
        }
        if fault {
            inner.consecutive_faults = inner.consecutive_faults.saturating_add(1);
            if admission == Admission::Trial
                || inner.consecutive_faults >= self.config.failure_threshold.max(1)
            {
                inner.opened_at = Some(Instant::now());
            }
        } else {
            inner.consecutive_faults = 0;
            inner.opened_at = None;
        }
    }

    /// An admitted call ended before the plugin ran (bad arguments, unknown
    /// tool): it says nothing about the plugin's health, so only a trial slot is
    /// given back.
    pub(crate) fn skip(&self, admission: Admission) {
        if admission == Admission::Trial {
            self.lock().trial_in_flight = false;
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        let inner = self.lock();
        match inner.opened_at {
            None => BreakerState::Closed,
            Some(at)
                if inner.trial_in_flight
                    || at.elapsed() >= Duration::from_millis(self.config.cooldown_ms) =>
            {
                BreakerState::HalfOpen
            }
            Some(_) => BreakerState::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_recovers_after_trial() {
        let b = Breaker::new(BreakerConfig {
            failure_threshold: 2,
            cooldown_ms: 20,
        });
        for _ in 0..2 {
            let a = b.admit();
            assert_eq!(a, Admission::Allowed);
            b.record(a, true);
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert!(matches!(b.admit(), Admission::Refused { .. }));
        std::thread::sleep(Duration::from_millis(25));
        let trial = b.admit();
        assert_eq!(trial, Admission::Trial);
        assert!(
            matches!(b.admit(), Admission::Refused { .. }),
            "one trial at a time"
        );
        b.record(trial, true);
        assert_eq!(b.state(), BreakerState::Open);
        std::thread::sleep(Duration::from_millis(25));
        let trial = b.admit();
        // A trial that never ran the plugin (bad arguments) proves nothing.
        b.skip(trial);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let trial = b.admit();
        assert_eq!(trial, Admission::Trial);
        b.record(trial, false);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.admit(), Admission::Allowed);
    }
}
