//! `Idempotency-Key` on `POST /payments`: a retry gets the first answer and creates nothing.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde_json::Value;
use testkit::{Database, on_both_databases};
use uuid::Uuid;

use crate::helpers::{TestApp, events_of, id_of, payment_body};

struct Answer {
    status: StatusCode,
    location: Option<String>,
    replayed: bool,
    body: String,
}

async fn create_with_key(app: &TestApp, key: &str, body: &str) -> Answer {
    let response = app
        .service
        .client
        .post(app.service.url("/payments"))
        .bearer_auth(testkit::TEST_WRITE_TOKEN)
        .header("Idempotency-Key", key)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("service answers");
    let header = |name| response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_string);
    let location = header(LOCATION.as_str());
    let replayed = header("idempotent-replayed").as_deref() == Some("true");
    Answer { status: response.status(), location, replayed, body: response.text().await.expect("body") }
}

on_both_databases!(
    a_retry_with_the_same_key_gets_the_first_response_and_creates_nothing,
    a_key_reused_with_a_different_body_is_refused,
    concurrent_retries_with_one_key_create_one_payment,
);

async fn a_retry_with_the_same_key_gets_the_first_response_and_creates_nothing(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let key = format!("create-{}", Uuid::now_v7());
    let body = payment_body(order_id, 1_234).to_string();

    let first = create_with_key(&app, &key, &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(!first.replayed);

    // the same request, written differently: other key order and whitespace
    let reordered =
        format!("{{ \"method\": \"CARD\", \"currency\": \"EUR\", \"amount\": 1234, \"order_id\": \"{order_id}\" }}");
    for retry_body in [&body, &reordered] {
        let retry = create_with_key(&app, &key, retry_body).await;
        assert_eq!(retry.status, first.status);
        assert_eq!(retry.body, first.body, "the first response, byte for byte");
        assert_eq!(retry.location, first.location);
        assert!(retry.replayed, "a replay says so");
    }
    assert_eq!(app.payment_rows_of_order(order_id).await, 1, "no second payment");
    assert_eq!(app.outbox_rows_of_order(order_id).await, 1, "no second event");

    // The same body under a new key is a new payment.
    let another = create_with_key(&app, &format!("create-{}", Uuid::now_v7()), &body).await;
    assert_eq!(another.status, StatusCode::CREATED);
    assert_ne!(another.body, first.body);
    assert_eq!(app.payment_rows_of_order(order_id).await, 2);

    // On the topic: the keyed payment's one event, then the second payment's, and nothing
    // else, in outbox order (one key, one partition).
    let first_payment: Value = serde_json::from_str(&first.body).expect("json");
    let another_payment: Value = serde_json::from_str(&another.body).expect("json");
    let received = app.read_events(|received| !events_of(received, id_of(&another_payment)).is_empty()).await;
    let ids: Vec<String> = received.iter().map(|record| record.event.aggregate_id.to_string()).collect();
    assert_eq!(ids, vec![id_of(&first_payment).to_string(), id_of(&another_payment).to_string()]);
}

async fn a_key_reused_with_a_different_body_is_refused(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let key = "order-2026-11-22-0001";
    let first = create_with_key(&app, key, &payment_body(order_id, 1_000).to_string()).await;
    assert_eq!(first.status, StatusCode::CREATED);

    let different = create_with_key(&app, key, &payment_body(order_id, 2_000).to_string()).await;
    assert_eq!(different.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", different.body);
    let error: Value = serde_json::from_str(&different.body).expect("json error");
    assert_eq!(error["field"], "Idempotency-Key");
    assert_eq!(app.payment_rows_of_order(order_id).await, 1);
    assert_eq!(app.outbox_rows_of_order(order_id).await, 1);
}

/// Whoever wins the race, every request gets the one payment's 201 and only one row exists.
async fn concurrent_retries_with_one_key_create_one_payment(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let key = format!("burst-{}", Uuid::now_v7());
    let body = payment_body(order_id, 777).to_string();

    let retries = (0..6).map(|_| create_with_key(&app, &key, &body));
    // joined on one task, so the requests are in flight together
    let answers = futures::future::join_all(retries).await;

    let first_body = &answers[0].body;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        assert_eq!(&answer.body, first_body, "every request sees the same payment");
    }
    assert_eq!(answers.iter().filter(|answer| !answer.replayed).count(), 1, "exactly one request created it");
    assert_eq!(app.payment_rows_of_order(order_id).await, 1);
    assert_eq!(app.outbox_rows_of_order(order_id).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_key_is_a_bad_request() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    for key in ["has space".to_string(), "k".repeat(256)] {
        let answer = create_with_key(&app, &key, &payment_body(order_id, 1_000).to_string()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        let error: Value = serde_json::from_str(&answer.body).expect("json error");
        assert_eq!(error["field"], "Idempotency-Key");
    }
    assert_eq!(app.payment_rows_of_order(order_id).await, 0);
}
