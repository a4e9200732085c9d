//! Starting payment-svc on port 0 and talking to it.

use std::time::Duration;

use events::PaymentEvent;
use payment_svc::{ApiDoc, PaymentRules};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Database, Received, ServiceRoutes, SpawnedService, TestInfra, read_topic, source_service_args};
use utoipa::OpenApi;
use uuid::Uuid;

/// How long a test waits for events to reach the topic before it gives up.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(30);

/// A running payment-svc and the broker and registry it publishes to.
pub struct TestApp {
    // declared first so it is dropped, and stops, before the broker
    pub service: SpawnedService,
    pub infra: TestInfra,
}

impl TestApp {
    pub async fn spawn(database: Database) -> Self {
        Self::spawn_with_rules(database, PaymentRules::default()).await
    }

    pub async fn spawn_with_rules(database: Database, rules: PaymentRules) -> Self {
        capture_logs();
        let infra = TestInfra::start().await;
        let database_url = database.fresh_url(&infra, "payment-svc").await;
        let args = source_service_args(&infra);
        let service = testkit::spawn_source_service("payment-svc", database_url, sqlx::migrate!(), &args, |context| {
            let (reads, writes) = payment_svc::routes(context, rules);
            ServiceRoutes { reads, writes, openapi: ApiDoc::openapi() }
        })
        .await;
        Self { service, infra }
    }

    pub fn url(&self, path: &str) -> String {
        self.service.url(path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.service.client.post(self.url(path)).json(body).send().await.expect("service answers")
    }

    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.service.client.post(self.url(path)).send().await.expect("service answers")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.service.client.get(self.url(path)).send().await.expect("service answers")
    }

    /// Creates a payment and returns its body, asserting the 201.
    pub async fn create_payment(&self, order_id: Uuid, amount: i64) -> Value {
        let (status, body) = status_and_json(self.post_json("/payments", &payment_body(order_id, amount)).await).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Captures or refunds (`action`) a payment and returns its body, asserting the 200.
    pub async fn change_payment(&self, payment: &Value, action: &str) -> Value {
        let path = format!("/payments/{}/{action}", id_of(payment));
        let (status, body) = status_and_json(self.post_empty(&path).await).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
        body
    }

    /// A count from the service's database, read over a connection of the test's own.
    pub async fn count(&self, sql: &str, bind: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&self.service.database_url)
            .await
            .expect("test connects to the service database");
        let count = sqlx::query_scalar::<_, i64>(sql).bind(bind).fetch_one(&pool).await.expect("count");
        pool.close().await;
        count
    }

    pub async fn payment_rows_of_order(&self, order_id: Uuid) -> i64 {
        self.count("select count(*) from payments where order_id = $1", &order_id.to_string()).await
    }

    pub async fn outbox_rows_of_order(&self, order_id: Uuid) -> i64 {
        self.count("select count(*) from outbox where message_key = $1", &order_id.to_string()).await
    }

    /// Reads the payments topic from the start until `until` holds, or the deadline passes.
    pub async fn read_events(&self, until: impl Fn(&[Received<PaymentEvent>]) -> bool) -> Vec<Received<PaymentEvent>> {
        read_topic::<PaymentEvent>(&self.infra, EVENT_DEADLINE, until).await
    }
}

/// Sends logs through the test harness's capture, so a passing run stays quiet and a failing
/// test shows its own logs. `platform::telemetry::init_tracing`, which testkit calls next, then
/// finds a subscriber installed and leaves it.
fn capture_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // fails only when a subscriber is already installed, which is the point
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

pub fn payment_body(order_id: Uuid, amount: i64) -> Value {
    json!({"order_id": order_id, "amount": amount, "currency": "EUR", "method": "CARD"})
}

pub async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|error| panic!("json body ({error}): {text}"));
    (status, body)
}

pub fn id_of(payment: &Value) -> &str {
    payment["id"].as_str().expect("payment has an id")
}

/// The events about `payment_id` among `received`, in the order they were read.
pub fn events_of(received: &[Received<PaymentEvent>], payment_id: &str) -> Vec<(i64, String)> {
    received
        .iter()
        .filter(|record| record.event.aggregate_id.to_string() == payment_id)
        .map(|record| (record.event.aggregate_version, record.event.event_type.as_str().to_string()))
        .collect()
}
