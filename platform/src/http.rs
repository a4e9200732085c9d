//! The HTTP bootstrap every service uses: operational routes, request limits and
//! graceful shutdown.
//!
//! A service builds its own `Router` and hands it to [`with_operational_routes`], which adds
//! `/healthz`, `/readyz` and `/metrics` and wraps everything in the same tower layers. Then
//! [`serve`] runs it until a shutdown signal arrives, letting in-flight requests finish.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The request header of an idempotent create (a source service's POST); here, not with the
/// idempotency store, so that a client such as compare sends it without linking that store.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The outcome of one readiness check: `Err` carries a short, lowercase reason.
pub type ProbeResult = Result<(), String>;

type ProbeFuture = Pin<Box<dyn Future<Output = ProbeResult> + Send>>;

/// One named dependency that must be reachable for the process to be ready.
#[derive(Clone)]
pub struct ReadinessProbe {
    name: &'static str,
    check: Arc<dyn Fn() -> ProbeFuture + Send + Sync>,
}

impl ReadinessProbe {
    pub fn new<F, Fut>(name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ProbeResult> + Send + 'static,
    {
        Self { name, check: Arc::new(move || Box::pin(check())) }
    }
}

/// Limits applied to every request, with defaults suited to a JSON API.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// A request still running after this answers 503.
    pub request_timeout: Duration,
    /// A larger body answers 413.
    pub max_body_bytes: usize,
    /// A longer query string answers 414.
    pub max_query_bytes: usize,
    /// API requests served at once; one more answers 503 at once instead of queueing, so that
    /// an overload shows as fast refusals rather than as latency for everyone. The
    /// operational routes are not counted: a busy service is still alive and ready.
    pub max_concurrent_requests: usize,
    pub readiness_timeout: Duration,
    /// The `Host` names a request may carry; any other answers 421.
    pub allowed_hosts: AllowedHosts,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            max_query_bytes: 4096,
            max_concurrent_requests: 1024,
            readiness_timeout: Duration::from_secs(2),
            allowed_hosts: AllowedHosts::from_env(),
        }
    }
}

/// The environment variable naming, comma-separated, the host names a service answers to
/// besides loopback names, IP addresses and single-label names.
pub const ALLOWED_HOSTS_ENV: &str = "ALLOWED_HOSTS";

/// Which names a request's `Host` header may carry.
///
/// A web page can point its own name at 127.0.0.1 (DNS rebinding) and then call a local service
/// as a same-origin request, but the browser still sends the page's name in `Host`. So a service
/// answers only to names no outside page can hold: IP addresses, `localhost` and `*.localhost`,
/// single-label names such as the compose profile's `order-svc`, and the names listed in
/// `ALLOWED_HOSTS` (for example a production ingress's `orders.example.com`).
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts {
    listed: Arc<[String]>,
}

impl AllowedHosts {
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(listed: I) -> Self {
        let listed: Vec<String> = listed
            .into_iter()
            .map(|name| name.as_ref().trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect();
        AllowedHosts { listed: listed.into() }
    }

    /// The names listed in `ALLOWED_HOSTS`, if any.
    pub fn from_env() -> Self {
        AllowedHosts::new(std::env::var(ALLOWED_HOSTS_ENV).unwrap_or_default().split(','))
    }

    /// Whether a request whose `Host` header is `host` (a name or address, with or without a
    /// port) is for this service.
    pub fn allows(&self, host: &str) -> bool {
        // a Host header names a host and a port, never a user
        if host.contains('@') {
            return false;
        }
        let Ok(authority) = host.parse::<axum::http::uri::Authority>() else { return false };
        let name = authority.host();
        let bare_ip = name.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')).unwrap_or(name);
        if bare_ip.parse::<std::net::IpAddr>().is_ok() {
            return true;
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() {
            return false;
        }
        // browsers resolve localhost and *.localhost to loopback themselves (RFC 6761)
        name == "localhost" || name.ends_with(".localhost") || !name.contains('.') || self.listed.contains(&name)
    }
}

#[derive(Clone)]
struct OperationalState {
    probes: Arc<Vec<ReadinessProbe>>,
    readiness_timeout: Duration,
    metrics: PrometheusHandle,
}

/// Adds `/healthz`, `/readyz` and `/metrics` to `app` and wraps it in the shared layers:
/// tracing, a request timeout, a body size limit and panic catching.
pub fn with_operational_routes(
    app: Router,
    probes: Vec<ReadinessProbe>,
    metrics: PrometheusHandle,
    limits: &HttpLimits,
) -> Router {
    let state = OperationalState { probes: Arc::new(probes), readiness_timeout: limits.readiness_timeout, metrics };
    let operational = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus_metrics))
        .with_state(state);
    let shed_overload = tower::ServiceBuilder::new()
        .layer(HandleErrorLayer::new(overloaded))
        .layer(LoadShedLayer::new())
        .layer(GlobalConcurrencyLimitLayer::new(limits.max_concurrent_requests));
    // only the API is counted: scrapes and probes would otherwise count themselves
    app.layer(axum::middleware::from_fn(count_traffic))
        .layer(shed_overload)
        .merge(operational)
        .layer(axum::middleware::from_fn_with_state(limits.max_query_bytes, limit_query))
        .layer(axum::middleware::from_fn_with_state(limits.allowed_hosts.clone(), check_host))
        // enforced by the body extractors, so each API can answer in its own error shape
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, limits.request_timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        // outside the timeout, so that a request cut short gets a JSON body too
        .layer(map_response(json_error_bodies))
        .layer(TraceLayer::new_for_http())
}

/// Refuses a request for a host this service does not answer to (see [`AllowedHosts`]).
async fn check_host(
    State(allowed): State<AllowedHosts>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // HTTP/1.1 requires the header; HTTP/2 carries the host in the URI instead
    let host = match request.headers().get(header::HOST) {
        Some(value) => match value.to_str() {
            Ok(host) => Some(host),
            Err(_) => return json_error(StatusCode::BAD_REQUEST, "the host header is not ascii", Some("host")),
        },
        None => request.uri().authority().map(|authority| authority.as_str()),
    };
    match host {
        Some(host) if !allowed.allows(host) => json_error(
            StatusCode::MISDIRECTED_REQUEST,
            &format!(
                "host {host:?} is not served here: only IP addresses, localhost, single-label names \
                 and the names in {ALLOWED_HOSTS_ENV} are"
            ),
            Some("host"),
        ),
        _ => next.run(request).await,
    }
}

/// Adds to every operation of `openapi` the refusals [`with_operational_routes`] gives before
/// any handler runs, so that the document lists what a client can really get: 414 for a query
/// string over the limit.
pub fn document_shared_refusals(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{Content, Ref, ResponseBuilder};
    for item in openapi.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            operation.responses.responses.entry("414".to_string()).or_insert_with(|| {
                ResponseBuilder::new()
                    .description("the query string is over the limit")
                    .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
                    .build()
                    .into()
            });
        }
    }
}

/// Refuses a query string longer than the limit before any handler parses it.
async fn limit_query(
    State(max_bytes): State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let length = request.uri().query().map_or(0, str::len);
    if length > max_bytes {
        return json_error(
            StatusCode::URI_TOO_LONG,
            &format!("query string too long: {length} bytes, at most {max_bytes}"),
            Some("query"),
        );
    }
    next.run(request).await
}

async fn overloaded(_error: tower::BoxError) -> Response {
    metrics::counter!("http_server_shed_total").increment(1);
    json_error(StatusCode::SERVICE_UNAVAILABLE, "too many requests in flight, retry shortly", None)
}

/// Counts every API request and the body bytes it moved, so that a caller can measure how
/// many requests a design sends to this service and how much data they move, from the outside
/// (`compare` reads these from `/metrics` before and after a load step).
async fn count_traffic(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::body::HttpBody;
    let request_bytes = request.body().size_hint().exact().unwrap_or_else(|| request.body().size_hint().lower());
    let response = next.run(request).await;
    let response_bytes = response.body().size_hint().exact().unwrap_or_else(|| response.body().size_hint().lower());
    let class = match response.status().as_u16() {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("http_server_requests_total", "class" => class).increment(1);
    metrics::counter!("http_server_body_bytes_total", "direction" => "in").increment(request_bytes);
    metrics::counter!("http_server_body_bytes_total", "direction" => "out").increment(response_bytes);
    response
}

/// The error body every API of the system answers with: `{"error": "...", "field": "..."}`.
pub fn json_error(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    let body = match field {
        Some(field) => json!({"error": message, "field": field}),
        None => json!({"error": message}),
    };
    (status, Json(body)).into_response()
}

/// A request body read as `T` when it is a JSON object; otherwise what was wrong, for a 400.
/// Only an object: serde would also read a struct from an array, so `[]` would pass.
pub fn json_object<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, String> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(object @ serde_json::Value::Object(_)) => {
            serde_json::from_value(object).map_err(|error| format!("invalid {what}: {error}"))
        }
        Ok(_) => Err("the body must be a json object".to_string()),
        Err(error) => Err(format!("invalid json: {error}")),
    }
}

/// A field that failed validation, with a lowercase message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The answer to a request field that cannot be used: its message, named by `field`.
pub fn field_error_response(status: StatusCode, error: &FieldError) -> Response {
    json_error(status, &error.message, Some(error.field.as_str()))
}

/// The answer to a failure the client cannot fix: the whole error chain goes to the log, for
/// the operator, and the client gets a 500 that reveals nothing (a chain may hold credentials
/// or SQL).
pub fn unexpected_error_response(error: &anyhow::Error) -> Response {
    // `{:#}` prints every cause on one line: what failed and why
    tracing::error!(error = %format!("{error:#}"), "request failed unexpectedly");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error", None)
}

/// Gives a JSON body to error responses that axum or tower produced without one (an unknown
/// route, a wrong method, a request timeout), so that every client sees the same error shape.
async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"));
    if !is_error || is_json {
        return response;
    }
    let reason = match status {
        StatusCode::NOT_FOUND => "no such route".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this route".to_string(),
        StatusCode::SERVICE_UNAVAILABLE => "request timed out or service unavailable".to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large".to_string(),
        other => other.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let mut replaced = json_error(status, &reason, None);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name.clone(), value.clone());
        }
    }
    replaced
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<OperationalState>) -> Response {
    let mut checks = Map::new();
    let mut all_ready = true;
    for probe in state.probes.iter() {
        let outcome = tokio::time::timeout(state.readiness_timeout, (probe.check)()).await;
        let verdict = match outcome {
            Ok(Ok(())) => Value::from("ok"),
            Ok(Err(reason)) => {
                all_ready = false;
                Value::from(reason)
            }
            Err(_) => {
                all_ready = false;
                Value::from("timed out")
            }
        };
        checks.insert(probe.name.to_string(), verdict);
    }
    let status = if all_ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({"status": if all_ready { "ready" } else { "not ready" }, "checks": checks});
    (status, Json(body)).into_response()
}

async fn prometheus_metrics(State(state): State<OperationalState>) -> String {
    state.metrics.render()
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "internal error"}))).into_response()
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}

#[cfg(test)]
mod tests {
    use super::AllowedHosts;

    #[test]
    fn loopback_addresses_and_single_label_names_are_allowed_with_or_without_a_port() {
        let allowed = AllowedHosts::default();
        for host in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]:8080",
            "10.0.3.7:8081",
            "localhost",
            "LOCALHOST:3000",
            "localhost.:3000",
            "web.localhost:8080",
            "order-svc:8081",
            "order-history",
        ] {
            assert!(allowed.allows(host), "{host}");
        }
    }

    #[test]
    fn a_name_outside_pages_can_hold_is_refused_unless_listed() {
        let default = AllowedHosts::default();
        let listed = AllowedHosts::new(["Orders.Example.com.", " ", "api.example.org"]);
        for host in ["attacker.example", "attacker.example:8080", "orders.example.com", "127.0.0.1.nip.io"] {
            assert!(!default.allows(host), "{host}");
        }
        assert!(listed.allows("orders.example.com:443") && listed.allows("API.example.org"));
        assert!(!listed.allows("attacker.example") && !listed.allows("example.com"));
    }

    #[test]
    fn what_is_not_a_host_is_refused() {
        let allowed = AllowedHosts::new([""]);
        for host in ["", ":8080", "a b", "user@127.0.0.1", "."] {
            assert!(!allowed.allows(host), "{host:?}");
        }
    }
}
