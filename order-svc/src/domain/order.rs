//! The order aggregate and its state machine: an order is placed, and a placed order can be
//! cancelled. Nothing else changes it.
//!
//! ```text
//!   place ──► PLACED (version 1) ──cancel──► CANCELLED (version 2)
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use events::{OrderEvent, OrderEventType, OrderStatus};
use platform::http::FieldError;
use source_platform::values::{AddressInput, Currency, bounded_text};
use uuid::Uuid;

use super::customer::Customer;
use super::item::LineItems;

const MAX_CANCELLATION_REASON_CHARS: usize = 500;

/// An order's id: a UUID, v7 for the orders this service creates, so ids sort by creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(Uuid);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("order id must be a uuid")]
pub struct InvalidOrderId;

impl OrderId {
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl FromStr for OrderId {
    type Err = InvalidOrderId;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(raw).map(Self).map_err(|_| InvalidOrderId)
    }
}

impl fmt::Display for OrderId {
    /// The hyphenated lowercase form, which is also how ids are stored and sorted.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(formatter)
    }
}

/// How many changes an order has seen: 1 when placed, one more per change. It is the
/// `aggregate_version` of the event each change publishes, and the optimistic-lock token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderVersion(i64);

impl OrderVersion {
    pub const FIRST: Self = Self(1);

    /// A version read back from the store; versions start at 1.
    pub fn from_stored(version: i64) -> Option<Self> {
        (version >= 1).then_some(Self(version))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// The version after one more change. An order would need 9 × 10^18 changes to overflow.
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

/// Why the customer cancelled: trimmed, 1 to 500 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancellationReason(String);

impl CancellationReason {
    /// Parses an optional reason; a blank one counts as none, as an empty form field would.
    pub fn parse_optional(field: &str, raw: Option<&str>) -> Result<Option<Self>, FieldError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(reason) => bounded_text(field, reason, MAX_CANCELLATION_REASON_CHARS).map(|text| Some(Self(text))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated postal address the order ships to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippingAddress(events::Address);

impl ShippingAddress {
    /// Validates every part; errors name `field.part`, e.g. `shipping_address.city`.
    pub fn parse(field: &str, input: &AddressInput) -> Result<Self, FieldError> {
        input.parse(field).map(Self)
    }

    pub fn as_address(&self) -> &events::Address {
        &self.0
    }
}

/// The sum of an order's lines, in minor units of its currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderTotal(i64);

impl OrderTotal {
    pub fn minor_units(self) -> i64 {
        self.0
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("order total does not fit in 64-bit minor units")]
pub struct TotalTooLarge;

/// Everything a customer chooses when placing an order, validated, with its total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    customer: Customer,
    currency: Currency,
    items: LineItems,
    total: OrderTotal,
    shipping_address: ShippingAddress,
}

impl NewOrder {
    /// Computes the total with checked arithmetic; every item is priced in `currency`.
    pub fn new(
        customer: Customer,
        currency: Currency,
        items: LineItems,
        shipping_address: ShippingAddress,
    ) -> Result<Self, TotalTooLarge> {
        let total = OrderTotal(items.total_minor().ok_or(TotalTooLarge)?);
        Ok(Self { customer, currency, items, total, shipping_address })
    }
}

/// Where an order is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderState {
    Placed,
    Cancelled { cancelled_at: DateTime<Utc>, reason: Option<CancellationReason> },
}

/// A change the state machine does not allow.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("order is already cancelled")]
    AlreadyCancelled,
}

/// An order and its state. Fields are private so that the total always matches the items and
/// the version always counts the changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    id: OrderId,
    details: NewOrder,
    created_at: DateTime<Utc>,
    version: OrderVersion,
    state: OrderState,
}

impl Order {
    /// A newly placed order, at version 1.
    pub fn place(id: OrderId, details: NewOrder, placed_at: DateTime<Utc>) -> Self {
        Self { id, details, created_at: placed_at, version: OrderVersion::FIRST, state: OrderState::Placed }
    }

    /// An order as the store last saved it.
    pub fn restore(
        id: OrderId,
        details: NewOrder,
        created_at: DateTime<Utc>,
        version: OrderVersion,
        state: OrderState,
    ) -> Self {
        Self { id, details, created_at, version, state }
    }

    /// The order after a cancellation at `at`; only a placed order can be cancelled.
    pub fn cancel(&self, reason: Option<CancellationReason>, at: DateTime<Utc>) -> Result<Self, TransitionError> {
        match self.state {
            OrderState::Cancelled { .. } => Err(TransitionError::AlreadyCancelled),
            OrderState::Placed => {
                // a clock that stepped back must not cancel an order before it was placed
                let cancelled_at = at.max(self.created_at);
                Ok(Self {
                    state: OrderState::Cancelled { cancelled_at, reason },
                    version: self.version.next(),
                    ..self.clone()
                })
            }
        }
    }

    /// The event announcing the change that produced this state, carrying the full order.
    ///
    /// Each state has exactly one way in (placing, or cancelling), so the state alone tells
    /// which event it was.
    pub fn to_event(&self, event_id: Uuid) -> OrderEvent {
        let (event_type, occurred_at, status, cancelled_at, cancellation_reason) = match &self.state {
            OrderState::Placed => (OrderEventType::OrderPlaced, self.created_at, OrderStatus::Placed, None, None),
            OrderState::Cancelled { cancelled_at, reason } => (
                OrderEventType::OrderCancelled,
                *cancelled_at,
                OrderStatus::Cancelled,
                Some(*cancelled_at),
                reason.as_ref().map(|reason| reason.as_str().to_string()),
            ),
        };
        let currency = self.details.currency.code();
        let money = |amount_minor: i64| events::Money { amount_minor, currency: currency.to_string() };
        let mut items = Vec::with_capacity(self.details.items.as_slice().len());
        for item in self.details.items.as_slice() {
            items.push(events::LineItem {
                sku: item.sku.as_str().to_string(),
                name: item.name.as_str().to_string(),
                quantity: item.quantity.get(),
                unit_price: money(item.unit_price.minor_units()),
            });
        }
        let customer = &self.details.customer;
        OrderEvent {
            event_id,
            event_type,
            occurred_at,
            order_id: self.id.as_uuid(),
            aggregate_id: self.id.as_uuid(),
            aggregate_version: self.version.get(),
            order: events::Order {
                order_id: self.id.as_uuid(),
                customer: events::Customer {
                    customer_id: customer.id.as_str().to_string(),
                    name: customer.name.as_str().to_string(),
                    email: customer.email.as_str().to_string(),
                },
                items,
                total: money(self.details.total.minor_units()),
                shipping_address: self.details.shipping_address.as_address().clone(),
                status,
                placed_at: self.created_at,
                cancelled_at,
                cancellation_reason,
            },
        }
    }

    pub fn id(&self) -> OrderId {
        self.id
    }

    pub fn customer(&self) -> &Customer {
        &self.details.customer
    }

    pub fn currency(&self) -> Currency {
        self.details.currency
    }

    pub fn items(&self) -> &LineItems {
        &self.details.items
    }

    pub fn total(&self) -> OrderTotal {
        self.details.total
    }

    pub fn shipping_address(&self) -> &ShippingAddress {
        &self.details.shipping_address
    }

    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    pub fn version(&self) -> OrderVersion {
        self.version
    }

    pub fn state(&self) -> &OrderState {
        &self.state
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::customer::{CustomerId, CustomerName, Email};
    use crate::domain::item::tests::item;

    pub(crate) fn at_millis(epoch_millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(epoch_millis).single().expect("valid timestamp")
    }

    pub(crate) fn placed_order(id: Uuid, placed_at_millis: i64) -> Order {
        let customer = Customer {
            id: CustomerId::parse("customer_id", "cust-0042").expect("valid"),
            name: CustomerName::parse("customer_name", "Zoë Ørsted").expect("valid"),
            email: Email::parse("customer_email", "zoe@example.com").expect("valid"),
        };
        let address = AddressInput {
            line1: "Keizersgracht 123".to_string(),
            line2: None,
            city: "Amsterdam".to_string(),
            postal_code: "1015 CJ".to_string(),
            country: "NL".to_string(),
        };
        let items = LineItems::parse("items", vec![item("KETTLE", 1, 4599), item("MUG", 4, 1250)]).expect("valid");
        let details = NewOrder::new(
            customer,
            Currency::parse("EUR").expect("known"),
            items,
            ShippingAddress::parse("shipping_address", &address).expect("valid"),
        )
        .expect("total fits");
        Order::place(OrderId::from_uuid(id), details, at_millis(placed_at_millis))
    }

    fn reason(text: &str) -> Option<CancellationReason> {
        CancellationReason::parse_optional("reason", Some(text)).expect("valid reason")
    }

    #[test]
    fn order_ids_parse_any_uuid_and_print_hyphenated_lowercase() {
        let id: OrderId = "0196F3A2-7B1C-7D4E-8F00-0123456789AB".parse().expect("uuid");
        assert_eq!(id.to_string(), "0196f3a2-7b1c-7d4e-8f00-0123456789ab");
        for bad in
            ["", "42", "not-a-uuid", "0196f3a2-7b1c-7d4e-8f00-0123456789a", "0196f3a2-7b1c-7d4e-8f00-0123456789abc"]
        {
            assert_eq!(bad.parse::<OrderId>(), Err(InvalidOrderId), "{bad}");
        }
    }

    #[test]
    fn a_new_order_is_placed_at_version_one_with_its_total() {
        let order = placed_order(Uuid::now_v7(), 1_000);
        assert_eq!(order.state(), &OrderState::Placed);
        assert_eq!(order.version(), OrderVersion::FIRST);
        assert_eq!(order.total().minor_units(), 4599 + 4 * 1250);
        assert_eq!(order.created_at(), at_millis(1_000));
    }

    #[test]
    fn a_placed_order_can_be_cancelled_once() {
        let placed = placed_order(Uuid::now_v7(), 1_000);
        let cancelled = placed.cancel(reason("changed my mind"), at_millis(5_000)).expect("placed can be cancelled");
        assert_eq!(cancelled.version().get(), 2);
        assert_eq!(
            cancelled.state(),
            &OrderState::Cancelled { cancelled_at: at_millis(5_000), reason: reason("changed my mind") }
        );
        assert_eq!(cancelled.id(), placed.id());
        assert_eq!(cancelled.total(), placed.total());
        assert_eq!(cancelled.created_at(), placed.created_at());
        assert_eq!(cancelled.cancel(None, at_millis(6_000)), Err(TransitionError::AlreadyCancelled));
    }

    #[test]
    fn cancelling_leaves_the_original_untouched() {
        let placed = placed_order(Uuid::now_v7(), 1_000);
        let before = placed.clone();
        let _ = placed.cancel(None, at_millis(2_000));
        assert_eq!(placed, before);
    }

    #[test]
    fn a_cancellation_is_never_dated_before_the_placement() {
        let placed = placed_order(Uuid::now_v7(), 10_000);
        let cancelled = placed.cancel(None, at_millis(9_000)).expect("placed can be cancelled");
        assert_eq!(cancelled.state(), &OrderState::Cancelled { cancelled_at: at_millis(10_000), reason: None });
    }

    #[test]
    fn blank_cancellation_reasons_count_as_none_and_long_ones_are_rejected() {
        assert_eq!(CancellationReason::parse_optional("reason", None), Ok(None));
        assert_eq!(CancellationReason::parse_optional("reason", Some("   ")), Ok(None));
        assert_eq!(
            CancellationReason::parse_optional("reason", Some(" too late ")).map(|r| r.map(|r| r.0)),
            Ok(Some("too late".to_string()))
        );
        assert!(CancellationReason::parse_optional("reason", Some(&"r".repeat(500))).is_ok());
        let error = CancellationReason::parse_optional("reason", Some(&"r".repeat(501))).expect_err("too long");
        assert_eq!(error.field, "reason");
    }

    #[test]
    fn stored_versions_start_at_one() {
        assert_eq!(OrderVersion::from_stored(0), None);
        assert_eq!(OrderVersion::from_stored(-3), None);
        assert_eq!(OrderVersion::from_stored(1), Some(OrderVersion::FIRST));
        assert_eq!(OrderVersion::FIRST.next().get(), 2);
    }

    #[test]
    fn the_placed_event_carries_the_full_order_at_version_one() {
        let id = Uuid::now_v7();
        let event_id = Uuid::now_v7();
        let event = placed_order(id, 1_000).to_event(event_id);
        assert_eq!(event.event_id, event_id);
        assert_eq!(event.event_type, OrderEventType::OrderPlaced);
        assert_eq!((event.order_id, event.aggregate_id, event.order.order_id), (id, id, id));
        assert_eq!(event.aggregate_version, 1);
        assert_eq!(event.occurred_at, at_millis(1_000));
        assert_eq!(event.order.placed_at, at_millis(1_000));
        assert_eq!(event.order.status, OrderStatus::Placed);
        assert_eq!(event.order.customer.customer_id, "cust-0042");
        assert_eq!(event.order.customer.name, "Zoë Ørsted");
        assert_eq!(event.order.customer.email, "zoe@example.com");
        assert_eq!(event.order.items.len(), 2);
        assert_eq!(event.order.items[1].sku, "MUG");
        assert_eq!(event.order.items[1].quantity, 4);
        assert_eq!(event.order.items[1].unit_price, events::Money { amount_minor: 1250, currency: "EUR".into() });
        assert_eq!(event.order.total, events::Money { amount_minor: 9599, currency: "EUR".into() });
        assert_eq!(event.order.shipping_address.city, "Amsterdam");
        assert_eq!(event.order.cancelled_at, None);
        assert_eq!(event.order.cancellation_reason, None);
    }

    #[test]
    fn the_cancelled_event_carries_the_new_version_time_and_reason() {
        let placed = placed_order(Uuid::now_v7(), 1_000);
        let cancelled = placed.cancel(reason("duplicate order"), at_millis(7_000)).expect("cancellable");
        let event = cancelled.to_event(Uuid::now_v7());
        assert_eq!(event.event_type, OrderEventType::OrderCancelled);
        assert_eq!(event.aggregate_version, 2);
        assert_eq!(event.occurred_at, at_millis(7_000));
        assert_eq!(event.order.status, OrderStatus::Cancelled);
        assert_eq!(event.order.placed_at, at_millis(1_000));
        assert_eq!(event.order.cancelled_at, Some(at_millis(7_000)));
        assert_eq!(event.order.cancellation_reason.as_deref(), Some("duplicate order"));
        assert_eq!(event.order.total, placed.to_event(Uuid::now_v7()).order.total);
    }

    #[test]
    fn events_encode_with_the_orders_schema() {
        let placed = placed_order(Uuid::now_v7(), 1_000);
        let cancelled = placed.cancel(reason("no longer needed"), at_millis(2_000)).expect("cancellable");
        for order in [placed, cancelled] {
            assert!(events::encode_datum(&order.to_event(Uuid::now_v7())).is_ok());
        }
    }

    proptest! {
        /// Whatever sequence of cancellations arrives, only the first one changes the order,
        /// and the version counts exactly the changes that happened.
        #[test]
        fn only_the_first_cancellation_succeeds(
            attempts in prop::collection::vec((0i64..100_000, proptest::option::of("[a-z ]{0,20}")), 1..8)
        ) {
            let mut order = placed_order(Uuid::now_v7(), 50_000);
            let mut changes = 0;
            for (millis, text) in attempts {
                let parsed_reason = CancellationReason::parse_optional("reason", text.as_deref()).expect("short");
                match order.cancel(parsed_reason, at_millis(millis)) {
                    Ok(next) => {
                        prop_assert_eq!(changes, 0);
                        prop_assert_eq!(next.version(), order.version().next());
                        order = next;
                        changes += 1;
                    }
                    Err(error) => {
                        prop_assert_eq!(error, TransitionError::AlreadyCancelled);
                        prop_assert_eq!(changes, 1);
                    }
                }
            }
            prop_assert_eq!(order.version().get(), 1 + changes);
            prop_assert_eq!(order.to_event(Uuid::now_v7()).aggregate_version, order.version().get());
            if let OrderState::Cancelled { cancelled_at, .. } = order.state() {
                prop_assert!(*cancelled_at >= order.created_at());
            }
        }
    }
}
