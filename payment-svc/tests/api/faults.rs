//! Fault injection through `PUT /admin/faults`: it slows and fails reads, never writes.

use reqwest::StatusCode;
use serde_json::json;
use testkit::{Database, TEST_ADMIN_TOKEN, status_and_json};
use uuid::Uuid;

use crate::helpers::{TestApp, id_of, payment_body};

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_needs_the_admin_token() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let settings = json!({"delay_ms": 0, "error_rate": 1.0});
    let client = &app.service.client;

    let without_token = app.service.put_admin_faults(None, &settings).await;
    let (status, error) = status_and_json(without_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    assert!(error["error"].is_string());
    let wrong_token = app.service.put_admin_faults(Some("not-the-token"), &settings).await;
    assert_eq!(wrong_token.status(), StatusCode::UNAUTHORIZED);
    let read_without_token = client.get(app.service.url("/admin/faults")).send().await.expect("answers");
    assert_eq!(read_without_token.status(), StatusCode::UNAUTHORIZED);

    let payment = app.create_payment(Uuid::now_v7(), 100).await;
    let read = app.service.get(&format!("/payments/{}", id_of(&payment))).await;
    assert_eq!(read.status(), StatusCode::OK, "refused settings were not applied");

    let quiet = json!({"delay_ms": 0, "error_rate": 0.0});
    let with_token = app.service.put_admin_faults(Some(TEST_ADMIN_TOKEN), &quiet).await;
    assert_eq!(status_and_json(with_token).await, (StatusCode::OK, quiet.clone()));
    let read_with_token =
        client.get(app.service.url("/admin/faults")).bearer_auth(TEST_ADMIN_TOKEN).send().await.expect("answers");
    assert_eq!(status_and_json(read_with_token).await, (StatusCode::OK, quiet));
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_delay_and_fail_reads_while_writes_go_through() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    let payment = app.create_payment(order_id, 100).await;
    let payment_path = format!("/payments/{}", id_of(&payment));

    // A delay longer than the request timeout: the read cannot answer before the write does,
    // whatever the machine's speed, so the order of completion proves the point.
    app.service.set_faults(60_000, 0.0).await;
    let second_payment = payment_body(order_id, 200);
    let delayed_read = app.service.get(&payment_path);
    tokio::pin!(delayed_read);
    tokio::select! {
        biased;
        _ = &mut delayed_read => panic!("a read answered despite a 60 s delay"),
        write = app.service.post_json("/payments", &second_payment) => {
            assert_eq!(write.status(), StatusCode::CREATED, "writes are not delayed");
        }
    }

    app.service.set_faults(0, 1.0).await;
    for read_path in [payment_path.clone(), format!("/payments?order_id={order_id}")] {
        let (status, error) = status_and_json(app.service.get(&read_path).await).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{read_path}");
        assert_eq!(error, json!({"error": "injected fault"}));
    }
    let (status, captured) = status_and_json(app.service.post_empty(&format!("{payment_path}/capture")).await).await;
    assert_eq!(status, StatusCode::OK, "writes are not failed: {captured}");
    assert_eq!(app.service.post_json("/payments", &payment_body(order_id, 300)).await.status(), StatusCode::CREATED);

    app.service.set_faults(0, 0.0).await;
    let (status, read_back) = status_and_json(app.service.get(&payment_path).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read_back, captured);
}
