//! payment-svc: owns payments. It authorizes or declines each new payment by a documented
//! amount rule, lets clients capture and refund them, and publishes every change as an Avro
//! `PaymentEvent` on the `payments` topic through the transactional outbox.
//!
//! `main.rs` wires [`routes`] into the shared `SourceServiceRuntime`; tests do the same on
//! port 0 with `testkit::spawn_source_service`.

pub mod config;
pub mod contract;
pub mod domain;
mod http;
mod store;

use axum::Router;
use platform::http::ReadinessProbe;
use source_platform::source_service::SourceServiceContext;

pub use domain::PaymentRules;

use crate::contract::ContractSwitch;

/// Everything payment-svc serves, for the shared runtime's router.
pub struct PaymentRoutes {
    /// `GET /payments`, `GET /payments/{id}` and their `/v2/` versions; fault injection
    /// applies to them.
    pub reads: Router,
    /// `POST /payments`, `POST /payments/{id}/capture`, `.../refund`.
    pub writes: Router,
    /// `/admin/contract`, the contract drill, behind the admin token.
    pub admin: Router,
    /// payment-svc's own readiness checks.
    pub probes: Vec<ReadinessProbe>,
}

/// Builds payment-svc's routes on the shared context.
pub fn routes(context: SourceServiceContext, rules: PaymentRules) -> PaymentRoutes {
    let contract = ContractSwitch::default();
    let admin = contract::admin_routes(contract.clone(), context.codec.clone());
    let schema_check = contract.clone();
    let probes = vec![ReadinessProbe::new("event_schema", move || std::future::ready(schema_check.readiness()))];
    let (reads, writes) = http::payments::routes(http::payments::PaymentsState { context, rules, contract });
    PaymentRoutes { reads, writes, admin, probes }
}

/// The OpenAPI document of payment-svc's own endpoints; the runtime merges in the shared ones.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "payment-svc", description = "Payments: authorize, capture, refund; every change is published to the payments topic"),
    paths(
        http::payments::create_payment,
        http::payments::get_payment,
        http::payments::list_payments,
        http::payments::get_payment_v2,
        http::payments::list_payments_v2,
        contract::get_contract,
        contract::put_contract,
        contract::delete_contract,
        http::payments::capture_payment,
        http::payments::refund_payment,
    ),
    components(schemas(
        http::payments::CreatePaymentRequest,
        http::payments::PaymentResponse,
        http::payments::PaymentList,
        http::payments::PaymentResponseV2,
        http::payments::PaymentListV2,
        contract::ContractSettings,
        contract::ContractStatus,
        contract::RestContract,
        domain::PaymentMethod,
        domain::PaymentStatus,
        platform::json::ErrorBody,
    )),
    tags((name = "payments", description = "payments and their state machine"))
)]
pub struct ApiDoc;
