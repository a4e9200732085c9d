//! Spawning the service and talking to it.

use std::time::Duration;

use events::ShipmentEvent;
use serde_json::{Value, json};
use shipping_svc::ApiDoc;
use testkit::{Database, Received, ServiceRoutes, SpawnedService, TestInfra};
use utoipa::OpenApi;
use uuid::Uuid;

/// How long a test waits for events to reach the topic before it gives up.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(30);

/// A running shipping-svc with its own broker, registry and database.
pub struct TestApp {
    // declared first so it stops before the broker it publishes to
    pub service: SpawnedService,
    pub infra: TestInfra,
}

impl TestApp {
    pub async fn spawn(database: Database) -> Self {
        let (service, infra) =
            testkit::spawn_source_service_with_fresh_infra("shipping-svc", database, sqlx::migrate!(), |context| {
                let (reads, writes) = shipping_svc::routes(context);
                ServiceRoutes::new(reads, writes, ApiDoc::openapi())
            })
            .await;
        Self { service, infra }
    }

    /// Creates a shipment for `order_id` and returns its JSON, asserting a 201.
    pub async fn create_shipment(&self, order_id: Uuid) -> Value {
        let response = self.service.post_json("/shipments", &create_body(order_id)).await;
        assert_eq!(response.status(), 201, "shipment created");
        response.json().await.expect("json body")
    }

    pub async fn change_status(&self, id: &str, body: &Value) -> reqwest::Response {
        self.service.post_json(&format!("/shipments/{id}/status"), body).await
    }

    /// Moves shipment `id` to `status`, asserting a 200, and returns the shipment after it.
    pub async fn move_to(&self, id: &str, status: &str) -> Value {
        let response = self.change_status(id, &json!({"status": status})).await;
        assert_eq!(response.status(), 200, "moved to {status}");
        response.json().await.expect("json body")
    }

    /// The order's shipments, asserting a 200.
    pub async fn list_shipments(&self, order_id: Uuid) -> Vec<Value> {
        let response = self.service.get(&format!("/shipments?order_id={order_id}")).await;
        assert_eq!(response.status(), 200, "list answers");
        let body: Value = response.json().await.expect("json body");
        body["shipments"].as_array().expect("a shipments array").clone()
    }

    /// The shipment events of `order_id` on the real topic, once `until` holds for them.
    pub async fn read_events_of_order(
        &self,
        order_id: Uuid,
        until: impl Fn(&[&Received<ShipmentEvent>]) -> bool,
    ) -> Vec<Received<ShipmentEvent>> {
        let received = testkit::read_topic::<ShipmentEvent>(&self.infra, EVENT_DEADLINE, |received| {
            let of_order: Vec<&Received<ShipmentEvent>> =
                received.iter().filter(|record| record.event.order_id == order_id).collect();
            until(&of_order)
        })
        .await;
        received.into_iter().filter(|record| record.event.order_id == order_id).collect()
    }
}

/// A valid create request for `order_id`.
pub fn create_body(order_id: Uuid) -> Value {
    json!({
        "order_id": order_id,
        "carrier": "DHL Express",
        "address": {
            "line1": "Keizersgracht 123",
            "line2": "3rd floor",
            "city": "Amsterdam",
            "postal_code": "1015 CJ",
            "country": "NL"
        }
    })
}

/// Asserts an error answer: the status, the JSON error shape, and the named field (if any).
pub async fn assert_error(response: reqwest::Response, status: u16, field: Option<&str>, case: &str) -> Value {
    assert_eq!(response.status(), status, "{case}: status");
    let content_type = response.headers().get("content-type").and_then(|value| value.to_str().ok());
    assert_eq!(content_type, Some("application/json"), "{case}: content type");
    let body: Value = response.json().await.expect("json body");
    assert!(body["error"].as_str().is_some_and(|error| !error.is_empty()), "{case}: error message in {body}");
    assert_eq!(body.get("field").and_then(Value::as_str), field, "{case}: field in {body}");
    body
}
