//! The source services' read API as its clients read it: composer (which composes answers from
//! it) and `order-history reconcile` (which checks the view against it).
//!
//! These are the clients' own types, not the services' crates: the services are separate
//! deployments and the HTTP contract (docs/order-svc.md, payment-svc.md, shipping-svc.md) is
//! all a client relies on. Fields no client uses (a shipment's `note`) are ignored, so a
//! service may add fields without breaking its clients.

use crate::{OrderStatus, PaymentMethod, PaymentStatus, ShipmentStatus};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

/// `GET /orders/{id}` of order-svc, and each order of `GET /orders`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct OrderRecord {
    pub id: Uuid,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_email: String,
    pub currency: String,
    pub items: Vec<LineItemRecord>,
    /// Minor units of `currency`.
    pub total: i64,
    pub shipping_address: AddressRecord,
    pub status: OrderStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LineItemRecord {
    pub sku: String,
    pub name: String,
    pub quantity: i32,
    /// Minor units of the order's currency.
    pub unit_price: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AddressRecord {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

/// `GET /orders?customer_id=…` of order-svc: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct OrderPage {
    pub orders: Vec<OrderRecord>,
    pub next_cursor: Option<String>,
}

/// One payment of `GET /payments?order_id=…` of payment-svc.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PaymentRecord {
    pub id: Uuid,
    pub order_id: Uuid,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub decline_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PaymentList {
    pub payments: Vec<PaymentRecord>,
}

/// One payment of `GET /v2/payments?order_id=…` of payment-svc: `amount` is named
/// `amount_minor`, and `authorization_limit_minor` is new (and not needed here).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PaymentRecordV2 {
    pub id: Uuid,
    pub order_id: Uuid,
    /// Minor units of `currency`.
    pub amount_minor: i64,
    pub currency: String,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub decline_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<PaymentRecordV2> for PaymentRecord {
    fn from(record: PaymentRecordV2) -> Self {
        Self {
            id: record.id,
            order_id: record.order_id,
            amount: record.amount_minor,
            currency: record.currency,
            method: record.method,
            status: record.status,
            decline_reason: record.decline_reason,
            version: record.version,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PaymentListV2 {
    pub payments: Vec<PaymentRecordV2>,
}

/// One shipment of `GET /shipments?order_id=…` of shipping-svc.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ShipmentRecord {
    pub id: Uuid,
    pub order_id: Uuid,
    pub carrier: String,
    pub tracking_number: String,
    pub address: AddressRecord,
    pub status: ShipmentStatus,
    pub last_location: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ShipmentList {
    pub shipments: Vec<ShipmentRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of the services' documentation parse.
    #[test]
    fn the_documented_examples_parse() {
        let order: OrderRecord = serde_json::from_str(
            r#"{"id": "01a201c8-1d0d-7614-9e43-7fdcdeb9bc0e", "customer_id": "cust-0042",
                "customer_name": "Zoë Ørsted-Nakamura", "customer_email": "zoe@example.com", "currency": "EUR",
                "items": [{"sku": "SKU-KETTLE-01", "name": "Copper tea kettle", "quantity": 1, "unit_price": 4599}],
                "total": 4599,
                "shipping_address": {"line1": "Keizersgracht 123", "line2": "3rd floor", "city": "Amsterdam",
                                     "postal_code": "1015 CJ", "country": "NL"},
                "status": "PLACED", "version": 1, "created_at": "2026-11-22T05:43:41.581Z",
                "cancelled_at": null, "cancellation_reason": null}"#,
        )
        .expect("order parses");
        assert_eq!(order.status, OrderStatus::Placed);
        let payment: PaymentRecord = serde_json::from_str(
            r#"{"id": "01a201c3-79cb-753c-a066-7063d76d6030", "order_id": "0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a",
                "amount": 4999, "currency": "EUR", "method": "CARD", "status": "AUTHORIZED",
                "decline_reason": null, "version": 1,
                "created_at": "2026-11-22T05:38:37.643Z", "updated_at": "2026-11-22T05:38:37.643Z"}"#,
        )
        .expect("payment parses");
        assert_eq!(payment.method, PaymentMethod::Card);
        let shipment: ShipmentRecord = serde_json::from_str(
            r#"{"id": "01a201c7-8354-70d2-be3a-460a22a41248", "order_id": "0190163d-8694-739b-aea5-966c26f8ad91",
                "carrier": "DHL Express", "tracking_number": "DHL7707082532493",
                "address": {"line1": "Keizersgracht 123", "line2": "3rd floor", "city": "Amsterdam",
                            "postal_code": "1015 CJ", "country": "NL"},
                "status": "DISPATCHED", "last_location": "Amsterdam depot", "note": "picked up", "version": 2,
                "created_at": "2026-11-22T05:43:02.228Z", "updated_at": "2026-11-22T05:43:02.397Z"}"#,
        )
        .expect("shipment parses, its note ignored");
        assert_eq!(shipment.status, ShipmentStatus::Dispatched);
    }
}
