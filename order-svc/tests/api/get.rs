//! `GET /orders/{id}`.

use serde_json::json;
use testkit::Database;
use uuid::Uuid;

use crate::helpers::{TestApp, id_of, on_both_databases, status_and_json};

async fn reading_an_order_returns_its_latest_state(database: Database) {
    let app = TestApp::spawn(database).await;
    let placed = app.place_order("cust-0042").await;
    let id = id_of(&placed);

    let (status, read) = status_and_json(app.service.get(&format!("/orders/{id}")).await).await;
    assert_eq!((status, read), (200, placed));

    let (_, cancelled) = status_and_json(app.cancel_order(&id, Some(&json!({"reason": "too slow"}))).await).await;
    let (status, read) = status_and_json(app.service.get(&format!("/orders/{id}")).await).await;
    assert_eq!((status, read), (200, cancelled));
}

async fn an_uppercase_id_finds_the_same_order(database: Database) {
    let app = TestApp::spawn(database).await;
    let placed = app.place_order("cust-0042").await;

    let (status, read) =
        status_and_json(app.service.get(&format!("/orders/{}", id_of(&placed).to_uppercase())).await).await;

    assert_eq!((status, read), (200, placed));
}

on_both_databases!(reading_an_order_returns_its_latest_state, an_uppercase_id_finds_the_same_order);

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_order_is_404_and_a_malformed_id_is_400() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let unknown = Uuid::now_v7();

    let (status, body) = status_and_json(app.service.get(&format!("/orders/{unknown}")).await).await;
    assert_eq!((status, body), (404, json!({"error": format!("order {unknown} not found")})));

    for malformed in ["not-a-uuid", "42", "0196f3a2-7b1c-7d4e-8f00-0123456789a", "%20"] {
        let (status, body) = status_and_json(app.service.get(&format!("/orders/{malformed}")).await).await;
        assert_eq!((status, body), (400, json!({"error": "order id must be a uuid", "field": "id"})), "{malformed}");
    }
}
