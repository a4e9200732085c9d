//! End to end: a REST change becomes exactly one Avro event on the real `payments` topic.

use chrono::{DateTime, Utc};
use events::{PaymentEvent, headers};
use reqwest::StatusCode;
use serde_json::Value;
use testkit::{Database, Received, on_both_databases, status_and_json};
use uuid::Uuid;

use crate::helpers::{TestApp, id_of, payment_body};

/// A distinct, valid W3C traceparent per request, so each event's can be told apart.
fn new_traceparent() -> String {
    format!("00-{}-00f067aa0ba902b7-01", Uuid::now_v7().simple())
}

async fn post_traced(app: &TestApp, path: &str, body: Option<&Value>, traceparent: &str) -> Value {
    let mut request = app
        .service
        .client
        .post(app.service.url(path))
        .bearer_auth(testkit::TEST_WRITE_TOKEN)
        .header("traceparent", traceparent);
    if let Some(body) = body {
        request = request.json(body);
    }
    let (status, payment) = status_and_json(request.send().await.expect("service answers")).await;
    assert!(status == StatusCode::CREATED || status == StatusCode::OK, "{path}: {status} {payment}");
    payment
}

fn millis(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a timestamp")).expect("rfc 3339").with_timezone(&Utc)
}

/// The record is the announcement of `payment` as the API answered it, sent with `traceparent`.
fn assert_announces(record: &Received<PaymentEvent>, payment: &Value, event_type: &str, traceparent: &str) {
    let event = &record.event;
    let order_id = payment["order_id"].as_str().expect("order id");
    assert_eq!(record.key, order_id, "keyed by the order id");
    assert_eq!(record.header(headers::EVENT_ID), Some(event.event_id.to_string().as_str()));
    assert_eq!(event.event_id.get_version_num(), 7, "event ids are uuid v7");
    assert_eq!(record.header(headers::EVENT_TYPE), Some(event_type));
    assert_eq!(event.event_type.as_str(), event_type);
    assert_eq!(record.header(headers::TRACEPARENT), Some(traceparent), "the request's traceparent, unchanged");
    assert_eq!(event.order_id.to_string(), order_id);
    assert_eq!(event.aggregate_id.to_string(), id_of(payment));
    assert_eq!(Value::from(event.aggregate_version), payment["version"]);
    assert_eq!(event.occurred_at, millis(&payment["updated_at"]));

    let state = &event.payment;
    assert_eq!(state.payment_id.to_string(), id_of(payment));
    assert_eq!(state.order_id.to_string(), order_id);
    assert_eq!(Value::from(state.amount.amount_minor), payment["amount"]);
    assert_eq!(Value::from(state.amount.currency.clone()), payment["currency"]);
    assert_eq!(serde_json::to_value(state.method).expect("method"), payment["method"]);
    assert_eq!(serde_json::to_value(state.status).expect("status"), payment["status"]);
    assert_eq!(serde_json::to_value(&state.decline_reason).expect("reason"), payment["decline_reason"]);
    assert_eq!(state.created_at, millis(&payment["created_at"]));
    assert_eq!(state.updated_at, millis(&payment["updated_at"]));
}

on_both_databases!(every_change_is_published_once_with_the_full_state_key_and_headers);

async fn every_change_is_published_once_with_the_full_state_key_and_headers(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let traceparents: Vec<String> = (0..4).map(|_| new_traceparent()).collect();

    let declined = post_traced(&app, "/payments", Some(&payment_body(order_id, 250_000)), &traceparents[0]).await;
    let authorized = post_traced(&app, "/payments", Some(&payment_body(order_id, 2_000)), &traceparents[1]).await;
    let payment_path = format!("/payments/{}", id_of(&authorized));
    let captured = post_traced(&app, &format!("{payment_path}/capture"), None, &traceparents[2]).await;
    let refunded = post_traced(&app, &format!("{payment_path}/refund"), None, &traceparents[3]).await;

    let refunded_version = refunded["version"].as_i64();
    let received = app
        .read_events(|received| {
            received.iter().any(|record| {
                record.event.aggregate_id.to_string() == id_of(&refunded)
                    && Some(record.event.aggregate_version) == refunded_version
            })
        })
        .await;

    // One key, so one partition, read in commit order: each change exactly once, nothing else.
    assert_eq!(received.len(), 4, "{:#?}", received.iter().map(|record| &record.event).collect::<Vec<_>>());
    assert_announces(&received[0], &declined, "PAYMENT_DECLINED", &traceparents[0]);
    assert_announces(&received[1], &authorized, "PAYMENT_AUTHORIZED", &traceparents[1]);
    assert_announces(&received[2], &captured, "PAYMENT_CAPTURED", &traceparents[2]);
    assert_announces(&received[3], &refunded, "PAYMENT_REFUNDED", &traceparents[3]);
    let partitions: Vec<i32> = received.iter().map(|record| record.partition).collect();
    assert!(partitions.windows(2).all(|pair| pair[0] == pair[1]), "one order, one partition: {partitions:?}");
    assert_eq!(received[0].event.payment.decline_reason.as_deref(), Some("amount above the authorization limit"));
}
