//! The calls themselves: a deadline per call, retries within the budget, the breaker around
//! every attempt, and a metric for each.

use std::collections::BTreeMap;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use platform::auth::ServiceToken;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use uuid::Uuid;

use super::breaker::{BreakerState, CircuitBreaker, Transition};
use super::retry::RetryBudget;
use super::{Dependency, DownstreamError, RequestContext};
use crate::config::{Config, PaymentApiVersion};
use crate::telemetry::{
    BREAKER_STATE, ContractViolation, DOWNSTREAM_REQUESTS_TOTAL, DOWNSTREAM_RETRIES_TOTAL, DOWNSTREAM_SECONDS,
    RETRY_BUDGET_EXHAUSTED_TOTAL,
};
use order_view::source_api::{
    OrderPage, OrderRecord, PaymentList, PaymentListV2, PaymentRecord, ShipmentList, ShipmentRecord,
};

/// The page size composer lists a customer's orders with: order-svc's maximum.
pub const ORDER_PAGE_SIZE: usize = 100;
/// How long to wait before a retry, at least and at most; jittered so that retries of many
/// requests do not arrive together.
const RETRY_BACKOFF_MS: (u64, u64) = (5, 25);

/// One dependency: where it is, its breaker and its retry budget.
struct Endpoint {
    dependency: Dependency,
    base_url: String,
    breaker: CircuitBreaker,
    budget: RetryBudget,
}

/// The three source services behind one pooled HTTP client.
pub struct Downstream {
    http: reqwest::Client,
    /// The source services' read APIs serve services only.
    service_token: ServiceToken,
    call_deadline: Duration,
    payment_api_version: PaymentApiVersion,
    order_svc: Endpoint,
    payment_svc: Endpoint,
    shipping_svc: Endpoint,
}

/// Whether a 404 means "there is no such thing" (GET by id) or a wrong URL (a list).
#[derive(Clone, Copy, PartialEq, Eq)]
enum NotFound {
    IsAbsent,
    IsError,
}

impl Downstream {
    pub fn new(config: &Config, service_token: ServiceToken) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // the dependencies are internal services, reached directly
            .no_proxy()
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .pool_idle_timeout(Duration::from_secs(30))
            .connect_timeout(config.call_deadline())
            .tcp_nodelay(true)
            .user_agent(concat!("composer/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let endpoint = |dependency: Dependency, base_url: &str| {
            gauge!(BREAKER_STATE, "dependency" => dependency.name()).set(BreakerState::Closed.gauge_value());
            Endpoint {
                dependency,
                base_url: base_url.trim_end_matches('/').to_string(),
                breaker: CircuitBreaker::new(config.breaker_settings()),
                budget: RetryBudget::new(config.retry_budget_settings()),
            }
        };
        Ok(Downstream {
            http,
            service_token,
            call_deadline: config.call_deadline(),
            payment_api_version: config.payment_api_version,
            order_svc: endpoint(Dependency::OrderSvc, &config.sources.order_svc_url),
            payment_svc: endpoint(Dependency::PaymentSvc, &config.sources.payment_svc_url),
            shipping_svc: endpoint(Dependency::ShippingSvc, &config.sources.shipping_svc_url),
        })
    }

    /// `GET /orders/{id}` of order-svc; `None` when it has no such order.
    pub async fn order(
        &self,
        order_id: Uuid,
        context: &RequestContext,
    ) -> Result<Option<OrderRecord>, DownstreamError> {
        let path = format!("/orders/{order_id}");
        self.get(&self.order_svc, &path, &[], NotFound::IsAbsent, context).await
    }

    /// One page of a customer's orders, or of every customer's without `customer_id`, newest
    /// placement first.
    pub async fn orders_page(
        &self,
        customer_id: Option<&str>,
        cursor: Option<&str>,
        context: &RequestContext,
    ) -> Result<OrderPage, DownstreamError> {
        let limit = ORDER_PAGE_SIZE.to_string();
        let mut query = Vec::new();
        if let Some(customer_id) = customer_id {
            query.push(("customer_id", customer_id));
        }
        query.push(("limit", limit.as_str()));
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        let page = self.get(&self.order_svc, "/orders", &query, NotFound::IsError, context).await?;
        page.ok_or(DownstreamError::Status { dependency: Dependency::OrderSvc, status: 404 })
    }

    pub async fn payments_of(
        &self,
        order_id: Uuid,
        context: &RequestContext,
    ) -> Result<Vec<PaymentRecord>, DownstreamError> {
        let order_id = order_id.to_string();
        let query = [("order_id", order_id.as_str())];
        let absent = DownstreamError::Status { dependency: Dependency::PaymentSvc, status: 404 };
        match self.payment_api_version {
            PaymentApiVersion::V1 => {
                let list: Option<PaymentList> =
                    self.get(&self.payment_svc, "/payments", &query, NotFound::IsError, context).await?;
                Ok(list.ok_or(absent)?.payments)
            }
            PaymentApiVersion::V2 => {
                let list: Option<PaymentListV2> =
                    self.get(&self.payment_svc, "/v2/payments", &query, NotFound::IsError, context).await?;
                Ok(list.ok_or(absent)?.payments.into_iter().map(PaymentRecord::from).collect())
            }
        }
    }

    pub async fn shipments_of(
        &self,
        order_id: Uuid,
        context: &RequestContext,
    ) -> Result<Vec<ShipmentRecord>, DownstreamError> {
        let order_id = order_id.to_string();
        let list: Option<ShipmentList> =
            self.get(&self.shipping_svc, "/shipments", &[("order_id", &order_id)], NotFound::IsError, context).await?;
        let list = list.ok_or(DownstreamError::Status { dependency: Dependency::ShippingSvc, status: 404 })?;
        Ok(list.shipments)
    }

    /// Each dependency's breaker state, by name.
    pub fn breaker_states(&self) -> BTreeMap<&'static str, BreakerState> {
        [&self.order_svc, &self.payment_svc, &self.shipping_svc]
            .into_iter()
            .map(|endpoint| (endpoint.dependency.name(), endpoint.breaker.state()))
            .collect()
    }

    /// One call: attempts within the call's deadline (never past the request's), each through
    /// the breaker, failed ones retried while the budget allows.
    async fn get<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        path: &str,
        query: &[(&str, &str)],
        not_found: NotFound,
        context: &RequestContext,
    ) -> Result<Option<T>, DownstreamError> {
        let dependency = endpoint.dependency;
        let url = format!("{}{path}", endpoint.base_url);
        let own_deadline = Instant::now() + self.call_deadline;
        let deadline = own_deadline.min(context.deadline);
        let cut_short_by_request = context.deadline < own_deadline;
        endpoint.budget.deposit();
        let mut retries = 0;
        loop {
            let admitted = endpoint.breaker.admit(Instant::now());
            let Ok((permit, transition)) = admitted else {
                counter!(DOWNSTREAM_REQUESTS_TOTAL, "dependency" => dependency.name(), "outcome" => "breaker_open")
                    .increment(1);
                return Err(DownstreamError::CircuitOpen(dependency));
            };
            report_transition(dependency, transition);
            context.count_call();
            let started = Instant::now();
            let attempt =
                tokio::time::timeout_at(deadline, self.attempt::<T>(dependency, &url, query, not_found, context));
            let (result, request_ran_out) = match attempt.await {
                Ok(result) => (result, false),
                Err(_elapsed) => (Err(DownstreamError::Timeout(dependency)), cut_short_by_request),
            };
            histogram!(DOWNSTREAM_SECONDS, "dependency" => dependency.name()).record(started.elapsed().as_secs_f64());
            let outcome = match &result {
                Ok(Some(_)) => "ok",
                Ok(None) => "not_found",
                Err(error) => error.outcome(),
            };
            counter!(DOWNSTREAM_REQUESTS_TOTAL, "dependency" => dependency.name(), "outcome" => outcome).increment(1);
            let error = match result {
                Ok(found) => {
                    report_transition(dependency, permit.succeeded(Instant::now()));
                    return Ok(found);
                }
                Err(error) => error,
            };
            if request_ran_out {
                // the request's deadline cut the attempt short, not the dependency's slowness:
                // no verdict for the breaker
                drop(permit);
            } else if error.is_dependency_failure() {
                report_transition(dependency, permit.failed(Instant::now()));
            } else {
                report_transition(dependency, permit.succeeded(Instant::now()));
            }
            tracing::debug!(dependency = dependency.name(), path, retries, error = %error, "downstream attempt failed");
            if !error.is_retryable() || retries >= endpoint.budget.max_retries() {
                return Err(error);
            }
            if !endpoint.budget.try_withdraw() {
                counter!(RETRY_BUDGET_EXHAUSTED_TOTAL, "dependency" => dependency.name()).increment(1);
                return Err(error);
            }
            let backoff = Duration::from_millis(fastrand::u64(RETRY_BACKOFF_MS.0..=RETRY_BACKOFF_MS.1));
            if Instant::now() + backoff >= deadline {
                return Err(error);
            }
            tokio::time::sleep(backoff).await;
            retries += 1;
            counter!(DOWNSTREAM_RETRIES_TOTAL, "dependency" => dependency.name()).increment(1);
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        dependency: Dependency,
        url: &str,
        query: &[(&str, &str)],
        not_found: NotFound,
        context: &RequestContext,
    ) -> Result<Option<T>, DownstreamError> {
        let response = self
            .http
            .get(url)
            .query(query)
            .bearer_auth(self.service_token.bearer())
            .header(platform::trace::TRACEPARENT_HEADER, &context.traceparent)
            .send()
            .await
            .map_err(|error| DownstreamError::Unreachable {
                dependency,
                reason: platform::errors::error_chain(&error),
            })?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND && not_found == NotFound::IsAbsent {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(DownstreamError::Status { dependency, status: status.as_u16() });
        }
        let body = response.bytes().await.map_err(|error| DownstreamError::Unreachable {
            dependency,
            reason: platform::errors::error_chain(&error),
        })?;
        let parsed = serde_json::from_slice(&body).map_err(|error| classify_body_error(dependency, &error))?;
        Ok(Some(parsed))
    }
}

/// Tells a body that is not JSON from JSON that breaks the wire contract (a field missing or
/// of another type), which is a change of the dependency's API, never to be papered over with
/// a default: composer then leaves the part out and names it.
fn classify_body_error(dependency: Dependency, error: &serde_json::Error) -> DownstreamError {
    let reason = error.to_string();
    if error.classify() != serde_json::error::Category::Data {
        return DownstreamError::MalformedBody { dependency, reason };
    }
    ContractViolation { dependency, detail: &reason }.emit();
    DownstreamError::ContractViolation { dependency, reason }
}

fn report_transition(dependency: Dependency, transition: Option<Transition>) {
    let Some(Transition { from, to }) = transition else {
        return;
    };
    gauge!(BREAKER_STATE, "dependency" => dependency.name()).set(to.gauge_value());
    tracing::warn!(dependency = dependency.name(), ?from, ?to, "circuit breaker changed state");
}
