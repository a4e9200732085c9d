//! The integration-test harness: every test gets its own real broker (tansu, started by the
//! `broker` crate exactly as `stack up` starts it), its own schema registry, and its own
//! database, on ports chosen by the OS, so tests run in parallel without seeing each other.

mod elasticsearch;
mod service;

pub use elasticsearch::{NOIDA_DB_BIN_ENV, NOIDA_DB_VERSION, SearchEngine, start_search_engine};
pub use service::{
    Database, ServiceRoutes, SpawnedService, source_service_args, spawn_source_service, spawn_source_service_on,
    spawn_source_service_with_fresh_infra,
};
// the broker-free half of the harness, for the tests that link this one
pub use testkit_http::{
    TEST_ADMIN_TOKEN, TEST_ISSUER_KEY_BODY, TEST_WRITE_TOKEN, access, customer_token, init_test_tracing,
    init_test_tracing_with_default_filter, service_token, status_and_json, status_and_json_of_axum_response,
    test_issuer, test_jwks_file, test_read_auth, unused_address,
};

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use broker::BrokerInstallArgs;
use broker::process::Supervised;
use events::{Event, EventCodec, RegistryConfig};
use kafka_config::{KafkaArgs, ensure_topics};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// A broker with the system's topics and a schema registry, both on loopback.
pub struct TestInfra {
    pub kafka: KafkaArgs,
    pub registry_url: String,
    broker: Option<Supervised>,
    _registry: schema_registry::RunningRegistry,
    pub dir: tempfile::TempDir,
}

impl TestInfra {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let tansu = tansu_path().await;
        let listen = free_address();
        let broker = broker::start_broker(&tansu, &dir.path().join("broker"), listen, &dir.path().join("logs"))
            .await
            .expect("broker starts");
        let kafka = KafkaArgs::new(listen.to_string());
        ensure_topics(&kafka, &broker::topic_specs(3)).await.expect("topics created");
        let registry_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind registry");
        let registry = schema_registry::spawn(dir.path().join("registry"), registry_listener).await.expect("registry");
        let registry_url = registry.url();
        Self { kafka, registry_url, broker: Some(broker), _registry: registry, dir }
    }

    pub fn codec(&self) -> EventCodec {
        EventCodec::new(&RegistryConfig::new(&self.registry_url)).expect("codec")
    }

    /// A fresh SQLite database file for one service.
    pub fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.dir.path().join(format!("{name}-{}.db", Uuid::now_v7())).display())
    }

    /// Stops the broker (SIGTERM) and returns its address, to start it again with [`Self::restart_broker`].
    pub async fn stop_broker(&mut self) {
        if let Some(broker) = self.broker.take() {
            broker.stop().await;
        }
    }

    pub async fn restart_broker(&mut self) {
        self.stop_broker().await;
        let listen: SocketAddr = self.kafka.bootstrap_servers.parse().expect("loopback address");
        let broker = broker::start_broker(
            &tansu_path().await,
            &self.dir.path().join("broker"),
            listen,
            &self.dir.path().join("logs"),
        )
        .await
        .expect("broker restarts");
        self.broker = Some(broker);
    }
}

async fn tansu_path() -> std::path::PathBuf {
    static TANSU: OnceCell<std::path::PathBuf> = OnceCell::const_new();
    TANSU
        .get_or_init(|| async {
            let install =
                BrokerInstallArgs { tansu_bin: std::env::var_os("TANSU_BIN").map(Into::into), cache_dir: None };
            broker::tansu::ensure_installed(&install).await.expect("tansu is installed (run .ci/run once)")
        })
        .await
        .clone()
}

/// A loopback address for a child process to listen on (the broker, a search engine, a
/// service's binary); the OS picks the port.
///
/// Only for child processes: a server in the test's own process binds `127.0.0.1:0` and is
/// handed the listener, which leaves no gap. A child cannot be handed a listener, so the port
/// is released here and bound again by the child, and another process may take it in between.
/// A collision shows as the child failing to start with "address in use" in its log, or, if
/// the other process speaks the same protocol, as the test talking to the wrong server.
pub fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local address")
}

/// A fresh, empty PostgreSQL database on the machine's server, for one test.
///
/// `TEST_POSTGRES_URL` names the server (default `postgres://postgres@127.0.0.1:5432/postgres`).
pub async fn fresh_postgres_url() -> String {
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let database = format!("{TEST_DATABASE_PREFIX}{}", Uuid::now_v7().simple());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("postgres at {admin_url} is reachable: {error}"));
    drop_stale_test_databases(&mut admin).await;
    sqlx::query(&format!("create database {database}")).execute(&mut admin).await.expect("create database");
    let (base, _) = admin_url.rsplit_once('/').expect("url has a database path");
    format!("{base}/{database}")
}

const TEST_DATABASE_PREFIX: &str = "test_";
/// Test databases older than this are left over from earlier runs.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Drops test databases that earlier runs left behind. Their names carry a UUID v7, whose
/// timestamp says when they were made; a database still in use cannot be dropped and is kept.
async fn drop_stale_test_databases(admin: &mut sqlx::PgConnection) {
    let names: Vec<String> = sqlx::query_scalar("select datname from pg_database where datname like 'test\\_%'")
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_default();
    let now_ms = source_platform::store::now_ms();
    for name in names {
        let created_ms = name
            .strip_prefix(TEST_DATABASE_PREFIX)
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|timestamp| timestamp.to_unix().0 as i64 * 1000);
        if created_ms.is_some_and(|created| now_ms - created > STALE_AFTER.as_millis() as i64) {
            let _ = sqlx::query(&format!("drop database if exists {name}")).execute(&mut *admin).await;
        }
    }
}

/// A decoded record and its Kafka metadata.
#[derive(Debug)]
pub struct Received<E> {
    pub event: E,
    pub key: String,
    pub headers: Vec<(String, String)>,
    pub partition: i32,
    pub offset: i64,
    /// The record value as published: wire-format header and datum.
    pub value: Vec<u8>,
}

impl<E> Received<E> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Reads `E`'s topic from the beginning with a fresh group until `until` holds for what was
/// received so far, or `deadline` passes (then it returns what it has).
pub async fn read_topic<E: Event>(
    infra: &TestInfra,
    deadline: Duration,
    until: impl Fn(&[Received<E>]) -> bool,
) -> Vec<Received<E>> {
    let codec = infra.codec();
    let group = format!("test-{}", Uuid::now_v7());
    let consumer: StreamConsumer = infra.kafka.consumer_config("test-reader", &group).create().expect("consumer");
    consumer.subscribe(&[E::TOPIC]).expect("subscribe");
    let started = Instant::now();
    let mut received = Vec::new();
    while started.elapsed() < deadline && !until(&received) {
        let Ok(message) = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await else {
            continue;
        };
        let message = message.expect("consume");
        received.push(decode(&codec, &message).await);
    }
    received
}

async fn decode<E: Event>(codec: &EventCodec, message: &BorrowedMessage<'_>) -> Received<E> {
    let event = codec.decode::<E>(message.payload()).await.expect("record decodes");
    let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
    let mut headers = Vec::new();
    if let Some(all) = message.headers() {
        for header in all.iter() {
            let value = String::from_utf8_lossy(header.value.unwrap_or_default()).into_owned();
            headers.push((header.key.to_string(), value));
        }
    }
    let value = message.payload().unwrap_or_default().to_vec();
    Received { event, key, headers, partition: message.partition(), offset: message.offset(), value }
}
