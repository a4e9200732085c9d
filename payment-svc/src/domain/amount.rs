//! The amount of a payment, in integer minor units of its currency.

/// The largest amount accepted, in minor units: one billion in a two-decimal currency. Far
/// beyond any real order, it keeps sums of many payments well inside `i64`.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000;

/// A positive amount in minor units (cents, pence, yen), at most [`MAX_AMOUNT_MINOR`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    pub fn parse(minor_units: i64) -> Result<Self, String> {
        if minor_units <= 0 {
            return Err(format!("must be a positive number of minor units, got {minor_units}"));
        }
        if minor_units > MAX_AMOUNT_MINOR {
            return Err(format!("must be at most {MAX_AMOUNT_MINOR} minor units, got {minor_units}"));
        }
        Ok(Self(minor_units))
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_bounds_are_inclusive_from_one_to_the_maximum() {
        assert_eq!(Amount::parse(1).map(Amount::minor_units), Ok(1));
        assert_eq!(Amount::parse(MAX_AMOUNT_MINOR).map(Amount::minor_units), Ok(MAX_AMOUNT_MINOR));
        assert!(Amount::parse(0).is_err());
        assert!(Amount::parse(-1).is_err());
        assert!(Amount::parse(MAX_AMOUNT_MINOR + 1).is_err());
        assert!(Amount::parse(i64::MIN).is_err());
        assert!(Amount::parse(i64::MAX).is_err());
    }

    proptest! {
        #[test]
        fn an_amount_parses_exactly_when_it_is_within_bounds(minor_units in any::<i64>()) {
            let within_bounds = (1..=MAX_AMOUNT_MINOR).contains(&minor_units);
            prop_assert_eq!(Amount::parse(minor_units).is_ok(), within_bounds);
            if within_bounds {
                prop_assert_eq!(Amount::parse(minor_units).map(Amount::minor_units), Ok(minor_units));
            }
        }
    }
}
