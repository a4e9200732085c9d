//! A circuit breaker per dependency: closed → open after `failure_threshold` consecutive failed
//! calls → after `cooldown`, half-open with exactly one probe → closed when the probe succeeds,
//! open again when it fails.
//!
//! While open, a call is refused at once, so a dead dependency costs a request nothing and
//! gets no load while it recovers. Time is passed in, so the state machine is tested without
//! sleeping.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failed calls that open the breaker; at least 1.
    pub failure_threshold: u32,
    /// How long an open breaker refuses calls before one probe may go through.
    pub cooldown: Duration,
}

/// What a breaker does with the next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through; failures are counted.
    Closed,
    /// One probe call is allowed; its outcome closes or reopens the breaker.
    HalfOpen,
    /// Calls are refused at once until the cooldown ends.
    Open,
}

impl BreakerState {
    /// The value of the `composer_breaker_state` gauge: 0 closed, 1 half-open, 2 open.
    pub fn gauge_value(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inner {
    Closed { consecutive_failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_in_flight: bool },
}

impl Inner {
    fn state(self) -> BreakerState {
        match self {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

/// The call was refused because the breaker is open (or half-open with its probe out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused;

pub struct CircuitBreaker {
    settings: BreakerSettings,
    inner: Mutex<Inner>,
}

/// Leave to make one call. Settle it with [`Permit::succeeded`] or [`Permit::failed`]; a permit
/// dropped unsettled (its request was cancelled) gives no verdict, and a probe's slot is freed
/// so that the next call can probe.
#[must_use = "settle the permit with the call's outcome"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    settled: bool,
}

/// A change of state, for the caller to log and publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
}

impl CircuitBreaker {
    pub fn new(settings: BreakerSettings) -> Self {
        debug_assert!(settings.failure_threshold >= 1, "a threshold of 0 would open on success");
        CircuitBreaker { settings, inner: Mutex::new(Inner::Closed { consecutive_failures: 0 }) }
    }

    pub fn state(&self) -> BreakerState {
        self.lock().state()
    }

    /// Lets a call through, or refuses it. An open breaker whose cooldown has ended turns
    /// half-open and lets this call through as its probe.
    pub fn admit(&self, now: Instant) -> Result<(Permit<'_>, Option<Transition>), Refused> {
        let mut inner = self.lock();
        match *inner {
            Inner::Closed { .. } => Ok((Permit { breaker: self, probe: false, settled: false }, None)),
            Inner::Open { until } if now >= until => {
                *inner = Inner::HalfOpen { probe_in_flight: true };
                let transition = Transition { from: BreakerState::Open, to: BreakerState::HalfOpen };
                Ok((Permit { breaker: self, probe: true, settled: false }, Some(transition)))
            }
            Inner::Open { .. } => Err(Refused),
            Inner::HalfOpen { probe_in_flight: true } => Err(Refused),
            Inner::HalfOpen { probe_in_flight: false } => {
                *inner = Inner::HalfOpen { probe_in_flight: true };
                Ok((Permit { breaker: self, probe: true, settled: false }, None))
            }
        }
    }

    fn settle(&self, probe: bool, succeeded: bool, now: Instant) -> Option<Transition> {
        let mut inner = self.lock();
        let before = *inner;
        let after = match (before, probe, succeeded) {
            (Inner::Closed { .. }, _, true) => Inner::Closed { consecutive_failures: 0 },
            (Inner::Closed { consecutive_failures }, _, false) => {
                let consecutive_failures = consecutive_failures + 1;
                if consecutive_failures >= self.settings.failure_threshold {
                    Inner::Open { until: now + self.settings.cooldown }
                } else {
                    Inner::Closed { consecutive_failures }
                }
            }
            (Inner::HalfOpen { .. }, true, true) => Inner::Closed { consecutive_failures: 0 },
            (Inner::HalfOpen { .. }, true, false) => Inner::Open { until: now + self.settings.cooldown },
            // a call admitted before the breaker opened says nothing about the dependency now
            (Inner::HalfOpen { .. } | Inner::Open { .. }, false, _) => before,
            (Inner::Open { .. }, true, _) => {
                debug_assert!(false, "a probe is out only while half-open");
                before
            }
        };
        *inner = after;
        (before.state() != after.state()).then_some(Transition { from: before.state(), to: after.state() })
    }

    fn release_probe(&self) {
        let mut inner = self.lock();
        if let Inner::HalfOpen { probe_in_flight: true } = *inner {
            *inner = Inner::HalfOpen { probe_in_flight: false };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // the state is a plain value, valid even if a holder panicked
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Permit<'_> {
    pub fn succeeded(mut self, now: Instant) -> Option<Transition> {
        self.settled = true;
        self.breaker.settle(self.probe, true, now)
    }

    pub fn failed(mut self, now: Instant) -> Option<Transition> {
        self.settled = true;
        self.breaker.settle(self.probe, false, now)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe && !self.settled {
            self.breaker.release_probe();
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(5);

    fn breaker(threshold: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerSettings { failure_threshold: threshold, cooldown: COOLDOWN })
    }

    fn fail(breaker: &CircuitBreaker, now: Instant) -> Option<Transition> {
        let (permit, _) = breaker.admit(now).expect("admitted");
        permit.failed(now)
    }

    fn succeed(breaker: &CircuitBreaker, now: Instant) -> Option<Transition> {
        let (permit, _) = breaker.admit(now).expect("admitted");
        permit.succeeded(now)
    }

    #[test]
    fn it_opens_after_the_threshold_of_consecutive_failures() {
        let breaker = breaker(3);
        let now = Instant::now();
        assert_eq!(fail(&breaker, now), None);
        assert_eq!(fail(&breaker, now), None);
        assert_eq!(fail(&breaker, now), Some(Transition { from: BreakerState::Closed, to: BreakerState::Open }));
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(breaker.admit(now + COOLDOWN / 2).is_err(), "an open breaker refuses at once");
    }

    #[test]
    fn a_success_resets_the_count_of_failures() {
        let breaker = breaker(3);
        let now = Instant::now();
        fail(&breaker, now);
        fail(&breaker, now);
        succeed(&breaker, now);
        fail(&breaker, now);
        fail(&breaker, now);
        assert_eq!(breaker.state(), BreakerState::Closed, "failures must be consecutive");
    }

    #[test]
    fn after_the_cooldown_one_probe_closes_it() {
        let breaker = breaker(1);
        let opened_at = Instant::now();
        fail(&breaker, opened_at);
        let after_cooldown = opened_at + COOLDOWN;
        let (probe, transition) = breaker.admit(after_cooldown).expect("probe admitted");
        assert_eq!(transition, Some(Transition { from: BreakerState::Open, to: BreakerState::HalfOpen }));
        assert!(breaker.admit(after_cooldown).is_err(), "only one probe at a time");
        assert_eq!(
            probe.succeeded(after_cooldown),
            Some(Transition { from: BreakerState::HalfOpen, to: BreakerState::Closed })
        );
        assert!(breaker.admit(after_cooldown).is_ok());
    }

    #[test]
    fn a_failed_probe_opens_it_for_another_cooldown() {
        let breaker = breaker(1);
        let opened_at = Instant::now();
        fail(&breaker, opened_at);
        let probe_at = opened_at + COOLDOWN;
        assert_eq!(fail(&breaker, probe_at), Some(Transition { from: BreakerState::HalfOpen, to: BreakerState::Open }));
        assert!(breaker.admit(probe_at + COOLDOWN / 2).is_err());
        assert!(breaker.admit(probe_at + COOLDOWN).is_ok());
    }

    #[test]
    fn a_cancelled_probe_frees_the_slot_for_the_next_call() {
        let breaker = breaker(1);
        let opened_at = Instant::now();
        fail(&breaker, opened_at);
        let probe_at = opened_at + COOLDOWN;
        let (probe, _) = breaker.admit(probe_at).expect("probe");
        drop(probe);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.admit(probe_at).is_ok(), "the next call probes");
    }

    #[test]
    fn late_outcomes_of_calls_admitted_before_it_opened_change_nothing() {
        let breaker = breaker(1);
        let now = Instant::now();
        let (early, _) = breaker.admit(now).expect("admitted while closed");
        fail(&breaker, now);
        assert_eq!(early.succeeded(now), None);
        assert_eq!(breaker.state(), BreakerState::Open, "a stale success does not close it");
    }

    proptest! {
        /// Whatever happens, the breaker is in one of its states, an open one refuses before
        /// its cooldown ends, and at most one probe is out at a time.
        #[test]
        fn any_sequence_keeps_the_invariants(steps in proptest::collection::vec((0u8..4, 0u64..3000), 1..80)) {
            let breaker = breaker(3);
            let mut now = Instant::now();
            let mut held: Vec<Permit<'_>> = Vec::new();
            for (action, advance_ms) in steps {
                now += Duration::from_millis(advance_ms);
                match action {
                    0 => if let Ok((permit, _)) = breaker.admit(now) { held.push(permit) },
                    1 => if let Some(permit) = held.pop() { permit.succeeded(now); },
                    2 => if let Some(permit) = held.pop() { permit.failed(now); },
                    _ => { held.pop(); }
                }
                let probes_out = held.iter().filter(|permit| permit.probe).count();
                let state = *breaker.lock();
                match state {
                    Inner::Closed { .. } => prop_assert_eq!(probes_out, 0),
                    Inner::HalfOpen { probe_in_flight } => prop_assert_eq!(probe_in_flight, probes_out == 1),
                    Inner::Open { until } => {
                        prop_assert_eq!(probes_out, 0);
                        prop_assert!(until <= now + COOLDOWN);
                        if until > now {
                            prop_assert!(breaker.admit(now).is_err());
                        }
                    }
                }
            }
        }
    }
}
