//! The codec against a running registry: every event type round-trips, and `payments-value`
//! evolves under the registry's compatibility rules with readers and writers on either version.

use apache_avro::Schema;
use apache_avro::types::Value as AvroValue;
use events::samples::{order_event, payment_event, shipment_event};
use events::*;
use serde_json::{Value as Json, json};
use uuid::Uuid;

struct Registry {
    running: schema_registry::RunningRegistry,
    _data_dir: tempfile::TempDir,
}

impl Registry {
    async fn start() -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let running = schema_registry::spawn(data_dir.path(), listener).await.expect("registry starts");
        Self { running, _data_dir: data_dir }
    }

    fn url(&self) -> String {
        self.running.url()
    }

    async fn post(&self, path: &str, body: Json) -> (u16, Json) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.url()))
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .json(&body)
            .send()
            .await
            .expect("registry answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    async fn put(&self, path: &str, body: Json) -> u16 {
        let response = reqwest::Client::new()
            .put(format!("{}{path}", self.url()))
            .json(&body)
            .send()
            .await
            .expect("registry answers");
        response.status().as_u16()
    }
}

fn codec(registry: &Registry) -> EventCodec {
    EventCodec::new(&RegistryConfig::new(registry.url())).expect("codec")
}

#[tokio::test]
async fn every_event_type_round_trips_through_the_registry() {
    let registry = Registry::start().await;
    let codec = codec(&registry);
    let order_id = Uuid::now_v7();
    for event in [
        order_event(order_id, OrderEventType::OrderPlaced, 1),
        order_event(order_id, OrderEventType::OrderCancelled, 2),
    ] {
        let bytes = codec.encode(&event).await.expect("encodes");
        assert_eq!(bytes[0], 0, "confluent magic byte");
        assert_eq!(codec.decode::<OrderEvent>(Some(&bytes)).await.expect("decodes"), event);
    }
    let payment_id = Uuid::now_v7();
    for (version, event_type) in [
        PaymentEventType::PaymentAuthorized,
        PaymentEventType::PaymentDeclined,
        PaymentEventType::PaymentCaptured,
        PaymentEventType::PaymentRefunded,
    ]
    .into_iter()
    .enumerate()
    {
        let event = payment_event(order_id, payment_id, event_type, version as i64 + 1);
        let bytes = codec.encode(&event).await.expect("encodes");
        assert_eq!(codec.decode::<PaymentEvent>(Some(&bytes)).await.expect("decodes"), event);
    }
    let shipment_id = Uuid::now_v7();
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
        let event = shipment_event(order_id, shipment_id, status, version as i64 + 1);
        let bytes = codec.encode(&event).await.expect("encodes");
        assert_eq!(codec.decode::<ShipmentEvent>(Some(&bytes)).await.expect("decodes"), event);
    }
}

/// `payments.avsc` with one more optional field, `risk_score`, that has a default.
fn payments_v2_text() -> String {
    let mut schema: Json = serde_json::from_str(PaymentEvent::SCHEMA_TEXT).expect("json");
    let payment_fields = schema["fields"][6]["type"]["fields"].as_array_mut().expect("payment record fields");
    payment_fields.push(json!({"name": "risk_score", "type": ["null", "int"], "default": null}));
    schema.to_string()
}

/// `payments.avsc` edited by `edit` on the payment record's field list.
fn payments_with(edit: impl FnOnce(&mut Vec<Json>)) -> String {
    let mut schema: Json = serde_json::from_str(PaymentEvent::SCHEMA_TEXT).expect("json");
    edit(schema["fields"][6]["type"]["fields"].as_array_mut().expect("payment record fields"));
    schema.to_string()
}

fn record_field<'a>(record: &'a AvroValue, name: &str) -> &'a AvroValue {
    let AvroValue::Record(fields) = record else { panic!("not a record: {record:?}") };
    fields.iter().find(|(field, _)| field == name).map(|(_, value)| value).unwrap_or_else(|| panic!("no field {name}"))
}

#[tokio::test]
async fn a_backward_compatible_v2_is_accepted_and_both_versions_read_each_other() {
    let registry = Registry::start().await;
    let codec = codec(&registry);
    let v1_id = codec.register::<PaymentEvent>().await.expect("v1 registers");

    let v2_text = payments_v2_text();
    let (status, body) = registry.post("/subjects/payments-value/versions", json!({"schema": v2_text})).await;
    assert_eq!(status, 200, "v2 with an optional field is backward compatible: {body}");
    let v2_id = u32::try_from(body["id"].as_u64().expect("id")).expect("id fits");
    assert_ne!(v1_id, v2_id);
    let v2_schema = Schema::parse_str(&v2_text).expect("v2 parses");

    // an old reader (this build) reads a record a v2 writer wrote: the new field is skipped
    let event = payment_event(Uuid::now_v7(), Uuid::now_v7(), PaymentEventType::PaymentCaptured, 2);
    let mut v2_value = apache_avro::to_value(&event).expect("to value");
    let AvroValue::Record(fields) = &mut v2_value else { panic!("record") };
    let (_, payment) = fields.iter_mut().find(|(name, _)| name == "payment").expect("payment field");
    let AvroValue::Record(payment_fields) = payment else { panic!("record") };
    payment_fields.push(("risk_score".to_string(), AvroValue::Union(1, Box::new(AvroValue::Int(42)))));
    let v2_value = v2_value.resolve(&v2_schema).expect("value fits v2");
    let mut v2_record = vec![0];
    v2_record.extend_from_slice(&v2_id.to_be_bytes());
    let v2_datum = apache_avro::writer::datum::GenericDatumWriter::builder(&v2_schema)
        .build()
        .and_then(|writer| writer.write_value_to_vec(v2_value))
        .expect("v2 datum");
    v2_record.extend(v2_datum);
    assert_eq!(codec.decode::<PaymentEvent>(Some(&v2_record)).await.expect("old reader decodes v2"), event);

    // a new reader (v2) reads a record this build wrote with v1: the new field takes its default
    let v1_record = codec.encode(&event).await.expect("v1 encodes");
    let read_as_v2 = codec.decode_value(&v1_record, &v2_schema).await.expect("new reader decodes v1");
    let payment = record_field(&read_as_v2, "payment");
    assert_eq!(record_field(payment, "risk_score"), &AvroValue::Union(0, Box::new(AvroValue::Null)));
    assert_eq!(record_field(payment, "status"), &AvroValue::Enum(2, "CAPTURED".to_string()));
}

#[tokio::test]
async fn one_codec_registers_each_version_of_a_subject_under_its_own_id() {
    // a relay registers v1 when it starts and v2 when the service switches: the second answer
    // must be v2's id, or v2 records go out framed with v1's schema and readers reject them
    let registry = Registry::start().await;
    let codec = codec(&registry);
    let v1 = codec.register_schema_text(topics::PAYMENTS, evolution::schema_text_for(topics::PAYMENTS, None).unwrap());
    let v1 = v1.await.expect("v1 registers");
    let v2_text = evolution::schema_text_for(topics::PAYMENTS, Some("v2")).expect("a v2 schema");
    let v2 = codec.register_schema_text(topics::PAYMENTS, v2_text).await.expect("v2 registers");
    assert_ne!(v1, v2, "v2 got v1's id");
    let again = codec.register_schema_text(topics::PAYMENTS, v2_text).await.expect("v2 again");
    assert_eq!(again, v2);
}

#[tokio::test]
async fn changing_a_field_type_is_rejected_naming_the_field() {
    let registry = Registry::start().await;
    codec(&registry).register::<PaymentEvent>().await.expect("v1 registers");
    let retyped = payments_with(|fields| {
        let amount = fields.iter_mut().find(|field| field["name"] == "amount").expect("field");
        amount["type"] = json!("long");
    });
    let (status, body) = registry.post("/subjects/payments-value/versions", json!({"schema": retyped})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error_code"], 409);
    assert!(body["message"].as_str().expect("message").contains("amount"), "{body}");
}

#[tokio::test]
async fn a_new_field_without_a_default_is_rejected_under_backward_naming_the_field() {
    let registry = Registry::start().await;
    codec(&registry).register::<PaymentEvent>().await.expect("v1 registers");
    let required_field = payments_with(|fields| fields.push(json!({"name": "merchant_id", "type": "string"})));
    let (status, body) = registry.post("/subjects/payments-value/versions", json!({"schema": required_field})).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().expect("message").contains("merchant_id"), "{body}");
}

/// Under BACKWARD a reader may drop a field; once old readers must keep working too (FULL),
/// removing a field they need without a default is rejected.
#[tokio::test]
async fn removing_a_field_without_a_default_is_rejected_under_full_naming_the_field() {
    let registry = Registry::start().await;
    codec(&registry).register::<PaymentEvent>().await.expect("v1 registers");
    assert_eq!(registry.put("/config/payments-value", json!({"compatibility": "FULL"})).await, 200);
    let without_method = payments_with(|fields| fields.retain(|field| field["name"] != "method"));
    let (status, body) = registry.post("/subjects/payments-value/versions", json!({"schema": without_method})).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().expect("message").contains("method"), "{body}");
}

#[tokio::test]
async fn malformed_and_unknown_records_give_typed_errors() {
    let registry = Registry::start().await;
    let codec = codec(&registry);
    assert_eq!(codec.decode::<OrderEvent>(None).await, Err(DecodeError::MissingValue));
    assert_eq!(codec.decode::<OrderEvent>(Some(&[0, 0, 0])).await, Err(DecodeError::TooShort(3)));
    assert_eq!(codec.decode::<OrderEvent>(Some(&[7, 0, 0, 0, 1, 2])).await, Err(DecodeError::BadMagicByte(7)));
    assert_eq!(codec.decode::<OrderEvent>(Some(&[0, 0, 0, 4, 0, 2])).await, Err(DecodeError::UnknownSchemaId(1024)));

    let payment = payment_event(Uuid::now_v7(), Uuid::now_v7(), PaymentEventType::PaymentAuthorized, 1);
    let payment_record = codec.encode(&payment).await.expect("encodes");
    let error = codec.decode::<OrderEvent>(Some(&payment_record)).await.unwrap_err();
    assert!(matches!(error, DecodeError::WrongRecordType { .. }), "{error}");

    let order = order_event(Uuid::now_v7(), OrderEventType::OrderPlaced, 1);
    let order_record = codec.encode(&order).await.expect("encodes");
    let truncated = &order_record[..order_record.len() - 10];
    let error = codec.decode::<OrderEvent>(Some(truncated)).await.unwrap_err();
    assert!(matches!(error, DecodeError::MalformedDatum { .. }), "{error}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_registry_that_is_down_is_a_retryable_error() {
    let registry = Registry::start().await;
    let url = registry.url();
    let record = {
        let codec = codec(&registry);
        codec.encode(&order_event(Uuid::now_v7(), OrderEventType::OrderPlaced, 1)).await.expect("encodes")
    };
    registry.running.shutdown().await.expect("registry stops");
    let codec = EventCodec::new(&RegistryConfig::new(url)).expect("codec");
    let error = codec.decode::<OrderEvent>(Some(&record)).await.unwrap_err();
    assert!(matches!(error, DecodeError::RegistryUnavailable(_)), "{error}");
    assert!(error.is_retryable());
}
