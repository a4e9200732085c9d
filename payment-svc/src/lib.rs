//! payment-svc: owns payments. It authorizes or declines each new payment by a documented
//! amount rule, lets clients capture and refund them, and publishes every change as an Avro
//! `PaymentEvent` on the `payments` topic through the transactional outbox.
//!
//! `main.rs` wires [`routes`] into the shared `SourceServiceRuntime`; tests do the same on
//! port 0 with `testkit::spawn_source_service`.

pub mod config;
pub mod domain;
mod http;
mod store;

use axum::Router;
use source_platform::source_service::SourceServiceContext;

pub use domain::PaymentRules;

/// The read routes (`GET /payments`, `GET /payments/{id}`; fault injection applies to them)
/// and the write routes (`POST /payments`, `POST /payments/{id}/capture`, `.../refund`).
pub fn routes(context: SourceServiceContext, rules: PaymentRules) -> (Router, Router) {
    http::payments::routes(http::payments::PaymentsState { context, rules })
}

/// The OpenAPI document of payment-svc's own endpoints; the runtime merges in the shared ones.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "payment-svc", description = "Payments: authorize, capture, refund; every change is published to the payments topic"),
    paths(
        http::payments::create_payment,
        http::payments::get_payment,
        http::payments::list_payments,
        http::payments::capture_payment,
        http::payments::refund_payment,
    ),
    components(schemas(
        http::payments::CreatePaymentRequest,
        http::payments::PaymentResponse,
        http::payments::PaymentList,
        domain::PaymentMethod,
        domain::PaymentStatus,
        platform::json::ErrorBody,
    )),
    tags((name = "payments", description = "payments and their state machine"))
)]
pub struct ApiDoc;
