//! `spawn_app`: the three source services on port 0, each with a fresh SQLite database, and a
//! composer on port 0 in front of them; ways to stop, restart and slow a service, and to write
//! orders, payments and shipments through the services' own APIs.

use std::net::SocketAddr;
use std::time::Duration;

use composer::app::Application;
use composer::config::Config;
use kafka_config::KafkaArgs;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use source_platform::outbox::RelayArgs;
use source_platform::source_service::SourceServiceArgs;
use testkit::{ServiceRoutes, SpawnedService, TEST_ADMIN_TOKEN, TEST_WRITE_TOKEN, TestInfra, status_and_json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use uuid::Uuid;

/// One of the three source services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Orders,
    Payments,
    Shipments,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Orders, Source::Payments, Source::Shipments];

    /// The dependency's name in composer's `/breakers`, metrics and errors.
    pub fn dependency(self) -> &'static str {
        match self {
            Source::Orders => "order-svc",
            Source::Payments => "payment-svc",
            Source::Shipments => "shipping-svc",
        }
    }

    /// The part of the document this service delivers, as `degraded` names it.
    pub fn part(self) -> Option<&'static str> {
        match self {
            Source::Orders => None,
            Source::Payments => Some("payments"),
            Source::Shipments => Some("shipments"),
        }
    }
}

/// A source service that can be stopped and started again on the same address and database.
struct Slot {
    source: Source,
    address: SocketAddr,
    database_url: String,
    running: Option<SpawnedService>,
}

/// The three source services, on SQLite files in one temporary directory.
pub struct Sources {
    slots: Vec<Slot>,
    args: SourceServiceArgs,
    _dir: tempfile::TempDir,
}

/// Arguments for services whose events nobody reads: the relay is off, so no broker is needed.
fn args_without_broker() -> SourceServiceArgs {
    SourceServiceArgs {
        kafka: KafkaArgs::new("127.0.0.1:9"),
        schema_registry_url: "http://127.0.0.1:9".to_string(),
        write_token: TEST_WRITE_TOKEN.into(),
        admin_token: Some(TEST_ADMIN_TOKEN.into()),
        read_auth: testkit::test_read_auth(),
        relay: RelayArgs {
            batch_size: 500,
            poll_interval_ms: 1000,
            retention_secs: 86_400,
            prune_interval_secs: 60,
            enabled: false,
            crash_after_publish: false,
        },
        idempotency_ttl_hours: source_platform::source_service::DEFAULT_IDEMPOTENCY_TTL_HOURS,
    }
}

impl Sources {
    /// The services with their relay off: for tests of composer alone.
    pub async fn start() -> Sources {
        Self::start_with(args_without_broker()).await
    }

    /// The services publishing to `infra`'s broker, for tests that also run order-history.
    pub async fn start_publishing(infra: &TestInfra) -> Sources {
        Self::start_with(testkit::source_service_args(infra)).await
    }

    async fn start_with(args: SourceServiceArgs) -> Sources {
        testkit::init_test_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut slots = Vec::new();
        for source in Source::ALL {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
            let address = listener.local_addr().expect("address");
            let database_url = format!("sqlite://{}", dir.path().join(format!("{}.db", source.dependency())).display());
            let running = spawn_source(source, listener, database_url.clone(), &args).await;
            slots.push(Slot { source, address, database_url, running: Some(running) });
        }
        Sources { slots, args, _dir: dir }
    }

    fn slot(&self, source: Source) -> &Slot {
        self.slots.iter().find(|slot| slot.source == source).expect("every source has a slot")
    }

    fn slot_mut(&mut self, source: Source) -> &mut Slot {
        self.slots.iter_mut().find(|slot| slot.source == source).expect("every source has a slot")
    }

    /// The running service; panics when it was stopped.
    pub fn service(&self, source: Source) -> &SpawnedService {
        self.slot(source).running.as_ref().expect("the service is running")
    }

    pub fn url(&self, source: Source) -> String {
        format!("http://{}", self.slot(source).address)
    }

    /// Stops the service gracefully; its address then refuses connections.
    pub async fn stop(&mut self, source: Source) {
        if let Some(running) = self.slot_mut(source).running.take() {
            running.shutdown().await;
        }
    }

    /// Starts a stopped service again, on its address and with its data.
    pub async fn restart(&mut self, source: Source) {
        let slot = self.slot(source);
        assert!(slot.running.is_none(), "{source:?} is running");
        let listener = bind_again(slot.address).await;
        let running = spawn_source(source, listener, slot.database_url.clone(), &self.args).await;
        self.slot_mut(source).running = Some(running);
    }

    /// Stops every service and waits until each has: relay stopped, producer flushed. Call it
    /// before the broker stops.
    pub async fn shutdown(mut self) {
        for source in Source::ALL {
            self.stop(source).await;
        }
    }

    /// Sets the fault injection of the service's read routes.
    pub async fn set_faults(&self, source: Source, delay_ms: u64, error_rate: f64) {
        self.service(source).set_faults(delay_ms, error_rate).await;
    }

    /// A composer configuration pointing at these services, with every other default.
    pub fn composer_config(&self) -> Config {
        let mut config = Config::local("127.0.0.1:0".parse().expect("address"));
        config.sources.order_svc_url = self.url(Source::Orders);
        config.sources.payment_svc_url = self.url(Source::Payments);
        config.sources.shipping_svc_url = self.url(Source::Shipments);
        config.read_auth = testkit::test_read_auth();
        config.read_token = Some(testkit::service_token().as_str().into());
        config
    }
}

/// Binds `address` again after its service stopped; the port can stay busy for a moment while
/// the old server's connections close.
async fn bind_again(address: SocketAddr) -> tokio::net::TcpListener {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => return listener,
            Err(error) => {
                assert!(tokio::time::Instant::now() < deadline, "cannot bind {address} again: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn spawn_source(
    source: Source,
    listener: tokio::net::TcpListener,
    database_url: String,
    args: &SourceServiceArgs,
) -> SpawnedService {
    match source {
        Source::Orders => {
            testkit::spawn_source_service_on(
                listener,
                "order-svc",
                database_url,
                sqlx::migrate!("../order-svc/migrations"),
                args,
                |context| {
                    let (reads, writes) = order_svc::routes(context);
                    ServiceRoutes::new(reads, writes, order_svc::ApiDoc::openapi())
                },
            )
            .await
        }
        Source::Payments => {
            testkit::spawn_source_service_on(
                listener,
                "payment-svc",
                database_url,
                sqlx::migrate!("../payment-svc/migrations"),
                args,
                |context| {
                    let routes = payment_svc::routes(context, payment_svc::PaymentRules::default());
                    ServiceRoutes {
                        admin: routes.admin,
                        probes: routes.probes,
                        ..ServiceRoutes::new(routes.reads, routes.writes, payment_svc::ApiDoc::openapi())
                    }
                },
            )
            .await
        }
        Source::Shipments => {
            testkit::spawn_source_service_on(
                listener,
                "shipping-svc",
                database_url,
                sqlx::migrate!("../shipping-svc/migrations"),
                args,
                |context| {
                    let (reads, writes) = shipping_svc::routes(context);
                    ServiceRoutes::new(reads, writes, shipping_svc::ApiDoc::openapi())
                },
            )
            .await
        }
    }
}

/// A running composer.
pub struct TestComposer {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Starts composer with `config` on port 0.
pub async fn spawn_composer(config: Config) -> TestComposer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().expect("address");
    let app = Application::start(&config).await.expect("composer starts");
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    let task = tokio::spawn(app.serve(listener, async move { signal.cancelled().await }));
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    TestComposer { address, client, shutdown, task }
}

impl TestComposer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// `GET path` with a service read token: the status, the headers and the JSON body.
    pub async fn get(&self, path: &str) -> (StatusCode, HeaderMap, Value) {
        self.get_as(path, Some(&testkit::service_token())).await
    }

    /// `GET path` bearing `token`, or no token.
    pub async fn get_as(&self, path: &str, token: Option<&str>) -> (StatusCode, HeaderMap, Value) {
        let request = self.client.get(self.url(path));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().await.expect("composer answers");
        let headers = response.headers().clone();
        let (status, body) = status_and_json(response).await;
        (status, headers, body)
    }

    /// The state of `dependency`'s breaker: `closed`, `half_open` or `open`.
    pub async fn breaker(&self, dependency: &str) -> String {
        let (status, _, body) = self.get("/breakers").await;
        assert_eq!(status, 200, "{body}");
        body[dependency].as_str().expect("a state per dependency").to_string()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("composer task").expect("composer stops cleanly");
    }
}

/// The `x-downstream-calls` header as a number.
pub fn downstream_calls(headers: &HeaderMap) -> u32 {
    headers
        .get("x-downstream-calls")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("x-downstream-calls header")
}

/// Polls `check` until it returns `Some`, or fails the test after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Writes through the source services' APIs, as a client of the system would.
pub struct Writer<'a> {
    pub sources: &'a Sources,
}

pub struct NewOrder<'a> {
    pub customer_id: &'a str,
    pub customer_name: &'a str,
    /// `(sku, name, quantity, unit price)`.
    pub items: Vec<(String, String, i32, i64)>,
    pub city: &'a str,
}

impl Writer<'_> {
    async fn post(&self, source: Source, path: &str, body: Option<&Value>) -> Value {
        let service = self.sources.service(source);
        let response = match body {
            Some(body) => service.post_json(path, body).await,
            None => service.post_empty(path).await,
        };
        let (status, body) = status_and_json(response).await;
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    pub async fn place_order(&self, order: &NewOrder<'_>) -> Value {
        let email = format!("{}@example.com", order.customer_name.to_lowercase().replace(' ', "."));
        let items: Vec<Value> = order
            .items
            .iter()
            .map(|(sku, name, quantity, unit_price)| {
                json!({"sku": sku, "name": name, "quantity": quantity, "unit_price": unit_price})
            })
            .collect();
        let body = json!({
            "customer_id": order.customer_id,
            "customer_name": order.customer_name,
            "customer_email": email,
            "currency": "EUR",
            "items": items,
            "shipping_address": {"line1": "Keizersgracht 123", "line2": "3rd floor", "city": order.city,
                                 "postal_code": "1015 CJ", "country": "NL"},
        });
        self.post(Source::Orders, "/orders", Some(&body)).await
    }

    /// A simple order of one kettle for `customer_id`.
    pub async fn place_simple_order(&self, customer_id: &str) -> Value {
        self.place_order(&NewOrder {
            customer_id,
            customer_name: "Ada Lovelace",
            items: vec![("SKU-KETTLE-01".to_string(), "Copper tea kettle".to_string(), 1, 4599)],
            city: "Amsterdam",
        })
        .await
    }

    pub async fn cancel_order(&self, order_id: &str) -> Value {
        self.post(Source::Orders, &format!("/orders/{order_id}/cancel"), Some(&json!({"reason": "ordered twice"})))
            .await
    }

    pub async fn create_payment(&self, order_id: &str, amount: i64, method: &str) -> Value {
        let body = json!({"order_id": order_id, "amount": amount, "currency": "EUR", "method": method});
        self.post(Source::Payments, "/payments", Some(&body)).await
    }

    /// `action` is `capture` or `refund`.
    pub async fn change_payment(&self, payment_id: &str, action: &str) -> Value {
        self.post(Source::Payments, &format!("/payments/{payment_id}/{action}"), None).await
    }

    pub async fn create_shipment(&self, order_id: &str, carrier: &str, city: &str) -> Value {
        let body = json!({"order_id": order_id, "carrier": carrier,
            "address": {"line1": "Prinsengracht 9", "line2": null, "city": city, "postal_code": "1016 GB", "country": "NL"}});
        self.post(Source::Shipments, "/shipments", Some(&body)).await
    }

    pub async fn change_shipment(&self, shipment_id: &str, status: &str, location: Option<&str>) -> Value {
        let body = json!({"status": status, "location": location});
        self.post(Source::Shipments, &format!("/shipments/{shipment_id}/status"), Some(&body)).await
    }
}

/// The `id` of a service's answer.
pub fn id_of(body: &Value) -> String {
    body["id"].as_str().expect("an id").to_string()
}

/// A fresh customer id, so that tests sharing nothing also share no customers.
pub fn fresh_customer() -> String {
    format!("cust-{}", Uuid::now_v7().simple())
}

/// An order-history in this process, projecting `infra`'s topics into its own tantivy view.
pub struct OrderHistoryApp {
    pub base_url: String,
    /// Its live view, to wait until what it serves by id is searchable too.
    pub view: order_history::projection::LiveView,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<anyhow::Result<()>>,
}

pub async fn spawn_order_history(infra: &TestInfra) -> OrderHistoryApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let config = order_history::config::Config {
        listen: address,
        group_id: "order-history-equivalence".to_string(),
        admin_token: Some(TEST_ADMIN_TOKEN.into()),
        read_auth: testkit::test_read_auth(),
        batch_max_records: 500,
        batch_max_wait_ms: 20,
        ..order_history::config::Config::local(
            infra.dir.path().join("order-history"),
            KafkaArgs::new(infra.kafka.bootstrap_servers.clone()),
            infra.registry_url.clone(),
        )
    };
    let app = order_history::app::Application::start(&config).await.expect("order-history starts");
    let view = app.state.view.clone();
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    let task = tokio::spawn(app.serve(listener, async move { signal.cancelled().await }));
    OrderHistoryApp { base_url: format!("http://{address}"), view, shutdown, task }
}
