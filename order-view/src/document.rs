//! The `OrderHistory` document: one per order, the same JSON from both designs.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Everything known about one order, denormalized from the three source services.
///
/// CQRS builds it from events ([`OrderHistory::apply`]); API Composition builds it from the
/// services' REST answers. Fields that only the order itself can fill are `None` while the
/// document is `incomplete`: a payment or shipment arrived before its order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderHistory {
    pub order_id: Uuid,
    /// True until the order itself is known; search leaves such documents out by default.
    pub incomplete: bool,
    pub status: Option<OrderStatus>,
    pub customer: Option<Customer>,
    pub items: Vec<LineItem>,
    pub total: Option<Money>,
    pub currency: Option<String>,
    pub shipping_address: Option<Address>,
    pub placed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
    /// Ordered by creation time, then id.
    pub payments: Vec<PaymentSummary>,
    /// Ordered by creation time, then id.
    pub shipments: Vec<ShipmentSummary>,
    /// Every event applied, ordered by when it occurred.
    pub timeline: Vec<TimelineEntry>,
    /// The version of the order aggregate this document reflects; each payment and shipment
    /// carries its own.
    pub order_version: Option<i64>,
    /// The newest event (by `occurred_at`) reflected in this document.
    pub as_of: Option<AsOf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Placed,
    Cancelled,
}

impl OrderStatus {
    /// The status's name in JSON, in the `status` filter and in the facets, e.g. `PLACED`.
    pub fn symbol(self) -> &'static str {
        match self {
            OrderStatus::Placed => "PLACED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    pub customer_id: String,
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineItem {
    pub sku: String,
    pub name: String,
    pub quantity: i32,
    pub unit_price: Money,
}

/// An amount in integer minor units (cents) of an ISO 4217 currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Authorized,
    Declined,
    Captured,
    Refunded,
}

impl PaymentStatus {
    /// The status's name in JSON, in the `payment_status` filter and in the facets.
    pub fn symbol(self) -> &'static str {
        match self {
            PaymentStatus::Authorized => "AUTHORIZED",
            PaymentStatus::Declined => "DECLINED",
            PaymentStatus::Captured => "CAPTURED",
            PaymentStatus::Refunded => "REFUNDED",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethod {
    Card,
    BankTransfer,
    Wallet,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentSummary {
    pub payment_id: Uuid,
    pub status: PaymentStatus,
    pub method: PaymentMethod,
    pub amount: Money,
    pub decline_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The payment aggregate's version this entry reflects.
    pub version: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShipmentStatus {
    Created,
    Dispatched,
    InTransit,
    Delivered,
    Returned,
}

impl ShipmentStatus {
    /// The status's name in JSON, in the `shipment_status` filter, in the facets and in the
    /// timeline's `detail`.
    pub fn symbol(self) -> &'static str {
        match self {
            ShipmentStatus::Created => "CREATED",
            ShipmentStatus::Dispatched => "DISPATCHED",
            ShipmentStatus::InTransit => "IN_TRANSIT",
            ShipmentStatus::Delivered => "DELIVERED",
            ShipmentStatus::Returned => "RETURNED",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentSummary {
    pub shipment_id: Uuid,
    pub carrier: String,
    pub tracking_number: String,
    pub status: ShipmentStatus,
    pub last_location: Option<String>,
    pub address: Address,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The shipment aggregate's version this entry reflects.
    pub version: i64,
}

/// Which source service an event or a part of the document came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Order,
    Payment,
    Shipment,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Order => "order",
            Source::Payment => "payment",
            Source::Shipment => "shipment",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub occurred_at: DateTime<Utc>,
    pub source: Source,
    /// The event type symbol, e.g. `PAYMENT_CAPTURED`.
    pub event_type: String,
    /// The shipment status for `SHIPMENT_STATUS_CHANGED`, so the timeline reads on its own.
    pub detail: Option<String>,
    pub aggregate_id: Uuid,
    pub aggregate_version: i64,
    pub event_id: Uuid,
}

/// The newest event reflected in a document: how fresh the view is for this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AsOf {
    pub event_id: Uuid,
    pub event_type: String,
    pub source: Source,
    pub occurred_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symbol is what serde writes, so a filter value, a facet key and the JSON agree.
    #[test]
    fn every_status_symbol_is_its_json_name() {
        let json_name = |status: serde_json::Value| status.as_str().map(str::to_string);
        for status in [OrderStatus::Placed, OrderStatus::Cancelled] {
            assert_eq!(json_name(serde_json::json!(status)).as_deref(), Some(status.symbol()));
        }
        for status in
            [PaymentStatus::Authorized, PaymentStatus::Declined, PaymentStatus::Captured, PaymentStatus::Refunded]
        {
            assert_eq!(json_name(serde_json::json!(status)).as_deref(), Some(status.symbol()));
        }
        for status in [
            ShipmentStatus::Created,
            ShipmentStatus::Dispatched,
            ShipmentStatus::InTransit,
            ShipmentStatus::Delivered,
            ShipmentStatus::Returned,
        ] {
            assert_eq!(json_name(serde_json::json!(status)).as_deref(), Some(status.symbol()));
        }
    }
}
