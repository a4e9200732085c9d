//! `POST /payments`: the decline rule, the response, and every kind of bad input.

use chrono::{DateTime, Utc};
use payment_svc::PaymentRules;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};
use testkit::{Database, on_both_databases, status_and_json};
use uuid::Uuid;

use crate::helpers::{TestApp, id_of, payment_body};

fn rfc3339_utc(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().expect("timestamp is a string");
    assert!(text.ends_with('Z'), "{text} is in UTC");
    DateTime::parse_from_rfc3339(text).expect("rfc 3339").with_timezone(&Utc)
}

on_both_databases!(
    an_amount_within_the_limit_is_authorized_even_for_an_order_nobody_knows,
    an_amount_above_the_limit_is_declined_with_the_reason,
);

/// The order id is random: payment-svc holds no reference to order-svc's data and accepts it.
async fn an_amount_within_the_limit_is_authorized_even_for_an_order_nobody_knows(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let body = json!({"order_id": order_id, "amount": 4999, "currency": "EUR", "method": "BANK_TRANSFER"});

    let response = app.service.post_json("/payments", &body).await;
    let location = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()).map(str::to_string);
    let (status, payment) = status_and_json(response).await;

    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let id = Uuid::parse_str(id_of(&payment)).expect("id is a uuid");
    assert_eq!(id.get_version_num(), 7, "ids are uuid v7");
    assert_eq!(location, Some(format!("/payments/{id}")));
    assert_eq!(payment["order_id"], json!(order_id));
    assert_eq!(payment["amount"], 4999);
    assert_eq!(payment["currency"], "EUR");
    assert_eq!(payment["method"], "BANK_TRANSFER");
    assert_eq!(payment["status"], "AUTHORIZED");
    assert_eq!(payment["decline_reason"], Value::Null);
    assert_eq!(payment["version"], 1);
    assert_eq!(rfc3339_utc(&payment["created_at"]), rfc3339_utc(&payment["updated_at"]));

    let (status, read_back) = status_and_json(app.service.get(&format!("/payments/{id}")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read_back, payment, "a read returns exactly what the create answered");
    assert_eq!(app.payment_rows_of_order(order_id).await, 1);
}

async fn an_amount_above_the_limit_is_declined_with_the_reason(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();

    let declined = app.create_payment(order_id, 100_001).await;
    assert_eq!(declined["status"], "DECLINED");
    assert_eq!(declined["decline_reason"], "amount above the authorization limit");
    assert_eq!(declined["version"], 1);

    let at_the_limit = app.create_payment(order_id, 100_000).await;
    assert_eq!(at_the_limit["status"], "AUTHORIZED", "the limit itself is allowed");
    assert_eq!(at_the_limit["decline_reason"], Value::Null);

    let (_, read_back) = status_and_json(app.service.get(&format!("/payments/{}", id_of(&declined))).await).await;
    assert_eq!(read_back, declined);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_authorization_limit_comes_from_the_configured_rules() {
    let app = TestApp::spawn_with_rules(Database::Sqlite, PaymentRules::new(500)).await;
    let order_id = Uuid::now_v7();
    assert_eq!(app.create_payment(order_id, 500).await["status"], "AUTHORIZED");
    assert_eq!(app.create_payment(order_id, 501).await["status"], "DECLINED");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_are_refused_naming_the_field_and_create_nothing() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    let valid = payment_body(order_id, 1_000);
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body.to_string()
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().expect("object").remove(field);
        body.to_string()
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let cases: Vec<(String, StatusCode, Option<&str>)> = vec![
        // not JSON at all
        (r#"{"order_id": "#.to_string(), StatusCode::BAD_REQUEST, None),
        ("".to_string(), StatusCode::BAD_REQUEST, None),
        // missing fields
        (without("order_id"), unprocessable, Some("order_id")),
        (without("amount"), unprocessable, Some("amount")),
        (without("currency"), unprocessable, Some("currency")),
        (without("method"), unprocessable, Some("method")),
        (with("amount", Value::Null), unprocessable, Some("amount")),
        // wrong types
        (with("order_id", json!(42)), unprocessable, Some("order_id")),
        (with("amount", json!("1000")), unprocessable, Some("amount")),
        (with("amount", json!(10.5)), unprocessable, Some("amount")),
        (with("amount", json!(1e30)), unprocessable, Some("amount")),
        (with("currency", json!(["EUR"])), unprocessable, Some("currency")),
        (with("method", json!({"type": "CARD"})), unprocessable, Some("method")),
        // wrong values
        (with("order_id", json!("order-1")), unprocessable, Some("order_id")),
        (with("order_id", json!("00000000-0000-0000-0000-000000000000")), unprocessable, Some("order_id")),
        (with("amount", json!(0)), unprocessable, Some("amount")),
        (with("amount", json!(-100)), unprocessable, Some("amount")),
        (with("amount", json!(100_000_000_001_i64)), unprocessable, Some("amount")),
        (with("amount", json!(i64::MAX)), unprocessable, Some("amount")),
        (with("currency", json!("XXX")), unprocessable, Some("currency")),
        (with("currency", json!("eur")), unprocessable, Some("currency")),
        (with("method", json!("CASH")), unprocessable, Some("method")),
        (with("method", json!("card")), unprocessable, Some("method")),
    ];
    for (body, expected_status, expected_field) in cases {
        let response = app
            .service
            .client
            .post(app.service.url("/payments"))
            .bearer_auth(testkit::TEST_WRITE_TOKEN)
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("service answers");
        let (status, error) = status_and_json(response).await;
        assert_eq!(status, expected_status, "{body} -> {error}");
        assert_eq!(error["field"].as_str(), expected_field, "{body} -> {error}");
        let message = error["error"].as_str().expect("an error message");
        assert!(!message.is_empty() && !message.ends_with('.'), "{message}");
    }

    let unknown_field = with("tip", json!(100));
    let (status, error) = status_and_json(
        app.service
            .client
            .post(app.service.url("/payments"))
            .bearer_auth(testkit::TEST_WRITE_TOKEN)
            .header(CONTENT_TYPE, "application/json")
            .body(unknown_field)
            .send()
            .await
            .expect("service answers"),
    )
    .await;
    assert_eq!((status, error["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("tip")), "{error}");

    let not_json = app
        .service
        .client
        .post(app.service.url("/payments"))
        .bearer_auth(testkit::TEST_WRITE_TOKEN)
        .header(CONTENT_TYPE, "text/plain")
        .body(valid.to_string())
        .send()
        .await
        .expect("service answers");
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(app.payment_rows_of_order(order_id).await, 0, "nothing was created");
    assert_eq!(app.count("select count(*) from outbox where topic = $1", "payments").await, 0, "nothing was published");
}
