//! `POST /orders/{id}/cancel`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use testkit::Database;
use uuid::Uuid;

use crate::helpers::{TestApp, id_of, on_both_databases, status_and_json};

fn time(order: &Value, field: &str) -> DateTime<Utc> {
    order[field].as_str().unwrap_or_else(|| panic!("{field} is text")).parse().expect("rfc 3339")
}

async fn cancelling_a_placed_order_records_when_and_why(database: Database) {
    let app = TestApp::spawn(database).await;
    let placed = app.place_order("cust-0042").await;
    let id = id_of(&placed);

    let (status, cancelled) =
        status_and_json(app.cancel_order(&id, Some(&json!({"reason": " ordered twice "}))).await).await;

    assert_eq!(status, 200);
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["version"], 2);
    assert_eq!(cancelled["cancellation_reason"], "ordered twice");
    assert!(time(&cancelled, "cancelled_at") >= time(&placed, "created_at"));
    let unchanged = [
        "id",
        "customer_id",
        "customer_name",
        "customer_email",
        "currency",
        "items",
        "total",
        "shipping_address",
        "created_at",
    ];
    for field in unchanged {
        assert_eq!(cancelled[field], placed[field], "{field} is unchanged");
    }
    assert_eq!(app.count("select count(*) from outbox").await, 2, "one event per change");
}

async fn concurrent_cancellations_let_exactly_one_win(database: Database) {
    let app = TestApp::spawn(database).await;
    let id = id_of(&app.place_order("cust-0042").await);

    let mut attempts = tokio::task::JoinSet::new();
    for attempt in 0..5 {
        let request = app
            .service
            .client
            .post(app.service.url(&format!("/orders/{id}/cancel")))
            .bearer_auth(testkit::TEST_WRITE_TOKEN);
        let reason = json!({"reason": format!("attempt {attempt}")});
        attempts.spawn(async move { request.json(&reason).send().await.expect("request sent").status().as_u16() });
    }
    let mut statuses = attempts.join_all().await;
    statuses.sort_unstable();

    assert_eq!(statuses, [200, 409, 409, 409, 409]);
    let (_, order) = status_and_json(app.service.get(&format!("/orders/{id}")).await).await;
    assert_eq!(order["version"], 2);
    assert_eq!(app.count("select count(*) from outbox").await, 2, "the losers wrote no event");
}

on_both_databases!(cancelling_a_placed_order_records_when_and_why, concurrent_cancellations_let_exactly_one_win);

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_without_a_body_or_with_a_blank_reason_records_no_reason() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let first = id_of(&app.place_order("cust-0042").await);
    let second = id_of(&app.place_order("cust-0042").await);
    let third = id_of(&app.place_order("cust-0042").await);

    for (id, body) in [(&first, None), (&second, Some(json!({}))), (&third, Some(json!({"reason": "  "})))] {
        let (status, cancelled) = status_and_json(app.cancel_order(id, body.as_ref()).await).await;
        assert_eq!(status, 200, "{body:?}: {cancelled}");
        assert_eq!(cancelled["status"], "CANCELLED");
        assert_eq!(cancelled["cancellation_reason"], Value::Null);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_cancelled_order_is_a_conflict() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let id = id_of(&app.place_order("cust-0042").await);
    let (_, cancelled) = status_and_json(app.cancel_order(&id, None).await).await;

    let (status, body) = status_and_json(app.cancel_order(&id, Some(&json!({"reason": "again"}))).await).await;

    assert_eq!((status, body), (409, json!({"error": "order is already cancelled"})));
    let (_, order) = status_and_json(app.service.get(&format!("/orders/{id}")).await).await;
    assert_eq!(order, cancelled, "the order is unchanged");
    assert_eq!(app.count("select count(*) from outbox").await, 2, "no event for a refused change");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_an_unknown_order_is_404_and_a_malformed_id_is_400() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let unknown = Uuid::now_v7();

    let (status, body) = status_and_json(app.cancel_order(&unknown.to_string(), None).await).await;
    assert_eq!((status, body), (404, json!({"error": format!("order {unknown} not found")})));

    let (status, body) = status_and_json(app.cancel_order("order-1", None).await).await;
    assert_eq!((status, body), (400, json!({"error": "order id must be a uuid", "field": "id"})));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_cancellation_body_is_rejected_and_changes_nothing() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let placed = app.place_order("cust-0042").await;
    let id = id_of(&placed);
    let cancel_url = app.service.url(&format!("/orders/{id}/cancel"));

    let cases: [(&str, &str, u16, Option<&str>); 5] = [
        ("oversized reason", &format!(r#"{{"reason": "{}"}}"#, "r".repeat(501)), 422, Some("reason")),
        ("reason of the wrong type", r#"{"reason": 5}"#, 422, Some("reason")),
        ("unknown field", r#"{"why": "no"}"#, 422, None),
        ("malformed json", r#"{"reason": "#, 400, None),
        ("not an object", r#""no""#, 422, None),
    ];
    for (what, body, expected_status, expected_field) in cases {
        let response = app
            .service
            .client
            .post(&cancel_url)
            .bearer_auth(testkit::TEST_WRITE_TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request sent");
        let (status, answer) = status_and_json(response).await;
        assert_eq!(status, expected_status, "{what}: {answer}");
        if let Some(field) = expected_field {
            assert_eq!(answer["field"], field, "{what}: {answer}");
        }
    }

    let (_, order) = status_and_json(app.service.get(&format!("/orders/{id}")).await).await;
    assert_eq!(order, placed, "the order is still placed");
}
