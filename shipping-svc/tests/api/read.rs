//! `GET /shipments/{id}`, `GET /shipments?order_id=` and the OpenAPI document.

use serde_json::Value;
use testkit::{Database, on_both_databases};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error};

on_both_databases!(listing_returns_only_the_orders_shipments_oldest_first);

async fn listing_returns_only_the_orders_shipments_oldest_first(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let other_order_id = Uuid::now_v7();
    let mut created_ids = Vec::new();
    for _ in 0..3 {
        let shipment = app.create_shipment(order_id).await;
        created_ids.push(shipment["id"].clone());
        app.create_shipment(other_order_id).await;
    }
    // a change must not reorder the list
    app.move_to(created_ids[0].as_str().expect("an id"), "DISPATCHED").await;

    let listed = app.list_shipments(order_id).await;
    let listed_ids: Vec<Value> = listed.iter().map(|shipment| shipment["id"].clone()).collect();
    assert_eq!(listed_ids, created_ids, "the order's shipments, oldest first");
    assert_eq!(listed[0]["status"], "DISPATCHED", "each with its current state");
    assert_eq!(app.list_shipments(other_order_id).await.len(), 3);
    assert!(app.list_shipments(Uuid::now_v7()).await.is_empty(), "an order without shipments has an empty list");
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_a_shipment_answers_404_for_unknown_ids_and_400_for_malformed_ones() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let shipment = app.create_shipment(Uuid::now_v7()).await;
    let id = shipment["id"].as_str().expect("an id");

    let found = app.service.get(&format!("/shipments/{id}")).await;
    assert_eq!(found.status(), 200);
    assert_eq!(found.json::<Value>().await.expect("json body"), shipment);

    let unknown_id = Uuid::now_v7();
    let not_found = app.service.get(&format!("/shipments/{unknown_id}")).await;
    let body = assert_error(not_found, 404, None, "an unknown id").await;
    assert_eq!(body["error"], format!("shipment {unknown_id} not found"));

    for malformed in ["42", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "%7B%7D"] {
        let response = app.service.get(&format!("/shipments/{malformed}")).await;
        assert_error(response, 400, Some("id"), malformed).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_requires_a_uuid_order_id() {
    let app = TestApp::spawn(Database::Sqlite).await;
    for query in ["", "?order_id=", "?order_id=42", "?orderid=0190163d-8694-739b-aea5-966c26f8ad91"] {
        let response = app.service.get(&format!("/shipments{query}")).await;
        assert_error(response, 400, Some("order_id"), query).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_every_endpoint() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let response = app.service.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.expect("json body");
    let paths = &document["paths"];
    assert!(paths["/shipments"]["post"].is_object(), "create");
    assert!(paths["/shipments"]["get"].is_object(), "list");
    assert!(paths["/shipments/{id}"]["get"].is_object(), "read");
    assert!(paths["/shipments/{id}/status"]["post"].is_object(), "change status");
    assert!(paths["/admin/faults"]["put"].is_object(), "the runtime's admin endpoint");
    let schemas = &document["components"]["schemas"];
    for schema in ["ErrorBody", "ShipmentResponse", "CreateShipmentRequest", "ChangeStatusRequest", "ShipmentStatus"] {
        assert!(schemas[schema].is_object(), "schema {schema}");
    }
}
