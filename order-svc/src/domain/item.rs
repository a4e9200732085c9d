//! What an order contains: line items and their prices, in integer minor units.

use platform::http::FieldError;

use source_platform::values::bounded_text;

/// The most lines one order may have.
pub const MAX_ITEMS: usize = 100;
/// The most units of one line.
pub const MAX_QUANTITY: i64 = 1000;
/// The highest unit price accepted, in minor units: 100 million in a two-decimal currency.
/// It exists to catch unit mistakes (a price sent in micro-units), and it keeps every total far
/// below `i64::MAX`: 100 lines × 1000 units × 10^10 = 10^15.
pub const MAX_UNIT_PRICE_MINOR: i64 = 10_000_000_000;

const MAX_SKU_LEN: usize = 64;
const MAX_ITEM_NAME_CHARS: usize = 200;

/// A stock keeping unit: 1 to 64 ASCII letters, digits, `-`, `_` or `.`, kept as sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        if raw.len() > MAX_SKU_LEN {
            return Err(FieldError::new(field, format!("must be at most {MAX_SKU_LEN} characters")));
        }
        let is_sku_character = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.');
        if !raw.bytes().all(is_sku_character) {
            return Err(FieldError::new(field, "must contain only ascii letters, digits, '-', '_' or '.'"));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The item's name as shown to the customer: trimmed, 1 to 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemName(String);

impl ItemName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        bounded_text(field, raw, MAX_ITEM_NAME_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many units of an item: 1 to 1000.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity(i32);

impl Quantity {
    pub fn parse(field: &str, raw: i64) -> Result<Self, FieldError> {
        if !(1..=MAX_QUANTITY).contains(&raw) {
            return Err(FieldError::new(field, format!("must be between 1 and {MAX_QUANTITY}")));
        }
        let quantity = i32::try_from(raw).map_err(|_| FieldError::new(field, "is out of range"))?;
        Ok(Self(quantity))
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// The price of one unit in minor units of the order's currency: 0 (a free item) up to
/// [`MAX_UNIT_PRICE_MINOR`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitPrice(i64);

impl UnitPrice {
    pub fn parse(field: &str, raw: i64) -> Result<Self, FieldError> {
        if raw < 0 {
            return Err(FieldError::new(field, "must not be negative"));
        }
        if raw > MAX_UNIT_PRICE_MINOR {
            return Err(FieldError::new(field, format!("must be at most {MAX_UNIT_PRICE_MINOR} minor units")));
        }
        Ok(Self(raw))
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineItem {
    pub sku: Sku,
    pub name: ItemName,
    pub quantity: Quantity,
    pub unit_price: UnitPrice,
}

impl LineItem {
    /// `quantity × unit_price`, or `None` when it does not fit in an `i64`.
    pub fn subtotal_minor(&self) -> Option<i64> {
        self.unit_price.minor_units().checked_mul(i64::from(self.quantity.get()))
    }
}

/// The lines of an order: at least one and at most [`MAX_ITEMS`]. The same SKU may appear on
/// more than one line, e.g. at two prices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineItems(Vec<LineItem>);

impl LineItems {
    pub fn parse(field: &str, items: Vec<LineItem>) -> Result<Self, FieldError> {
        if items.is_empty() {
            return Err(FieldError::new(field, "must contain at least one item"));
        }
        if items.len() > MAX_ITEMS {
            return Err(FieldError::new(field, format!("must contain at most {MAX_ITEMS} items")));
        }
        Ok(Self(items))
    }

    pub fn as_slice(&self) -> &[LineItem] {
        &self.0
    }

    /// The sum of every line's subtotal, or `None` when it does not fit in an `i64`. With the
    /// limits above it always fits; the check keeps that true if a limit is ever raised.
    pub fn total_minor(&self) -> Option<i64> {
        let mut total: i64 = 0;
        for item in &self.0 {
            total = total.checked_add(item.subtotal_minor()?)?;
        }
        Some(total)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn item(sku: &str, quantity: i64, unit_price: i64) -> LineItem {
        LineItem {
            sku: Sku::parse("sku", sku).expect("valid sku"),
            name: ItemName::parse("name", "Stoneware mug").expect("valid name"),
            quantity: Quantity::parse("quantity", quantity).expect("valid quantity"),
            unit_price: UnitPrice::parse("unit_price", unit_price).expect("valid price"),
        }
    }

    #[test]
    fn skus_are_short_ascii_codes_kept_as_sent() {
        for good in ["SKU-KETTLE-01", "a", "sku_1.2", &"S".repeat(64)] {
            assert_eq!(Sku::parse("items[0].sku", good).map(|sku| sku.0), Ok(good.to_string()));
        }
        for bad in ["", " SKU", "SKU 1", "SKU/1", "SKÜ", &"S".repeat(65)] {
            assert_eq!(Sku::parse("items[0].sku", bad).expect_err(bad).field, "items[0].sku");
        }
    }

    #[test]
    fn item_names_are_trimmed_and_bounded() {
        assert_eq!(ItemName::parse("items[0].name", " Mug ").map(|name| name.0), Ok("Mug".to_string()));
        for bad in ["", " ", &"n".repeat(201)] {
            assert_eq!(ItemName::parse("items[0].name", bad).expect_err(bad).field, "items[0].name");
        }
    }

    #[test]
    fn quantities_are_between_one_and_a_thousand() {
        assert_eq!(Quantity::parse("q", 1).map(Quantity::get), Ok(1));
        assert_eq!(Quantity::parse("q", 1000).map(Quantity::get), Ok(1000));
        for bad in [i64::MIN, -1, 0, 1001, i64::from(i32::MAX) + 1, i64::MAX] {
            assert_eq!(Quantity::parse("items[2].quantity", bad).expect_err("out of range").field, "items[2].quantity");
        }
    }

    #[test]
    fn unit_prices_are_non_negative_and_bounded() {
        assert_eq!(UnitPrice::parse("p", 0).map(UnitPrice::minor_units), Ok(0));
        assert_eq!(UnitPrice::parse("p", MAX_UNIT_PRICE_MINOR).map(UnitPrice::minor_units), Ok(MAX_UNIT_PRICE_MINOR));
        for bad in [i64::MIN, -1, MAX_UNIT_PRICE_MINOR + 1, i64::MAX] {
            assert_eq!(
                UnitPrice::parse("items[0].unit_price", bad).expect_err("out of range").field,
                "items[0].unit_price"
            );
        }
    }

    #[test]
    fn an_order_has_one_to_a_hundred_lines() {
        assert_eq!(LineItems::parse("items", Vec::new()).expect_err("empty").field, "items");
        assert!(LineItems::parse("items", vec![item("A", 1, 1); MAX_ITEMS]).is_ok());
        assert_eq!(
            LineItems::parse("items", vec![item("A", 1, 1); MAX_ITEMS + 1]).expect_err("too many").field,
            "items"
        );
    }

    #[test]
    fn the_total_is_the_sum_of_quantity_times_unit_price() {
        let items = LineItems::parse("items", vec![item("KETTLE", 1, 4599), item("MUG", 4, 1250)]).expect("valid");
        assert_eq!(items.total_minor(), Some(9599));
        let free = LineItems::parse("items", vec![item("SAMPLE", 3, 0)]).expect("valid");
        assert_eq!(free.total_minor(), Some(0));
    }

    #[test]
    fn the_largest_possible_order_total_fits() {
        let largest = vec![item("A", MAX_QUANTITY, MAX_UNIT_PRICE_MINOR); MAX_ITEMS];
        let items = LineItems::parse("items", largest).expect("valid");
        assert_eq!(items.total_minor(), Some(MAX_UNIT_PRICE_MINOR * MAX_QUANTITY * MAX_ITEMS as i64));
    }

    #[test]
    fn a_total_that_overflows_is_reported_instead_of_wrapping() {
        // the limits make this unreachable through parsing; build the values directly to
        // prove the arithmetic is checked
        let huge = LineItem { unit_price: UnitPrice(i64::MAX / 2 + 1), ..item("A", 1, 0) };
        assert_eq!(huge.subtotal_minor(), Some(i64::MAX / 2 + 1));
        assert_eq!(LineItems(vec![huge.clone(), huge.clone()]).total_minor(), None);
        let overflowing_line = LineItem { quantity: Quantity(2), ..huge };
        assert_eq!(overflowing_line.subtotal_minor(), None);
    }

    proptest! {
        #[test]
        fn totals_equal_the_sum_computed_in_wide_arithmetic(
            lines in prop::collection::vec((1..=MAX_QUANTITY, 0..=MAX_UNIT_PRICE_MINOR), 1..=MAX_ITEMS)
        ) {
            let items: Vec<LineItem> = lines.iter().map(|(quantity, price)| item("SKU", *quantity, *price)).collect();
            let expected: i128 = lines.iter().map(|(quantity, price)| i128::from(*quantity) * i128::from(*price)).sum();
            let total = LineItems::parse("items", items).expect("valid").total_minor();
            prop_assert_eq!(total.map(i128::from), Some(expected));
        }

        #[test]
        fn quantity_and_price_parsing_agree_with_their_ranges(raw in any::<i64>()) {
            prop_assert_eq!(Quantity::parse("q", raw).is_ok(), (1..=MAX_QUANTITY).contains(&raw));
            prop_assert_eq!(UnitPrice::parse("p", raw).is_ok(), (0..=MAX_UNIT_PRICE_MINOR).contains(&raw));
        }
    }
}
