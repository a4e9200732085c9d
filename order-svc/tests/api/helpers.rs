//! `TestApp`: order-svc on port 0 with its own broker, registry and database.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use source_platform::store::Store;
use testkit::{Database, ServiceRoutes, SpawnedService, TestInfra};
use utoipa::OpenApi;

use crate::support;

pub(crate) use testkit::on_both_databases;

/// A running order-svc and a second connection to its database, for counting rows.
pub struct TestApp {
    // dropped first: the service stops before its broker and registry do
    pub service: SpawnedService,
    pub store: Store,
    pub infra: TestInfra,
}

impl TestApp {
    pub async fn spawn(database: Database) -> Self {
        let (service, infra) =
            testkit::spawn_source_service_with_fresh_infra("order-svc", database, sqlx::migrate!(), |context| {
                let (reads, writes) = order_svc::routes(context);
                ServiceRoutes::new(reads, writes, order_svc::ApiDoc::openapi())
            })
            .await;
        let store = source_platform::store::connect_and_migrate(&service.database_url, sqlx::migrate!())
            .await
            .expect("second connection");
        Self { service, store, infra }
    }

    pub async fn post_json(&self, path: &str, body: &Value, headers: HeaderMap) -> reqwest::Response {
        self.service
            .client
            .post(self.service.url(path))
            .bearer_auth(testkit::TEST_WRITE_TOKEN)
            .headers(headers)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn create_order(&self, body: &Value) -> reqwest::Response {
        self.post_json("/orders", body, HeaderMap::new()).await
    }

    /// Places a valid order for `customer_id` and returns it as the API answered.
    pub async fn place_order(&self, customer_id: &str) -> Value {
        let response = self.create_order(&support::order_body(customer_id)).await;
        assert_eq!(response.status(), 201, "order placed");
        response.json().await.expect("order json")
    }

    /// `POST /orders/{id}/cancel`, with `body` as JSON or with no body at all.
    pub async fn cancel_order(&self, id: &str, body: Option<&Value>) -> reqwest::Response {
        let request = self
            .service
            .client
            .post(self.service.url(&format!("/orders/{id}/cancel")))
            .bearer_auth(testkit::TEST_WRITE_TOKEN);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        request.send().await.expect("request sent")
    }

    pub async fn count(&self, statement: &str) -> i64 {
        support::count(&self.store, statement).await
    }

    pub async fn wait_until_outbox_is_published(&self) {
        support::wait_until_outbox_is_published(&self.store).await;
    }
}

/// The status and JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.expect("json body");
    (status, body)
}

/// The id of an order as the API returned it.
pub fn id_of(order: &Value) -> String {
    order["id"].as_str().expect("order has an id").to_string()
}

/// A deadline long enough for a loaded machine; tests poll, so a fast run stays fast.
pub const DEADLINE: Duration = Duration::from_secs(60);
