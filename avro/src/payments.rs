//! The `payments` topic: every change to a payment, owned by payment-svc.

use apache_avro::AvroSchema;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::Money;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "orderhistory.payments")]
pub struct PaymentEvent {
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub event_id: Uuid,
    pub event_type: PaymentEventType,
    #[serde(with = "crate::wire::timestamp_millis")]
    #[avro(with)]
    pub occurred_at: DateTime<Utc>,
    /// The record key: the order this payment is for.
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub order_id: Uuid,
    /// The payment id.
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub aggregate_id: Uuid,
    pub aggregate_version: i64,
    pub payment: Payment,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentEventType {
    PaymentAuthorized,
    PaymentDeclined,
    PaymentCaptured,
    PaymentRefunded,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
pub struct Payment {
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub payment_id: Uuid,
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub order_id: Uuid,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub decline_reason: Option<String>,
    #[serde(with = "crate::wire::timestamp_millis")]
    #[avro(with)]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::wire::timestamp_millis")]
    #[avro(with)]
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethod {
    Card,
    BankTransfer,
    Wallet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Authorized,
    Declined,
    Captured,
    Refunded,
}
