//! order-svc: the system of record for orders.
//!
//! A client places and cancels orders over REST. Each change is written with its
//! `events::OrderEvent` into the transactional outbox in one transaction, and the shared relay
//! publishes it to the `orders` topic. [`routes`] builds the API from the shared runtime's
//! context, so the binary and the integration tests serve exactly the same thing.

pub mod config;
pub mod domain;
pub mod http;
pub mod store;

use axum::Router;
use platform::json::ErrorBody;
use source_platform::source_service::SourceServiceContext;
use source_platform::values::AddressInput;

use crate::http::orders::{
    CancelOrderRequest, CreateOrderRequest, LineItemRequest, LineItemResponse, OrderPage, OrderResponse,
    OrderStatusName, ShippingAddressResponse,
};
use crate::store::OrderStore;

/// The API's `(reads, writes)` routers: `GET /orders` and `GET /orders/{id}`, which fault
/// injection applies to; `POST /orders` and `POST /orders/{id}/cancel`, which it does not.
pub fn routes(context: SourceServiceContext) -> (Router, Router) {
    http::orders::routes(OrderStore::new(context))
}

/// The OpenAPI document of every order route and schema; the runtime adds the admin routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "order-svc", description = "The system of record for orders."),
    paths(
        http::orders::create_order,
        http::orders::get_order,
        http::orders::list_orders,
        http::orders::cancel_order,
    ),
    components(schemas(
        CreateOrderRequest,
        LineItemRequest,
        AddressInput,
        CancelOrderRequest,
        OrderResponse,
        LineItemResponse,
        ShippingAddressResponse,
        OrderStatusName,
        OrderPage,
        ErrorBody,
    )),
    tags((name = "orders", description = "place, read, list and cancel orders"))
)]
pub struct ApiDoc;
