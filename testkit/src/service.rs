//! `spawn_source_service`: one source service on port 0 with a fresh database, wired to a real
//! broker and registry, for integration tests (zero2prod's `spawn_app`).

use std::net::SocketAddr;

use axum::Router;
use kafka_config::KafkaArgs;
use platform::auth::Secret;
use platform::http::ReadinessProbe;
use serde_json::{Value, json};
use source_platform::outbox::RelayArgs;
use source_platform::source_service::{SourceServiceArgs, SourceServiceContext, SourceServiceRuntime};
use sqlx::migrate::Migrator;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use testkit_http::{TEST_ADMIN_TOKEN, TEST_WRITE_TOKEN, service_token, test_read_auth};

use crate::TestInfra;

/// Which relational store a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    /// A fresh, empty database of this kind.
    pub async fn fresh_url(self, infra: &TestInfra, service: &str) -> String {
        match self {
            Self::Sqlite => infra.sqlite_url(service),
            Self::Postgres => crate::fresh_postgres_url().await,
        }
    }
}

/// The routes and OpenAPI document a service builds from its context.
pub struct ServiceRoutes {
    pub reads: Router,
    pub writes: Router,
    pub openapi: utoipa::openapi::OpenApi,
    /// The service's own admin routes, beside `/admin/faults`.
    pub admin: Router,
    /// The service's own readiness checks, beside the database and the broker.
    pub probes: Vec<ReadinessProbe>,
}

impl ServiceRoutes {
    /// Reads and writes only: no admin routes or readiness checks of the service's own.
    pub fn new(reads: Router, writes: Router, openapi: utoipa::openapi::OpenApi) -> Self {
        Self { reads, writes, openapi, admin: Router::new(), probes: Vec::new() }
    }
}

/// A running service; dropping it shuts the service down.
pub struct SpawnedService {
    pub address: SocketAddr,
    pub base_url: String,
    pub database_url: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The arguments a test service runs with: the test infrastructure, the test admin token,
/// and a relay that polls often.
pub fn source_service_args(infra: &TestInfra) -> SourceServiceArgs {
    SourceServiceArgs {
        kafka: KafkaArgs::new(infra.kafka.bootstrap_servers.clone()),
        schema_registry_url: infra.registry_url.clone(),
        write_token: Secret::from(TEST_WRITE_TOKEN),
        admin_token: Some(Secret::from(TEST_ADMIN_TOKEN)),
        read_auth: test_read_auth(),
        relay: RelayArgs {
            batch_size: 500,
            poll_interval_ms: 200,
            retention_secs: 86_400,
            prune_interval_secs: 60,
            enabled: true,
            crash_after_publish: false,
        },
        idempotency_ttl_hours: source_platform::source_service::DEFAULT_IDEMPOTENCY_TTL_HOURS,
    }
}

/// Starts a service named `name` with `migrator` and the routes `build` makes.
pub async fn spawn_source_service(
    name: &'static str,
    database_url: String,
    migrator: Migrator,
    args: &SourceServiceArgs,
    build: impl FnOnce(SourceServiceContext) -> ServiceRoutes,
) -> SpawnedService {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    spawn_source_service_on(listener, name, database_url, migrator, args, build).await
}

/// [`spawn_source_service`] on a listener of the caller's, e.g. bound to the address of a
/// service that was stopped, to start it again where its clients expect it.
pub async fn spawn_source_service_on(
    listener: tokio::net::TcpListener,
    name: &'static str,
    database_url: String,
    migrator: Migrator,
    args: &SourceServiceArgs,
    build: impl FnOnce(SourceServiceContext) -> ServiceRoutes,
) -> SpawnedService {
    crate::init_test_tracing();
    let runtime = SourceServiceRuntime::start(name, &database_url, migrator, args).await.expect("service starts");
    let routes = build(runtime.context.clone());
    let router = runtime.router_with_admin(routes.reads, routes.writes, routes.admin, routes.probes, routes.openapi);
    let address = listener.local_addr().expect("local address");
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(runtime.serve(listener, router, async {
        let _ = stopped.await;
    }));
    SpawnedService {
        address,
        base_url: format!("http://{address}"),
        database_url,
        client: reqwest::Client::builder().no_proxy().build().expect("http client"),
        stop: Some(stop),
        serving: Some(serving),
    }
}

/// Starts a test's own broker and registry, then the service `name` on a fresh database of the
/// `database` kind, wired to them. The service is returned first: a caller keeps it declared
/// before the infrastructure, so that it is dropped, and stops, before the broker does.
pub async fn spawn_source_service_with_fresh_infra(
    name: &'static str,
    database: Database,
    migrator: Migrator,
    build: impl FnOnce(SourceServiceContext) -> ServiceRoutes,
) -> (SpawnedService, TestInfra) {
    let infra = TestInfra::start().await;
    let database_url = database.fresh_url(&infra, name).await;
    let args = source_service_args(&infra);
    let service = spawn_source_service(name, database_url, migrator, &args, build).await;
    (service, infra)
}

impl SpawnedService {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the service gracefully and waits until it has: relay stopped, database closed.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving.await.expect("service task").expect("service stops cleanly");
        }
    }

    /// `POST path` with `body` as JSON, bearing the write token (as are all `post_*`).
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.write(path).json(body).send().await.expect("service answers")
    }

    /// `POST path` without a body.
    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.write(path).send().await.expect("service answers")
    }

    fn write(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(TEST_WRITE_TOKEN)
    }

    /// `POST path` with `body` as JSON and an `Idempotency-Key` header.
    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.write(path).header("idempotency-key", key).json(body).send().await.expect("service answers")
    }

    /// `POST path` with `body` sent as it is, e.g. to send malformed JSON or another content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: &'static str) -> reqwest::Response {
        self.write(path).header("content-type", content_type).body(body).send().await.expect("service answers")
    }

    /// `GET path`, bearing a service read token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(service_token()).send().await.expect("service answers")
    }

    /// `PUT /admin/faults` with `settings`, bearing `admin_token` when there is one; for tests
    /// of the admin API's authorization, which must also see the refusals.
    pub async fn put_admin_faults(&self, admin_token: Option<&str>, settings: &Value) -> reqwest::Response {
        let request = self.client.put(self.url("/admin/faults")).json(settings);
        let request = match admin_token {
            Some(admin_token) => request.bearer_auth(admin_token),
            None => request,
        };
        request.send().await.expect("admin api answers")
    }

    /// Sets the service's fault injection through its admin API.
    pub async fn set_faults(&self, delay_ms: u64, error_rate: f64) {
        let settings = json!({"delay_ms": delay_ms, "error_rate": error_rate});
        let response = self.put_admin_faults(Some(TEST_ADMIN_TOKEN), &settings).await;
        assert_eq!(response.status(), 200, "faults accepted");
    }
}

/// Runs each named scenario, an `async fn(Database)`, as two tests: `<scenario>::sqlite` and
/// `<scenario>::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread")]
                async fn sqlite() {
                    super::$scenario($crate::Database::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread")]
                async fn postgres() {
                    super::$scenario($crate::Database::Postgres).await;
                }
            }
        )+
    };
}

impl Drop for SpawnedService {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
