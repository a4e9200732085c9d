//! Starting payment-svc on port 0 and talking to it.

use std::time::Duration;

use events::PaymentEvent;
use payment_svc::{ApiDoc, PaymentRules};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Database, Received, ServiceRoutes, SpawnedService, TestInfra, read_topic, status_and_json};
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
        // `info`, not testkit's `warn`: a failing payment test shows the requests it made
        testkit::init_test_tracing_with_default_filter("info");
        let (service, infra) =
            testkit::spawn_source_service_with_fresh_infra("payment-svc", database, sqlx::migrate!(), |context| {
                let routes = payment_svc::routes(context, rules);
                ServiceRoutes {
                    admin: routes.admin,
                    probes: routes.probes,
                    ..ServiceRoutes::new(routes.reads, routes.writes, ApiDoc::openapi())
                }
            })
            .await;
        Self { service, infra }
    }

    /// Creates a payment and returns its body, asserting the 201.
    pub async fn create_payment(&self, order_id: Uuid, amount: i64) -> Value {
        let (status, body) =
            status_and_json(self.service.post_json("/payments", &payment_body(order_id, amount)).await).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Captures or refunds (`action`) a payment and returns its body, asserting the 200.
    pub async fn change_payment(&self, payment: &Value, action: &str) -> Value {
        let path = format!("/payments/{}/{action}", id_of(payment));
        let (status, body) = status_and_json(self.service.post_empty(&path).await).await;
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

pub fn payment_body(order_id: Uuid, amount: i64) -> Value {
    json!({"order_id": order_id, "amount": amount, "currency": "EUR", "method": "CARD"})
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
