//! Fully populated sample events, for tests across the workspace (feature `samples`).

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::{
    Address, Customer, LineItem, Money, Order, OrderEvent, OrderEventType, OrderStatus, Payment, PaymentEvent,
    PaymentEventType, PaymentMethod, PaymentStatus, Shipment, ShipmentEvent, ShipmentEventType, ShipmentStatus,
};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_767_225_600_000 + seconds * 1000 + 123).single().unwrap_or_default()
}

fn money(amount_minor: i64) -> Money {
    Money { amount_minor, currency: "EUR".to_string() }
}

pub fn address() -> Address {
    Address {
        line1: "Keizersgracht 123".to_string(),
        line2: Some("3rd floor".to_string()),
        city: "Amsterdam".to_string(),
        postal_code: "1015 CJ".to_string(),
        country: "NL".to_string(),
    }
}

/// An order after `event_type`, at `version`.
pub fn order_event(order_id: Uuid, event_type: OrderEventType, version: i64) -> OrderEvent {
    let cancelled = event_type == OrderEventType::OrderCancelled;
    OrderEvent {
        event_id: Uuid::now_v7(),
        event_type,
        occurred_at: at(version),
        order_id,
        aggregate_id: order_id,
        aggregate_version: version,
        order: Order {
            order_id,
            customer: Customer {
                customer_id: "cust-0042".to_string(),
                name: "Zoë Ørsted-Nakamura".to_string(),
                email: "zoe@example.com".to_string(),
            },
            items: vec![
                LineItem {
                    sku: "SKU-KETTLE-01".to_string(),
                    name: "Copper tea kettle".to_string(),
                    quantity: 1,
                    unit_price: money(4599),
                },
                LineItem {
                    sku: "SKU-MUG-07".to_string(),
                    name: "Stoneware mug".to_string(),
                    quantity: 4,
                    unit_price: money(1250),
                },
            ],
            total: money(9599),
            shipping_address: address(),
            status: if cancelled { OrderStatus::Cancelled } else { OrderStatus::Placed },
            placed_at: at(1),
            cancelled_at: cancelled.then(|| at(version)),
            cancellation_reason: cancelled.then(|| "changed my mind".to_string()),
        },
    }
}

/// A payment for `order_id` after `event_type`, at `version`.
pub fn payment_event(order_id: Uuid, payment_id: Uuid, event_type: PaymentEventType, version: i64) -> PaymentEvent {
    let (status, decline_reason) = match event_type {
        PaymentEventType::PaymentAuthorized => (PaymentStatus::Authorized, None),
        PaymentEventType::PaymentDeclined => (PaymentStatus::Declined, Some("amount above limit".to_string())),
        PaymentEventType::PaymentCaptured => (PaymentStatus::Captured, None),
        PaymentEventType::PaymentRefunded => (PaymentStatus::Refunded, None),
    };
    PaymentEvent {
        event_id: Uuid::now_v7(),
        event_type,
        occurred_at: at(10 + version),
        order_id,
        aggregate_id: payment_id,
        aggregate_version: version,
        payment: Payment {
            payment_id,
            order_id,
            amount: money(9599),
            method: PaymentMethod::BankTransfer,
            status,
            decline_reason,
            created_at: at(10),
            updated_at: at(10 + version),
        },
    }
}

/// A shipment for `order_id` in `status`, at `version`.
pub fn shipment_event(order_id: Uuid, shipment_id: Uuid, status: ShipmentStatus, version: i64) -> ShipmentEvent {
    let event_type = if status == ShipmentStatus::Created {
        ShipmentEventType::ShipmentCreated
    } else {
        ShipmentEventType::ShipmentStatusChanged
    };
    ShipmentEvent {
        event_id: Uuid::now_v7(),
        event_type,
        occurred_at: at(20 + version),
        order_id,
        aggregate_id: shipment_id,
        aggregate_version: version,
        shipment: Shipment {
            shipment_id,
            order_id,
            carrier: "PostNL".to_string(),
            tracking_number: "3SPOST123456789".to_string(),
            address: address(),
            status,
            last_location: (status != ShipmentStatus::Created).then(|| "Utrecht sorting centre".to_string()),
            note: None,
            created_at: at(20),
            updated_at: at(20 + version),
        },
    }
}
