//! What the three source services share at run time: the store, the Kafka producer and codec,
//! the outbox relay, fault injection, access control, and an ordered shutdown. A service
//! supplies only its migrations, its routes and its OpenAPI document.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use events::{DEFAULT_SCHEMA_REGISTRY_URL, EventCodec, RegistryConfig};
use kafka_config::KafkaArgs;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa::openapi::HttpMethod;

use crate::faults::{Faults, FaultsApi, admin_routes, inject_faults};
use crate::outbox::{OutboxRelay, OutboxSignal, RelayArgs};
use crate::store::Store;
use platform::auth::{
    BearerToken, ReadAccess, ReadAuthArgs, ReadGuard, Scheme, Secret, checked_token, document_security, require_reader,
    require_token,
};
use platform::http::{HttpLimits, ReadinessProbe, with_operational_routes};
/// Configuration every source service shares.
#[derive(Clone, Debug, clap::Args)]
pub struct SourceServiceArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// The Confluent-compatible schema registry.
    #[arg(long = "schema-registry-url", env = "SCHEMA_REGISTRY_URL", default_value = DEFAULT_SCHEMA_REGISTRY_URL)]
    pub schema_registry_url: String,
    /// Bearer token of the write endpoints (at least 16 characters); required.
    #[arg(long = "write-token", env = "WRITE_TOKEN", hide_env_values = true)]
    pub write_token: Secret,
    /// Bearer token of the admin endpoints; without it they answer 401.
    #[arg(long = "admin-token", env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// Reads need a service token from the token issuer, verified with its public keys.
    #[command(flatten)]
    pub read_auth: ReadAuthArgs,
    #[command(flatten)]
    pub relay: RelayArgs,
    /// How long an `Idempotency-Key` replays its first answer, in hours; older keys are deleted.
    #[arg(long = "idempotency-ttl-hours", env = "IDEMPOTENCY_TTL_HOURS", default_value_t = DEFAULT_IDEMPOTENCY_TTL_HOURS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idempotency_ttl_hours: u64,
}

pub const DEFAULT_IDEMPOTENCY_TTL_HOURS: u64 = 24;

/// What a service's handlers need to write state and publish it.
#[derive(Clone)]
pub struct SourceServiceContext {
    pub store: Store,
    /// Call `committed()` after every transaction that enqueued an outbox message.
    pub outbox: OutboxSignal,
    /// The registry client the relay publishes with; a service that registers a schema version
    /// of its own (the contract drill) uses the same one.
    pub codec: Arc<EventCodec>,
}

/// A started service: its context plus the background relay.
pub struct SourceServiceRuntime {
    pub context: SourceServiceContext,
    faults: Faults,
    write_token: BearerToken,
    admin_token: BearerToken,
    read_guard: ReadGuard,
    kafka: KafkaArgs,
    relay: Option<JoinHandle<()>>,
    pruner: JoinHandle<()>,
    shutdown: CancellationToken,
}

impl SourceServiceRuntime {
    /// Connects the store (running the shared and the service's migrations) and starts the
    /// outbox relay unless it is disabled.
    pub async fn start(
        name: &'static str,
        database_url: &str,
        migrator: Migrator,
        args: &SourceServiceArgs,
    ) -> anyhow::Result<Self> {
        let write_token =
            BearerToken::new("write token", checked_token("write token", Some(args.write_token.clone()))?);
        let admin_token = BearerToken::new("admin token", checked_token("admin token", args.admin_token.clone())?);
        let read_guard = ReadGuard::new(args.read_auth.verifier(name).await?, ReadAccess::ServicesOnly);
        let store = crate::store::connect_and_migrate(database_url, migrator).await?;
        let outbox = OutboxSignal::default();
        let shutdown = CancellationToken::new();
        // no I/O until first used
        let codec = Arc::new(
            EventCodec::new(&RegistryConfig::new(&args.schema_registry_url))
                .context("cannot create the schema registry client")?,
        );
        let relay = if args.relay.enabled {
            let producer = kafka_config::DeliveryProducer::new(&args.kafka.producer_config(name))
                .context("cannot create the kafka producer")?;
            let relay = OutboxRelay::new(
                store.clone(),
                database_url.to_string(),
                producer,
                codec.clone(),
                outbox.clone(),
                args.relay.clone(),
            );
            Some(tokio::spawn(relay.run(shutdown.clone())))
        } else {
            tracing::warn!("outbox relay disabled: changes stay unpublished");
            None
        };
        let ttl = std::time::Duration::from_secs(args.idempotency_ttl_hours.saturating_mul(3600));
        let pruner = tokio::spawn(crate::idempotency::prune_expired(store.clone(), ttl, shutdown.clone()));
        Ok(Self {
            context: SourceServiceContext { store, outbox, codec },
            faults: Faults::default(),
            write_token,
            admin_token,
            read_guard,
            kafka: args.kafka.clone(),
            relay,
            pruner,
            shutdown,
        })
    }

    /// Builds the full router: `read_routes` behind a service read token and fault injection,
    /// `write_routes` behind the write token, `/admin/faults` behind the admin token,
    /// `/openapi.json` and the operational routes.
    pub fn router(&self, read_routes: Router, write_routes: Router, openapi: utoipa::openapi::OpenApi) -> Router {
        self.router_with_admin(read_routes, write_routes, Router::new(), Vec::new(), openapi)
    }

    /// [`Self::router`] plus a service's own admin routes, put behind the admin token, and
    /// readiness checks of its own.
    pub fn router_with_admin(
        &self,
        read_routes: Router,
        write_routes: Router,
        admin_routes_of_service: Router,
        probes_of_service: Vec<ReadinessProbe>,
        mut openapi: utoipa::openapi::OpenApi,
    ) -> Router {
        openapi.merge(<FaultsApi as utoipa::OpenApi>::openapi());
        document_security(&mut openapi, |path, method| {
            Some(match method {
                _ if path.starts_with("/admin") => Scheme::Admin,
                HttpMethod::Get => Scheme::Read,
                _ => Scheme::Write,
            })
        });
        // the credential is checked before the injected fault, as a real dependency would
        let reads = read_routes
            .route_layer(from_fn_with_state(self.faults.clone(), inject_faults))
            .route_layer(from_fn_with_state(self.read_guard.clone(), require_reader));
        let writes = write_routes.route_layer(from_fn_with_state(self.write_token.clone(), require_token));
        let api = Router::new()
            .merge(reads)
            .merge(writes)
            .merge(behind_admin_token(
                admin_routes(self.faults.clone()).merge(admin_routes_of_service),
                &self.admin_token,
            ))
            .route("/openapi.json", get(move || std::future::ready(axum::Json(openapi.clone()))));
        let store = self.context.store.clone();
        let kafka = self.kafka.clone();
        let mut probes = vec![
            ReadinessProbe::new("database", move || {
                let store = store.clone();
                async move { store.ping().await }
            }),
            ReadinessProbe::new("kafka", move || {
                let kafka = kafka.clone();
                async move { kafka.probe().await }
            }),
        ];
        probes.extend(probes_of_service);
        with_operational_routes(api, probes, platform::telemetry::metrics_handle(), &HttpLimits::default())
    }

    /// Serves `router` until `shutdown` resolves, then stops in order: stop accepting, finish
    /// in-flight requests, stop the relay (which flushes the producer), close the database.
    pub async fn serve(
        self,
        listener: TcpListener,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let served = platform::http::serve(listener, router, shutdown).await;
        self.shutdown.cancel();
        if let Some(relay) = self.relay {
            let _ = relay.await;
        }
        let _ = self.pruner.await;
        self.context.store.pool.close().await;
        served.context("http server failed")
    }
}

/// `routes` behind the admin token, as the write routes are behind the write token.
fn behind_admin_token(routes: Router, admin_token: &BearerToken) -> Router {
    routes.route_layer(from_fn_with_state(admin_token.clone(), require_token))
}
