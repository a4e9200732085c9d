//! `GET /stats` by composition: page through order-svc's orders newest first, compose each
//! order of the range from its payments and shipments, and sum the contributions in memory
//! with the rules order-history's statistics use ([`order_view::stats`]).
//!
//! It answers within the search deadline with what it could read, and `coverage` says what it
//! did not: orders left unread when the deadline or order-svc stopped the scan, and orders
//! whose payments or shipments could not be fetched (counted by their order's status alone).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use metrics::histogram;
use order_view::source_api::OrderRecord;
use order_view::stats::{Contribution, Rollup, STATS_PARAMS, StatsAnswer, StatsParamError, StatsQuery};
use platform::http::json_error;
use platform::query::parse_query;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::ToSchema;

use super::ApiState;
use super::orders::{DEADLINE_GUARD, DOWNSTREAM_CALLS_HEADER, compose_all, set_header};
use crate::compose::{Composed, DegradedPart};
use crate::downstream::RequestContext;
use crate::telemetry::DOWNSTREAM_CALLS_PER_REQUEST;

/// The statistics composer could compute, and what they leave out.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ComposedStats {
    #[serde(flatten)]
    pub answer: StatsAnswer,
    /// When composer started reading: it answers from the services' current state.
    pub as_of: Option<DateTime<Utc>>,
    /// True when `coverage.complete` is false: the buckets may undercount.
    pub stale: bool,
    pub coverage: Coverage,
    /// Requests sent to the source services for this answer (retries included).
    pub downstream_calls: u32,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct Coverage {
    /// Every order of the range was read and composed whole.
    pub complete: bool,
    /// Orders of the range composed and counted.
    pub orders_read: usize,
    /// Orders order-svc listed, in the range or not (newer ones are listed first).
    pub orders_listed: usize,
    /// Pages of orders listed.
    pub pages_listed: u32,
    /// What the answer leaves out, in words, e.g. `orders placed before 2026-01-01T10:00:00Z
    /// (deadline)` or `payments of 3 orders`.
    pub missing: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposedStatsError {
    #[error("{message}")]
    BadRequest { field: &'static str, message: String },
}

impl From<StatsParamError> for ComposedStatsError {
    fn from(error: StatsParamError) -> Self {
        ComposedStatsError::BadRequest { field: error.field, message: error.message }
    }
}

impl From<platform::query::ParamError> for ComposedStatsError {
    fn from(error: platform::query::ParamError) -> Self {
        ComposedStatsError::BadRequest { field: error.field, message: error.message }
    }
}

impl IntoResponse for ComposedStatsError {
    fn into_response(self) -> Response {
        match &self {
            ComposedStatsError::BadRequest { field, message } => {
                json_error(StatusCode::BAD_REQUEST, message, Some(field))
            }
        }
    }
}

/// Orders and revenue per period and key, and the top products, composed from the source
/// services at request time. Service tokens only: the numbers span every customer.
#[utoipa::path(get, path = "/stats", tag = "stats",
    params(
        ("from" = String, Query, description = "start of the range (RFC 3339), rounded down to the hour"),
        ("to" = String, Query, description = "end of the range (RFC 3339, exclusive), rounded up to the hour"),
        ("granularity" = Option<String>, Query, description = "hour, day (default) or month"),
        ("group_by" = Option<String>, Query, description = "status, payment_status, shipment_status, country or currency")),
    responses(
        (status = 200, body = ComposedStats),
        (status = 400, body = platform::json::ErrorBody, description = "a parameter cannot be used; `field` names it"),
        (status = 403, body = platform::json::ErrorBody, description = "not a service token")))]
pub async fn get_stats(State(state): State<ApiState>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let parsed = parse_query(query.as_deref(), &STATS_PARAMS)
        .map_err(ComposedStatsError::from)
        .and_then(|params| StatsQuery::parse(&params).map_err(ComposedStatsError::from));
    let query = match parsed {
        Ok(query) => query,
        Err(error) => return error.into_response(),
    };
    let context = RequestContext::new(
        Instant::now() + state.limits.search_deadline,
        platform::trace::traceparent_or_new(&headers),
    );
    let stats = compose_stats(&state, &query, &context).await;
    let calls = context.downstream_calls();
    histogram!(DOWNSTREAM_CALLS_PER_REQUEST, "route" => "stats").record(f64::from(calls));
    let mut response = Json(stats).into_response();
    set_header(&mut response, DOWNSTREAM_CALLS_HEADER, calls.to_string());
    response
}

async fn compose_stats(state: &ApiState, query: &StatsQuery, context: &RequestContext) -> ComposedStats {
    let as_of = Utc::now();
    let downstream = &state.downstream;
    let mut rollup = Rollup::default();
    let mut coverage = Coverage::default();
    let (mut payments_missing, mut shipments_missing) = (0usize, 0usize);
    let mut cursor: Option<String> = None;
    // the placement time down to which every order was read
    let mut read_down_to: Option<DateTime<Utc>> = None;
    let unread = loop {
        // calls past the deadline would fail anyway; the guard leaves time to answer
        if Instant::now() + DEADLINE_GUARD >= context.deadline {
            break Some("deadline");
        }
        let page = match downstream.orders_page(None, cursor.as_deref(), context).await {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(%error, "order-svc cannot list orders; statistics are partial");
                break Some("order-svc unavailable");
            }
        };
        coverage.pages_listed += 1;
        coverage.orders_listed += page.orders.len();
        let mut reached_the_start = false;
        let mut in_range: Vec<OrderRecord> = Vec::new();
        for order in page.orders {
            if order.created_at >= query.to {
                continue;
            }
            if order.created_at < query.from {
                reached_the_start = true;
                break;
            }
            in_range.push(order);
        }
        let oldest_on_page = in_range.last().map(|order| order.created_at);
        for (Composed { document, degraded }, _reasons) in
            compose_all(downstream, in_range, state.limits.fanout_concurrency, context).await
        {
            payments_missing += usize::from(degraded.contains(&DegradedPart::Payments));
            shipments_missing += usize::from(degraded.contains(&DegradedPart::Shipments));
            if let Some(contribution) = Contribution::of(&document) {
                rollup.apply(&contribution, 1);
                coverage.orders_read += 1;
            }
        }
        if let Some(oldest) = oldest_on_page {
            read_down_to = Some(oldest);
        }
        cursor = page.next_cursor;
        if reached_the_start || cursor.is_none() {
            break None;
        }
    };
    if let Some(reason) = unread {
        let before = read_down_to.unwrap_or(query.to);
        coverage.missing.push(format!(
            "orders placed from {} to before {} ({reason})",
            query.from.to_rfc3339(),
            before.to_rfc3339()
        ));
    }
    if payments_missing > 0 {
        coverage.missing.push(format!("payments of {payments_missing} orders"));
    }
    if shipments_missing > 0 {
        coverage.missing.push(format!("shipments of {shipments_missing} orders"));
    }
    coverage.complete = coverage.missing.is_empty();
    tracing::debug!(
        orders_read = coverage.orders_read,
        orders_listed = coverage.orders_listed,
        complete = coverage.complete,
        downstream_calls = context.downstream_calls(),
        "statistics composed"
    );
    ComposedStats {
        answer: rollup.answer(query),
        as_of: Some(as_of),
        stale: !coverage.complete,
        coverage,
        downstream_calls: context.downstream_calls(),
    }
}
