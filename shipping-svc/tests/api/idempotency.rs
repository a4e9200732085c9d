//! `Idempotency-Key` on `POST /shipments`.

use events::ShipmentEventType;
use serde_json::{Value, json};
use testkit::{Database, on_both_databases};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, create_body};

on_both_databases!(
    replaying_a_key_answers_the_first_response_and_creates_nothing,
    concurrent_requests_with_one_key_create_one_shipment
);

async fn replaying_a_key_answers_the_first_response_and_creates_nothing(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let key = format!("create-shipment-{}", Uuid::now_v7());
    let body = create_body(order_id);

    let first = app.service.post_with_key("/shipments", &key, &body).await;
    assert_eq!(first.status(), 201);
    assert_eq!(first.headers().get("idempotent-replayed"), None, "a fresh create");
    let first_location = first.headers().get("location").cloned();
    let first_body = first.text().await.expect("body");

    let replayed = app.service.post_with_key("/shipments", &key, &body).await;
    assert_eq!(replayed.status(), 201, "the first status again");
    assert_eq!(replayed.headers().get("location").cloned(), first_location, "the first location again");
    assert_eq!(replayed.headers().get("idempotent-replayed").and_then(|value| value.to_str().ok()), Some("true"));
    assert_eq!(replayed.text().await.expect("body"), first_body, "the first body again, byte for byte");

    let mut other_body = body.clone();
    other_body["carrier"] = json!("PostNL");
    let reused = app.service.post_with_key("/shipments", &key, &other_body).await;
    assert_error(reused, 422, Some("Idempotency-Key"), "the key with another body").await;

    let listed = app.list_shipments(order_id).await;
    assert_eq!(listed.len(), 1, "one shipment, however often the key came");
    let first_shipment: Value = serde_json::from_str(&first_body).expect("json body");
    assert_eq!(listed[0], first_shipment);

    // The relay publishes in commit order and one order's events share a partition, so once
    // this later change is on the topic, any event a replay had caused would be there too.
    let id = first_shipment["id"].as_str().expect("an id");
    app.move_to(id, "DISPATCHED").await;
    let events = app
        .read_events_of_order(order_id, |events| {
            events.iter().any(|record| record.event.event_type == ShipmentEventType::ShipmentStatusChanged)
        })
        .await;
    let event_types: Vec<ShipmentEventType> = events.iter().map(|record| record.event.event_type).collect();
    assert_eq!(
        event_types,
        [ShipmentEventType::ShipmentCreated, ShipmentEventType::ShipmentStatusChanged],
        "one created event, however often the key came"
    );

    let other_key = app.service.post_with_key("/shipments", &format!("{key}-2"), &body).await;
    assert_eq!(other_key.status(), 201, "another key is another shipment");
    assert_eq!(app.list_shipments(order_id).await.len(), 2);
}

async fn concurrent_requests_with_one_key_create_one_shipment(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let key = format!("create-shipment-{}", Uuid::now_v7());
    let body = create_body(order_id);

    let (first, second, third, fourth) = tokio::join!(
        app.service.post_with_key("/shipments", &key, &body),
        app.service.post_with_key("/shipments", &key, &body),
        app.service.post_with_key("/shipments", &key, &body),
        app.service.post_with_key("/shipments", &key, &body),
    );
    let mut bodies = Vec::new();
    for response in [first, second, third, fourth] {
        assert_eq!(response.status(), 201);
        bodies.push(response.text().await.expect("body"));
    }
    assert!(bodies.iter().all(|body| *body == bodies[0]), "every request got the winner's response: {bodies:?}");
    assert_eq!(app.list_shipments(order_id).await.len(), 1, "one shipment");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_idempotency_keys_are_refused() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    for (case, key) in [("a space", "has space".to_string()), ("too long", "k".repeat(256))] {
        let response = app.service.post_with_key("/shipments", &key, &create_body(order_id)).await;
        assert_error(response, 400, Some("Idempotency-Key"), case).await;
    }
    assert!(app.list_shipments(order_id).await.is_empty(), "nothing was created");
}
