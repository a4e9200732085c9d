//! The Rust types must not drift from the `.avsc` files: each derived schema must equal its file,
//! down to logical types and defaults, and every event must survive the codec unchanged.

use apache_avro::{AvroSchema, Schema};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::codec::{decode_datum, split_wire_format};
use crate::samples::{order_event, payment_event, shipment_event};
use crate::*;

/// The schema as JSON, without `doc` attributes: documentation may differ, nothing else may.
fn comparable_json(schema: &Schema) -> Json {
    fn strip_docs(value: &mut Json) {
        match value {
            Json::Object(map) => {
                map.remove("doc");
                map.values_mut().for_each(strip_docs);
            }
            Json::Array(items) => items.iter_mut().for_each(strip_docs),
            _ => {}
        }
    }
    let mut json = serde_json::to_value(schema).expect("a parsed schema serialises to json");
    strip_docs(&mut json);
    json
}

fn assert_type_matches_file<E: Event + AvroSchema>() {
    let derived = E::get_schema();
    let file = E::schema();
    assert_eq!(&derived, file, "{}: the rust type and the .avsc differ structurally", E::TOPIC);
    assert_eq!(
        comparable_json(&derived),
        comparable_json(file),
        "{}: the rust type and the .avsc differ in names, logical types or defaults",
        E::TOPIC
    );
}

#[test]
fn order_event_type_matches_its_schema_file() {
    assert_type_matches_file::<OrderEvent>();
}

#[test]
fn payment_event_type_matches_its_schema_file() {
    assert_type_matches_file::<PaymentEvent>();
}

#[test]
fn shipment_event_type_matches_its_schema_file() {
    assert_type_matches_file::<ShipmentEvent>();
}

#[test]
fn every_source_topic_has_a_distinct_record_schema() {
    let topics: Vec<&str> = source_schemas().iter().map(|(topic, _)| *topic).collect();
    assert_eq!(topics, topics::SOURCE_TOPICS);
}

/// Encodes like the codec does (schema-directed serde, then the wire-format header) without a
/// registry, then decodes through the same path the consumer uses.
fn round_trip<E: Event + std::fmt::Debug + PartialEq>(event: &E) {
    let datum = apache_avro::writer::datum::GenericDatumWriter::builder(E::schema())
        .build()
        .and_then(|writer| writer.write_ser_to_vec(event))
        .expect("sample event encodes with its schema");
    let mut wire = vec![0, 0, 0, 0, 7];
    wire.extend_from_slice(&datum);
    let (schema_id, datum) = split_wire_format(&wire).expect("valid header");
    assert_eq!(schema_id, 7);
    let decoded: E = decode_datum(schema_id, E::schema(), datum, E::schema()).expect("decodes");
    assert_eq!(&decoded, event);
}

#[test]
fn every_order_event_type_round_trips() {
    let order_id = Uuid::now_v7();
    round_trip(&order_event(order_id, OrderEventType::OrderPlaced, 1));
    round_trip(&order_event(order_id, OrderEventType::OrderCancelled, 2));
}

#[test]
fn every_payment_event_type_round_trips() {
    let (order_id, payment_id) = (Uuid::now_v7(), Uuid::now_v7());
    for (version, event_type) in [
        PaymentEventType::PaymentAuthorized,
        PaymentEventType::PaymentDeclined,
        PaymentEventType::PaymentCaptured,
        PaymentEventType::PaymentRefunded,
    ]
    .into_iter()
    .enumerate()
    {
        round_trip(&payment_event(order_id, payment_id, event_type, version as i64 + 1));
    }
}

#[test]
fn every_shipment_status_round_trips() {
    let (order_id, shipment_id) = (Uuid::now_v7(), Uuid::now_v7());
    for (version, status) in [
        ShipmentStatus::Created,
        ShipmentStatus::Dispatched,
        ShipmentStatus::InTransit,
        ShipmentStatus::Delivered,
        ShipmentStatus::Returned,
    ]
    .into_iter()
    .enumerate()
    {
        round_trip(&shipment_event(order_id, shipment_id, status, version as i64 + 1));
    }
}

#[test]
fn event_type_names_match_the_schema_symbols() {
    let order_id = Uuid::now_v7();
    let event = order_event(order_id, OrderEventType::OrderCancelled, 2);
    assert_eq!(event.event_type_name(), "ORDER_CANCELLED");
    let Json::String(serialized) = serde_json::to_value(event.event_type).expect("serialises") else {
        panic!("event type serialises as a string");
    };
    assert_eq!(serialized, event.event_type_name());
}

#[test]
fn a_value_shorter_than_the_header_is_rejected() {
    assert_eq!(split_wire_format(&[0, 0, 1]), Err(DecodeError::TooShort(3)));
    assert_eq!(split_wire_format(&[]), Err(DecodeError::TooShort(0)));
}

#[test]
fn a_wrong_magic_byte_is_rejected() {
    assert_eq!(split_wire_format(&[1, 0, 0, 0, 7, 2]), Err(DecodeError::BadMagicByte(1)));
}

#[test]
fn a_record_of_another_topic_is_rejected_by_name() {
    let payment = payment_event(Uuid::now_v7(), Uuid::now_v7(), PaymentEventType::PaymentCaptured, 3);
    let datum = apache_avro::writer::datum::GenericDatumWriter::builder(PaymentEvent::schema())
        .build()
        .and_then(|writer| writer.write_ser_to_vec(&payment))
        .expect("encodes");
    let error = decode_datum::<OrderEvent>(9, PaymentEvent::schema(), &datum, OrderEvent::schema()).unwrap_err();
    assert!(matches!(error, DecodeError::WrongRecordType { schema_id: 9, .. }), "{error}");
}

#[test]
fn a_truncated_datum_is_rejected() {
    let order = order_event(Uuid::now_v7(), OrderEventType::OrderPlaced, 1);
    let datum = apache_avro::writer::datum::GenericDatumWriter::builder(OrderEvent::schema())
        .build()
        .and_then(|writer| writer.write_ser_to_vec(&order))
        .expect("encodes");
    let truncated = &datum[..datum.len() / 2];
    let error = decode_datum::<OrderEvent>(4, OrderEvent::schema(), truncated, OrderEvent::schema()).unwrap_err();
    assert!(matches!(error, DecodeError::MalformedDatum { schema_id: 4, .. }), "{error}");
}

#[test]
fn trailing_bytes_after_a_datum_are_rejected() {
    let order = order_event(Uuid::now_v7(), OrderEventType::OrderPlaced, 1);
    let mut datum = apache_avro::writer::datum::GenericDatumWriter::builder(OrderEvent::schema())
        .build()
        .and_then(|writer| writer.write_ser_to_vec(&order))
        .expect("encodes");
    datum.extend_from_slice(&[1, 2, 3]);
    let error = decode_datum::<OrderEvent>(4, OrderEvent::schema(), &datum, OrderEvent::schema()).unwrap_err();
    assert_eq!(error, DecodeError::TrailingBytes { schema_id: 4, trailing: 3 });
}

proptest::proptest! {
    /// Arbitrary bytes never panic the decoder; they are a typed error or, rarely, a valid event.
    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
        if let Ok((schema_id, datum)) = split_wire_format(&bytes) {
            let _ = decode_datum::<OrderEvent>(schema_id, OrderEvent::schema(), datum, OrderEvent::schema());
            let _ = decode_datum::<PaymentEvent>(schema_id, PaymentEvent::schema(), datum, PaymentEvent::schema());
            let _ = decode_datum::<ShipmentEvent>(schema_id, ShipmentEvent::schema(), datum, ShipmentEvent::schema());
        }
    }
}
