//! Calls to the three source services: one pooled HTTP client, and per dependency a circuit
//! breaker and a retry budget. Every call has a deadline.

pub mod breaker;
mod client;
pub mod retry;

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::Serialize;
use tokio::time::Instant;
use utoipa::ToSchema;

pub use client::Downstream;

/// A source service composer calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
pub enum Dependency {
    #[serde(rename = "order-svc")]
    OrderSvc,
    #[serde(rename = "payment-svc")]
    PaymentSvc,
    #[serde(rename = "shipping-svc")]
    ShippingSvc,
}

impl Dependency {
    pub const ALL: [Dependency; 3] = [Dependency::OrderSvc, Dependency::PaymentSvc, Dependency::ShippingSvc];

    /// The name in logs, metrics and errors.
    pub fn name(self) -> &'static str {
        match self {
            Dependency::OrderSvc => "order-svc",
            Dependency::PaymentSvc => "payment-svc",
            Dependency::ShippingSvc => "shipping-svc",
        }
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a downstream call gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DownstreamError {
    #[error("{0} is not called: its circuit breaker is open")]
    CircuitOpen(Dependency),
    #[error("{0} did not answer within its deadline")]
    Timeout(Dependency),
    #[error("{dependency} is unreachable: {reason}")]
    Unreachable { dependency: Dependency, reason: String },
    #[error("{dependency} answered {status}")]
    Status { dependency: Dependency, status: u16 },
    #[error("{dependency} answered with an unexpected body: {reason}")]
    MalformedBody { dependency: Dependency, reason: String },
    /// Well-formed JSON that breaks composer's wire contract with the dependency: a required
    /// field missing, or of another type. A deploy of the dependency changed its API.
    #[error("{dependency} broke its contract: {reason}")]
    ContractViolation { dependency: Dependency, reason: String },
}

impl DownstreamError {
    pub fn dependency(&self) -> Dependency {
        match self {
            DownstreamError::CircuitOpen(dependency) | DownstreamError::Timeout(dependency) => *dependency,
            DownstreamError::Unreachable { dependency, .. }
            | DownstreamError::Status { dependency, .. }
            | DownstreamError::MalformedBody { dependency, .. }
            | DownstreamError::ContractViolation { dependency, .. } => *dependency,
        }
    }

    /// The `outcome` label of `composer_downstream_requests_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            DownstreamError::CircuitOpen(_) => "breaker_open",
            DownstreamError::Timeout(_) => "timeout",
            DownstreamError::Unreachable { .. } => "unreachable",
            DownstreamError::Status { status, .. } if *status >= 500 => "server_error",
            DownstreamError::Status { .. } => "client_error",
            DownstreamError::MalformedBody { .. } => "malformed",
            DownstreamError::ContractViolation { .. } => "contract",
        }
    }

    /// Whether the dependency answered in a shape composer cannot read as its contract says.
    pub fn is_contract_violation(&self) -> bool {
        matches!(self, DownstreamError::ContractViolation { .. })
    }

    /// Whether another attempt may succeed: the request never got an answer, or the answer
    /// says the service is briefly unable (502, 503, 504). GETs are idempotent, so resending is
    /// safe; a timed-out attempt has used its deadline and is not repeated.
    pub fn is_retryable(&self) -> bool {
        match self {
            DownstreamError::Unreachable { .. } => true,
            DownstreamError::Status { status, .. } => matches!(status, 502..=504),
            DownstreamError::CircuitOpen(_)
            | DownstreamError::Timeout(_)
            | DownstreamError::MalformedBody { .. }
            | DownstreamError::ContractViolation { .. } => false,
        }
    }

    /// Whether the failure is the dependency's (and so counts toward opening its breaker).
    /// A 4xx means composer asked wrongly; the dependency itself is answering. A contract
    /// violation is answered quickly and every time: the breaker guards against a slow or
    /// failing dependency, and opening it would hide the cause behind `breaker_open`.
    pub fn is_dependency_failure(&self) -> bool {
        match self {
            DownstreamError::Status { status, .. } => *status >= 500,
            DownstreamError::CircuitOpen(_) | DownstreamError::ContractViolation { .. } => false,
            DownstreamError::Timeout(_)
            | DownstreamError::Unreachable { .. }
            | DownstreamError::MalformedBody { .. } => true,
        }
    }
}

/// What one incoming request carries into every downstream call it makes: its deadline, its
/// trace, and the count of calls made, which is the fan-out reported to the client.
#[derive(Debug)]
pub struct RequestContext {
    pub deadline: Instant,
    pub traceparent: String,
    downstream_calls: AtomicU32,
}

impl RequestContext {
    pub fn new(deadline: Instant, traceparent: String) -> Self {
        RequestContext { deadline, traceparent, downstream_calls: AtomicU32::new(0) }
    }

    fn count_call(&self) {
        self.downstream_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests sent downstream so far (attempts, retries included; refused calls excluded).
    pub fn downstream_calls(&self) -> u32 {
        self.downstream_calls.load(Ordering::Relaxed)
    }
}
