//! A retry budget per dependency: retries may add at most `ratio` extra load to a dependency,
//! plus a small reserve, so that retries never multiply the load on a dependency that is
//! already failing (a retry storm).
//!
//! It is a token bucket: every call (its first attempt) deposits `ratio` tokens, every retry
//! withdraws one. The bucket starts full and holds at most `reserve` tokens (at least one), so a
//! long healthy period does not save up a burst of retries either.

use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryBudgetSettings {
    /// Retries of one call at most.
    pub max_retries: u32,
    /// Retries earned per call, from 0 to 1.
    pub ratio: f64,
    /// Tokens in a full bucket.
    pub reserve: f64,
}

pub struct RetryBudget {
    settings: RetryBudgetSettings,
    /// Thousandths of a token, so that deposits of `ratio` add up exactly.
    millitokens: Mutex<u64>,
}

const MILLIS_PER_TOKEN: u64 = 1000;

impl RetryBudget {
    pub fn new(settings: RetryBudgetSettings) -> Self {
        debug_assert!((0.0..=1.0).contains(&settings.ratio));
        RetryBudget { millitokens: Mutex::new(Self::capacity_of(&settings)), settings }
    }

    fn capacity_of(settings: &RetryBudgetSettings) -> u64 {
        (settings.reserve.max(1.0) * MILLIS_PER_TOKEN as f64).round() as u64
    }

    fn deposit_of(settings: &RetryBudgetSettings) -> u64 {
        (settings.ratio.clamp(0.0, 1.0) * MILLIS_PER_TOKEN as f64).round() as u64
    }

    pub fn max_retries(&self) -> u32 {
        self.settings.max_retries
    }

    /// Records one call: it earns `ratio` of a retry.
    pub fn deposit(&self) {
        let capacity = Self::capacity_of(&self.settings);
        let deposit = Self::deposit_of(&self.settings);
        let mut millitokens = self.lock();
        *millitokens = (*millitokens + deposit).min(capacity);
    }

    /// Takes the budget for one retry, if there is any left.
    pub fn try_withdraw(&self) -> bool {
        let mut millitokens = self.lock();
        if *millitokens < MILLIS_PER_TOKEN {
            return false;
        }
        *millitokens -= MILLIS_PER_TOKEN;
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.millitokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn budget(ratio: f64, reserve: f64) -> RetryBudget {
        RetryBudget::new(RetryBudgetSettings { max_retries: 1, ratio, reserve })
    }

    #[test]
    fn the_reserve_is_available_at_once_then_retries_are_earned_by_calls() {
        let budget = budget(0.1, 3.0);
        for _ in 0..3 {
            assert!(budget.try_withdraw());
        }
        assert!(!budget.try_withdraw(), "the reserve is spent");
        for _ in 0..9 {
            budget.deposit();
            assert!(!budget.try_withdraw(), "nine calls earn 0.9 of a retry");
        }
        budget.deposit();
        assert!(budget.try_withdraw(), "the tenth call completes one");
    }

    #[test]
    fn a_quiet_healthy_period_saves_up_no_more_than_the_reserve() {
        let budget = budget(0.5, 2.0);
        for _ in 0..1000 {
            budget.deposit();
        }
        assert!(budget.try_withdraw());
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw());
    }

    #[test]
    fn a_zero_ratio_allows_only_the_reserve() {
        let budget = budget(0.0, 1.0);
        assert!(budget.try_withdraw());
        for _ in 0..100 {
            budget.deposit();
        }
        assert!(!budget.try_withdraw());
    }

    proptest! {
        /// Under any mix of calls and retry attempts, the retries granted never exceed the
        /// reserve plus `ratio` per call.
        #[test]
        fn retries_stay_within_ratio_of_calls_plus_reserve(
            ratio in 0.0f64..=1.0,
            reserve in 0u32..20,
            calls_and_retries in proptest::collection::vec(any::<bool>(), 0..500),
        ) {
            let budget = budget(ratio, f64::from(reserve));
            let (mut calls, mut granted) = (0u32, 0u32);
            for is_call in calls_and_retries {
                if is_call {
                    budget.deposit();
                    calls += 1;
                } else if budget.try_withdraw() {
                    granted += 1;
                }
            }
            // the ratio is kept to a thousandth
            let allowed = f64::from(reserve).max(1.0) + (ratio * 1000.0).round() / 1000.0 * f64::from(calls);
            prop_assert!(f64::from(granted) <= allowed + 1e-9, "{granted} > {allowed}");
        }
    }
}
