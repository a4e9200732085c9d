//! The `/orders` resource: place, read, list and cancel orders.

use anyhow::Context;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SubsecRound, Utc};
use platform::http::FieldError;
use platform::json::{ErrorBody, JsonBody, OptionalJsonBody};
use platform::trace::traceparent_or_new;
use serde::{Deserialize, Serialize};
use source_platform::idempotency::{self, IdempotencyKey};
use source_platform::values::{AddressInput, Currency};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::ApiError;

use crate::domain::{
    CancellationReason, Customer, CustomerId, CustomerName, Email, ItemName, LineItem, LineItems, NewOrder, Order,
    OrderCursor, OrderId, OrderState, PageLimit, Quantity, ShippingAddress, Sku, UnitPrice,
};
use crate::store::{CreateOutcome, IdempotencyRecord, OrderStore};

/// `(reads, writes)`: the GET routes, which fault injection applies to, and the POST routes.
pub fn routes(orders: OrderStore) -> (Router, Router) {
    let reads = Router::new()
        .route("/orders", get(list_orders))
        .route("/orders/{id}", get(get_order))
        .with_state(orders.clone());
    let writes = Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{id}/cancel", post(cancel_order))
        .with_state(orders);
    (reads, writes)
}

/// A new order as a client sends it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// The customer's id in the customer system: 1 to 64 visible ASCII characters.
    #[schema(example = "cust-0042")]
    pub customer_id: String,
    /// 1 to 200 characters after trimming.
    #[schema(example = "Zoë Ørsted")]
    pub customer_name: String,
    #[schema(example = "zoe@example.com")]
    pub customer_email: String,
    /// ISO 4217 code; every price of the order is in this currency.
    #[schema(example = "EUR")]
    pub currency: String,
    /// 1 to 100 lines.
    pub items: Vec<LineItemRequest>,
    pub shipping_address: AddressInput,
}

/// One line of a new order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemRequest {
    /// 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
    #[schema(example = "SKU-MUG-07")]
    pub sku: String,
    /// 1 to 200 characters after trimming.
    #[schema(example = "Stoneware mug")]
    pub name: String,
    /// 1 to 1000.
    #[schema(example = 4)]
    pub quantity: i64,
    /// Minor units of the order's currency (cents for EUR), 0 to 10000000000.
    #[schema(example = 1250)]
    pub unit_price: i64,
}

impl CreateOrderRequest {
    /// Validates the request field by field, in body order, naming the first offending field.
    fn to_new_order(&self) -> Result<NewOrder, FieldError> {
        let customer = Customer {
            id: CustomerId::parse("customer_id", &self.customer_id)?,
            name: CustomerName::parse("customer_name", &self.customer_name)?,
            email: Email::parse("customer_email", &self.customer_email)?,
        };
        let currency = Currency::parse(self.currency.trim()).map_err(|message| FieldError::new("currency", message))?;
        let mut items = Vec::with_capacity(self.items.len());
        for (index, item) in self.items.iter().enumerate() {
            items.push(LineItem {
                sku: Sku::parse(&format!("items[{index}].sku"), &item.sku)?,
                name: ItemName::parse(&format!("items[{index}].name"), &item.name)?,
                quantity: Quantity::parse(&format!("items[{index}].quantity"), item.quantity)?,
                unit_price: UnitPrice::parse(&format!("items[{index}].unit_price"), item.unit_price)?,
            });
        }
        let items = LineItems::parse("items", items)?;
        let shipping_address = ShippingAddress::parse("shipping_address", &self.shipping_address)?;
        NewOrder::new(customer, currency, items, shipping_address)
            .map_err(|error| FieldError::new("items", error.to_string()))
    }
}

/// The optional body of a cancellation.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelOrderRequest {
    /// Up to 500 characters; blank counts as none.
    #[serde(default)]
    #[schema(example = "ordered twice")]
    pub reason: Option<String>,
}

/// An order and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderResponse {
    /// UUID v7.
    pub id: Uuid,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_email: String,
    /// ISO 4217 code of every amount below.
    pub currency: String,
    pub items: Vec<LineItemResponse>,
    /// Sum of quantity × unit_price over the items, in minor units.
    pub total: i64,
    pub shipping_address: ShippingAddressResponse,
    pub status: OrderStatusName,
    /// 1 when placed, one more per change; the `aggregate_version` of the latest event.
    pub version: i64,
    /// RFC 3339, UTC, millisecond precision.
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineItemResponse {
    pub sku: String,
    pub name: String,
    pub quantity: i32,
    /// Minor units of the order's currency.
    pub unit_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingAddressResponse {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatusName {
    Placed,
    Cancelled,
}

/// One page of orders, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    pub orders: Vec<OrderResponse>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<&Order> for OrderResponse {
    fn from(order: &Order) -> Self {
        let (status, cancelled_at, cancellation_reason) = match order.state() {
            OrderState::Placed => (OrderStatusName::Placed, None, None),
            OrderState::Cancelled { cancelled_at, reason } => (
                OrderStatusName::Cancelled,
                Some(*cancelled_at),
                reason.as_ref().map(|reason| reason.as_str().to_string()),
            ),
        };
        let mut items = Vec::with_capacity(order.items().as_slice().len());
        for item in order.items().as_slice() {
            items.push(LineItemResponse {
                sku: item.sku.as_str().to_string(),
                name: item.name.as_str().to_string(),
                quantity: item.quantity.get(),
                unit_price: item.unit_price.minor_units(),
            });
        }
        let address = order.shipping_address().as_address();
        Self {
            id: order.id().as_uuid(),
            customer_id: order.customer().id.as_str().to_string(),
            customer_name: order.customer().name.as_str().to_string(),
            customer_email: order.customer().email.as_str().to_string(),
            currency: order.currency().code().to_string(),
            items,
            total: order.total().minor_units(),
            shipping_address: ShippingAddressResponse {
                line1: address.line1.clone(),
                line2: address.line2.clone(),
                city: address.city.clone(),
                postal_code: address.postal_code.clone(),
                country: address.country.clone(),
            },
            status,
            version: order.version().get(),
            created_at: order.created_at(),
            cancelled_at,
            cancellation_reason,
        }
    }
}

/// Places an order.
///
/// With an `Idempotency-Key`, a retry with the same body gets the first response again and
/// creates nothing; the same key with another body is rejected.
#[utoipa::path(post, path = "/orders", tag = "orders",
    request_body = CreateOrderRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters; makes retries safe"),
        ("traceparent" = Option<String>, Header, description = "W3C trace context, carried onto the published event"),
    ),
    responses(
        (status = 201, description = "the order was placed", body = OrderResponse,
            headers(("Location" = String, description = "/orders/{id} of the new order"),
                ("Idempotent-Replayed" = String, description = "`true` on an answer recorded for a replayed key"))),
        (status = 400, description = "malformed json or idempotency key", body = ErrorBody),
        (status = 415, description = "content type is not application/json", body = ErrorBody),
        (status = 422, description = "a field breaks a rule (named in `field`), or the idempotency key was used with another body", body = ErrorBody),
        (status = 500, description = "unexpected failure", body = ErrorBody),
    ))]
pub async fn create_order(
    State(orders): State<OrderStore>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreateOrderRequest>,
) -> Result<Response, ApiError> {
    let idempotency_key = IdempotencyKey::from_headers(&headers).map_err(ApiError::InvalidIdempotencyKey)?;
    let details = request.to_new_order().map_err(ApiError::Validation)?;
    let order = Order::place(OrderId::from_uuid(Uuid::now_v7()), details, current_time());
    let body = serde_json::to_string(&OrderResponse::from(&order)).context("cannot serialize the order")?;
    let idempotency = match idempotency_key {
        Some(key) => Some(IdempotencyRecord {
            key,
            request_fingerprint: idempotency::request_fingerprint(&request)?,
            response_status: StatusCode::CREATED.as_u16(),
            response_body: body.clone(),
        }),
        None => None,
    };
    let traceparent = traceparent_or_new(&headers);
    match orders.insert_placed_order(&order, idempotency.as_ref(), &traceparent).await? {
        CreateOutcome::Created => {
            tracing::info!(
                order_id = %order.id(),
                customer_id = order.customer().id.as_str(),
                total_minor = order.total().minor_units(),
                currency = order.currency().code(),
                "order placed"
            );
            json_response(StatusCode::CREATED, body)
        }
        CreateOutcome::Replayed { status, body } => {
            tracing::info!(status, "idempotent request replayed");
            let status = StatusCode::from_u16(status).context("recorded response has an invalid status")?;
            let mut response = json_response(status, body)?;
            idempotency::mark_replayed(&mut response);
            Ok(response)
        }
    }
}

/// Reads one order.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "the order id, a uuid")),
    responses(
        (status = 200, description = "the order", body = OrderResponse),
        (status = 400, description = "the id is not a uuid", body = ErrorBody),
        (status = 404, description = "no such order", body = ErrorBody),
        (status = 503, description = "injected fault", body = ErrorBody),
    ))]
pub async fn get_order(
    State(orders): State<OrderStore>,
    Path(id): Path<String>,
) -> Result<Json<OrderResponse>, ApiError> {
    let id: OrderId = id.parse()?;
    let order = orders.find_order(id).await?.ok_or(ApiError::NotFound(id))?;
    Ok(Json(OrderResponse::from(&order)))
}

/// The query of `GET /orders`. Every parameter arrives as text so that a bad value gets this
/// API's error body, naming the parameter, instead of the framework's.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    /// Only this customer's orders; all orders when absent.
    customer_id: Option<String>,
    /// Page size, 1 to 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, default = 20)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists orders, newest first, one page at a time.
#[utoipa::path(get, path = "/orders", tag = "orders",
    params(ListOrdersQuery),
    responses(
        (status = 200, description = "one page of orders", body = OrderPage),
        (status = 400, description = "bad customer_id, limit or cursor (named in `field`)", body = ErrorBody),
        (status = 503, description = "injected fault", body = ErrorBody),
    ))]
pub async fn list_orders(
    State(orders): State<OrderStore>,
    query: Result<Query<ListOrdersQuery>, QueryRejection>,
) -> Result<Json<OrderPage>, ApiError> {
    // with every parameter optional text, only a repeated parameter fails to deserialize
    let Query(query) = query
        .map_err(|rejection| ApiError::InvalidQuery(FieldError::new("query", rejection.body_text().to_lowercase())))?;
    let customer = match query.customer_id.as_deref() {
        Some(raw) => Some(CustomerId::parse("customer_id", raw).map_err(ApiError::InvalidQuery)?),
        None => None,
    };
    let limit = PageLimit::parse("limit", query.limit.as_deref()).map_err(ApiError::InvalidQuery)?;
    let after = match query.cursor.as_deref() {
        Some(raw) => Some(OrderCursor::decode(raw)?),
        None => None,
    };
    let page = orders.list_orders(customer.as_ref(), after.as_ref(), limit).await?;
    let mut responses = Vec::with_capacity(page.orders.len());
    for order in &page.orders {
        responses.push(OrderResponse::from(order));
    }
    Ok(Json(OrderPage { orders: responses, next_cursor: page.next.map(|cursor| cursor.encode()) }))
}

/// Cancels a placed order.
#[utoipa::path(post, path = "/orders/{id}/cancel", tag = "orders",
    params(
        ("id" = String, Path, description = "the order id, a uuid"),
        ("traceparent" = Option<String>, Header, description = "W3C trace context, carried onto the published event"),
    ),
    request_body(content = Option<CancelOrderRequest>, description = "optional; an empty body means no reason"),
    responses(
        (status = 200, description = "the cancelled order", body = OrderResponse),
        (status = 400, description = "the id is not a uuid, or malformed json", body = ErrorBody),
        (status = 404, description = "no such order", body = ErrorBody),
        (status = 409, description = "the order is already cancelled, or changed concurrently", body = ErrorBody),
        (status = 422, description = "the reason breaks a rule", body = ErrorBody),
    ))]
pub async fn cancel_order(
    State(orders): State<OrderStore>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(request): OptionalJsonBody<CancelOrderRequest>,
) -> Result<Json<OrderResponse>, ApiError> {
    let id: OrderId = id.parse()?;
    let reason_text = request.as_ref().and_then(|request| request.reason.as_deref());
    let reason = CancellationReason::parse_optional("reason", reason_text).map_err(ApiError::Validation)?;
    let order = orders.find_order(id).await?.ok_or(ApiError::NotFound(id))?;
    let cancelled = order.cancel(reason, current_time())?;
    orders.update_order(&cancelled, order.version(), &traceparent_or_new(&headers)).await?;
    tracing::info!(order_id = %id, version = cancelled.version().get(), "order cancelled");
    Ok(Json(OrderResponse::from(&cancelled)))
}

/// Now, at the millisecond precision the store keeps, so that the response to a change equals
/// every later read of it.
fn current_time() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// A JSON response from an already serialized order body, with `Location` for a 201. The body
/// is sent byte for byte, so a replayed response is identical to the first one.
fn json_response(status: StatusCode, body: String) -> Result<Response, ApiError> {
    let location = if status == StatusCode::CREATED {
        // read back from the body, because a replay has nothing else
        let order: OrderResponse = serde_json::from_str(&body).context("created response is not an order")?;
        Some(HeaderValue::from_str(&format!("/orders/{}", order.id)).context("invalid location")?)
    } else {
        None
    };
    let mut response = (status, [(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
    if let Some(location) = location {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(body: serde_json::Value) -> CreateOrderRequest {
        serde_json::from_value(body).expect("request shape")
    }

    fn valid_body() -> serde_json::Value {
        json!({
            "customer_id": "cust-0042",
            "customer_name": "Zoë Ørsted",
            "customer_email": "zoe@example.com",
            "currency": "EUR",
            "items": [
                {"sku": "SKU-KETTLE-01", "name": "Copper tea kettle", "quantity": 1, "unit_price": 4599},
                {"sku": "SKU-MUG-07", "name": "Stoneware mug", "quantity": 4, "unit_price": 1250}
            ],
            "shipping_address": {"line1": "Keizersgracht 123", "city": "Amsterdam", "postal_code": "1015 CJ", "country": "NL"}
        })
    }

    #[test]
    fn a_valid_request_becomes_an_order_with_its_total() {
        let details = request(valid_body()).to_new_order().expect("valid");
        let order = Order::place(OrderId::from_uuid(Uuid::now_v7()), details, current_time());
        let response = OrderResponse::from(&order);
        assert_eq!(response.total, 9599);
        assert_eq!(response.status, OrderStatusName::Placed);
        assert_eq!(response.version, 1);
        assert_eq!(response.items[1].quantity, 4);
        assert_eq!(response.shipping_address.line2, None);
    }

    #[test]
    fn the_first_invalid_field_is_named_with_its_json_path() {
        let cases: [(&str, serde_json::Value, &str); 8] = [
            ("/customer_id", json!("has space"), "customer_id"),
            ("/customer_name", json!(" "), "customer_name"),
            ("/customer_email", json!("zoe"), "customer_email"),
            ("/currency", json!("XXX"), "currency"),
            ("/items", json!([]), "items"),
            ("/items/1/quantity", json!(0), "items[1].quantity"),
            ("/items/0/unit_price", json!(-1), "items[0].unit_price"),
            ("/shipping_address/country", json!("Holland"), "shipping_address.country"),
        ];
        for (pointer, value, field) in cases {
            let mut body = valid_body();
            *body.pointer_mut(pointer).expect("pointer exists") = value;
            assert_eq!(request(body).to_new_order().expect_err(pointer).field, field);
        }
    }

    #[test]
    fn responses_render_times_as_rfc3339_utc() {
        let details = request(valid_body()).to_new_order().expect("valid");
        let placed_at = DateTime::from_timestamp_millis(1_767_225_600_123).expect("valid time");
        let order = Order::place(OrderId::from_uuid(Uuid::now_v7()), details, placed_at);
        let json = serde_json::to_value(OrderResponse::from(&order)).expect("serializes");
        assert_eq!(json["created_at"], json!("2026-01-01T00:00:00.123Z"));
        assert_eq!(json["cancelled_at"], json!(null));
        assert_eq!(json["status"], json!("PLACED"));
    }

    #[test]
    fn fingerprints_ignore_formatting_but_not_content() {
        let compact = request(valid_body());
        let mut with_null_line2 = valid_body();
        with_null_line2["shipping_address"]["line2"] = json!(null);
        let mut other_quantity = valid_body();
        other_quantity["items"][0]["quantity"] = json!(2);
        let fingerprint = |request: &CreateOrderRequest| idempotency::request_fingerprint(request).expect("serializes");
        assert_eq!(fingerprint(&compact), fingerprint(&request(with_null_line2)));
        assert_ne!(fingerprint(&compact), fingerprint(&request(other_quantity)));
    }
}
