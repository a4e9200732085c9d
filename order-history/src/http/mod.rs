//! The HTTP API: GET by id and search from the live view, rebuild behind the admin token, and
//! the operational routes every service has.

mod admin;
mod error;
mod orders;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use platform::faults::AdminToken;
use platform::http::{HttpLimits, ReadinessProbe, with_operational_routes};
use platform::kafka::KafkaArgs;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::projection::LiveView;
use crate::rebuild::{RebuildSetup, RebuildTracker};

pub use orders::{OrderHistoryResponse, SearchParams};

#[derive(Clone)]
pub struct ApiState {
    pub view: LiveView,
    pub rebuild: Arc<RebuildSetup>,
    pub rebuilds: RebuildTracker,
    pub admin_token: AdminToken,
    pub kafka: KafkaArgs,
    pub shutdown: CancellationToken,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "order-history",
        description = "The CQRS read model: order history search and GET by id, served from a denormalized view fed by Kafka."
    ),
    paths(orders::get_order, orders::search_orders, admin::start_rebuild, admin::rebuild_status),
    components(schemas(
        order_view::OrderHistory,
        OrderHistoryResponse,
        crate::index::SearchResults,
        crate::rebuild::RebuildStatus,
        platform::json::ErrorBody
    ))
)]
pub struct ApiDoc;

pub fn router(state: ApiState) -> Router {
    let view = state.view.clone();
    let kafka = state.kafka.clone();
    let probes = vec![
        ReadinessProbe::new("index", move || {
            let index = view.index();
            async move { index.ping().await.map_err(|error| error.to_string()) }
        }),
        ReadinessProbe::new("kafka", move || {
            let kafka = kafka.clone();
            async move { kafka.probe().await }
        }),
    ];
    let openapi = ApiDoc::openapi();
    let api = Router::new()
        .route("/orders", get(orders::search_orders))
        .route("/orders/{id}", get(orders::get_order))
        .route("/admin/rebuild", post(admin::start_rebuild).get(admin::rebuild_status))
        .route("/openapi.json", get(move || std::future::ready(axum::Json(openapi.clone()))))
        .with_state(state);
    with_operational_routes(api, probes, platform::telemetry::metrics_handle(), &HttpLimits::default())
}
