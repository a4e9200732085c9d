//! Confluent's Schema Registry REST API (Avro only), one file per resource.

mod compatibility;
mod config;
mod error;
mod request;
mod schemas;
mod subjects;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::store::Store;
use error::ApiError;
use request::ConfluentJson;

/// The media type of every response, as Confluent sends it.
pub const CONFLUENT_CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

#[derive(Clone)]
struct AppState {
    store: Store,
    /// Registrations run one at a time, so that the compatibility check and the insert see
    /// the same versions of a subject. One lock per process is enough: the store supports a
    /// single instance (see docs/schema-registry.md).
    registrations: Arc<Mutex<()>>,
}

/// The API routes, without the operational ones.
pub fn router(store: Store) -> Router {
    let state = AppState { store, registrations: Arc::default() };
    Router::new()
        .route("/", get(root))
        .route("/subjects", get(subjects::list_subjects))
        .route("/subjects/{subject}", post(subjects::lookup_schema).delete(subjects::delete_subject))
        .route("/subjects/{subject}/versions", get(subjects::list_versions).post(subjects::register_schema))
        .route("/subjects/{subject}/versions/{version}", get(subjects::get_version).delete(subjects::delete_version))
        .route("/subjects/{subject}/versions/{version}/schema", get(subjects::get_version_schema))
        .route("/schemas/types", get(schemas::schema_types))
        .route("/schemas/ids/{id}", get(schemas::get_schema))
        .route("/schemas/ids/{id}/subjects", get(schemas::subjects_of_schema))
        .route("/schemas/ids/{id}/versions", get(schemas::versions_of_schema))
        .route("/compatibility/subjects/{subject}/versions", post(compatibility::check_against_subject))
        .route("/compatibility/subjects/{subject}/versions/{version}", post(compatibility::check_against_version))
        .route("/config", get(config::get_global).put(config::put_global).delete(config::delete_global))
        .route("/config/{subject}", get(config::get_subject).put(config::put_subject).delete(config::delete_subject))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Confluent answers `GET /` with an empty object; some clients probe it.
async fn root() -> ConfluentJson<Value> {
    ConfluentJson(json!({}))
}

async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Runs CPU-bound work (parsing and comparing schemas, which can be large) on the blocking
/// pool, so it never stalls the async workers.
async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::Internal(anyhow::Error::new(error).context("blocking task failed")))
}
