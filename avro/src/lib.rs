//! The event contracts of the system: one Avro schema per topic (the `.avsc` files in
//! `avro/schemas/` are the source of truth), the Rust types that mirror them, and the codec
//! for the Confluent wire format.
//!
//! Every event carries the full state of its aggregate after the change (event-carried state
//! transfer), so a reader never needs to call the owning service back. Every record is keyed by
//! the order id, so everything about one order stays in order within each topic.

pub mod codec;
pub mod common;
pub mod evolution;
pub mod orders;
pub mod payments;
#[cfg(any(test, feature = "samples"))]
pub mod samples;
pub mod shipments;
mod wire;

use std::sync::LazyLock;

use apache_avro::Schema;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use codec::{
    DEFAULT_SCHEMA_REGISTRY_URL, DecodeError, EncodeError, EventCodec, RegistryConfig, encode_datum, frame,
};
pub use common::{Address, Money};
pub use orders::{Customer, LineItem, Order, OrderEvent, OrderEventType, OrderStatus};
pub use payments::{Payment, PaymentEvent, PaymentEventType, PaymentMethod, PaymentStatus};
pub use shipments::{Shipment, ShipmentEvent, ShipmentEventType, ShipmentStatus};

/// Topic names and their registry subjects.
pub mod topics {
    pub const ORDERS: &str = "orders";
    pub const PAYMENTS: &str = "payments";
    pub const SHIPMENTS: &str = "shipments";
    /// Where order-history sends the records it cannot project, with the reason in headers.
    pub const ORDER_HISTORY_DLQ: &str = "order-history.dlq";

    /// The topics the source services publish to.
    pub const SOURCE_TOPICS: [&str; 3] = [ORDERS, PAYMENTS, SHIPMENTS];

    /// The value subject of a topic under Confluent's TopicNameStrategy.
    pub fn value_subject(topic: &str) -> String {
        format!("{topic}-value")
    }
}

/// Kafka record header names.
pub mod headers {
    pub const EVENT_ID: &str = "event_id";
    pub const EVENT_TYPE: &str = "event_type";
    /// W3C trace context, carried from the HTTP request that caused the change.
    pub const TRACEPARENT: &str = "traceparent";
    pub const DLQ_ORIGINAL_TOPIC: &str = "dlq.original.topic";
    pub const DLQ_ORIGINAL_PARTITION: &str = "dlq.original.partition";
    pub const DLQ_ORIGINAL_OFFSET: &str = "dlq.original.offset";
    pub const DLQ_ERROR: &str = "dlq.error";
    pub const DLQ_FAILED_AT: &str = "dlq.failed.at";
}

/// What every event type of the system provides, so the relay, the codec and the consumers
/// can handle the three topics with one code path.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The topic this event type is published to.
    const TOPIC: &'static str;
    /// The `.avsc` text as it is registered.
    const SCHEMA_TEXT: &'static str;

    /// The schema parsed from [`Event::SCHEMA_TEXT`]; the reader schema when decoding.
    fn schema() -> &'static Schema;
    fn event_id(&self) -> Uuid;
    /// The record key.
    fn order_id(&self) -> Uuid;
    fn aggregate_id(&self) -> Uuid;
    fn aggregate_version(&self) -> i64;
    fn occurred_at(&self) -> DateTime<Utc>;
    /// The event type symbol, e.g. `ORDER_PLACED`, as it appears in the schema and headers.
    fn event_type_name(&self) -> &'static str;
}

macro_rules! impl_event {
    ($event:ty, $topic:expr, $file:literal) => {
        impl Event for $event {
            const TOPIC: &'static str = $topic;
            const SCHEMA_TEXT: &'static str = include_str!(concat!("../schemas/", $file));

            fn schema() -> &'static Schema {
                static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
                    // the text is compiled in and covered by the contract tests
                    Schema::parse_str(<$event as Event>::SCHEMA_TEXT).expect(concat!($file, " is a valid avro schema"))
                });
                &SCHEMA
            }
            fn event_id(&self) -> Uuid {
                self.event_id
            }
            fn order_id(&self) -> Uuid {
                self.order_id
            }
            fn aggregate_id(&self) -> Uuid {
                self.aggregate_id
            }
            fn aggregate_version(&self) -> i64 {
                self.aggregate_version
            }
            fn occurred_at(&self) -> DateTime<Utc> {
                self.occurred_at
            }
            fn event_type_name(&self) -> &'static str {
                self.event_type.as_str()
            }
        }
    };
}

impl_event!(OrderEvent, topics::ORDERS, "orders.avsc");
impl_event!(PaymentEvent, topics::PAYMENTS, "payments.avsc");
impl_event!(ShipmentEvent, topics::SHIPMENTS, "shipments.avsc");

impl OrderEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPlaced => "ORDER_PLACED",
            Self::OrderCancelled => "ORDER_CANCELLED",
        }
    }
}

impl PaymentEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaymentAuthorized => "PAYMENT_AUTHORIZED",
            Self::PaymentDeclined => "PAYMENT_DECLINED",
            Self::PaymentCaptured => "PAYMENT_CAPTURED",
            Self::PaymentRefunded => "PAYMENT_REFUNDED",
        }
    }
}

impl ShipmentEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ShipmentCreated => "SHIPMENT_CREATED",
            Self::ShipmentStatusChanged => "SHIPMENT_STATUS_CHANGED",
        }
    }
}

/// The schema text of each source topic, for registering them all at deploy time.
pub fn source_schemas() -> [(&'static str, &'static str); 3] {
    [
        (OrderEvent::TOPIC, OrderEvent::SCHEMA_TEXT),
        (PaymentEvent::TOPIC, PaymentEvent::SCHEMA_TEXT),
        (ShipmentEvent::TOPIC, ShipmentEvent::SCHEMA_TEXT),
    ]
}

/// The compiled-in schema text of a source topic.
pub fn schema_text_for_topic(topic: &str) -> Option<&'static str> {
    source_schemas().into_iter().find(|(name, _)| *name == topic).map(|(_, text)| text)
}

#[cfg(test)]
mod contract_tests;
