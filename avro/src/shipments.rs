//! The `shipments` topic: every change to a shipment, owned by shipping-svc.

use apache_avro::AvroSchema;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::Address;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "orderhistory.shipments")]
pub struct ShipmentEvent {
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub event_id: Uuid,
    pub event_type: ShipmentEventType,
    #[serde(with = "crate::wire::timestamp_millis")]
    #[avro(with)]
    pub occurred_at: DateTime<Utc>,
    /// The record key: the order this shipment delivers.
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub order_id: Uuid,
    /// The shipment id.
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub aggregate_id: Uuid,
    pub aggregate_version: i64,
    pub shipment: Shipment,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShipmentEventType {
    ShipmentCreated,
    ShipmentStatusChanged,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
pub struct Shipment {
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub shipment_id: Uuid,
    #[serde(with = "crate::wire::uuid_string")]
    #[avro(with)]
    pub order_id: Uuid,
    pub carrier: String,
    pub tracking_number: String,
    pub address: Address,
    pub status: ShipmentStatus,
    pub last_location: Option<String>,
    pub note: Option<String>,
    #[serde(with = "crate::wire::timestamp_millis")]
    #[avro(with)]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::wire::timestamp_millis")]
    #[avro(with)]
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShipmentStatus {
    Created,
    Dispatched,
    InTransit,
    Delivered,
    Returned,
}
