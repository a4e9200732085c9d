//! `spawn_app`: an order-history on port 0 with its own broker, registry and view, plus ways to
//! publish events the way the source services do and to read the API.

use std::net::SocketAddr;
use std::time::Duration;

use events::{Event, EventCodec};
use kafka_config::KafkaArgs;
use order_history::app::Application;
use order_history::config::Config;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use testkit::{SearchEngine, TestInfra, status_and_json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "test-admin-token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Tantivy,
    Elasticsearch,
}

/// Runs `$body` (an async fn taking a `Backend`) as one test per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn tantivy() {
                super::$name($crate::helpers::Backend::Tantivy).await;
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn elasticsearch() {
                super::$name($crate::helpers::Backend::Elasticsearch).await;
            }
        }
    };
}

/// The infrastructure one test shares between its order-history instances.
pub struct TestWorld {
    pub infra: TestInfra,
    pub search_engine: Option<SearchEngine>,
    pub backend: Backend,
    pub codec: EventCodec,
    producer: FutureProducer,
    pub client: reqwest::Client,
}

pub struct TestApp {
    pub address: SocketAddr,
    /// The app's live view, to wait until what it serves by id is searchable too.
    pub view: order_history::projection::LiveView,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestWorld {
    pub async fn start(backend: Backend) -> TestWorld {
        testkit::init_test_tracing();
        let infra = TestInfra::start().await;
        let search_engine = match backend {
            Backend::Tantivy => None,
            Backend::Elasticsearch => Some(testkit::start_search_engine().await),
        };
        let codec = infra.codec();
        let producer = infra.kafka.producer_config("test-publisher").create().expect("producer");
        TestWorld { infra, search_engine, backend, codec, producer, client: reqwest::Client::new() }
    }

    /// A configuration for one instance; tantivy instances get their own data dir.
    pub fn config(&self, instance: &str) -> Config {
        Config {
            elasticsearch_url: self.search_engine.as_ref().map(|engine| engine.url.clone()),
            group_id: match self.backend {
                // each tantivy instance is a replica with its own group
                Backend::Tantivy => format!("order-history-{instance}"),
                Backend::Elasticsearch => "order-history".to_string(),
            },
            admin_token: Some(ADMIN_TOKEN.into()),
            read_auth: testkit::test_read_auth(),
            batch_max_records: 500,
            batch_max_wait_ms: 20,
            ..Config::local(
                self.infra.dir.path().join(format!("order-history-{instance}")),
                KafkaArgs::new(self.infra.kafka.bootstrap_servers.clone()),
                self.infra.registry_url.clone(),
            )
        }
    }

    pub async fn spawn_app(&self) -> TestApp {
        self.spawn_with(self.config("main")).await
    }

    pub async fn spawn_with(&self, config: Config) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let app = Application::start(&config).await.expect("order-history starts");
        let view = app.state.view.clone();
        let shutdown = CancellationToken::new();
        let signal = shutdown.clone();
        let task = tokio::spawn(app.serve(listener, async move { signal.cancelled().await }));
        TestApp { address, view, shutdown, task }
    }

    /// Publishes an event as the outbox relay does: wire-format Avro, keyed by order id.
    pub async fn publish<E: Event>(&self, event: &E) {
        let value = self.codec.encode(event).await.expect("encodes");
        self.publish_raw(E::TOPIC, Some(event.order_id().to_string().as_bytes()), Some(&value)).await;
    }

    pub async fn publish_raw(&self, topic: &str, key: Option<&[u8]>, value: Option<&[u8]>) {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        self.producer.send(record, Duration::from_secs(10)).await.map_err(|(error, _)| error).expect("delivered");
    }

    /// The app's `/metrics`, as Prometheus text. The recorder is the test process's, so the
    /// counts include other tests'.
    pub async fn metrics(&self, app: &TestApp) -> String {
        let response = self.client.get(format!("http://{}/metrics", app.address)).send().await.expect("metrics");
        response.text().await.expect("metrics text")
    }

    /// `GET path` with a service read token.
    pub async fn get(&self, app: &TestApp, path: &str) -> (reqwest::StatusCode, Value) {
        self.get_as(app, path, Some(&testkit::service_token())).await
    }

    /// `GET path` bearing `token`, or no token.
    pub async fn get_as(&self, app: &TestApp, path: &str, token: Option<&str>) -> (reqwest::StatusCode, Value) {
        let request = self.client.get(format!("http://{}{path}", app.address));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        status_and_json(request.send().await.expect("request")).await
    }

    /// Polls `GET /orders/{id}` until `until` holds for the document, or fails after 30 s.
    pub async fn wait_for_order(&self, app: &TestApp, order_id: Uuid, until: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self.get(app, &format!("/orders/{order_id}")).await;
            if status == 200 && until(&body) {
                // by id the order is read as soon as it is stored; tests then search for it
                tokio::time::timeout_at(deadline, app.view.wait_until_searchable())
                    .await
                    .expect("what was stored became searchable");
                return body;
            }
            assert!(tokio::time::Instant::now() < deadline, "order {order_id} never got there; last: {status} {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls a search until `until` holds for the response body, or fails after 30 s.
    pub async fn wait_for_search(&self, app: &TestApp, query: &str, until: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self.get(app, &format!("/orders?{query}")).await;
            if status == 200 && until(&body) {
                return body;
            }
            assert!(tokio::time::Instant::now() < deadline, "search {query} never got there; last: {status} {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl TestApp {
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("app task").expect("app stops cleanly");
    }
}

/// The order ids of a search response's hits, in order.
pub fn hit_ids(body: &Value) -> Vec<String> {
    body["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["document"]["order_id"].as_str().expect("order id").to_string())
        .collect()
}
