//! Events for distinct, searchable orders.

use events::samples::{order_event, payment_event, shipment_event};
use events::{
    Customer, LineItem, Money, OrderEvent, OrderEventType, PaymentEvent, PaymentEventType, ShipmentEvent,
    ShipmentStatus,
};
use uuid::Uuid;

pub struct Story {
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub shipment_id: Uuid,
}

impl Story {
    pub fn new() -> Self {
        Story { order_id: Uuid::now_v7(), payment_id: Uuid::now_v7(), shipment_id: Uuid::now_v7() }
    }

    pub fn placed(&self, name: &str, item: &str, total_minor: i64) -> OrderEvent {
        let mut event = order_event(self.order_id, OrderEventType::OrderPlaced, 1);
        let slug: String = name.to_lowercase().split_whitespace().collect::<Vec<_>>().join(".");
        event.order.customer = Customer {
            customer_id: format!("cust-{slug}"),
            name: name.to_string(),
            email: format!("{slug}@example.com"),
        };
        event.order.items = vec![LineItem {
            sku: format!("SKU-{}", total_minor),
            name: item.to_string(),
            quantity: 1,
            unit_price: Money { amount_minor: total_minor, currency: "EUR".to_string() },
        }];
        event.order.total = Money { amount_minor: total_minor, currency: "EUR".to_string() };
        event
    }

    pub fn cancelled(&self, placed: &OrderEvent) -> OrderEvent {
        let mut event = order_event(self.order_id, OrderEventType::OrderCancelled, 2);
        event.order.customer = placed.order.customer.clone();
        event.order.items = placed.order.items.clone();
        event.order.total = placed.order.total.clone();
        event
    }

    pub fn payment(&self, event_type: PaymentEventType, version: i64) -> PaymentEvent {
        payment_event(self.order_id, self.payment_id, event_type, version)
    }

    pub fn shipment(&self, status: ShipmentStatus, version: i64, tracking_number: &str) -> ShipmentEvent {
        let mut event = shipment_event(self.order_id, self.shipment_id, status, version);
        event.shipment.tracking_number = tracking_number.to_string();
        event
    }
}
