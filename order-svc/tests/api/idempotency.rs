//! `Idempotency-Key` on `POST /orders`.

use events::OrderEvent;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::json;
use testkit::{Database, read_topic};

use crate::helpers::{DEADLINE, TestApp, on_both_databases, status_and_json};
use crate::support::{order_body, topic_record_count};

fn idempotency_key(key: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("idempotency-key", HeaderValue::from_str(key).expect("header value"));
    headers
}

/// Sends `body` as it is, so a test controls the exact bytes.
async fn post_raw(app: &TestApp, key: &str, body: String) -> reqwest::Response {
    app.service
        .client
        .post(app.service.url("/orders"))
        .bearer_auth(testkit::TEST_WRITE_TOKEN)
        .headers(idempotency_key(key))
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .expect("request sent")
}

struct Answer {
    status: u16,
    location: Option<String>,
    /// The `Idempotent-Replayed` header, as payment-svc and shipping-svc send it.
    replayed: bool,
    body: String,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).map(|value| value.to_str().expect("ascii").to_string());
    let (location, replayed) = (header("location"), header("idempotent-replayed").as_deref() == Some("true"));
    Answer { status, location, replayed, body: response.text().await.expect("body") }
}

async fn a_retry_with_the_same_key_and_body_replays_the_first_response_and_creates_nothing(database: Database) {
    let app = TestApp::spawn(database).await;
    let body = order_body("cust-0042");
    let first = answer(post_raw(&app, "order-2026-0001", body.to_string()).await).await;
    assert_eq!(first.status, 201);
    app.wait_until_outbox_is_published().await;

    // the same request again, byte for byte, and once more formatted differently
    let retry = answer(post_raw(&app, "order-2026-0001", body.to_string()).await).await;
    let reformatted =
        answer(post_raw(&app, "order-2026-0001", serde_json::to_string_pretty(&body).expect("json")).await).await;

    assert!(!first.replayed);
    for replay in [&retry, &reformatted] {
        assert_eq!(replay.status, first.status);
        assert_eq!(replay.body, first.body, "the first response, byte for byte");
        assert_eq!(replay.location, first.location);
        assert!(replay.replayed, "a replay says so");
    }
    assert_eq!(app.count("select count(*) from orders").await, 1, "no second row");
    assert_eq!(app.count("select count(*) from outbox").await, 1, "no second event");
    assert_eq!(app.count("select count(*) from idempotency_keys").await, 1);
    let received = read_topic::<OrderEvent>(&app.infra, DEADLINE, |received| !received.is_empty()).await;
    assert_eq!(received.len(), 1);
    assert_eq!(topic_record_count(&app.infra, "orders").await, 1, "exactly one record on the topic");
}

async fn reusing_a_key_with_a_different_body_is_rejected(database: Database) {
    let app = TestApp::spawn(database).await;
    let first = answer(post_raw(&app, "order-2026-0002", order_body("cust-0042").to_string()).await).await;
    assert_eq!(first.status, 201);

    let (status, body) =
        status_and_json(post_raw(&app, "order-2026-0002", order_body("cust-0043").to_string()).await).await;

    assert_eq!(
        (status, body),
        (
            422,
            json!({"error": "idempotency key was already used with a different request", "field": "Idempotency-Key"})
        )
    );
    assert_eq!(app.count("select count(*) from orders").await, 1);
    assert_eq!(app.count("select count(*) from outbox").await, 1);

    // keys are what ties requests together: the same body under another key is a new order
    let other_key = answer(post_raw(&app, "order-2026-0003", order_body("cust-0042").to_string()).await).await;
    assert_eq!(other_key.status, 201);
    assert_ne!(other_key.body, first.body);
    assert_eq!(app.count("select count(*) from orders").await, 2);
}

async fn an_expired_key_is_deleted_and_then_stands_for_a_new_request(database: Database) {
    let app = TestApp::spawn(database).await;
    let first = answer(post_raw(&app, "order-2026-0005", order_body("cust-0042").to_string()).await).await;
    assert_eq!(first.status, 201);
    let fresh = answer(post_raw(&app, "order-2026-0006", order_body("cust-0042").to_string()).await).await;
    assert_eq!(fresh.status, 201);
    // the first key was recorded 25 hours ago; the default time to live is 24
    let day_ms = 24 * 3_600_000;
    sqlx::query("update idempotency_keys set created_at_ms = created_at_ms - $1 - 3600000 where idempotency_key = $2")
        .bind(day_ms)
        .bind("order-2026-0005")
        .execute(&app.store.pool)
        .await
        .expect("aged");

    let deleted = source_platform::idempotency::prune(&app.store, source_platform::store::now_ms() - day_ms)
        .await
        .expect("pruned");
    assert_eq!(deleted, 1, "only the expired key");
    assert_eq!(app.count("select count(*) from idempotency_keys").await, 1);
    // the expired key now means a new request, even with another body; the fresh one still replays
    let reused = answer(post_raw(&app, "order-2026-0005", order_body("cust-0043").to_string()).await).await;
    assert_eq!((reused.status, reused.replayed), (201, false));
    assert_ne!(reused.body, first.body);
    let retry = answer(post_raw(&app, "order-2026-0006", order_body("cust-0042").to_string()).await).await;
    assert_eq!((retry.status, retry.replayed, retry.body), (201, true, fresh.body));
}

async fn concurrent_requests_with_one_key_create_one_order(database: Database) {
    let app = TestApp::spawn(database).await;
    let body = order_body("cust-0042").to_string();

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let request = app
            .service
            .client
            .post(app.service.url("/orders"))
            .bearer_auth(testkit::TEST_WRITE_TOKEN)
            .headers(idempotency_key("order-2026-0004"))
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone());
        requests.spawn(async move { answer(request.send().await.expect("request sent")).await });
    }
    let answers = requests.join_all().await;

    for replay in &answers {
        assert_eq!(replay.status, 201, "{}", replay.body);
        assert_eq!(replay.body, answers[0].body, "every request gets the winner's response");
    }
    assert_eq!(app.count("select count(*) from orders").await, 1);
    assert_eq!(app.count("select count(*) from outbox").await, 1);
}

on_both_databases!(
    a_retry_with_the_same_key_and_body_replays_the_first_response_and_creates_nothing,
    reusing_a_key_with_a_different_body_is_rejected,
    concurrent_requests_with_one_key_create_one_order,
    an_expired_key_is_deleted_and_then_stands_for_a_new_request,
);

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_idempotency_key_is_rejected() {
    let app = TestApp::spawn(Database::Sqlite).await;

    for key in ["has space", &"k".repeat(256)] {
        let (status, body) = status_and_json(post_raw(&app, key, order_body("cust-0042").to_string()).await).await;
        assert_eq!(status, 400, "{key}: {body}");
        assert_eq!(body["field"], "Idempotency-Key");
    }
    assert_eq!(app.count("select count(*) from orders").await, 0);
}
