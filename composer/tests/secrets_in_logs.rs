//! No credential reaches a log line or an error body. The whole system runs in this process
//! (three source services publishing to a real broker, order-history, composer) under one
//! subscriber that records every log line at TRACE; then every route is called with every
//! kind of credential, right and wrong, and the record is searched for each secret.
//!
//! Its own test binary: the subscriber is process-wide and must be installed first.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::json;
use testkit::access::{Credential, assert_no_secret, send};
use testkit::{TEST_ADMIN_TOKEN, TEST_ISSUER_KEY_BODY, TEST_WRITE_TOKEN, TestInfra};

use helpers::{Sources, Writer, id_of, spawn_composer, spawn_order_history};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credential_appears_in_any_log_line_or_error_body() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the first subscriber of this binary");

    let infra = TestInfra::start().await;
    let sources = Sources::start_publishing(&infra).await;
    let order_history = spawn_order_history(&infra).await;
    let composer = spawn_composer(sources.composer_config()).await;
    let order_id = id_of(&Writer { sources: &sources }.place_simple_order("customer-a").await);

    let client = reqwest::Client::new();
    let mut routes = vec![
        (Method::GET, format!("{}/orders/{order_id}", composer.url("")), None),
        (Method::GET, format!("{}/orders?customer_id=customer-a", composer.url("")), None),
        (Method::GET, format!("{}/orders/{order_id}", order_history.base_url), None),
        (Method::GET, format!("{}/orders?customer_id=customer-b", order_history.base_url), None),
        (Method::POST, format!("{}/admin/rebuild", order_history.base_url), None),
    ];
    for source in [helpers::Source::Orders, helpers::Source::Payments, helpers::Source::Shipments] {
        let base = sources.url(source);
        routes.push((Method::GET, format!("{base}/admin/faults"), None));
        routes.push((Method::PUT, format!("{base}/admin/faults"), Some(json!({"delay_ms": 0, "error_rate": 0.0}))));
    }
    let orders = sources.url(helpers::Source::Orders);
    routes.push((Method::GET, format!("{orders}/orders/{order_id}"), None));
    routes.push((Method::POST, format!("{orders}/orders"), Some(json!({"customer_id": "customer-a"}))));
    let mut answers = 0;
    for (method, url, body) in &routes {
        for credential in Credential::all("customer-a") {
            send(&client, method.clone(), url, &credential, body.as_ref()).await;
            answers += 1;
        }
    }
    composer.stop().await;
    order_history.shutdown.cancel();
    order_history.task.await.expect("order-history task").expect("order-history stops cleanly");
    drop(sources);

    let log = String::from_utf8_lossy(&captured.0.lock().expect("log")).into_owned();
    // the record is real: requests, refusals and the services' own work are in it
    assert!(log.contains("started processing request") || log.contains("finished processing request"), "{log:.2000}");
    assert!(log.lines().count() > answers, "{} lines for {answers} requests", log.lines().count());
    for secret in [TEST_WRITE_TOKEN, TEST_ADMIN_TOKEN, TEST_ISSUER_KEY_BODY] {
        assert!(!log.contains(secret), "a log line shows a secret");
    }
    assert_no_secret(&log, "the log");
}
