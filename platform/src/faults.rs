//! Fault injection for the read endpoints of the source services, changed at run time through
//! `PUT /admin/faults`. `compare` uses it to make a dependency slow or failing, to measure how
//! each design copes. It is off until an admin sets it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use serde::{Deserialize, Serialize};

use crate::http::json_error;

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

/// The bearer token that guards the admin endpoints. Without one configured, they answer 401.
#[derive(Clone, Default)]
pub struct AdminToken(Option<Arc<str>>);

impl AdminToken {
    pub fn new(token: Option<String>) -> Self {
        Self(token.filter(|token| !token.is_empty()).map(Arc::from))
    }

    /// Whether the request carries the admin token; compared in constant time.
    pub fn authorizes(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.0 else {
            return false;
        };
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let Some(presented) = presented else {
            return false;
        };
        let (expected, presented) = (expected.as_bytes(), presented.as_bytes());
        expected.len() == presented.len()
            && expected.iter().zip(presented).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
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

#[derive(Clone)]
struct AdminState {
    faults: Faults,
    token: AdminToken,
}

/// `GET` and `PUT /admin/faults`, guarded by the admin token.
pub fn admin_routes(faults: Faults, token: AdminToken) -> Router {
    Router::new().route("/admin/faults", put(put_faults).get(get_faults)).with_state(AdminState { faults, token })
}

/// Reads the fault settings.
#[utoipa::path(get, path = "/admin/faults", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, body = FaultSettings), (status = 401, description = "missing or wrong admin token")))]
async fn get_faults(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    if !state.token.authorizes(&headers) {
        return json_error(StatusCode::UNAUTHORIZED, "admin token required", None);
    }
    axum::Json(state.faults.current()).into_response()
}

/// Replaces the fault settings of the read endpoints, without a restart.
#[utoipa::path(put, path = "/admin/faults", tag = "admin", request_body = FaultSettings,
    security(("admin_token" = [])),
    responses((status = 200, body = FaultSettings), (status = 401, description = "missing or wrong admin token"),
        (status = 422, description = "settings out of range")))]
async fn put_faults(State(state): State<AdminState>, headers: HeaderMap, body: Bytes) -> Response {
    if !state.token.authorizes(&headers) {
        return json_error(StatusCode::UNAUTHORIZED, "admin token required", None);
    }
    let settings: FaultSettings = match serde_json::from_slice(&body) {
        Ok(settings) => settings,
        Err(error) => return json_error(StatusCode::BAD_REQUEST, &format!("invalid json: {error}"), None),
    };
    if settings.delay_ms > MAX_DELAY_MS {
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, "delay_ms must be at most 60000", Some("delay_ms"));
    }
    if !(0.0..=1.0).contains(&settings.error_rate) {
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, "error_rate must be between 0 and 1", Some("error_rate"));
    }
    state.faults.set(settings);
    tracing::warn!(delay_ms = settings.delay_ms, error_rate = settings.error_rate, "fault injection changed");
    axum::Json(settings).into_response()
}

/// The OpenAPI description of the admin endpoints, merged into each service's document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_faults, put_faults), components(schemas(FaultSettings)))]
pub struct FaultsApi;

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header value"));
        headers
    }

    #[test]
    fn only_the_configured_token_authorizes() {
        let token = AdminToken::new(Some("s3cret".to_string()));
        assert!(token.authorizes(&bearer("s3cret")));
        assert!(!token.authorizes(&bearer("s3cre")));
        assert!(!token.authorizes(&bearer("wrong!")));
        assert!(!token.authorizes(&HeaderMap::new()));
    }

    #[test]
    fn without_a_configured_token_nothing_authorizes() {
        assert!(!AdminToken::new(None).authorizes(&bearer("")));
        assert!(!AdminToken::new(Some(String::new())).authorizes(&bearer("")));
    }
}
