//! `/payments`: create a payment, capture it, refund it, read it, list an order's payments.

use anyhow::Context;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use platform::http::FieldError;
use platform::json::{ErrorBody, JsonBody};
use platform::trace::traceparent_or_new;
use serde::{Deserialize, Serialize};
use source_platform::idempotency::{self, IdempotencyKey, IdempotentResponse};
use source_platform::source_service::SourceServiceContext;
use source_platform::values::Currency;
use uuid::Uuid;

use crate::contract::{ContractSwitch, RestContract};
use crate::domain::{
    Amount, NewPayment, OrderId, Payment, PaymentAction, PaymentId, PaymentMethod, PaymentRules, PaymentStatus,
};
use crate::http::error::{ApiError, IDEMPOTENCY_KEY_FIELD};
use crate::store::{self, CreateOutcome};

/// What the payment handlers share.
#[derive(Clone)]
pub struct PaymentsState {
    pub context: SourceServiceContext,
    pub rules: PaymentRules,
    /// The shape the unversioned read API answers in (the contract drill).
    pub contract: ContractSwitch,
}

impl PaymentsState {
    /// How new events are written now: the contract drill's `event_schema`.
    fn event_contract(&self) -> store::EventContract {
        store::EventContract {
            version: self.contract.current().event_schema,
            authorization_limit_minor: self.rules.decline_above_minor(),
        }
    }
}

/// The read routes (behind fault injection) and the write routes.
pub fn routes(state: PaymentsState) -> (Router, Router) {
    let reads = Router::new()
        .route("/payments", get(list_payments))
        .route("/payments/{id}", get(get_payment))
        .route("/v2/payments", get(list_payments_v2))
        .route("/v2/payments/{id}", get(get_payment_v2))
        .with_state(state.clone());
    let writes = Router::new()
        .route("/payments", post(create_payment))
        .route("/payments/{id}/capture", post(capture_payment))
        .route("/payments/{id}/refund", post(refund_payment))
        .with_state(state);
    (reads, writes)
}

/// A request for a new payment.
// Every field is optional to serde and required by `parse`, so that a missing field is answered
// with 422 naming it, like every other invalid field (serde's own error has no field path).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentRequest {
    /// The order this payment is for. It is not checked against order-svc.
    #[schema(value_type = String, format = Uuid, required = true, example = "0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a")]
    pub order_id: Option<String>,
    /// In integer minor units of `currency` (cents for EUR), from 1 to 100000000000.
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 100_000_000_000_i64, example = 4999)]
    pub amount: Option<i64>,
    /// An ISO 4217 code this system knows, e.g. `EUR`.
    #[schema(value_type = String, required = true, example = "EUR")]
    pub currency: Option<String>,
    #[schema(value_type = PaymentMethod, required = true)]
    pub method: Option<String>,
}

impl CreatePaymentRequest {
    /// Checks every field, in order, and names the first one that is wrong.
    pub fn parse(&self) -> Result<NewPayment, FieldError> {
        let order_id = required("order_id", self.order_id.as_deref())?;
        let amount = required("amount", self.amount)?;
        let currency = required("currency", self.currency.as_deref())?;
        let method = required("method", self.method.as_deref())?;
        Ok(NewPayment {
            order_id: OrderId::parse(order_id).map_err(|message| FieldError::new("order_id", message))?,
            amount: Amount::parse(amount).map_err(|message| FieldError::new("amount", message))?,
            currency: Currency::parse(currency).map_err(|message| FieldError::new("currency", message))?,
            method: PaymentMethod::parse(method).map_err(|message| FieldError::new("method", message))?,
        })
    }
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::new(field, "is required"))
}

/// A payment as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentResponse {
    /// A UUID v7.
    pub id: Uuid,
    pub order_id: Uuid,
    /// In integer minor units of `currency`.
    pub amount: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(value_type = PaymentMethod)]
    pub method: String,
    #[schema(value_type = PaymentStatus)]
    pub status: String,
    /// Why the payment was declined; null unless the status is DECLINED.
    #[schema(required = true)]
    pub decline_reason: Option<String>,
    /// 1 when created, one more per change; the `aggregate_version` of the payment's events.
    pub version: i64,
    /// RFC 3339, UTC.
    pub created_at: DateTime<Utc>,
    /// RFC 3339, UTC.
    pub updated_at: DateTime<Utc>,
}

impl From<&Payment> for PaymentResponse {
    fn from(payment: &Payment) -> Self {
        Self {
            id: payment.id.as_uuid(),
            order_id: payment.order_id.as_uuid(),
            amount: payment.amount.minor_units(),
            currency: payment.currency.code().to_string(),
            method: payment.method.as_str().to_string(),
            status: payment.status.as_str().to_string(),
            decline_reason: payment.decline_reason.clone(),
            version: payment.version,
            created_at: payment.created_at,
            updated_at: payment.updated_at,
        }
    }
}

/// The payments of one order, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentList {
    pub payments: Vec<PaymentResponse>,
}

/// A payment as version 2 of the read API shows it: `amount` is renamed `amount_minor`, and
/// `authorization_limit_minor` is new. Served on `/v2/payments…`, and on `/payments…` while the
/// contract drill's `rest` switch is `renamed`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentResponseV2 {
    pub id: Uuid,
    pub order_id: Uuid,
    /// In integer minor units of `currency`.
    pub amount_minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(value_type = PaymentMethod)]
    pub method: String,
    #[schema(value_type = PaymentStatus)]
    pub status: String,
    #[schema(required = true)]
    pub decline_reason: Option<String>,
    /// The authorization limit in force now, in minor units: new payments above it are declined.
    pub authorization_limit_minor: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PaymentResponseV2 {
    fn new(payment: &Payment, rules: PaymentRules) -> Self {
        Self {
            id: payment.id.as_uuid(),
            order_id: payment.order_id.as_uuid(),
            amount_minor: payment.amount.minor_units(),
            currency: payment.currency.code().to_string(),
            method: payment.method.as_str().to_string(),
            status: payment.status.as_str().to_string(),
            decline_reason: payment.decline_reason.clone(),
            authorization_limit_minor: rules.decline_above_minor(),
            version: payment.version,
            created_at: payment.created_at,
            updated_at: payment.updated_at,
        }
    }
}

/// The payments of one order in version 2 of the read API, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentListV2 {
    pub payments: Vec<PaymentResponseV2>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListPaymentsQuery {
    /// The order whose payments to list (a UUID). Required.
    #[param(value_type = String, format = Uuid, required = true)]
    pub order_id: Option<String>,
}

/// Creates a payment, authorized or declined by the amount rule, and publishes
/// PAYMENT_AUTHORIZED or PAYMENT_DECLINED.
#[utoipa::path(post, path = "/payments", tag = "payments",
    request_body = CreatePaymentRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header,
            description = "1 to 255 visible ASCII characters; a retry with the same key and body gets the first response again"),
        ("traceparent" = Option<String>, Header, description = "W3C trace context, carried onto the event"),
    ),
    responses(
        (status = 201, description = "created; also the replay of an earlier request with the same key and body",
            body = PaymentResponse,
            headers(("Location" = String, description = "/payments/{id}"))),
        (status = 400, description = "malformed json or idempotency key", body = ErrorBody),
        (status = 415, description = "content type is not application/json", body = ErrorBody),
        (status = 422, description = "a field is missing or invalid, or the idempotency key was used with another body", body = ErrorBody),
        (status = 500, description = "an unexpected failure, logged; the body has no details", body = ErrorBody),
    ))]
pub async fn create_payment(
    State(state): State<PaymentsState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreatePaymentRequest>,
) -> Result<Response, ApiError> {
    let idempotency_key = IdempotencyKey::from_headers(&headers)
        .map_err(|message| ApiError::BadRequest(FieldError::new(IDEMPOTENCY_KEY_FIELD, message)))?;
    let new_payment = request.parse().map_err(ApiError::Validation)?;
    let traceparent = traceparent_or_new(&headers);
    let payment = Payment::open(PaymentId::generate(), new_payment, state.rules, current_time());
    let response_body =
        serde_json::to_string(&PaymentResponse::from(&payment)).context("cannot serialize the payment")?;
    let request_fingerprint = idempotency::request_fingerprint(&request)?;
    let idempotent = idempotency_key.as_ref().map(|key| IdempotentResponse {
        key,
        request_fingerprint: &request_fingerprint,
        response_status: StatusCode::CREATED.as_u16(),
        response_body: &response_body,
    });

    match store::create_payment(&state.context, &payment, &traceparent, idempotent, state.event_contract()).await? {
        CreateOutcome::Created => {
            tracing::info!(
                payment_id = %payment.id,
                order_id = %payment.order_id,
                status = payment.status.as_str(),
                amount_minor = payment.amount.minor_units(),
                "payment created"
            );
            Ok(payment_json_response(StatusCode::CREATED, response_body, payment.id.as_uuid()))
        }
        CreateOutcome::Replayed { status, body } => {
            tracing::info!(status, "idempotent create replayed");
            replayed_response(status, body)
        }
    }
}

fn payment_json_response(status: StatusCode, body: String, id: Uuid) -> Response {
    let location = format!("/payments/{id}");
    (status, [(header::CONTENT_TYPE, "application/json".to_string()), (header::LOCATION, location)], body)
        .into_response()
}

/// The stored first response, byte for byte, with its `Location` restored from the body.
fn replayed_response(status: u16, body: String) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct RecordedPayment {
        id: Uuid,
    }
    let status = StatusCode::from_u16(status).context("stored idempotent response has an invalid status")?;
    let recorded: RecordedPayment =
        serde_json::from_str(&body).context("stored idempotent response is not a payment")?;
    let mut response = payment_json_response(status, body, recorded.id);
    idempotency::mark_replayed(&mut response);
    Ok(response)
}

/// Captures an AUTHORIZED payment and publishes PAYMENT_CAPTURED.
#[utoipa::path(post, path = "/payments/{id}/capture", tag = "payments",
    params(("id" = String, Path, format = Uuid, description = "the payment id"),
        ("traceparent" = Option<String>, Header, description = "W3C trace context, carried onto the event")),
    responses(
        (status = 200, description = "captured", body = PaymentResponse),
        (status = 400, description = "the id is not a uuid", body = ErrorBody),
        (status = 404, description = "no payment with this id", body = ErrorBody),
        (status = 409, description = "the payment is not AUTHORIZED, or another request changed it meanwhile", body = ErrorBody),
        (status = 500, description = "an unexpected failure, logged; the body has no details", body = ErrorBody),
    ))]
pub async fn capture_payment(
    State(state): State<PaymentsState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<PaymentResponse>, ApiError> {
    change_payment(&state, &headers, id, PaymentAction::Capture).await
}

/// Refunds a CAPTURED payment and publishes PAYMENT_REFUNDED.
#[utoipa::path(post, path = "/payments/{id}/refund", tag = "payments",
    params(("id" = String, Path, format = Uuid, description = "the payment id"),
        ("traceparent" = Option<String>, Header, description = "W3C trace context, carried onto the event")),
    responses(
        (status = 200, description = "refunded", body = PaymentResponse),
        (status = 400, description = "the id is not a uuid", body = ErrorBody),
        (status = 404, description = "no payment with this id", body = ErrorBody),
        (status = 409, description = "the payment is not CAPTURED, or another request changed it meanwhile", body = ErrorBody),
        (status = 500, description = "an unexpected failure, logged; the body has no details", body = ErrorBody),
    ))]
pub async fn refund_payment(
    State(state): State<PaymentsState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<PaymentResponse>, ApiError> {
    change_payment(&state, &headers, id, PaymentAction::Refund).await
}

async fn change_payment(
    state: &PaymentsState,
    headers: &HeaderMap,
    id: Result<Path<String>, PathRejection>,
    action: PaymentAction,
) -> Result<axum::Json<PaymentResponse>, ApiError> {
    let id = parse_path_id(id)?;
    let traceparent = traceparent_or_new(headers);
    let changed =
        store::change_payment(&state.context, id, action, current_time(), &traceparent, state.event_contract()).await?;
    tracing::info!(
        payment_id = %changed.id,
        order_id = %changed.order_id,
        action = action.verb(),
        status = changed.status.as_str(),
        version = changed.version,
        "payment changed"
    );
    Ok(axum::Json(PaymentResponse::from(&changed)))
}

/// Reads one payment.
#[utoipa::path(get, path = "/payments/{id}", tag = "payments",
    params(("id" = String, Path, format = Uuid, description = "the payment id")),
    responses(
        (status = 200, description = "the payment (in the v2 shape while the contract drill's `rest` switch is `renamed`)", body = PaymentResponse),
        (status = 400, description = "the id is not a uuid", body = ErrorBody),
        (status = 404, description = "no payment with this id", body = ErrorBody),
        (status = 503, description = "an injected fault", body = ErrorBody),
    ))]
pub async fn get_payment(
    State(state): State<PaymentsState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let payment = find_payment(&state, id).await?;
    let response = match state.contract.current().rest {
        RestContract::V1 => axum::Json(PaymentResponse::from(&payment)).into_response(),
        RestContract::Renamed => axum::Json(PaymentResponseV2::new(&payment, state.rules)).into_response(),
    };
    Ok(response)
}

/// Reads one payment, in version 2 of the read API.
#[utoipa::path(get, path = "/v2/payments/{id}", tag = "payments",
    params(("id" = String, Path, format = Uuid, description = "the payment id")),
    responses(
        (status = 200, description = "the payment", body = PaymentResponseV2),
        (status = 400, description = "the id is not a uuid", body = ErrorBody),
        (status = 404, description = "no payment with this id", body = ErrorBody),
        (status = 503, description = "an injected fault", body = ErrorBody),
    ))]
pub async fn get_payment_v2(
    State(state): State<PaymentsState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<PaymentResponseV2>, ApiError> {
    let payment = find_payment(&state, id).await?;
    Ok(axum::Json(PaymentResponseV2::new(&payment, state.rules)))
}

async fn find_payment(state: &PaymentsState, id: Result<Path<String>, PathRejection>) -> Result<Payment, ApiError> {
    let id = parse_path_id(id)?;
    let payment = store::find_payment(&state.context.store, id).await?.ok_or(ApiError::NotFound(id))?;
    Ok(payment)
}

/// Lists the payments of one order, oldest first. An order without payments, or one this
/// service never heard of, has an empty list.
#[utoipa::path(get, path = "/payments", tag = "payments",
    params(ListPaymentsQuery),
    responses(
        (status = 200, description = "the payments of the order, oldest first (in the v2 shape while the contract drill's `rest` switch is `renamed`)", body = PaymentList),
        (status = 400, description = "order_id is missing or not a uuid", body = ErrorBody),
        (status = 503, description = "an injected fault", body = ErrorBody),
    ))]
pub async fn list_payments(
    State(state): State<PaymentsState>,
    query: Result<Query<ListPaymentsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let payments = payments_of_order(&state, query).await?;
    let response = match state.contract.current().rest {
        RestContract::V1 => {
            let payments = payments.iter().map(PaymentResponse::from).collect();
            axum::Json(PaymentList { payments }).into_response()
        }
        RestContract::Renamed => axum::Json(payment_list_v2(&payments, state.rules)).into_response(),
    };
    Ok(response)
}

/// Lists the payments of one order in version 2 of the read API, oldest first.
#[utoipa::path(get, path = "/v2/payments", tag = "payments",
    params(ListPaymentsQuery),
    responses(
        (status = 200, description = "the payments of the order, oldest first", body = PaymentListV2),
        (status = 400, description = "order_id is missing or not a uuid", body = ErrorBody),
        (status = 503, description = "an injected fault", body = ErrorBody),
    ))]
pub async fn list_payments_v2(
    State(state): State<PaymentsState>,
    query: Result<Query<ListPaymentsQuery>, QueryRejection>,
) -> Result<axum::Json<PaymentListV2>, ApiError> {
    let payments = payments_of_order(&state, query).await?;
    Ok(axum::Json(payment_list_v2(&payments, state.rules)))
}

fn payment_list_v2(payments: &[Payment], rules: PaymentRules) -> PaymentListV2 {
    PaymentListV2 { payments: payments.iter().map(|payment| PaymentResponseV2::new(payment, rules)).collect() }
}

async fn payments_of_order(
    state: &PaymentsState,
    query: Result<Query<ListPaymentsQuery>, QueryRejection>,
) -> Result<Vec<Payment>, ApiError> {
    let bad_order_id = |message: String| ApiError::BadRequest(FieldError::new("order_id", message));
    let Query(query) = query.map_err(|rejection| bad_order_id(rejection.body_text().to_lowercase()))?;
    let order_id = query.order_id.ok_or_else(|| bad_order_id("is required".to_string()))?;
    let order_id: OrderId = OrderId::parse(&order_id).map_err(bad_order_id)?;
    let payments = store::list_payments_of_order(&state.context.store, order_id).await?;
    Ok(payments)
}

fn parse_path_id(id: Result<Path<String>, PathRejection>) -> Result<PaymentId, ApiError> {
    let bad_id = |message: String| ApiError::BadRequest(FieldError::new("id", message));
    let Path(raw_id) = id.map_err(|rejection| bad_id(rejection.body_text().to_lowercase()))?;
    PaymentId::parse(&raw_id).map_err(bad_id)
}

/// Now, at the millisecond precision the store and the events keep, so that what a write
/// answers is exactly what a later read returns.
fn current_time() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        order_id: Option<&str>,
        amount: Option<i64>,
        currency: Option<&str>,
        method: Option<&str>,
    ) -> CreatePaymentRequest {
        CreatePaymentRequest {
            order_id: order_id.map(str::to_string),
            amount,
            currency: currency.map(str::to_string),
            method: method.map(str::to_string),
        }
    }

    const ORDER: &str = "0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a";

    #[test]
    fn a_complete_request_parses() {
        let parsed = request(Some(ORDER), Some(4_999), Some("EUR"), Some("BANK_TRANSFER")).parse().expect("valid");
        assert_eq!(parsed.order_id.to_string(), ORDER);
        assert_eq!(parsed.amount.minor_units(), 4_999);
        assert_eq!(parsed.currency.code(), "EUR");
        assert_eq!(parsed.method, PaymentMethod::BankTransfer);
    }

    #[test]
    fn each_missing_or_invalid_field_is_named() {
        let cases = [
            (request(None, Some(1), Some("EUR"), Some("CARD")), "order_id"),
            (request(Some(ORDER), None, Some("EUR"), Some("CARD")), "amount"),
            (request(Some(ORDER), Some(1), None, Some("CARD")), "currency"),
            (request(Some(ORDER), Some(1), Some("EUR"), None), "method"),
            (request(Some("order-1"), Some(1), Some("EUR"), Some("CARD")), "order_id"),
            (request(Some(ORDER), Some(0), Some("EUR"), Some("CARD")), "amount"),
            (request(Some(ORDER), Some(-5), Some("EUR"), Some("CARD")), "amount"),
            (request(Some(ORDER), Some(100_000_000_001), Some("EUR"), Some("CARD")), "amount"),
            (request(Some(ORDER), Some(1), Some("XXX"), Some("CARD")), "currency"),
            (request(Some(ORDER), Some(1), Some("eur"), Some("CARD")), "currency"),
            (request(Some(ORDER), Some(1), Some("EUR"), Some("CASH")), "method"),
        ];
        for (request, field) in cases {
            let error = request.parse().expect_err("invalid");
            assert_eq!(error.field, field, "{request:?}");
            assert!(!error.message.is_empty() && !error.message.ends_with('.'), "{}", error.message);
        }
    }
}
