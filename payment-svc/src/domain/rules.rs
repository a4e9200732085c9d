//! The authorization rule: which new payments are authorized and which are declined.
//!
//! There is no real payment provider behind this service, so the decision is a documented,
//! deterministic rule on the amount alone. Tests and demos can then produce both outcomes on
//! purpose, and the same request always gets the same answer.

use crate::domain::Amount;

/// The default limit, in minor units: 1,000.00 in a two-decimal currency.
pub const DEFAULT_DECLINE_ABOVE_MINOR: i64 = 100_000;

/// Why a payment above the limit is declined, as it appears in the API and in events.
pub const AMOUNT_ABOVE_LIMIT_REASON: &str = "amount above the authorization limit";

/// The rule a new payment is authorized by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentRules {
    decline_above_minor: i64,
}

/// The outcome of the authorization rule for one new payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authorization {
    Authorized,
    Declined { reason: &'static str },
}

impl PaymentRules {
    /// Declines every amount strictly above `decline_above_minor` minor units, whatever the
    /// currency: the limit is a plain number so that the rule stays obvious and deterministic.
    pub fn new(decline_above_minor: i64) -> Self {
        Self { decline_above_minor }
    }

    pub fn decline_above_minor(self) -> i64 {
        self.decline_above_minor
    }

    pub fn authorize(self, amount: Amount) -> Authorization {
        if amount.minor_units() > self.decline_above_minor {
            return Authorization::Declined { reason: AMOUNT_ABOVE_LIMIT_REASON };
        }
        Authorization::Authorized
    }
}

impl Default for PaymentRules {
    fn default() -> Self {
        Self::new(DEFAULT_DECLINE_ABOVE_MINOR)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::MAX_AMOUNT_MINOR;

    fn amount(minor_units: i64) -> Amount {
        Amount::parse(minor_units).expect("valid amount")
    }

    #[test]
    fn the_default_limit_itself_is_authorized_and_one_more_is_declined() {
        let rules = PaymentRules::default();
        assert_eq!(rules.decline_above_minor(), 100_000);
        assert_eq!(rules.authorize(amount(1)), Authorization::Authorized);
        assert_eq!(rules.authorize(amount(100_000)), Authorization::Authorized);
        assert_eq!(
            rules.authorize(amount(100_001)),
            Authorization::Declined { reason: "amount above the authorization limit" }
        );
    }

    #[test]
    fn a_zero_limit_declines_everything() {
        assert!(matches!(PaymentRules::new(0).authorize(amount(1)), Authorization::Declined { .. }));
    }

    proptest! {
        #[test]
        fn a_payment_is_declined_exactly_when_its_amount_exceeds_the_limit(
            minor_units in 1..=MAX_AMOUNT_MINOR,
            limit in 0..=MAX_AMOUNT_MINOR,
        ) {
            let decision = PaymentRules::new(limit).authorize(amount(minor_units));
            prop_assert_eq!(matches!(decision, Authorization::Declined { .. }), minor_units > limit);
            // deterministic: the same question gets the same answer
            prop_assert_eq!(decision, PaymentRules::new(limit).authorize(amount(minor_units)));
        }
    }
}
