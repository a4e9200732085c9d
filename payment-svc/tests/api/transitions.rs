//! `POST /payments/{id}/capture` and `/refund`: the state machine over HTTP.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use testkit::{Database, on_both_databases, status_and_json};
use uuid::Uuid;

use crate::helpers::{TestApp, id_of};

fn timestamp(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a timestamp")).expect("rfc 3339").with_timezone(&Utc)
}

on_both_databases!(an_authorized_payment_is_captured_then_refunded, concurrent_captures_succeed_exactly_once);

async fn an_authorized_payment_is_captured_then_refunded(database: Database) {
    let app = TestApp::spawn(database).await;
    let created = app.create_payment(Uuid::now_v7(), 2_500).await;

    let captured = app.change_payment(&created, "capture").await;
    assert_eq!(captured["status"], "CAPTURED");
    assert_eq!(captured["version"], 2);
    assert_eq!(captured["created_at"], created["created_at"]);
    assert!(timestamp(&captured["updated_at"]) >= timestamp(&created["updated_at"]));
    for unchanged in ["id", "order_id", "amount", "currency", "method", "decline_reason"] {
        assert_eq!(captured[unchanged], created[unchanged], "{unchanged}");
    }
    let (_, read_back) = status_and_json(app.service.get(&format!("/payments/{}", id_of(&created))).await).await;
    assert_eq!(read_back, captured);

    let refunded = app.change_payment(&created, "refund").await;
    assert_eq!(refunded["status"], "REFUNDED");
    assert_eq!(refunded["version"], 3);
    let (_, read_back) = status_and_json(app.service.get(&format!("/payments/{}", id_of(&created))).await).await;
    assert_eq!(read_back, refunded);
}

/// Whichever request wins, one capture lands, the others are 409s, and one event is written.
async fn concurrent_captures_succeed_exactly_once(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();
    let payment = app.create_payment(order_id, 900).await;
    let capture_path = format!("/payments/{}/capture", id_of(&payment));

    // joined on one task, so the requests are in flight together
    let captures = (0..6).map(|_| app.service.post_empty(&capture_path));
    let statuses: Vec<StatusCode> =
        futures::future::join_all(captures).await.iter().map(reqwest::Response::status).collect();

    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::CONFLICT).count(), 5, "{statuses:?}");
    let (_, read_back) = status_and_json(app.service.get(&format!("/payments/{}", id_of(&payment))).await).await;
    assert_eq!((read_back["status"].as_str(), read_back["version"].as_i64()), (Some("CAPTURED"), Some(2)));
    assert_eq!(app.outbox_rows_of_order(order_id).await, 2, "the create's event and one capture's");
}

/// Every refused transition answers 409 naming the current status, and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn transitions_the_status_does_not_allow_are_conflicts_that_change_nothing() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    let declined = app.create_payment(order_id, 100_001).await;
    let authorized = app.create_payment(order_id, 100).await;
    let captured = app.create_payment(order_id, 200).await;
    app.change_payment(&captured, "capture").await;
    let refunded = app.create_payment(order_id, 300).await;
    app.change_payment(&refunded, "capture").await;
    app.change_payment(&refunded, "refund").await;
    let outbox_rows_before = app.outbox_rows_of_order(order_id).await;

    let refusals = [
        (&declined, "capture", "cannot capture a payment that is DECLINED"),
        (&declined, "refund", "cannot refund a payment that is DECLINED"),
        (&authorized, "refund", "cannot refund a payment that is AUTHORIZED"),
        (&captured, "capture", "cannot capture a payment that is CAPTURED"),
        (&refunded, "capture", "cannot capture a payment that is REFUNDED"),
        (&refunded, "refund", "cannot refund a payment that is REFUNDED"),
    ];
    for (payment, action, expected_error) in refusals {
        let path = format!("/payments/{}/{action}", id_of(payment));
        let (_, before) = status_and_json(app.service.get(&format!("/payments/{}", id_of(payment))).await).await;
        let (status, error) = status_and_json(app.service.post_empty(&path).await).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {error}");
        assert_eq!(error["error"], expected_error);
        let (_, after) = status_and_json(app.service.get(&format!("/payments/{}", id_of(payment))).await).await;
        assert_eq!(after, before, "a refused {action} leaves the payment as it was");
    }
    assert_eq!(app.outbox_rows_of_order(order_id).await, outbox_rows_before, "refusals publish nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_payments_are_404_and_malformed_ids_are_400_on_every_route() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let unknown = Uuid::now_v7();

    let (status, error) = status_and_json(app.service.get(&format!("/payments/{unknown}")).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"], format!("no payment with id {unknown}"));
    for action in ["capture", "refund"] {
        let (status, error) =
            status_and_json(app.service.post_empty(&format!("/payments/{unknown}/{action}")).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}: {error}");
    }

    for malformed in ["42", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "%E2%82%AC"] {
        let (status, error) = status_and_json(app.service.get(&format!("/payments/{malformed}")).await).await;
        assert_eq!((status, error["field"].as_str()), (StatusCode::BAD_REQUEST, Some("id")), "{malformed}: {error}");
        for action in ["capture", "refund"] {
            let (status, error) =
                status_and_json(app.service.post_empty(&format!("/payments/{malformed}/{action}")).await).await;
            assert_eq!((status, error["field"].as_str()), (StatusCode::BAD_REQUEST, Some("id")), "{action}: {error}");
        }
    }
}
