//! `GET /orders/{id}` and `GET /orders`: parse the request into a typed query, ask the live view.

use std::time::Duration;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use order_view::OrderHistory;
use order_view::search::{SearchFilters, parse_cursor, parse_limit, parse_text};
use platform::auth::Reader;
use platform::query::{parse_customer_id, parse_query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ApiState;
use super::error::{GetOrderError, SearchError};
use crate::index::{DocumentJson, SearchQuery, SearchResults, SortOrder};

/// The longest a read-your-writes request may wait.
pub const MAX_WAIT_MS: u64 = 2000;

/// The document, plus `stale: true` when a read-your-writes wait ran out first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderHistoryResponse {
    #[serde(flatten)]
    pub document: OrderHistory,
    /// Present and true only when `min_version` was asked for and not reached within `wait_ms`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; they are parsed by hand for precise errors
pub struct GetOrderParams {
    /// `<aggregate id>:<version>`: wait until the view reflects this version of the order or
    /// one of its payments or shipments. Every source service returns the version it wrote.
    min_version: Option<String>,
    /// How long to wait for `min_version`, at most 2000 ms (default 1000).
    wait_ms: Option<u64>,
}

/// One order's history, from the view. With `min_version`, waits until the view has applied
/// that version (read-your-writes) or answers with `stale: true` when `wait_ms` runs out.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders",
    params(("id" = Uuid, Path, description = "the order id"), GetOrderParams),
    responses(
        (status = 200, body = OrderHistoryResponse),
        (status = 400, body = platform::json::ErrorBody, description = "malformed id or parameters"),
        (status = 404, body = platform::json::ErrorBody, description = "no such order in the view"),
        (status = 503, body = platform::json::ErrorBody, description = "the index is unavailable")))]
pub async fn get_order(
    State(state): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, GetOrderError> {
    let order_id = Uuid::parse_str(&id).map_err(|_| GetOrderError::BadRequest {
        message: format!("{id:?} is not an order id (a uuid)"),
        field: "id",
    })?;
    let params = parse_query(query.as_deref(), &["min_version", "wait_ms"])
        .map_err(|error| GetOrderError::BadRequest { message: error.message, field: error.field })?;
    let min_version = params.get("min_version").map(|raw| parse_min_version(raw)).transpose()?;
    let wait = match params.get("wait_ms") {
        None => Duration::from_millis(1000),
        Some(raw) => match raw.parse::<u64>() {
            Ok(ms) if ms <= MAX_WAIT_MS => Duration::from_millis(ms),
            _ => {
                return Err(GetOrderError::BadRequest {
                    message: format!("wait_ms must be a whole number from 0 to {MAX_WAIT_MS}"),
                    field: "wait_ms",
                });
            }
        },
    };

    // another customer's order answers as absent, so that its existence does not leak
    let readable = |document: Option<OrderHistory>| {
        document.filter(|document| reader.may_read(document.customer.as_ref().map(|c| c.customer_id.as_str())))
    };
    let Some((aggregate_id, version)) = min_version else {
        // the JSON as the index keeps it: decoding and encoding it again was a fifth of a GET's CPU
        let document = state.view.index().get_json(order_id).await?.ok_or(GetOrderError::NotFound(order_id))?;
        // a customer's read needs the owner, parsed from the JSON; a service's does not
        if !reader.reads_every_order() && !reader.may_read(document.customer_id()?.as_deref()) {
            return Err(GetOrderError::NotFound(order_id));
        }
        return Ok(document_response(document));
    };
    // subscribe before reading, so a change between the read and the wait is not missed
    let mut changes = state.view.changes();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let document = readable(state.view.index().get(order_id).await?);
        let reached = document
            .as_ref()
            .and_then(|document| document.version_of(aggregate_id))
            .is_some_and(|applied| applied >= version);
        if reached {
            let document = document.ok_or(GetOrderError::NotFound(order_id))?;
            return Ok(Json(OrderHistoryResponse { document, stale: false }).into_response());
        }
        let timed_out = tokio::time::timeout_at(deadline, changes.changed()).await.is_err();
        if timed_out {
            // what the view has now, marked stale; 404 if it has nothing of the order yet
            let document = document.ok_or(GetOrderError::NotFound(order_id))?;
            return Ok(Json(OrderHistoryResponse { document, stale: true }).into_response());
        }
    }
}

/// The answer `Json(OrderHistoryResponse { document, stale: false })` gives, byte for byte, from
/// the document's JSON.
fn document_response(document: DocumentJson) -> Response {
    let content_type = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, content_type)], document.into_string()).into_response()
}

fn parse_min_version(raw: &str) -> Result<(Uuid, i64), GetOrderError> {
    let bad = || GetOrderError::BadRequest {
        message: format!("min_version must be <aggregate id>:<version>, e.g. 0190…:3; got {raw:?}"),
        field: "min_version",
    };
    let (aggregate, version) = raw.rsplit_once(':').ok_or_else(bad)?;
    let aggregate_id = Uuid::parse_str(aggregate).map_err(|_| bad())?;
    let version = version.parse::<i64>().ok().filter(|version| *version >= 1).ok_or_else(bad)?;
    Ok((aggregate_id, version))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; they are parsed by hand for precise errors
pub struct SearchParams {
    /// Free text over customer name and email, item names and SKUs, addresses and tracking
    /// numbers. Every word must match (one typo allowed from 4 letters, two from 8);
    /// "quoted words" match as a phrase. At most 256 characters and 16 words.
    q: Option<String>,
    /// One customer's orders. A customer token implies its own customer and refuses another.
    customer_id: Option<String>,
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
    /// relevance (default), newest or total.
    sort: Option<String>,
    /// 1 to 100, default 20.
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Also return documents whose order has not arrived yet (default false).
    include_incomplete: Option<bool>,
}

const SEARCH_PARAMS: [&str; 13] = [
    "q",
    "customer_id",
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
    "include_incomplete",
];

/// Full-text order-history search with filters, facets, highlights and cursor pagination.
#[utoipa::path(get, path = "/orders", tag = "orders", params(SearchParams),
    responses(
        (status = 200, body = SearchResults),
        (status = 400, body = platform::json::ErrorBody, description = "a parameter is malformed, out of range or abusive"),
        (status = 503, body = platform::json::ErrorBody, description = "the index is unavailable")))]
pub async fn search_orders(
    State(state): State<ApiState>,
    Extension(reader): Extension<Reader>,
    RawQuery(query): RawQuery,
) -> Result<Json<SearchResults>, SearchError> {
    let mut query = parse_search(query.as_deref(), reader.reads_every_order())?;
    // enforced here, not trusted from the query: a customer searches their own orders only
    query.customer_id = reader.scope_customer(query.customer_id.take())?;
    // a customer token's own id is held to the rule a requested one is, as composer holds it
    query.customer_id = query.customer_id.as_deref().map(parse_customer_id).transpose()?;
    Ok(Json(state.view.index().search(&query).await?))
}

/// Parses and checks every search parameter; the first problem becomes the 400's message.
///
/// `ranked` is false for a customer's search: relevance is scored with term statistics over
/// every customer's orders, so a score, or a ranking by it, would tell one customer about the
/// words in other customers' orders. Such a search is ordered newest first and has no scores.
pub fn parse_search(raw: Option<&str>, ranked: bool) -> Result<SearchQuery, SearchError> {
    let params = parse_query(raw, &SEARCH_PARAMS)?;
    let text = parse_text(&params)?;
    let filters = SearchFilters::parse(&params)?;
    let sort = match params.get("sort") {
        None => SortOrder::Relevance,
        Some(name) => SortOrder::from_name(name).ok_or_else(|| {
            SearchError::bad("sort", format!("sort must be relevance, newest or total, not {name:?}"))
        })?,
    };
    let sort = if !ranked && sort == SortOrder::Relevance { SortOrder::Newest } else { sort };
    let limit = parse_limit(&params)?;
    let after = parse_cursor(&params, sort)?;
    let include_incomplete = match params.get("include_incomplete").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(SearchError::bad("include_incomplete", "include_incomplete must be true or false".to_string()));
        }
    };
    Ok(SearchQuery {
        text,
        // the rule order-svc places orders under: an id that cannot exist is refused, as composer does
        customer_id: params.get("customer_id").map(|raw| parse_customer_id(raw)).transpose()?,
        filters,
        sort,
        limit,
        after,
        include_incomplete,
    })
}

#[cfg(test)]
mod tests {
    use order_view::search::{Cursor, CursorKey};

    use super::*;

    fn error_of(query: &str) -> (String, String) {
        match parse_search(Some(query), true) {
            Err(SearchError::BadRequest { field, message }) => (field.to_string(), message),
            other => panic!("expected a bad request for {query:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_search_that_may_not_be_ranked_is_newest_first_whatever_it_asks() {
        for raw in ["q=kettle", "q=kettle&sort=relevance"] {
            assert_eq!(parse_search(Some(raw), true).expect("parses").sort, SortOrder::Relevance);
            assert_eq!(parse_search(Some(raw), false).expect("parses").sort, SortOrder::Newest);
        }
        assert_eq!(parse_search(Some("q=kettle&sort=total"), false).expect("parses").sort, SortOrder::Total);
        // the cursor of an unranked page is a newest-first cursor, and takes the next page
        let cursor = Cursor { sort: SortOrder::Newest, key: CursorKey::Integer(1), order_id: Uuid::nil() };
        let next_page = format!("q=kettle&cursor={}", cursor.encode());
        assert!(parse_search(Some(&next_page), false).is_ok());
    }

    #[test]
    fn a_full_query_parses() {
        let query = parse_search(Some(
            "q=kettle+%22tea+mug%22&status=placed&payment_status=CAPTURED&placed_from=2026-01-01&placed_to=2026-02-01T00:00:00Z&min_total=100&max_total=900&sort=total&limit=5",
        ), true)
        .expect("parses");
        assert_eq!(query.filters.status, Some(order_view::OrderStatus::Placed));
        assert_eq!(query.filters.payment_status, Some(order_view::PaymentStatus::Captured));
        assert_eq!(query.sort, SortOrder::Total);
        assert_eq!(query.limit, 5);
        assert_eq!(query.text.map(|text| text.clauses.len()), Some(2));
    }

    /// The shared parameters are checked by `order_view::search`; these are the ones
    /// order-history adds, and the order in which problems are reported.
    #[test]
    fn bad_input_names_the_parameter() {
        assert_eq!(
            error_of("sort=price"),
            ("sort".into(), "sort must be relevance, newest or total, not \"price\"".into())
        );
        assert_eq!(error_of("include_incomplete=yes").0, "include_incomplete");
        assert_eq!(error_of("customer_id=").0, "customer_id");
        assert_eq!(error_of("color=red").0, "query");
        assert_eq!(error_of("q=a&q=b").0, "q");
        assert_eq!(error_of("cursor=bm90LWEtY3Vyc29y&limit=0&sort=price&max_total=-1&q=%22").0, "q");
        assert_eq!(error_of("cursor=bm90LWEtY3Vyc29y&limit=0&sort=price").0, "sort");
        assert_eq!(error_of("cursor=bm90LWEtY3Vyc29y&limit=0").0, "limit");
        assert_eq!(error_of("cursor=bm90LWEtY3Vyc29y").0, "cursor");
    }

    /// A document with every part: items, payments, shipments, timeline, dates and versions.
    fn full_document() -> OrderHistory {
        use events::samples;
        use order_view::SourceEvent;
        let order_id = Uuid::now_v7();
        let mut document = OrderHistory::empty(order_id);
        document.apply(&SourceEvent::Order(samples::order_event(order_id, events::OrderEventType::OrderPlaced, 1)));
        let payment = samples::payment_event(order_id, Uuid::now_v7(), events::PaymentEventType::PaymentAuthorized, 1);
        document.apply(&SourceEvent::Payment(payment));
        let shipment = samples::shipment_event(order_id, Uuid::now_v7(), events::ShipmentStatus::Created, 1);
        document.apply(&SourceEvent::Shipment(shipment));
        document
    }

    #[tokio::test]
    async fn the_stored_json_answers_as_the_decoded_document_did() {
        let document = full_document();
        assert!(document.customer.is_some() && !document.payments.is_empty() && !document.shipments.is_empty());
        let decoded = Json(OrderHistoryResponse { document: document.clone(), stale: false }).into_response();
        let stored = document_response(DocumentJson::of(&document).expect("serializes"));
        assert_eq!(stored.status(), decoded.status());
        assert_eq!(stored.headers(), decoded.headers());
        let body = |response: Response| axum::body::to_bytes(response.into_body(), 1 << 20);
        assert_eq!(body(stored).await.expect("body"), body(decoded).await.expect("body"));
    }

    #[test]
    fn min_version_names_an_aggregate_and_a_positive_version() {
        let id = Uuid::now_v7();
        assert_eq!(parse_min_version(&format!("{id}:3")).ok(), Some((id, 3)));
        assert!(parse_min_version("3").is_err());
        assert!(parse_min_version(&format!("{id}:0")).is_err());
        assert!(parse_min_version("not-a-uuid:1").is_err());
    }
}
