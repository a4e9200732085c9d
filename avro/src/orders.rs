//! The `orders` topic: every change to an order, owned by order-svc.

use apache_avro::AvroSchema;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::{Address, Money};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "orderhistory.orders")]
pub struct OrderEvent {
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub event_id: Uuid,
    pub event_type: OrderEventType,
    #[serde(with = "crate::wire::timestamp_millis")]
    #[avro(with)]
    pub occurred_at: DateTime<Utc>,
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub order_id: Uuid,
    /// The order id again: for orders the aggregate is the order itself.
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub aggregate_id: Uuid,
    pub aggregate_version: i64,
    pub order: Order,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderEventType {
    OrderPlaced,
    OrderCancelled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
pub struct Order {
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub order_id: Uuid,
    pub customer: Customer,
    pub items: Vec<LineItem>,
    pub total: Money,
    pub shipping_address: Address,
    pub status: OrderStatus,
    #[serde(with = "crate::wire::timestamp_millis")]
    #[avro(with)]
    pub placed_at: DateTime<Utc>,
    #[serde(with = "crate::wire::optional_timestamp_millis")]
    #[avro(with, default = "null")]
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
pub struct Customer {
    pub customer_id: String,
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
pub struct LineItem {
    pub sku: String,
    pub name: String,
    pub quantity: i32,
    pub unit_price: Money,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Placed,
    Cancelled,
}
