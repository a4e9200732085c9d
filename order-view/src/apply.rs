//! How events change a document.
//!
//! The rules make projection safe under at-least-once delivery and independent topics:
//! - each aggregate (the order, every payment, every shipment) carries its own version, and an
//!   event whose version is not newer than the stored one changes nothing, so redelivery is
//!   harmless and an old event never overwrites a newer state;
//! - events carry the aggregate's full state, so a newer version simply replaces its part;
//! - a payment or shipment may arrive before its order: it is kept and the document stays
//!   `incomplete` until the order arrives;
//! - every list is kept in a canonical order, so the same set of events yields the same
//!   document whatever order the topics were read in (a rebuild equals live projection).

use chrono::{DateTime, Utc};
use events::{Event, OrderEvent, PaymentEvent, ShipmentEvent};
use uuid::Uuid;

use crate::document::{
    Address, AsOf, Customer, LineItem, Money, OrderHistory, OrderStatus, PaymentMethod, PaymentStatus, PaymentSummary,
    ShipmentStatus, ShipmentSummary, Source, TimelineEntry,
};

/// A decoded event from any of the three source topics.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceEvent {
    Order(OrderEvent),
    Payment(PaymentEvent),
    Shipment(ShipmentEvent),
}

/// What applying one event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// The document already reflects this version of the aggregate, or a newer one.
    Stale {
        stored_version: i64,
    },
}

impl SourceEvent {
    pub fn order_id(&self) -> Uuid {
        match self {
            SourceEvent::Order(event) => event.order_id(),
            SourceEvent::Payment(event) => event.order_id(),
            SourceEvent::Shipment(event) => event.order_id(),
        }
    }

    pub fn event_id(&self) -> Uuid {
        match self {
            SourceEvent::Order(event) => event.event_id(),
            SourceEvent::Payment(event) => event.event_id(),
            SourceEvent::Shipment(event) => event.event_id(),
        }
    }

    pub fn aggregate_id(&self) -> Uuid {
        match self {
            SourceEvent::Order(event) => event.aggregate_id(),
            SourceEvent::Payment(event) => event.aggregate_id(),
            SourceEvent::Shipment(event) => event.aggregate_id(),
        }
    }

    pub fn aggregate_version(&self) -> i64 {
        match self {
            SourceEvent::Order(event) => event.aggregate_version(),
            SourceEvent::Payment(event) => event.aggregate_version(),
            SourceEvent::Shipment(event) => event.aggregate_version(),
        }
    }

    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            SourceEvent::Order(event) => event.occurred_at(),
            SourceEvent::Payment(event) => event.occurred_at(),
            SourceEvent::Shipment(event) => event.occurred_at(),
        }
    }

    pub fn source(&self) -> Source {
        match self {
            SourceEvent::Order(_) => Source::Order,
            SourceEvent::Payment(_) => Source::Payment,
            SourceEvent::Shipment(_) => Source::Shipment,
        }
    }

    pub fn event_type_name(&self) -> &'static str {
        match self {
            SourceEvent::Order(event) => event.event_type_name(),
            SourceEvent::Payment(event) => event.event_type_name(),
            SourceEvent::Shipment(event) => event.event_type_name(),
        }
    }

    fn timeline_entry(&self) -> TimelineEntry {
        let detail = match self {
            SourceEvent::Shipment(event) if event.event_type == events::ShipmentEventType::ShipmentStatusChanged => {
                Some(ShipmentStatus::from(event.shipment.status).symbol().to_string())
            }
            _ => None,
        };
        TimelineEntry {
            occurred_at: self.occurred_at(),
            source: self.source(),
            event_type: self.event_type_name().to_string(),
            detail,
            aggregate_id: self.aggregate_id(),
            aggregate_version: self.aggregate_version(),
            event_id: self.event_id(),
        }
    }
}

impl OrderHistory {
    /// A document that knows nothing yet but the order id.
    pub fn empty(order_id: Uuid) -> Self {
        OrderHistory {
            order_id,
            incomplete: true,
            status: None,
            customer: None,
            items: Vec::new(),
            total: None,
            currency: None,
            shipping_address: None,
            placed_at: None,
            cancelled_at: None,
            cancellation_reason: None,
            payments: Vec::new(),
            shipments: Vec::new(),
            timeline: Vec::new(),
            order_version: None,
            as_of: None,
        }
    }

    /// The version this document reflects of the aggregate `aggregate_id`: the order itself,
    /// or one of its payments or shipments.
    pub fn version_of(&self, aggregate_id: Uuid) -> Option<i64> {
        if aggregate_id == self.order_id {
            return self.order_version;
        }
        self.payments.iter().find(|payment| payment.payment_id == aggregate_id).map(|payment| payment.version).or_else(
            || {
                self.shipments
                    .iter()
                    .find(|shipment| shipment.shipment_id == aggregate_id)
                    .map(|shipment| shipment.version)
            },
        )
    }

    /// Applies one event of this order. The caller routes events by order id.
    pub fn apply(&mut self, event: &SourceEvent) -> Applied {
        debug_assert_eq!(event.order_id(), self.order_id, "events are routed by order id");
        if let Some(stored_version) = self.version_of(event.aggregate_id())
            && stored_version >= event.aggregate_version()
        {
            return Applied::Stale { stored_version };
        }
        match event {
            SourceEvent::Order(event) => self.replace_order(event),
            SourceEvent::Payment(event) => self.replace_payment(event),
            SourceEvent::Shipment(event) => self.replace_shipment(event),
        }
        self.record(event.timeline_entry());
        Applied::Changed
    }

    fn replace_order(&mut self, event: &OrderEvent) {
        let order = &event.order;
        self.incomplete = false;
        self.status = Some(order.status.into());
        self.customer = Some(Customer {
            customer_id: order.customer.customer_id.clone(),
            name: order.customer.name.clone(),
            email: order.customer.email.clone(),
        });
        self.items = order
            .items
            .iter()
            .map(|item| LineItem {
                sku: item.sku.clone(),
                name: item.name.clone(),
                quantity: item.quantity,
                unit_price: Money::from(&item.unit_price),
            })
            .collect();
        self.total = Some(Money::from(&order.total));
        self.currency = Some(order.total.currency.clone());
        self.shipping_address = Some(Address::from(&order.shipping_address));
        self.placed_at = Some(order.placed_at);
        self.cancelled_at = order.cancelled_at;
        self.cancellation_reason = order.cancellation_reason.clone();
        self.order_version = Some(event.aggregate_version);
    }

    fn replace_payment(&mut self, event: &PaymentEvent) {
        let payment = &event.payment;
        let summary = PaymentSummary {
            payment_id: payment.payment_id,
            status: payment.status.into(),
            method: payment.method.into(),
            amount: Money::from(&payment.amount),
            decline_reason: payment.decline_reason.clone(),
            created_at: payment.created_at,
            updated_at: payment.updated_at,
            version: event.aggregate_version,
        };
        self.payments.retain(|existing| existing.payment_id != summary.payment_id);
        self.payments.push(summary);
        self.payments.sort_by_key(|payment| (payment.created_at, payment.payment_id));
    }

    fn replace_shipment(&mut self, event: &ShipmentEvent) {
        let shipment = &event.shipment;
        let summary = ShipmentSummary {
            shipment_id: shipment.shipment_id,
            carrier: shipment.carrier.clone(),
            tracking_number: shipment.tracking_number.clone(),
            status: shipment.status.into(),
            last_location: shipment.last_location.clone(),
            address: Address::from(&shipment.address),
            created_at: shipment.created_at,
            updated_at: shipment.updated_at,
            version: event.aggregate_version,
        };
        self.shipments.retain(|existing| existing.shipment_id != summary.shipment_id);
        self.shipments.push(summary);
        self.shipments.sort_by_key(|shipment| (shipment.created_at, shipment.shipment_id));
    }

    fn record(&mut self, entry: TimelineEntry) {
        let key =
            |entry: &TimelineEntry| (entry.occurred_at, entry.source, entry.aggregate_id, entry.aggregate_version);
        let position = self.timeline.partition_point(|existing| key(existing) <= key(&entry));
        self.timeline.insert(position, entry);
        self.as_of = self.timeline.last().map(|newest| AsOf {
            event_id: newest.event_id,
            event_type: newest.event_type.clone(),
            source: newest.source,
            occurred_at: newest.occurred_at,
        });
    }
}

impl From<&events::Money> for Money {
    fn from(money: &events::Money) -> Self {
        Money { amount_minor: money.amount_minor, currency: money.currency.clone() }
    }
}

impl From<&events::Address> for Address {
    fn from(address: &events::Address) -> Self {
        Address {
            line1: address.line1.clone(),
            line2: address.line2.clone(),
            city: address.city.clone(),
            postal_code: address.postal_code.clone(),
            country: address.country.clone(),
        }
    }
}

impl From<events::OrderStatus> for OrderStatus {
    fn from(status: events::OrderStatus) -> Self {
        match status {
            events::OrderStatus::Placed => OrderStatus::Placed,
            events::OrderStatus::Cancelled => OrderStatus::Cancelled,
        }
    }
}

impl From<events::PaymentStatus> for PaymentStatus {
    fn from(status: events::PaymentStatus) -> Self {
        match status {
            events::PaymentStatus::Authorized => PaymentStatus::Authorized,
            events::PaymentStatus::Declined => PaymentStatus::Declined,
            events::PaymentStatus::Captured => PaymentStatus::Captured,
            events::PaymentStatus::Refunded => PaymentStatus::Refunded,
        }
    }
}

impl From<events::PaymentMethod> for PaymentMethod {
    fn from(method: events::PaymentMethod) -> Self {
        match method {
            events::PaymentMethod::Card => PaymentMethod::Card,
            events::PaymentMethod::BankTransfer => PaymentMethod::BankTransfer,
            events::PaymentMethod::Wallet => PaymentMethod::Wallet,
        }
    }
}

impl From<events::ShipmentStatus> for ShipmentStatus {
    fn from(status: events::ShipmentStatus) -> Self {
        match status {
            events::ShipmentStatus::Created => ShipmentStatus::Created,
            events::ShipmentStatus::Dispatched => ShipmentStatus::Dispatched,
            events::ShipmentStatus::InTransit => ShipmentStatus::InTransit,
            events::ShipmentStatus::Delivered => ShipmentStatus::Delivered,
            events::ShipmentStatus::Returned => ShipmentStatus::Returned,
        }
    }
}

#[cfg(test)]
mod tests {
    use events::samples::{order_event, payment_event, shipment_event};
    use events::{OrderEventType, PaymentEventType};
    use proptest::prelude::*;

    use super::*;

    fn history_of(order_id: Uuid, events: &[SourceEvent]) -> OrderHistory {
        let mut document = OrderHistory::empty(order_id);
        for event in events {
            document.apply(event);
        }
        document
    }

    fn one_order_story(order_id: Uuid) -> Vec<SourceEvent> {
        let payment_id = Uuid::now_v7();
        let shipment_id = Uuid::now_v7();
        vec![
            SourceEvent::Order(order_event(order_id, OrderEventType::OrderPlaced, 1)),
            SourceEvent::Payment(payment_event(order_id, payment_id, PaymentEventType::PaymentAuthorized, 1)),
            SourceEvent::Payment(payment_event(order_id, payment_id, PaymentEventType::PaymentCaptured, 2)),
            SourceEvent::Shipment(shipment_event(order_id, shipment_id, events::ShipmentStatus::Created, 1)),
            SourceEvent::Shipment(shipment_event(order_id, shipment_id, events::ShipmentStatus::Dispatched, 2)),
        ]
    }

    #[test]
    fn an_order_placed_fills_the_document_and_completes_it() {
        let order_id = Uuid::now_v7();
        let placed = order_event(order_id, OrderEventType::OrderPlaced, 1);
        let document = history_of(order_id, &[SourceEvent::Order(placed.clone())]);
        assert!(!document.incomplete);
        assert_eq!(document.status, Some(OrderStatus::Placed));
        assert_eq!(document.customer.as_ref().map(|customer| customer.name.as_str()), Some("Zoë Ørsted-Nakamura"));
        assert_eq!(document.items.len(), 2);
        assert_eq!(document.total, Some(Money { amount_minor: 9599, currency: "EUR".to_string() }));
        assert_eq!(document.order_version, Some(1));
        assert_eq!(document.timeline.len(), 1);
        assert_eq!(document.as_of.map(|as_of| as_of.event_id), Some(placed.event_id));
    }

    #[test]
    fn a_redelivered_event_changes_nothing() {
        let order_id = Uuid::now_v7();
        let story = one_order_story(order_id);
        let once = history_of(order_id, &story);
        let mut twice = once.clone();
        for event in &story {
            assert!(matches!(twice.apply(event), Applied::Stale { .. }));
        }
        assert_eq!(twice, once);
    }

    #[test]
    fn an_older_version_loses_and_a_newer_one_replaces_its_part() {
        let order_id = Uuid::now_v7();
        let payment_id = Uuid::now_v7();
        let captured = payment_event(order_id, payment_id, PaymentEventType::PaymentCaptured, 2);
        let authorized = payment_event(order_id, payment_id, PaymentEventType::PaymentAuthorized, 1);
        let refunded = payment_event(order_id, payment_id, PaymentEventType::PaymentRefunded, 3);
        let mut document = history_of(order_id, &[SourceEvent::Payment(captured)]);
        assert_eq!(document.apply(&SourceEvent::Payment(authorized)), Applied::Stale { stored_version: 2 });
        assert_eq!(document.payments[0].status, PaymentStatus::Captured);
        assert_eq!(document.apply(&SourceEvent::Payment(refunded)), Applied::Changed);
        assert_eq!(document.payments.len(), 1, "a newer version replaces, never duplicates");
        assert_eq!(document.payments[0].status, PaymentStatus::Refunded);
        assert_eq!(document.version_of(payment_id), Some(3));
    }

    #[test]
    fn a_payment_before_its_order_is_kept_and_the_order_completes_the_document() {
        let order_id = Uuid::now_v7();
        let payment_id = Uuid::now_v7();
        let mut document = history_of(
            order_id,
            &[SourceEvent::Payment(payment_event(order_id, payment_id, PaymentEventType::PaymentAuthorized, 1))],
        );
        assert!(document.incomplete);
        assert_eq!(document.customer, None);
        assert_eq!(document.payments.len(), 1);
        document.apply(&SourceEvent::Order(order_event(order_id, OrderEventType::OrderPlaced, 1)));
        assert!(!document.incomplete);
        assert_eq!(document.payments.len(), 1, "the early payment survives the order's arrival");
    }

    #[test]
    fn a_status_change_names_the_new_status_in_the_timeline() {
        let order_id = Uuid::now_v7();
        let story = one_order_story(order_id);
        let document = history_of(order_id, &story);
        let last = document.timeline.last().expect("timeline");
        assert_eq!(last.event_type, "SHIPMENT_STATUS_CHANGED");
        assert_eq!(last.detail.as_deref(), Some("DISPATCHED"));
    }

    proptest! {
        /// Topics are read independently, so the events of one order may be interleaved in any
        /// way that keeps each aggregate's own order, and may be redelivered. All such
        /// interleavings must yield the same document.
        #[test]
        fn every_interleaving_and_redelivery_yields_the_same_document(
            seed in any::<u64>(),
            redeliver in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let order_id = Uuid::now_v7();
            let story = one_order_story(order_id);
            let expected = history_of(order_id, &story);

            // group per aggregate, keep each group's order, interleave the groups at random
            let mut queues: Vec<Vec<SourceEvent>> = Vec::new();
            for event in &story {
                match queues.iter_mut().find(|queue| queue[0].aggregate_id() == event.aggregate_id()) {
                    Some(queue) => queue.push(event.clone()),
                    None => queues.push(vec![event.clone()]),
                }
            }
            let mut state = seed;
            let mut shuffled = Vec::new();
            while queues.iter().any(|queue| !queue.is_empty()) {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let non_empty: Vec<usize> = (0..queues.len()).filter(|&i| !queues[i].is_empty()).collect();
                let pick = non_empty[(state >> 33) as usize % non_empty.len()];
                shuffled.push(queues[pick].remove(0));
            }
            for index in redeliver {
                let again = shuffled[index % shuffled.len()].clone();
                shuffled.push(again);
            }
            prop_assert_eq!(history_of(order_id, &shuffled), expected);
        }
    }
}
