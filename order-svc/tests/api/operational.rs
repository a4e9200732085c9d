//! What the shared runtime adds around the orders API: OpenAPI, health and JSON errors.

use serde_json::Value;
use testkit::Database;

use crate::helpers::{TestApp, status_and_json};

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_every_route_and_error_body() {
    let app = TestApp::spawn(Database::Sqlite).await;

    let (status, document) = status_and_json(app.service.get("/openapi.json").await).await;

    assert_eq!(status, 200);
    let operations = [
        ("/orders", "post"),
        ("/orders", "get"),
        ("/orders/{id}", "get"),
        ("/orders/{id}/cancel", "post"),
        ("/admin/faults", "put"),
    ];
    for (path, method) in operations {
        assert!(document["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    for schema in ["CreateOrderRequest", "LineItemRequest", "AddressInput", "OrderResponse", "OrderPage", "ErrorBody"] {
        assert!(document["components"]["schemas"][schema].is_object(), "schema {schema} is documented");
    }
    let create_responses = &document["paths"]["/orders"]["post"]["responses"];
    assert!(create_responses["201"].is_object() && create_responses["422"].is_object());
}

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_unknown_routes_answer_json() {
    let app = TestApp::spawn(Database::Sqlite).await;

    assert_eq!(app.service.get("/healthz").await.status(), 200);
    let (status, readiness) = status_and_json(app.service.get("/readyz").await).await;
    assert_eq!(status, 200, "{readiness}");

    let (status, body) =
        status_and_json(app.service.client.delete(app.service.url("/healthz")).send().await.expect("sent")).await;
    assert_eq!(status, 405);
    assert!(body["error"].is_string());
    let (status, body) = status_and_json(app.service.get("/orders/x/y").await).await;
    assert_eq!(status, 404);
    assert_ne!(body["error"], Value::Null);
}
