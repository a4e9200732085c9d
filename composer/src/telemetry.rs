//! composer's metric names, in one place, and their descriptions.

/// Counter `{dependency, outcome}`: every attempt sent to a dependency, and every call the
/// breaker refused (`outcome="breaker_open"`).
pub const DOWNSTREAM_REQUESTS_TOTAL: &str = "composer_downstream_requests_total";
/// Histogram `{dependency}`: how long each attempt took, in seconds.
pub const DOWNSTREAM_SECONDS: &str = "composer_downstream_seconds";
/// Counter `{dependency}`: attempts that were retries.
pub const DOWNSTREAM_RETRIES_TOTAL: &str = "composer_downstream_retries_total";
/// Counter `{dependency}`: retries not made because the retry budget was spent.
pub const RETRY_BUDGET_EXHAUSTED_TOTAL: &str = "composer_retry_budget_exhausted_total";
/// Histogram `{route}`: downstream requests sent to answer one request, the fan-out (N+1).
pub const DOWNSTREAM_CALLS_PER_REQUEST: &str = "composer_downstream_calls_per_request";
/// Counter `{route, part}`: answers that left out `payments` or `shipments`.
pub const DEGRADED_TOTAL: &str = "composer_degraded_total";
/// Gauge `{dependency}`: 0 closed, 1 half-open, 2 open.
pub const BREAKER_STATE: &str = "composer_breaker_state";

/// Gives every metric its help text; call once at start.
pub fn describe_metrics() {
    metrics::describe_counter!(
        DOWNSTREAM_REQUESTS_TOTAL,
        "requests to each source service by outcome: ok, not_found, timeout, unreachable, server_error, client_error, malformed, breaker_open"
    );
    metrics::describe_histogram!(DOWNSTREAM_SECONDS, metrics::Unit::Seconds, "duration of each downstream attempt");
    metrics::describe_counter!(DOWNSTREAM_RETRIES_TOTAL, "downstream attempts that were retries");
    metrics::describe_counter!(RETRY_BUDGET_EXHAUSTED_TOTAL, "retries skipped because the retry budget was spent");
    metrics::describe_histogram!(
        DOWNSTREAM_CALLS_PER_REQUEST,
        metrics::Unit::Count,
        "downstream requests made to answer one request (the fan-out)"
    );
    metrics::describe_counter!(DEGRADED_TOTAL, "answers that left out a part because its service failed");
    metrics::describe_gauge!(BREAKER_STATE, "circuit breaker state per dependency: 0 closed, 1 half-open, 2 open");
}
