use reqwest::StatusCode;
use serde_json::json;
use testkit::status_and_json;

use crate::helpers::{config, spawn_payment_svc, spawn_web};

#[tokio::test]
async fn fault_controls_reach_the_source_service_with_the_admin_token() {
    let (payments, _infra) = spawn_payment_svc().await;
    let mut config = config();
    config.sources.payment_svc_url = payments.base_url.clone();
    let web = spawn_web(config).await;

    let (status, controls) =
        status_and_json(web.client.get(web.url("/api/faults")).send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(controls, json!({"enabled": true, "services": ["order-svc", "payment-svc", "shipping-svc"]}));

    let put = |settings: serde_json::Value| web.client.put(web.url("/api/faults/payment-svc")).json(&settings).send();
    let (status, body) = status_and_json(put(json!({"error_rate": 1.0})).await.expect("answers")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"delay_ms": 0, "error_rate": 1.0}));
    // the fault is really on: payment-svc's reads fail
    let order_id = uuid::Uuid::now_v7();
    let read = payments.get(&format!("/payments?order_id={order_id}")).await;
    assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (_, current) =
        status_and_json(web.client.get(web.url("/api/faults/payment-svc")).send().await.expect("answers")).await;
    assert_eq!(current["error_rate"], 1.0);

    // bad settings: payment-svc's own refusal, naming the field, reaches the page
    let (status, body) = status_and_json(put(json!({"error_rate": 2.0})).await.expect("answers")).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert_eq!(body["field"], "error_rate", "{body}");
    // not an object: refused here, never sent on
    let (status, body) = status_and_json(put(json!([])).await.expect("answers")).await;
    assert!(status.is_client_error(), "{status} {body}");
    let (status, body) = status_and_json(
        web.client
            .put(web.url("/api/faults/payment-svc"))
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "a cross-site form cannot set faults: {body}");
    let without_type = web.client.put(web.url("/api/faults/payment-svc")).body(r#"{"error_rate": 1.0}"#).send();
    let (status, body) = status_and_json(without_type.await.expect("answers")).await;
    assert_eq!(
        status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a body without a content type is not taken as json: {body}"
    );
    // a script on another origin, or on a name rebound to this address, names its own origin
    for origin in ["http://attacker.example", "http://attacker.example:8080", "null"] {
        let cross = web.client.put(web.url("/api/faults/payment-svc")).header("origin", origin);
        let (status, body) =
            status_and_json(cross.json(&json!({"error_rate": 1.0})).send().await.expect("answers")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}: {body}");
        assert_eq!(body["field"], "origin", "{body}");
    }
    assert_eq!(payments.get(&format!("/payments?order_id={order_id}")).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    let same_origin = web.client.put(web.url("/api/faults/payment-svc")).header("origin", web.url(""));
    let (status, body) =
        status_and_json(same_origin.json(&json!({"error_rate": 1.0})).send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::OK, "the pages' own origin is served: {body}");

    let (status, body) = status_and_json(put(json!({"error_rate": 0.0})).await.expect("answers")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(payments.get(&format!("/payments?order_id={order_id}")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_service_is_refused_by_name() {
    let web = spawn_web(config()).await;
    let (status, body) = status_and_json(
        web.client.put(web.url("/api/faults/billing-svc")).json(&json!({})).send().await.expect("answers"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["field"], "service");
}

#[tokio::test]
async fn without_an_admin_token_the_controls_are_off_and_say_why() {
    let mut config = config();
    config.admin_token = None;
    let web = spawn_web(config).await;
    let (_, controls) = status_and_json(web.client.get(web.url("/api/faults")).send().await.expect("answers")).await;
    assert_eq!(controls["enabled"], false);
    assert!(controls["reason"].as_str().expect("a reason").contains("ADMIN_TOKEN"));
    let (status, body) = status_and_json(
        web.client.put(web.url("/api/faults/payment-svc")).json(&json!({})).send().await.expect("answers"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"].as_str().expect("a message").contains("fault controls are off"));
}

#[tokio::test]
async fn a_wrong_admin_token_is_refused_by_the_service() {
    let (payments, _infra) = spawn_payment_svc().await;
    let mut config = config();
    config.sources.payment_svc_url = payments.base_url.clone();
    config.admin_token = Some("not-the-admin-token-of-payment-svc".into());
    let web = spawn_web(config).await;
    let (status, _) = status_and_json(
        web.client
            .put(web.url("/api/faults/payment-svc"))
            .json(&json!({"error_rate": 1.0}))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert!(matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN), "{status}");
    assert_eq!(payments.get(&format!("/payments?order_id={}", uuid::Uuid::now_v7())).await.status(), StatusCode::OK);
}
