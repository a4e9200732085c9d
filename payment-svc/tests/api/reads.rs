//! `GET /payments?order_id=` and the service's own documentation.

use reqwest::StatusCode;
use serde_json::Value;
use testkit::{Database, on_both_databases, status_and_json};
use uuid::Uuid;

use crate::helpers::{TestApp, id_of};

on_both_databases!(an_orders_payments_are_listed_oldest_first);

async fn an_orders_payments_are_listed_oldest_first(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let other_order_id = Uuid::now_v7();
    let first = app.create_payment(order_id, 100).await;
    let other = app.create_payment(other_order_id, 100).await;
    let second = app.create_payment(order_id, 200_000).await;
    let third = app.create_payment(order_id, 300).await;
    let captured_first = app.change_payment(&first, "capture").await;

    let (status, list) = status_and_json(app.service.get(&format!("/payments?order_id={order_id}")).await).await;
    assert_eq!(status, StatusCode::OK);
    let payments = list["payments"].as_array().expect("a payments array");
    assert_eq!(payments, &vec![captured_first, second, third], "the current state of each, oldest first");

    let (_, list) = status_and_json(app.service.get(&format!("/payments?order_id={other_order_id}")).await).await;
    assert_eq!(
        list["payments"].as_array().map(|payments| payments.iter().map(id_of).collect::<Vec<_>>()),
        Some(vec![id_of(&other)])
    );

    let (status, list) =
        status_and_json(app.service.get(&format!("/payments?order_id={}", Uuid::now_v7())).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["payments"], Value::Array(vec![]), "an order without payments has an empty list");
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_needs_a_valid_order_id() {
    let app = TestApp::spawn(Database::Sqlite).await;
    for query in
        ["", "?order_id=", "?order_id=42", "?order_id=not-a-uuid", "?order=0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a"]
    {
        let (status, error) = status_and_json(app.service.get(&format!("/payments{query}")).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
        assert_eq!(error["field"], "order_id", "{query}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_every_route_and_schema() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let (status, document) = status_and_json(app.service.get("/openapi.json").await).await;
    assert_eq!(status, StatusCode::OK);
    let operations = [
        ("/payments", "post"),
        ("/payments", "get"),
        ("/payments/{id}", "get"),
        ("/payments/{id}/capture", "post"),
        ("/payments/{id}/refund", "post"),
        ("/admin/faults", "put"),
    ];
    for (path, method) in operations {
        assert!(document["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    for schema in
        ["CreatePaymentRequest", "PaymentResponse", "PaymentList", "PaymentMethod", "PaymentStatus", "ErrorBody"]
    {
        assert!(document["components"]["schemas"][schema].is_object(), "{schema} is documented");
    }
    let required = &document["components"]["schemas"]["CreatePaymentRequest"]["required"];
    for field in ["order_id", "amount", "currency", "method"] {
        assert!(required.as_array().is_some_and(|fields| fields.contains(&Value::from(field))), "{field} is required");
    }

    let health = app.service.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
}
