//! `GET /orders/{id}` and `GET /orders`: call the source services, merge, answer.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, StreamExt, TryFutureExt};
use metrics::{counter, histogram};
use order_view::OrderHistory;
use order_view::search::{SearchFilters, SortOrder, parse_cursor, parse_limit, parse_text};
use platform::auth::Reader;
use platform::query::{parse_customer_id, parse_query};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ApiState;
use super::error::{GetOrderError, SearchError};
use crate::compose::{Composed, DegradedPart, compose};
use crate::downstream::{Downstream, DownstreamError, RequestContext};
use crate::search::{After, FoldedText, Match, SearchFilter, SearchResults, page_of};
use crate::telemetry::{DEGRADED_TOTAL, DOWNSTREAM_CALLS_PER_REQUEST, DegradeReason};
use order_view::source_api::{OrderPage, OrderRecord, PaymentRecord, ShipmentRecord};

/// Requests sent to the source services to answer this request: the fan-out, N+1 for a search.
pub const DOWNSTREAM_CALLS_HEADER: &str = "x-downstream-calls";
/// Orders a search listed from order-svc (before any filter).
pub const ORDERS_SCANNED_HEADER: &str = "x-orders-scanned";
/// Present (`true`) when a search stopped listing at `--search-max-pages`.
pub const SCAN_TRUNCATED_HEADER: &str = "x-scan-truncated";

/// How long after the request deadline the handler gives up on its own. Every downstream call
/// is already cut at the deadline; this only guards against a bug holding the answer back.
pub(crate) const DEADLINE_GUARD: std::time::Duration = std::time::Duration::from_millis(50);

/// The composed document, plus `degraded` naming the parts left out because their service
/// failed; absent when nothing was left out, so a full answer is exactly order-history's JSON.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ComposedOrder {
    #[serde(flatten)]
    pub document: OrderHistory,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<DegradedPart>,
}

/// One order's history, composed from order-svc, payment-svc and shipping-svc, called
/// concurrently. Without payment-svc or shipping-svc the answer is degraded, not an error.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders",
    params(("id" = Uuid, Path, description = "the order id")),
    responses(
        (status = 200, body = ComposedOrder, headers(("x-downstream-calls" = u32, description = "requests made to the source services"))),
        (status = 400, body = platform::json::ErrorBody, description = "the id is not a uuid"),
        (status = 404, body = platform::json::ErrorBody, description = "order-svc has no such order"),
        (status = 502, body = platform::json::ErrorBody, description = "order-svc failed or its breaker is open"),
        (status = 504, body = platform::json::ErrorBody, description = "order-svc, or the whole request, ran out of time")))]
pub async fn get_order(
    State(state): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let context = RequestContext::new(
        Instant::now() + state.limits.request_deadline,
        platform::trace::traceparent_or_new(&headers),
    );
    let answer =
        tokio::time::timeout_at(context.deadline + DEADLINE_GUARD, get_composed_order(&state, &reader, &id, &context))
            .await
            .unwrap_or(Err(GetOrderError::DeadlineExceeded(state.limits.request_deadline)));
    let calls = context.downstream_calls();
    histogram!(DOWNSTREAM_CALLS_PER_REQUEST, "route" => "get_order").record(f64::from(calls));
    let mut response = match answer {
        Ok((composed, reasons)) => {
            count_degraded("get_order", &reasons);
            if !composed.degraded.is_empty() {
                tracing::info!(order_id = %composed.document.order_id, degraded = ?composed.degraded, "degraded answer");
            }
            Json(ComposedOrder { document: composed.document, degraded: composed.degraded }).into_response()
        }
        Err(error) => error.into_response(),
    };
    set_header(&mut response, DOWNSTREAM_CALLS_HEADER, calls.to_string());
    response
}

async fn get_composed_order(
    state: &ApiState,
    reader: &Reader,
    id: &str,
    context: &RequestContext,
) -> Result<(Composed, DegradeReasons), GetOrderError> {
    let order_id = Uuid::parse_str(id).map_err(|_| GetOrderError::BadRequest {
        message: format!("{id:?} is not an order id (a uuid)"),
        field: "id",
    })?;
    let downstream = &state.downstream;
    // all three at once; a failure of order-svc answers at once, without waiting for the others
    let order = downstream
        .order(order_id, context)
        .map_err(GetOrderError::OrderSvc)
        .and_then(|order| std::future::ready(order.ok_or(GetOrderError::NotFound(order_id))));
    let parts = optional_parts(downstream, order_id, context);
    let (order, parts) = futures::future::try_join(order, parts.map(Ok)).await?;
    // another customer's order answers as absent, so that its existence does not leak
    if !reader.may_read(Some(&order.customer_id)) {
        return Err(GetOrderError::NotFound(order_id));
    }
    Ok((compose(order, parts.payments, parts.shipments), parts.degraded))
}

/// Why each left-out part was left out.
type DegradeReasons = BTreeMap<DegradedPart, DegradeReason>;

/// The optional parts of one order: `None` for a part left out, and why.
struct Parts {
    payments: Option<Vec<PaymentRecord>>,
    shipments: Option<Vec<ShipmentRecord>>,
    degraded: DegradeReasons,
}

fn count_degraded(route: &'static str, reasons: &DegradeReasons) {
    for (part, reason) in reasons {
        counter!(DEGRADED_TOTAL, "route" => route, "part" => part.name(), "reason" => reason.label()).increment(1);
    }
}

/// Payments and shipments of one order, fetched concurrently; `None` for a part whose service
/// failed, which the answer then names as degraded.
async fn optional_parts(downstream: &Downstream, order_id: Uuid, context: &RequestContext) -> Parts {
    let (payments, shipments) =
        tokio::join!(downstream.payments_of(order_id, context), downstream.shipments_of(order_id, context));
    let mut degraded = DegradeReasons::new();
    let payments = optional(payments, order_id, DegradedPart::Payments, &mut degraded);
    let shipments = optional(shipments, order_id, DegradedPart::Shipments, &mut degraded);
    Parts { payments, shipments, degraded }
}

fn optional<T>(
    result: Result<T, DownstreamError>,
    order_id: Uuid,
    part: DegradedPart,
    degraded: &mut DegradeReasons,
) -> Option<T> {
    let error = match result {
        Ok(value) => return Some(value),
        Err(error) => error,
    };
    tracing::debug!(%order_id, dependency = error.dependency().name(), error = %error, "part left out");
    let reason = if error.is_contract_violation() { DegradeReason::Contract } else { DegradeReason::Dependency };
    degraded.insert(part, reason);
    None
}

pub(crate) fn set_header(response: &mut Response, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(HeaderName::from_static(name), value);
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; they are parsed by hand for precise errors
pub struct SearchParams {
    /// Required: composition can only list one customer's orders.
    customer_id: String,
    /// Words over customer name and email, item names and SKUs, addresses and tracking numbers;
    /// every word must match exactly (case and accents aside, no typo tolerance); "quoted
    /// words" match as a phrase. At most 256 characters and 16 words.
    q: Option<String>,
    /// PLACED or CANCELLED.
    status: Option<String>,
    /// AUTHORIZED, DECLINED, CAPTURED or REFUNDED: any payment of the order.
    payment_status: Option<String>,
    /// CREATED, DISPATCHED, IN_TRANSIT, DELIVERED or RETURNED: any shipment of the order.
    shipment_status: Option<String>,
    /// Placed at or after: RFC 3339 or YYYY-MM-DD.
    placed_from: Option<String>,
    /// Placed before: RFC 3339 or YYYY-MM-DD.
    placed_to: Option<String>,
    /// Minimum total in minor units, inclusive.
    min_total: Option<i64>,
    /// Maximum total in minor units, inclusive.
    max_total: Option<i64>,
    /// newest (default) or total; there is no relevance ranking.
    sort: Option<String>,
    /// 1 to 100, default 20.
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

const SEARCH_PARAMS: [&str; 12] = [
    "customer_id",
    "q",
    "status",
    "payment_status",
    "shipment_status",
    "placed_from",
    "placed_to",
    "min_total",
    "max_total",
    "sort",
    "limit",
    "cursor",
];

/// A search, parsed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchRequest {
    pub filter: SearchFilter,
    pub sort: SortOrder,
    pub limit: usize,
    pub after: Option<After>,
}

/// One customer's orders, composed one by one and filtered in memory: the search composition
/// can serve. Lists the customer's orders from order-svc page by page, calls payment-svc and
/// shipping-svc for each order that the order-level filters keep (bounded concurrency), then
/// filters, counts and pages. `x-downstream-calls` tells what it cost.
#[utoipa::path(get, path = "/orders", tag = "orders", params(SearchParams),
    responses(
        (status = 200, body = SearchResults, headers(
            ("x-downstream-calls" = u32, description = "requests made to the source services (the N+1)"),
            ("x-orders-scanned" = u32, description = "orders listed from order-svc"),
            ("x-scan-truncated" = bool, description = "present when the listing stopped at the page limit"))),
        (status = 400, body = platform::json::ErrorBody, description = "no customer_id, or a parameter is malformed"),
        (status = 502, body = platform::json::ErrorBody, description = "order-svc failed or its breaker is open"),
        (status = 504, body = platform::json::ErrorBody, description = "order-svc, or the whole search, ran out of time")))]
pub async fn search_orders(
    State(state): State<ApiState>,
    Extension(reader): Extension<Reader>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let context = RequestContext::new(
        Instant::now() + state.limits.search_deadline,
        platform::trace::traceparent_or_new(&headers),
    );
    let answer =
        tokio::time::timeout_at(context.deadline + DEADLINE_GUARD, search(&state, &reader, query.as_deref(), &context))
            .await
            .unwrap_or(Err(SearchError::DeadlineExceeded(state.limits.search_deadline)));
    let calls = context.downstream_calls();
    histogram!(DOWNSTREAM_CALLS_PER_REQUEST, "route" => "search_orders").record(f64::from(calls));
    let mut response = match answer {
        Ok(answer) => {
            count_degraded("search_orders", &answer.degraded);
            let mut response = Json(answer.results).into_response();
            set_header(&mut response, ORDERS_SCANNED_HEADER, answer.orders_scanned.to_string());
            if answer.truncated {
                set_header(&mut response, SCAN_TRUNCATED_HEADER, "true".to_string());
            }
            response
        }
        Err(error) => error.into_response(),
    };
    set_header(&mut response, DOWNSTREAM_CALLS_HEADER, calls.to_string());
    response
}

struct SearchAnswer {
    results: SearchResults,
    degraded: DegradeReasons,
    orders_scanned: usize,
    truncated: bool,
}

async fn search(
    state: &ApiState,
    reader: &Reader,
    raw_query: Option<&str>,
    context: &RequestContext,
) -> Result<SearchAnswer, SearchError> {
    let request = parse_search(raw_query, reader)?;
    let scan = scan_customer(state, &request.filter, context).await?;
    let mut results = page_of(scan.matches, request.sort, request.after, request.limit);
    results.degraded = scan.degraded.keys().copied().collect();
    tracing::debug!(
        customer_id = %request.filter.customer_id,
        orders_scanned = scan.orders_scanned,
        total = results.total,
        downstream_calls = context.downstream_calls(),
        "search composed"
    );
    Ok(SearchAnswer {
        results,
        degraded: scan.degraded,
        orders_scanned: scan.orders_scanned,
        truncated: scan.truncated,
    })
}

struct Scan {
    matches: Vec<Match>,
    /// A part left out of any order, and why; a broken contract outranks a failure.
    degraded: DegradeReasons,
    orders_scanned: usize,
    truncated: bool,
}

/// Lists the customer's orders page by page and composes those the order-level filters keep;
/// the next page is fetched while the current one fans out.
async fn scan_customer(state: &ApiState, filter: &SearchFilter, context: &RequestContext) -> Result<Scan, SearchError> {
    let downstream = &state.downstream;
    let list_page = |cursor: Option<String>| async move {
        downstream
            .orders_page(Some(&filter.customer_id), cursor.as_deref(), context)
            .await
            .map_err(SearchError::OrderSvc)
    };
    let mut scan = Scan { matches: Vec::new(), degraded: DegradeReasons::new(), orders_scanned: 0, truncated: false };
    let mut page: OrderPage = list_page(None).await?;
    let mut pages_listed: u32 = 1;
    loop {
        scan.orders_scanned += page.orders.len();
        let next_cursor = page.next_cursor.take();
        let may_list_more = pages_listed < state.limits.search_max_pages;
        let admitted: Vec<OrderRecord> = page.orders.into_iter().filter(|order| filter.admits_order(order)).collect();
        let fan_out = compose_all(downstream, admitted, state.limits.fanout_concurrency, context);
        let next_page = async {
            match &next_cursor {
                Some(cursor) if may_list_more => list_page(Some(cursor.clone())).await.map(Some),
                _ => Ok(None),
            }
        };
        let (composed, next_page) = futures::future::try_join(fan_out.map(Ok), next_page).await?;
        for (Composed { document, .. }, degraded) in composed {
            for (part, reason) in degraded {
                let worst = scan.degraded.entry(part).or_insert(reason);
                *worst = (*worst).max(reason);
            }
            if let Some(highlights) = filter.matches(&document) {
                scan.matches.push(Match { document, highlights });
            }
        }
        match next_page {
            Some(next) => {
                page = next;
                pages_listed += 1;
            }
            None => {
                scan.truncated = next_cursor.is_some();
                return Ok(scan);
            }
        }
    }
}

/// Composes `orders`, at most `concurrency` at a time (two calls each).
pub(crate) async fn compose_all(
    downstream: &Downstream,
    orders: Vec<OrderRecord>,
    concurrency: usize,
    context: &RequestContext,
) -> Vec<(Composed, DegradeReasons)> {
    futures::stream::iter(orders)
        .map(|order| async move {
            let parts = optional_parts(downstream, order.id, context).await;
            (compose(order, parts.payments, parts.shipments), parts.degraded)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// Parses and checks every search parameter; the first problem becomes the 400's message. A
/// customer token stands for its own `customer_id` and refuses another's.
pub fn parse_search(raw: Option<&str>, reader: &Reader) -> Result<SearchRequest, SearchError> {
    let params = parse_query(raw, &SEARCH_PARAMS)?;
    // order-svc's rule: a customer id that cannot exist is a bad request here too, not a 502
    let requested = params.get("customer_id").map(|raw| parse_customer_id(raw)).transpose()?;
    let customer_id = reader.scope_customer(requested)?.ok_or(SearchError::CustomerRequired)?;
    // a customer token's own id is held to the same rule, as order-history holds it
    let customer_id = parse_customer_id(&customer_id)?;
    let text = parse_text(&params)?.map(FoldedText::of);
    let filters = SearchFilters::parse(&params)?;
    let sort = match params.get("sort") {
        None => SortOrder::Newest,
        Some(name) => match SortOrder::from_name(name) {
            Some(SortOrder::Relevance) => {
                return Err(SearchError::bad(
                    "sort",
                    "composition has no relevance ranking; sort by newest or total, or ask order-history".to_string(),
                ));
            }
            Some(sort) => sort,
            None => return Err(SearchError::bad("sort", format!("sort must be newest or total, not {name:?}"))),
        },
    };
    let limit = parse_limit(&params)?;
    let after = parse_cursor(&params, sort)?
        .map(|cursor| After::of(&cursor))
        .transpose()
        .map_err(|error| SearchError::bad("cursor", error.to_string()))?;
    let filter = SearchFilter { customer_id, text, filters };
    Ok(SearchRequest { filter, sort, limit, after })
}

#[cfg(test)]
mod tests {
    use order_view::search::{Cursor, CursorKey, MalformedCursor};

    use super::*;

    fn parse_search_as_service(raw: Option<&str>) -> Result<SearchRequest, SearchError> {
        parse_search(raw, &Reader::Service)
    }

    #[test]
    fn a_customer_token_stands_for_its_customer_and_refuses_another() {
        let customer = Reader::Customer("cust-7".to_string());
        let own = parse_search(Some("q=kettle"), &customer).expect("parses");
        assert_eq!(own.filter.customer_id, "cust-7");
        assert!(parse_search(Some("customer_id=cust-7"), &customer).is_ok());
        assert!(matches!(parse_search(Some("customer_id=cust-8"), &customer), Err(SearchError::Refused(_))));
    }

    fn error_of(query: &str) -> (String, String) {
        match parse_search_as_service(Some(query)) {
            Err(SearchError::BadRequest { field, message }) => (field.to_string(), message),
            Err(SearchError::CustomerRequired) => ("customer_id".to_string(), "required".to_string()),
            other => panic!("expected a bad request for {query:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_full_query_parses() {
        let request = parse_search_as_service(Some(
            "customer_id=cust-7&q=kettle+%22tea+mug%22&status=placed&payment_status=CAPTURED&shipment_status=in_transit&placed_from=2026-01-01&placed_to=2026-02-01T00:00:00Z&min_total=100&max_total=900&sort=total&limit=5",
        ))
        .expect("parses");
        assert_eq!(request.filter.customer_id, "cust-7");
        assert_eq!(request.filter.filters.status, Some(order_view::OrderStatus::Placed));
        assert_eq!(request.filter.filters.payment_status, Some(order_view::PaymentStatus::Captured));
        assert_eq!(request.filter.filters.shipment_status, Some(order_view::ShipmentStatus::InTransit));
        assert_eq!(request.sort, SortOrder::Total);
        assert_eq!(request.limit, 5);
        assert_eq!(request.filter.text.map(|text| text.clauses.len()), Some(2));
    }

    #[test]
    fn a_search_without_a_customer_is_refused_with_the_reason() {
        assert!(matches!(parse_search_as_service(Some("q=kettle")), Err(SearchError::CustomerRequired)));
        assert!(matches!(parse_search_as_service(None), Err(SearchError::CustomerRequired)));
        assert!(SearchError::CustomerRequired.to_string().contains("order-history"));
    }

    /// The shared parameters are checked by `order_view::search`; these are the ones
    /// composer treats its own way, and the order in which problems are reported.
    #[test]
    fn bad_input_names_the_parameter() {
        assert_eq!(error_of("customer_id=").0, "customer_id");
        assert_eq!(
            error_of("customer_id=c&sort=price"),
            ("sort".into(), "sort must be newest or total, not \"price\"".into())
        );
        assert!(error_of("customer_id=c&sort=relevance").1.contains("no relevance ranking"));
        assert_eq!(error_of("customer_id=c&include_incomplete=true").0, "query");
        assert_eq!(error_of("customer_id=c&customer_id=d").0, "customer_id");
        assert_eq!(error_of("customer_id=&q=%22").0, "customer_id");
        assert_eq!(error_of("customer_id=c&cursor=bm90LWEtY3Vyc29y&limit=0&sort=price&max_total=-1&q=%22").0, "q");
        assert_eq!(error_of("customer_id=c&cursor=bm90LWEtY3Vyc29y&limit=0&sort=price").0, "sort");
        assert_eq!(error_of("customer_id=c&cursor=bm90LWEtY3Vyc29y&limit=0").0, "limit");
        assert_eq!(error_of("customer_id=c&cursor=bm90LWEtY3Vyc29y").0, "cursor");
    }

    #[test]
    fn a_cursor_of_another_sort_or_with_a_score_is_refused() {
        let order_id = Uuid::now_v7();
        let cursor = Cursor { sort: SortOrder::Total, key: CursorKey::Integer(1), order_id }.encode();
        assert_eq!(error_of(&format!("customer_id=c&cursor={cursor}")).0, "cursor");
        assert!(parse_search_as_service(Some(&format!("customer_id=c&sort=total&cursor={cursor}"))).is_ok());
        let scored = Cursor { sort: SortOrder::Newest, key: CursorKey::Score(1.5), order_id }.encode();
        let (field, message) = error_of(&format!("customer_id=c&cursor={scored}"));
        assert_eq!((field.as_str(), message), ("cursor", MalformedCursor.to_string()));
    }
}
