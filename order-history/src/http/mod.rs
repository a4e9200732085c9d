//! The HTTP API: GET by id and search from the live view, rebuild behind the admin token, and
//! the operational routes every service has.

mod admin;
mod error;
mod orders;
mod repair;
mod snapshot;
mod snapshot_files;
mod stats;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use kafka_config::KafkaArgs;
use platform::auth::{BearerToken, ReadGuard, Scheme, document_security, require_reader, require_token};
use platform::http::{HttpLimits, ReadinessProbe, with_operational_routes};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::projection::LiveView;
use crate::rebuild::{RebuildSetup, RebuildTracker};

pub use orders::{OrderHistoryResponse, SearchParams};
pub use stats::StatsResponse;

/// The statistics store and how far behind the topics it is.
#[derive(Clone)]
pub struct StatsState {
    pub store: crate::stats::StatsStore,
    pub status: crate::stats::StatsStatus,
    /// The same store as a snapshottable read model.
    pub snapshots: crate::snapshot::StatisticsSnapshots,
}

#[derive(Clone)]
pub struct ApiState {
    pub view: LiveView,
    pub rebuild: Arc<RebuildSetup>,
    pub rebuilds: RebuildTracker,
    /// The last `POST /admin/repair`.
    pub repairs: crate::repair::RepairTracker,
    /// Every `/admin` route needs it; see [`router`].
    pub admin_token: BearerToken,
    /// Reads need a customer or a service token.
    pub read_guard: ReadGuard,
    /// The statistics read model `GET /stats` answers from.
    pub stats: StatsState,
    pub kafka: KafkaArgs,
    pub shutdown: CancellationToken,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "order-history",
        description = "The CQRS read model: order history search and GET by id, served from a denormalized view fed by Kafka."
    ),
    paths(
        orders::get_order,
        orders::search_orders,
        admin::start_rebuild,
        admin::rebuild_status,
        repair::start_repair,
        repair::repair_status,
        stats::get_stats,
        snapshot::take_snapshot,
        snapshot::list_snapshots,
        snapshot_files::get_snapshot_manifest,
        snapshot_files::get_snapshot_file
    ),
    components(schemas(
        order_view::OrderHistory,
        OrderHistoryResponse,
        crate::index::SearchResults,
        crate::rebuild::RebuildStatus,
        crate::repair::RepairStatus,
        repair::RepairRequest,
        StatsResponse,
        order_view::stats::StatsBucket,
        order_view::stats::CurrencyAmount,
        order_view::stats::TopProduct,
        order_view::stats::Granularity,
        order_view::stats::GroupBy,
        crate::snapshot::Manifest,
        crate::snapshot::ManifestFile,
        snapshot::ListedSnapshot,
        snapshot::SnapshotList,
        snapshot::SnapshotsTaken,
        snapshot::NotTaken,
        snapshot_files::SnapshotFileBytes,
        platform::json::ErrorBody
    ))
)]
pub struct ApiDoc;

pub fn router(state: ApiState) -> Router {
    let view = state.view.clone();
    let kafka = state.kafka.clone();
    let stats_store = state.stats.store.clone();
    let probes = vec![
        ReadinessProbe::new("index", move || {
            let index = view.index();
            async move { index.ping().await.map_err(|error| error.to_string()) }
        }),
        ReadinessProbe::new("stats-store", move || {
            let stats_store = stats_store.clone();
            async move { stats_store.ping().await }
        }),
        ReadinessProbe::new("kafka", move || {
            let kafka = kafka.clone();
            async move { kafka.probe().await }
        }),
    ];
    let mut openapi = ApiDoc::openapi();
    // the document names the credential each route's guard below asks for
    document_security(&mut openapi, |path, _method| {
        Some(if path.starts_with("/admin") { Scheme::Admin } else { Scheme::Read })
    });
    let reads = Router::new()
        .route("/orders", get(orders::search_orders))
        .route("/orders/{id}", get(orders::get_order))
        .route_layer(from_fn_with_state(state.read_guard.clone(), require_reader));
    // statistics span every customer's orders: services only, customers get 403
    let service_reads = Router::new()
        .route("/stats", get(stats::get_stats))
        .route_layer(from_fn_with_state(state.read_guard.services_only(), require_reader));
    // the token is checked before a handler reads the body, so a caller without it learns
    // nothing from the body's errors
    let admin = Router::new()
        .route("/admin/rebuild", post(admin::start_rebuild).get(admin::rebuild_status))
        .route("/admin/repair", post(repair::start_repair).get(repair::repair_status))
        .route("/admin/snapshot", post(snapshot::take_snapshot))
        .route("/admin/snapshots", get(snapshot::list_snapshots))
        // what a new replica started with `--bootstrap-from <url>` downloads
        .route("/admin/snapshots/{read_model}/{name}/manifest.json", get(snapshot_files::get_snapshot_manifest))
        .route("/admin/snapshots/{read_model}/{name}/files/{file}", get(snapshot_files::get_snapshot_file))
        .route_layer(from_fn_with_state(state.admin_token.clone(), require_token));
    let api = Router::new()
        .merge(reads)
        .merge(service_reads)
        .merge(admin)
        .route("/openapi.json", get(move || std::future::ready(axum::Json(openapi.clone()))))
        .with_state(state);
    with_operational_routes(api, probes, platform::telemetry::metrics_handle(), &HttpLimits::default())
}
