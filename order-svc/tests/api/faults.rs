//! Fault injection through `/admin/faults`: reads suffer, writes do not.

use serde_json::json;
use testkit::{Database, TEST_ADMIN_TOKEN};

use crate::helpers::{TestApp, id_of, status_and_json};
use crate::support::order_body;

#[tokio::test(flavor = "multi_thread")]
async fn changing_faults_needs_the_admin_token() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let settings = json!({"delay_ms": 0, "error_rate": 1.0});

    let without_token = app.service.put_admin_faults(None, &settings).await;
    let (status, body) = status_and_json(without_token).await;
    assert_eq!((status, body), (401, json!({"error": "missing bearer token"})));

    let wrong_token = app.service.put_admin_faults(Some("not-the-token"), &settings).await;
    assert_eq!(wrong_token.status(), 401);

    let (status, _) = status_and_json(app.service.get("/orders").await).await;
    assert_eq!(status, 200, "rejected settings were not applied");

    let with_token = app.service.put_admin_faults(Some(TEST_ADMIN_TOKEN), &settings).await;
    let (status, body) = status_and_json(with_token).await;
    assert_eq!((status, body), (200, settings));

    // serde reads a struct from an array too; an array must not reset the settings
    let array = app.service.put_admin_faults(Some(TEST_ADMIN_TOKEN), &json!([])).await;
    let (status, body) = status_and_json(array).await;
    assert_eq!((status, body), (400, json!({"error": "the body must be a json object"})));
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_errors_fail_reads_but_not_writes() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let id = id_of(&app.place_order("cust-0042").await);

    app.service.set_faults(0, 1.0).await;

    for read in ["/orders".to_string(), format!("/orders/{id}")] {
        let (status, body) = status_and_json(app.service.get(&read).await).await;
        assert_eq!((status, body), (503, json!({"error": "injected fault"})), "{read}");
    }
    assert_eq!(app.create_order(&order_body("cust-0042")).await.status(), 201, "writes are unaffected");
    assert_eq!(app.cancel_order(&id, None).await.status(), 200, "writes are unaffected");

    app.service.set_faults(0, 0.0).await;
    let (status, order) = status_and_json(app.service.get(&format!("/orders/{id}")).await).await;
    assert_eq!((status, &order["status"]), (200, &json!("CANCELLED")));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_injected_delay_holds_reads_but_not_writes() {
    let app = TestApp::spawn(Database::Sqlite).await;
    // far longer than any write takes, so the ordering below cannot be a race
    app.service.set_faults(60_000, 0.0).await;

    let delayed_read =
        tokio::spawn(app.service.client.get(app.service.url("/orders")).bearer_auth(testkit::service_token()).send());
    let write = app.create_order(&order_body("cust-0042")).await;

    assert_eq!(write.status(), 201);
    assert!(!delayed_read.is_finished(), "the read is still held by the delay after the write completed");
    delayed_read.abort();

    app.service.set_faults(0, 0.0).await;
    let (status, page) = status_and_json(app.service.get("/orders").await).await;
    assert_eq!(status, 200);
    assert_eq!(page["orders"].as_array().map(Vec::len), Some(1));
}
