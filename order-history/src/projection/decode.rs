//! Stage 2: raw records → events, or dead letters with the reason.
//!
//! A record is rejected when it cannot be decoded through the registry, or when it decodes but
//! breaks the contract (its key is not its order id, its version is not positive). Rejection
//! is a property of the record, so it goes to the dead-letter topic and projection moves on.
//! A registry that is down is not the record's fault: decoding waits and retries instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apache_avro::Schema;
use events::codec::{decode_datum, split_wire_format};
use events::{DecodeError, Event, EventCodec, OrderEvent, PaymentEvent, ShipmentEvent, topics};
use order_view::SourceEvent;
use tokio_util::sync::CancellationToken;

use super::source::RawRecord;

/// A record that projection will not apply, and why.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    pub record: RawRecord,
    pub kind: RejectionKind,
    /// The whole reason, with the ids and keys involved: for the `dlq.error` header and logs.
    pub reason: String,
}

/// Why a record was rejected, from a small fixed set: a metric label, where the reason itself
/// (which names keys and ids) would make every poison record a time series of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionKind {
    /// No value, too short or a wrong magic byte: not the Confluent wire format.
    NotWireFormat,
    /// The schema id is not in the registry.
    UnknownSchema,
    /// The writer schema cannot be read as this topic's event.
    IncompatibleSchema,
    /// The bytes do not match their writer schema.
    MalformedDatum,
    /// Decodes, but breaks the contract beyond the schema: key, version or order id.
    Contract,
    /// Read from a topic projection does not consume.
    UnknownTopic,
}

impl RejectionKind {
    pub fn label(self) -> &'static str {
        match self {
            RejectionKind::NotWireFormat => "not_wire_format",
            RejectionKind::UnknownSchema => "unknown_schema",
            RejectionKind::IncompatibleSchema => "incompatible_schema",
            RejectionKind::MalformedDatum => "malformed_datum",
            RejectionKind::Contract => "contract",
            RejectionKind::UnknownTopic => "unknown_topic",
        }
    }

    fn of(error: &DecodeError) -> RejectionKind {
        match error {
            DecodeError::MissingValue | DecodeError::TooShort(_) | DecodeError::BadMagicByte(_) => {
                RejectionKind::NotWireFormat
            }
            DecodeError::UnknownSchemaId(_) => RejectionKind::UnknownSchema,
            DecodeError::UnusableSchema { .. } | DecodeError::WrongRecordType { .. } => {
                RejectionKind::IncompatibleSchema
            }
            // a registry outage is retried, never rejected; the arm only completes the match
            DecodeError::RegistryUnavailable(_)
            | DecodeError::MalformedDatum { .. }
            | DecodeError::TrailingBytes { .. } => RejectionKind::MalformedDatum,
        }
    }
}

// Short-lived and moved straight into a Vec<SourceEvent>; boxing would add an
// allocation per event on the hot path for no gain.
#[allow(clippy::large_enum_variant)]
pub enum Decoded {
    Event(SourceEvent),
    Rejected(DeadLetter),
}

/// Decodes records with writer schemas fetched once per schema id.
pub struct Decoder {
    codec: Arc<EventCodec>,
    writer_schemas: HashMap<u32, Arc<Schema>>,
}

impl Decoder {
    pub fn new(codec: Arc<EventCodec>) -> Self {
        Decoder { codec, writer_schemas: HashMap::new() }
    }

    /// Decodes one record. Waits while the registry is unavailable, until `shutdown`.
    pub async fn decode(&mut self, record: RawRecord, shutdown: &CancellationToken) -> Option<Decoded> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.try_decode(&record).await {
                Ok(event) => return Some(Decoded::Event(event)),
                Err(Rejection::Retryable(reason)) => {
                    tracing::warn!(topic = %record.topic, partition = record.partition, offset = record.offset, %reason, "cannot decode yet, retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(Rejection::Invalid(kind, reason)) => {
                    return Some(Decoded::Rejected(DeadLetter { record, kind, reason }));
                }
            }
        }
    }

    async fn try_decode(&mut self, record: &RawRecord) -> Result<SourceEvent, Rejection> {
        let value = record.value.as_deref().ok_or_else(|| Rejection::from(DecodeError::MissingValue))?;
        let (schema_id, datum) = split_wire_format(value)?;
        let writer_schema = match self.writer_schemas.get(&schema_id) {
            Some(schema) => schema.clone(),
            None => {
                let schema = Arc::new(self.codec.writer_schema(schema_id).await?);
                self.writer_schemas.insert(schema_id, schema.clone());
                schema
            }
        };
        let event = match record.topic.as_str() {
            topics::ORDERS => SourceEvent::Order(decode_as::<OrderEvent>(schema_id, &writer_schema, datum)?),
            topics::PAYMENTS => SourceEvent::Payment(decode_as::<PaymentEvent>(schema_id, &writer_schema, datum)?),
            topics::SHIPMENTS => SourceEvent::Shipment(decode_as::<ShipmentEvent>(schema_id, &writer_schema, datum)?),
            other => {
                return Err(Rejection::Invalid(
                    RejectionKind::UnknownTopic,
                    format!("topic {other} is not a source topic"),
                ));
            }
        };
        validate(record, &event)?;
        Ok(event)
    }
}

fn decode_as<E: Event>(schema_id: u32, writer_schema: &Schema, datum: &[u8]) -> Result<E, DecodeError> {
    decode_datum::<E>(schema_id, writer_schema, datum, E::schema())
}

/// The contract every source event keeps beyond its schema.
fn validate(record: &RawRecord, event: &SourceEvent) -> Result<(), Rejection> {
    let order_id = event.order_id().to_string();
    if record.key.as_deref() != Some(order_id.as_bytes()) {
        let key = record.key.as_deref().map(String::from_utf8_lossy).unwrap_or_else(|| "no key".into());
        return Err(contract(format!("record key {key:?} is not the event's order id {order_id}")));
    }
    if event.aggregate_version() < 1 {
        return Err(contract(format!("aggregate_version {} is not positive", event.aggregate_version())));
    }
    let state_order_id = match event {
        SourceEvent::Order(event) => event.order.order_id,
        SourceEvent::Payment(event) => event.payment.order_id,
        SourceEvent::Shipment(event) => event.shipment.order_id,
    };
    if state_order_id != event.order_id() {
        return Err(contract(format!("the aggregate's order id {state_order_id} differs from the event's {order_id}")));
    }
    Ok(())
}

fn contract(reason: String) -> Rejection {
    Rejection::Invalid(RejectionKind::Contract, reason)
}

enum Rejection {
    Retryable(String),
    Invalid(RejectionKind, String),
}

impl From<DecodeError> for Rejection {
    fn from(error: DecodeError) -> Self {
        if error.is_retryable() {
            Rejection::Retryable(error.to_string())
        } else {
            Rejection::Invalid(RejectionKind::of(&error), error.to_string())
        }
    }
}
