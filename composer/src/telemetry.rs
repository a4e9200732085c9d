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
/// Counter `{route, part, reason}`: answers that left out `payments` or `shipments`, because
/// the dependency failed (`reason="dependency"`) or broke its contract (`reason="contract"`).
pub const DEGRADED_TOTAL: &str = "composer_degraded_total";
/// Counter `{dependency}`: answers of a dependency that broke composer's wire contract.
pub const CONTRACT_VIOLATIONS_TOTAL: &str = "composer_contract_violations_total";
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
    metrics::describe_counter!(
        DEGRADED_TOTAL,
        "answers that left out a part because its service failed or broke its contract"
    );
    metrics::describe_counter!(
        CONTRACT_VIOLATIONS_TOTAL,
        "dependency answers that broke composer's wire contract (a required field missing or of another type)"
    );
    metrics::describe_gauge!(BREAKER_STATE, "circuit breaker state per dependency: 0 closed, 1 half-open, 2 open");
}

/// Why an answer left a part out: the `reason` label of `composer_degraded_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DegradeReason {
    /// The dependency failed, was slow, or its breaker was open.
    Dependency,
    /// The dependency answered, in a shape that breaks composer's wire contract.
    Contract,
}

impl DegradeReason {
    pub fn label(self) -> &'static str {
        match self {
            DegradeReason::Dependency => "dependency",
            DegradeReason::Contract => "contract",
        }
    }
}

/// A dependency answered in a shape that breaks composer's wire contract (Vector's internal
/// event style: one type per thing that happens, logged and counted in one place).
pub struct ContractViolation<'a> {
    pub dependency: crate::downstream::Dependency,
    pub detail: &'a str,
}

impl ContractViolation<'_> {
    pub fn emit(&self) {
        tracing::warn!(dependency = self.dependency.name(), detail = self.detail, "dependency broke its contract");
        metrics::counter!(CONTRACT_VIOLATIONS_TOTAL, "dependency" => self.dependency.name()).increment(1);
    }
}
