//! REST changes reach the `shipments` topic as Avro events, through the outbox and the relay.

use chrono::{DateTime, Utc};
use events::{ShipmentEvent, ShipmentEventType, ShipmentStatus, headers};
use serde_json::{Value, json};
use testkit::{Database, Received, on_both_databases};
use uuid::Uuid;

use crate::helpers::{TestApp, create_body};

on_both_databases!(each_change_publishes_one_event_carrying_the_full_state);

const CREATE_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const DISPATCH_TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

async fn each_change_publishes_one_event_carrying_the_full_state(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();

    let created = app
        .service
        .client
        .post(app.service.url("/shipments"))
        .bearer_auth(testkit::TEST_WRITE_TOKEN)
        .header("traceparent", CREATE_TRACEPARENT)
        .json(&create_body(order_id))
        .send()
        .await
        .expect("service answers");
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json body");
    let id = created["id"].as_str().expect("an id");

    let dispatched = app
        .service
        .client
        .post(app.service.url(&format!("/shipments/{id}/status")))
        .bearer_auth(testkit::TEST_WRITE_TOKEN)
        .header("traceparent", DISPATCH_TRACEPARENT)
        .json(&json!({"status": "DISPATCHED", "location": "Amsterdam depot", "note": "picked up"}))
        .send()
        .await
        .expect("service answers");
    assert_eq!(dispatched.status(), 200);
    let dispatched: Value = dispatched.json().await.expect("json body");

    let events = app.read_events_of_order(order_id, |events| events.len() >= 2).await;

    assert_eq!(events.len(), 2, "one event per change: {events:?}");
    assert_event_matches(&events[0], &created, ShipmentEventType::ShipmentCreated, CREATE_TRACEPARENT);
    assert_event_matches(&events[1], &dispatched, ShipmentEventType::ShipmentStatusChanged, DISPATCH_TRACEPARENT);
    assert_eq!(events[0].partition, events[1].partition, "one order's events share a partition");
    assert!(events[0].offset < events[1].offset, "in the order they happened");
    assert_eq!(events[1].event.shipment.status, ShipmentStatus::Dispatched);
    assert_eq!(events[1].event.shipment.last_location.as_deref(), Some("Amsterdam depot"));
    assert_eq!(events[1].event.shipment.note.as_deref(), Some("picked up"));
}

/// The record is keyed by the order, carries the headers, and its event holds exactly the
/// state the API answered with.
fn assert_event_matches(
    record: &Received<ShipmentEvent>,
    shipment: &Value,
    event_type: ShipmentEventType,
    traceparent: &str,
) {
    let event = &record.event;
    let order_id = shipment["order_id"].as_str().expect("an order id");
    assert_eq!(record.key, order_id, "keyed by order id");
    assert_eq!(record.header(headers::EVENT_ID), Some(event.event_id.to_string().as_str()));
    assert_eq!(event.event_id.get_version_num(), 7, "a fresh uuid v7 per event");
    assert_eq!(record.header(headers::EVENT_TYPE), Some(event_type.as_str()));
    assert_eq!(record.header(headers::TRACEPARENT), Some(traceparent), "the request's traceparent, unchanged");
    assert_eq!(event.event_type, event_type);
    assert_eq!(event.order_id.to_string(), order_id);
    assert_eq!(event.aggregate_id.to_string(), shipment["id"].as_str().expect("an id"));
    assert_eq!(Some(event.aggregate_version), shipment["version"].as_i64());
    assert_eq!(event.occurred_at, timestamp(&shipment["updated_at"]));

    let state = &event.shipment;
    assert_eq!(json!(state.shipment_id), shipment["id"]);
    assert_eq!(json!(state.order_id), shipment["order_id"]);
    assert_eq!(state.carrier, shipment["carrier"].as_str().expect("a carrier"));
    assert_eq!(state.tracking_number, shipment["tracking_number"].as_str().expect("a tracking number"));
    let address = &shipment["address"];
    assert_eq!(state.address.line1, address["line1"].as_str().expect("line1"));
    assert_eq!(state.address.line2.as_deref(), address["line2"].as_str());
    assert_eq!(state.address.city, address["city"].as_str().expect("city"));
    assert_eq!(state.address.postal_code, address["postal_code"].as_str().expect("postal code"));
    assert_eq!(state.address.country, address["country"].as_str().expect("country"));
    assert_eq!(json!(state.status), shipment["status"]);
    assert_eq!(state.last_location.as_deref(), shipment["last_location"].as_str());
    assert_eq!(state.note.as_deref(), shipment["note"].as_str());
    assert_eq!(state.created_at, timestamp(&shipment["created_at"]));
    assert_eq!(state.updated_at, timestamp(&shipment["updated_at"]));
}

fn timestamp(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().expect("a timestamp");
    DateTime::parse_from_rfc3339(text).expect("rfc 3339").with_timezone(&Utc)
}
