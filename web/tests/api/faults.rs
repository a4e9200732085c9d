use reqwest::StatusCode;
use serde_json::json;
use testkit_http::status_and_json;

use crate::helpers::{config, spawn_web};

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
