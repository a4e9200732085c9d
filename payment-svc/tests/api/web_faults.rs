//! web's fault controls against a real payment-svc: the page's `PUT /api/faults/payment-svc`
//! reaches this service's `/admin/faults` with web's admin token, and the service's own
//! answers come back to the page. They live here, not in web's tests, so that web's tests link
//! no broker: a real payment-svc needs one, and this suite already starts it.

use std::net::SocketAddr;

use platform::auth::Secret;
use reqwest::StatusCode;
use serde_json::json;
use testkit::{Database, status_and_json};
use tokio_util::sync::CancellationToken;
use web::config::Config;

use crate::helpers::TestApp;

/// web in this process, on port 0; dropping it stops it.
struct TestWeb {
    address: SocketAddr,
    client: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for TestWeb {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestWeb {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

/// web with the test credentials, in front of `payment_svc_url` only: the other services are
/// at addresses where nothing listens.
fn config(payment_svc_url: &str) -> Config {
    let nowhere = || format!("http://{}", testkit_http::unused_address());
    let mut config = Config::local("127.0.0.1:0".parse().expect("address"));
    config.order_history_url = nowhere();
    config.composer_url = nowhere();
    config.sources.order_svc_url = nowhere();
    config.sources.payment_svc_url = payment_svc_url.to_string();
    config.sources.shipping_svc_url = nowhere();
    config.admin_token = Some(Secret::from(testkit::TEST_ADMIN_TOKEN));
    config.read_token = Some(Secret::from(testkit::service_token().as_str()));
    config.upstream_timeout_ms = 3000;
    config
}

async fn spawn_web(config: Config) -> TestWeb {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().expect("address");
    let app = web::app::Application::start(&config).await.expect("web starts");
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(app.serve(listener, async move { signal.cancelled().await }));
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    TestWeb { address, client, shutdown }
}

#[tokio::test]
async fn fault_controls_reach_the_source_service_with_the_admin_token() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let payments = &app.service;
    let web = spawn_web(config(&payments.base_url)).await;

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
async fn a_wrong_admin_token_is_refused_by_the_service() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let payments = &app.service;
    let mut config = config(&payments.base_url);
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
