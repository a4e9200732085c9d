//! The HTTP API: GET by id and the customer search, the breakers' states, and the operational
//! routes every service has.

mod error;
mod orders;
mod stats;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use platform::auth::{ReadGuard, Scheme, document_security, require_reader};
use platform::http::{HttpLimits, with_operational_routes};
use utoipa::OpenApi;

use crate::config::Config;
use crate::downstream::Downstream;
use crate::downstream::breaker::BreakerState;

pub use error::{GetOrderError, SearchError};
pub use orders::{
    ComposedOrder, DOWNSTREAM_CALLS_HEADER, ORDERS_SCANNED_HEADER, SCAN_TRUNCATED_HEADER, SearchRequest, parse_search,
};
pub use stats::{ComposedStats, Coverage};

/// The limits each request runs within, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct RequestLimits {
    pub request_deadline: Duration,
    pub search_deadline: Duration,
    pub fanout_concurrency: usize,
    pub search_max_pages: u32,
}

impl RequestLimits {
    pub fn of(config: &Config) -> Self {
        RequestLimits {
            request_deadline: config.request_deadline(),
            search_deadline: config.search_deadline(),
            fanout_concurrency: config.fanout_concurrency,
            search_max_pages: config.search_max_pages,
        }
    }
}

#[derive(Clone)]
pub struct ApiState {
    pub downstream: Arc<Downstream>,
    pub limits: RequestLimits,
    /// Reads need a customer or a service token.
    pub read_guard: ReadGuard,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "composer",
        description = "API Composition: order history answered by calling order-svc, payment-svc and shipping-svc at request time."
    ),
    paths(orders::get_order, orders::search_orders, stats::get_stats, breakers),
    components(schemas(
        order_view::OrderHistory,
        ComposedOrder,
        crate::compose::DegradedPart,
        crate::search::SearchResults,
        BreakerState,
        ComposedStats,
        Coverage,
        order_view::stats::StatsBucket,
        order_view::stats::CurrencyAmount,
        order_view::stats::TopProduct,
        order_view::stats::Granularity,
        order_view::stats::GroupBy,
        platform::json::ErrorBody
    ))
)]
pub struct ApiDoc;

/// Each dependency's circuit breaker: `closed`, `half_open` or `open`.
#[utoipa::path(get, path = "/breakers", tag = "operations",
    responses((status = 200, body = BTreeMap<String, BreakerState>, description = "breaker state by dependency")))]
async fn breakers(State(state): State<ApiState>) -> Json<BTreeMap<&'static str, BreakerState>> {
    Json(state.downstream.breaker_states())
}

pub fn router(state: ApiState) -> Router {
    let mut openapi = ApiDoc::openapi();
    // `/breakers` is operational, like `/metrics`: it tells nothing about any order
    document_security(&mut openapi, |path, _method| (path != "/breakers").then_some(Scheme::Read));
    let api = Router::new()
        .route("/orders", get(orders::search_orders))
        .route("/orders/{id}", get(orders::get_order))
        .route_layer(from_fn_with_state(state.read_guard.clone(), require_reader))
        // statistics span every customer's orders: services only, customers get 403
        .merge(
            Router::new()
                .route("/stats", get(stats::get_stats))
                .route_layer(from_fn_with_state(state.read_guard.services_only(), require_reader)),
        )
        .route("/breakers", get(breakers))
        .route("/openapi.json", get(move || std::future::ready(Json(openapi.clone()))))
        .with_state(state.clone());
    // Ready as soon as it serves: composer keeps no state, and a failing dependency is answered
    // with a 502 or a degraded 200 by design. Failing readiness on it would turn those
    // informative answers into connection errors at the load balancer. `/breakers` shows the
    // dependencies' health.
    let probes = Vec::new();
    let limits = HttpLimits {
        // above every deadline, so that composer's own deadlines answer first
        request_timeout: state.limits.request_deadline.max(state.limits.search_deadline) + Duration::from_secs(1),
        ..HttpLimits::default()
    };
    with_operational_routes(api, probes, platform::telemetry::metrics_handle(), &limits)
}
