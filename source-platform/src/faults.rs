//! Fault injection for the read endpoints of the source services, changed at run time through
//! `PUT /admin/faults`. `compare` uses it to make a dependency slow or failing, to measure how
//! each design copes. It is off until an admin sets it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use platform::http::{json_error, json_object};
use serde::{Deserialize, Serialize};

const MAX_DELAY_MS: u64 = 60_000;

/// The faults applied to every read request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    /// Added latency before the request is handled, in milliseconds (0 to 60000).
    #[serde(default)]
    pub delay_ms: u64,
    /// The share of requests answered with 503, from 0.0 to 1.0.
    #[serde(default)]
    pub error_rate: f64,
}

#[derive(Clone, Default)]
pub struct Faults(Arc<RwLock<FaultSettings>>);

impl Faults {
    pub fn current(&self) -> FaultSettings {
        match self.0.read() {
            Ok(settings) => *settings,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    fn set(&self, settings: FaultSettings) {
        match self.0.write() {
            Ok(mut current) => *current = settings,
            Err(poisoned) => *poisoned.into_inner() = settings,
        }
    }
}

/// Middleware for read routes: waits `delay_ms`, then fails `error_rate` of requests with 503.
pub async fn inject_faults(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let settings = faults.current();
    if settings.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(settings.delay_ms)).await;
    }
    if settings.error_rate > 0.0 && fastrand::f64() < settings.error_rate {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "injected fault", None);
    }
    next.run(request).await
}

/// `GET` and `PUT /admin/faults`; the service runtime puts them behind the admin token.
pub fn admin_routes(faults: Faults) -> Router {
    Router::new().route("/admin/faults", put(put_faults).get(get_faults)).with_state(faults)
}

/// Reads the fault settings.
#[utoipa::path(get, path = "/admin/faults", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, body = FaultSettings), (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
async fn get_faults(State(faults): State<Faults>) -> Response {
    axum::Json(faults.current()).into_response()
}

/// Replaces the fault settings of the read endpoints, without a restart.
#[utoipa::path(put, path = "/admin/faults", tag = "admin", request_body = FaultSettings,
    security(("admin_token" = [])),
    responses((status = 200, body = FaultSettings),
        (status = 400, body = platform::json::ErrorBody, description = "the body is not json fault settings"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token"),
        (status = 422, body = platform::json::ErrorBody, description = "settings out of range")))]
async fn put_faults(State(faults): State<Faults>, body: Bytes) -> Response {
    let settings: FaultSettings = match json_object(&body, "fault settings") {
        Ok(settings) => settings,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, &message, None),
    };
    if settings.delay_ms > MAX_DELAY_MS {
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, "delay_ms must be at most 60000", Some("delay_ms"));
    }
    if !(0.0..=1.0).contains(&settings.error_rate) {
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, "error_rate must be between 0 and 1", Some("error_rate"));
    }
    faults.set(settings);
    tracing::warn!(delay_ms = settings.delay_ms, error_rate = settings.error_rate, "fault injection changed");
    axum::Json(settings).into_response()
}

/// The OpenAPI description of the admin endpoints, merged into each service's document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_faults, put_faults), components(schemas(FaultSettings)))]
pub struct FaultsApi;
