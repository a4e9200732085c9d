//! shipping-svc: the system of record for shipments.
//!
//! A REST API creates shipments and moves them through their state machine. Every change is
//! written together with one `ShipmentEvent` in the transactional outbox, which the shared relay
//! publishes to the `shipments` topic, keyed by order id. See `docs/shipping-svc.md`.

pub mod config;
pub mod domain;
mod http;
mod store;

use axum::Router;
use source_platform::source_service::SourceServiceContext;

pub use http::ApiDoc;

/// The service's routes as `(reads, writes)`: the runtime puts fault injection in front of the
/// reads only, so a slow or failing read path can be simulated while writes keep working.
pub fn routes(context: SourceServiceContext) -> (Router, Router) {
    http::shipments::routes(store::ShipmentStore::new(context))
}
