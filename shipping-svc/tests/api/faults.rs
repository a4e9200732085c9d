//! Fault injection through `PUT /admin/faults`: reads suffer, writes do not.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::{Database, TEST_ADMIN_TOKEN};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, create_body};

#[tokio::test(flavor = "multi_thread")]
async fn changing_faults_requires_the_admin_token() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let settings = json!({"delay_ms": 0, "error_rate": 1.0});

    let anonymous = app.service.put_admin_faults(None, &settings).await;
    assert_error(anonymous, 401, None, "without a token").await;
    let wrong = app.service.put_admin_faults(Some("not-the-token"), &settings).await;
    assert_error(wrong, 401, None, "with a wrong token").await;

    let shipment = app.create_shipment(Uuid::now_v7()).await;
    let id = shipment["id"].as_str().expect("an id");
    assert_eq!(app.service.get(&format!("/shipments/{id}")).await.status(), 200, "refused settings change nothing");

    let accepted = app.service.put_admin_faults(Some(TEST_ADMIN_TOKEN), &settings).await;
    assert_eq!(accepted.status(), 200, "with the admin token");
    assert_eq!(accepted.json::<Value>().await.expect("json body"), settings);
    assert_eq!(app.service.get(&format!("/shipments/{id}")).await.status(), 503, "and now reads fail");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_injected_error_rate_fails_reads_with_503_but_not_writes() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    let shipment = app.create_shipment(order_id).await;
    let id = shipment["id"].as_str().expect("an id");

    app.service.set_faults(0, 1.0).await;

    let read = app.service.get(&format!("/shipments/{id}")).await;
    let body = assert_error(read, 503, None, "read one").await;
    assert_eq!(body["error"], "injected fault");
    let list = app.service.get(&format!("/shipments?order_id={order_id}")).await;
    assert_error(list, 503, None, "list").await;

    let created = app.service.post_json("/shipments", &create_body(order_id)).await;
    assert_eq!(created.status(), 201, "creates are unaffected");
    let moved = app.change_status(id, &json!({"status": "DISPATCHED"})).await;
    assert_eq!(moved.status(), 200, "status changes are unaffected");

    app.service.set_faults(0, 0.0).await;
    let listed = app.list_shipments(order_id).await;
    assert_eq!(listed.len(), 2, "reads work again and see the writes made during the fault");
    assert_eq!(listed[0]["status"], "DISPATCHED");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_injected_delay_holds_reads_but_not_writes() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    let shipment = app.create_shipment(order_id).await;
    let id = shipment["id"].as_str().expect("an id");

    // far longer than the client waits: a read that answers at all was not delayed
    app.service.set_faults(60_000, 0.0).await;

    let held = app
        .service
        .client
        .get(app.service.url(&format!("/shipments/{id}")))
        .bearer_auth(testkit::service_token())
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    assert!(held.as_ref().is_err_and(reqwest::Error::is_timeout), "the read is held: {held:?}");
    let created = app.service.post_json("/shipments", &create_body(order_id)).await;
    assert_eq!(created.status(), 201, "creates are not delayed");
    let moved = app.change_status(id, &json!({"status": "DISPATCHED"})).await;
    assert_eq!(moved.status(), 200, "status changes are not delayed");

    app.service.set_faults(0, 0.0).await;
    let read: Value = app.service.get(&format!("/shipments/{id}")).await.json().await.expect("json body");
    assert_eq!(read["status"], "DISPATCHED", "reads answer again once the delay is lifted");
}
