//! `/shipments`: create a shipment, move it through its state machine, read one, list an
//! order's shipments.

use anyhow::Context;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use platform::http::FieldError;
use platform::json::{ErrorBody, JsonBody};
use platform::trace::traceparent_or_new;
use serde::{Deserialize, Serialize, Serializer};
use source_platform::idempotency::{self, IdempotencyKey, IdempotentResponse, Recorded};
use source_platform::values::AddressInput;
use uuid::Uuid;

use super::error::{ApiError, IDEMPOTENCY_KEY_FIELD};
use crate::domain::{
    Carrier, Location, NewShipment, Note, OrderId, Shipment, ShipmentId, ShipmentStatus, StatusChange, TrackingNumber,
};
use crate::store::{CREATE_SHIPMENT_SCOPE, ShipmentStore, StoreError, current_time};

/// How many tracking numbers to try before giving up. With 10^12 serials per carrier prefix a
/// second attempt is already rare; a fifth failure means something else is wrong.
const MAX_TRACKING_NUMBER_ATTEMPTS: u32 = 5;

/// `(reads, writes)`: the GETs and the POSTs.
pub fn routes(store: ShipmentStore) -> (Router, Router) {
    let reads = Router::new()
        .route("/shipments", get(list_shipments))
        .route("/shipments/{id}", get(get_shipment))
        .with_state(store.clone());
    let writes = Router::new()
        .route("/shipments", post(create_shipment))
        .route("/shipments/{id}/status", post(change_shipment_status))
        .with_state(store);
    (reads, writes)
}

// The required fields are `Option`s so that a missing (or null) one is reported like any other
// invalid field, with its name in `field`; serde's own error names only the enclosing object.
/// A new shipment for an order.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "order_id": "0190163d-8694-739b-aea5-966c26f8ad91",
    "carrier": "DHL Express",
    "address": {"line1": "Keizersgracht 123", "line2": "3rd floor", "city": "Amsterdam",
                "postal_code": "1015 CJ", "country": "NL"}
}))]
pub struct CreateShipmentRequest {
    /// The order the shipment delivers, a UUID. It is not checked against order-svc: the
    /// services hold no references across their databases.
    #[schema(value_type = String, format = Uuid, required = true)]
    pub order_id: Option<String>,
    /// The carrier's name, 1 to 50 characters, e.g. `DHL Express`.
    #[schema(value_type = String, required = true)]
    pub carrier: Option<String>,
    #[schema(value_type = AddressInput, required = true)]
    pub address: Option<AddressInput>,
}

impl CreateShipmentRequest {
    fn parse(&self) -> Result<NewShipment, FieldError> {
        let order_id = required("order_id", self.order_id.as_deref())?;
        let order_id = OrderId::parse(order_id).map_err(|message| FieldError::new("order_id", message))?;
        let carrier = required("carrier", self.carrier.as_deref())?;
        let carrier = Carrier::parse(carrier).map_err(|message| FieldError::new("carrier", message))?;
        let address = required("address", self.address.as_ref())?.parse("address")?;
        Ok(NewShipment { order_id, carrier, address })
    }
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::new(field, "is required"))
}

/// A status change; see the state machine in `docs/shipping-svc.md`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "IN_TRANSIT", "location": "Utrecht sorting centre", "note": "on schedule"}))]
pub struct ChangeStatusRequest {
    /// The status to move to: DISPATCHED, IN_TRANSIT, DELIVERED or RETURNED.
    // Read as text and parsed here because serde_json reports a non-string enum value as
    // malformed JSON (400), and a wrong value deserves a 422 naming `status` like any field.
    #[schema(value_type = ShipmentStatus, required = true)]
    pub status: Option<String>,
    /// Where the shipment is now, 1 to 200 characters; replaces `last_location` when given.
    pub location: Option<String>,
    /// A remark, 1 to 500 characters; replaces `note` when given.
    pub note: Option<String>,
}

impl ChangeStatusRequest {
    fn parse(self) -> Result<StatusChange, FieldError> {
        let status = required("status", self.status.as_deref())?;
        let to = ShipmentStatus::parse(status).map_err(|_| {
            FieldError::new("status", "must be one of CREATED, DISPATCHED, IN_TRANSIT, DELIVERED, RETURNED")
        })?;
        let location = self
            .location
            .map(|raw| Location::parse(&raw))
            .transpose()
            .map_err(|message| FieldError::new("location", message))?;
        let note =
            self.note.map(|raw| Note::parse(&raw)).transpose().map_err(|message| FieldError::new("note", message))?;
        Ok(StatusChange { to, location, note })
    }
}

/// A postal address as stored: trimmed, with an ISO 3166-1 alpha-2 country.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AddressResponse {
    pub line1: String,
    /// Always present; null when there is none.
    #[schema(required = true)]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

/// A shipment. Times are RFC 3339 in UTC, with milliseconds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShipmentResponse {
    /// A UUID v7.
    pub id: Uuid,
    pub order_id: Uuid,
    pub carrier: String,
    /// Generated by the service: carrier prefix, 12 digits, a Luhn check digit.
    pub tracking_number: String,
    pub address: AddressResponse,
    pub status: ShipmentStatus,
    /// Where the shipment was last seen; null until a change gives a location.
    #[schema(required = true)]
    pub last_location: Option<String>,
    /// The note of the latest change that gave one; null until then.
    #[schema(required = true)]
    pub note: Option<String>,
    /// 1 when created, one more per change.
    pub version: i64,
    #[serde(serialize_with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339_millis")]
    pub updated_at: DateTime<Utc>,
}

impl From<&Shipment> for ShipmentResponse {
    fn from(shipment: &Shipment) -> Self {
        Self {
            id: shipment.id.as_uuid(),
            order_id: shipment.order_id.as_uuid(),
            carrier: shipment.carrier.as_str().to_string(),
            tracking_number: shipment.tracking_number.as_str().to_string(),
            address: AddressResponse {
                line1: shipment.address.line1.clone(),
                line2: shipment.address.line2.clone(),
                city: shipment.address.city.clone(),
                postal_code: shipment.address.postal_code.clone(),
                country: shipment.address.country.clone(),
            },
            status: shipment.status,
            last_location: shipment.last_location.as_ref().map(|location| location.as_str().to_string()),
            note: shipment.note.as_ref().map(|note| note.as_str().to_string()),
            version: shipment.version.get(),
            created_at: shipment.created_at,
            updated_at: shipment.updated_at,
        }
    }
}

/// One order's shipments, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShipmentListResponse {
    pub shipments: Vec<ShipmentResponse>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListShipmentsParams {
    order_id: Option<String>,
}

fn rfc3339_millis<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Creates a shipment for an order, with a generated tracking number.
///
/// With an `Idempotency-Key`, a retry with the same body answers the first response again and
/// creates nothing; the same key with another body is refused.
#[utoipa::path(post, path = "/shipments", tag = "shipments",
    request_body = CreateShipmentRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header,
            description = "1 to 255 visible ASCII characters; makes retries safe"),
        ("traceparent" = Option<String>, Header, description = "W3C trace context, carried onto the event"),
    ),
    responses(
        (status = 201, description = "created, or the first response again for a replayed key",
            body = ShipmentResponse, headers(
                ("Location" = String, description = "/shipments/{id}"),
                ("Idempotent-Replayed" = String, description = "`true` on an answer recorded for a replayed key"),
            )),
        (status = 400, description = "malformed JSON or an invalid Idempotency-Key", body = ErrorBody),
        (status = 415, description = "the body is not application/json", body = ErrorBody),
        (status = 422, description = "a field is missing or invalid, or the key was used with another body",
            body = ErrorBody),
    ))]
pub async fn create_shipment(
    State(store): State<ShipmentStore>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreateShipmentRequest>,
) -> Result<Response, ApiError> {
    let idempotency_key = IdempotencyKey::from_headers(&headers)
        .map_err(|message| ApiError::BadRequest(FieldError::new(IDEMPOTENCY_KEY_FIELD, message)))?;
    let new_shipment = request.parse()?;
    let traceparent = traceparent_or_new(&headers);
    let request_fingerprint = idempotency::request_fingerprint(&request)?;
    if let Some(key) = &idempotency_key
        && let Some(recorded) = store.find_idempotent_response(CREATE_SHIPMENT_SCOPE, key, &request_fingerprint).await?
    {
        tracing::info!(idempotency_key = ?key, "answering a replayed create");
        return replay(recorded);
    }

    for attempt in 1..=MAX_TRACKING_NUMBER_ATTEMPTS {
        let tracking_number = TrackingNumber::generate(&new_shipment.carrier, fastrand::u64(..));
        let shipment = Shipment::create(ShipmentId::generate(), new_shipment.clone(), tracking_number, current_time());
        let body =
            serde_json::to_string(&ShipmentResponse::from(&shipment)).context("cannot serialise the shipment")?;
        let idempotency = idempotency_key.as_ref().map(|key| IdempotentResponse {
            key,
            request_fingerprint: &request_fingerprint,
            response_status: StatusCode::CREATED.as_u16(),
            response_body: &body,
        });
        match store.insert_new_shipment(&shipment, &traceparent, idempotency).await {
            Ok(()) => {
                tracing::info!(
                    shipment_id = %shipment.id,
                    order_id = %shipment.order_id,
                    tracking_number = %shipment.tracking_number,
                    "shipment created"
                );
                return Ok(json_response(StatusCode::CREATED, Some(shipment.id), body));
            }
            Err(StoreError::TrackingNumberTaken(taken)) => {
                tracing::warn!(tracking_number = %taken, attempt, "tracking number taken, generating another");
            }
            Err(StoreError::IdempotencyKeyClaimed) => {
                // a concurrent request with the same key won the race: answer what it answered
                let key = idempotency_key.as_ref().context("a key was claimed without a key")?;
                tracing::info!(idempotency_key = ?key, "a concurrent create with the same key won");
                let recorded = store
                    .find_idempotent_response(CREATE_SHIPMENT_SCOPE, key, &request_fingerprint)
                    .await?
                    .context("the idempotency key that won the race is missing")?;
                return replay(recorded);
            }
            Err(StoreError::VersionConflict { .. }) => {
                return Err(anyhow::anyhow!("a new shipment cannot have a version conflict").into());
            }
            Err(StoreError::Unexpected(error)) => return Err(error.into()),
        }
    }
    Err(anyhow::anyhow!("no free tracking number after {MAX_TRACKING_NUMBER_ATTEMPTS} attempts").into())
}

/// The response recorded for an idempotency key, or why it cannot be answered.
fn replay(recorded: Recorded) -> Result<Response, ApiError> {
    let Recorded::Response { status, body } = recorded else {
        return Err(ApiError::IdempotencyKeyReused);
    };
    let status = StatusCode::from_u16(status).context("a recorded response has an invalid status")?;
    // only creates are recorded, so the body is a shipment whose id gives the Location again
    let recorded_body: serde_json::Value = serde_json::from_str(&body).context("a recorded response is not json")?;
    let recorded_id = recorded_body.get("id").and_then(serde_json::Value::as_str).unwrap_or_default();
    let location = ShipmentId::parse(recorded_id).ok();
    let mut response = json_response(status, location, body);
    idempotency::mark_replayed(&mut response);
    Ok(response)
}

fn json_response(status: StatusCode, created: Option<ShipmentId>, body: String) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(id) = created
        && let Ok(location) = header::HeaderValue::from_str(&format!("/shipments/{id}"))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Moves a shipment to another status, optionally recording where it is and a note.
#[utoipa::path(post, path = "/shipments/{id}/status", tag = "shipments",
    request_body = ChangeStatusRequest,
    params(
        ("id" = Uuid, Path, description = "the shipment id"),
        ("traceparent" = Option<String>, Header, description = "W3C trace context, carried onto the event"),
    ),
    responses(
        (status = 200, description = "the shipment after the change, one version later", body = ShipmentResponse),
        (status = 400, description = "malformed JSON or an id that is not a UUID", body = ErrorBody),
        (status = 404, description = "no such shipment", body = ErrorBody),
        (status = 409, description = "the state machine does not allow the change, or a concurrent change won",
            body = ErrorBody),
        (status = 415, description = "the body is not application/json", body = ErrorBody),
        (status = 422, description = "a field is missing or invalid", body = ErrorBody),
    ))]
pub async fn change_shipment_status(
    State(store): State<ShipmentStore>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ChangeStatusRequest>,
) -> Result<axum::Json<ShipmentResponse>, ApiError> {
    let id = parse_path_id(&id)?;
    let change = request.parse()?;
    let traceparent = traceparent_or_new(&headers);
    let current = store.find_shipment(id).await?.ok_or(ApiError::NotFound(id))?;
    let changed = current.change_status(change, current_time())?;
    match store.save_status_change(&changed, &traceparent).await {
        Ok(()) => {}
        Err(StoreError::VersionConflict { .. }) => return Err(ApiError::ChangedConcurrently(id)),
        Err(StoreError::Unexpected(error)) => return Err(error.into()),
        Err(unexpected @ (StoreError::TrackingNumberTaken(_) | StoreError::IdempotencyKeyClaimed)) => {
            return Err(anyhow::Error::new(unexpected).context("a status change cannot fail this way").into());
        }
    }
    tracing::info!(
        shipment_id = %id,
        from = %current.status,
        to = %changed.status,
        version = changed.version.get(),
        "shipment status changed"
    );
    Ok(axum::Json(ShipmentResponse::from(&changed)))
}

/// Reads one shipment.
#[utoipa::path(get, path = "/shipments/{id}", tag = "shipments",
    params(("id" = Uuid, Path, description = "the shipment id")),
    responses(
        (status = 200, body = ShipmentResponse),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such shipment", body = ErrorBody),
        (status = 503, description = "an injected fault", body = ErrorBody),
    ))]
pub async fn get_shipment(
    State(store): State<ShipmentStore>,
    Path(id): Path<String>,
) -> Result<axum::Json<ShipmentResponse>, ApiError> {
    let id = parse_path_id(&id)?;
    let shipment = store.find_shipment(id).await?.ok_or(ApiError::NotFound(id))?;
    Ok(axum::Json(ShipmentResponse::from(&shipment)))
}

/// Lists an order's shipments, oldest first; an order without shipments has an empty list.
#[utoipa::path(get, path = "/shipments", tag = "shipments",
    params(("order_id" = Uuid, Query, description = "the order whose shipments to list")),
    responses(
        (status = 200, body = ShipmentListResponse),
        (status = 400, description = "order_id is missing or not a UUID", body = ErrorBody),
        (status = 503, description = "an injected fault", body = ErrorBody),
    ))]
pub async fn list_shipments(
    State(store): State<ShipmentStore>,
    params: Result<Query<ListShipmentsParams>, QueryRejection>,
) -> Result<axum::Json<ShipmentListResponse>, ApiError> {
    let bad_order_id = |message: &str| ApiError::BadRequest(FieldError::new("order_id", message));
    let Ok(Query(params)) = params else {
        return Err(bad_order_id("cannot parse the query string"));
    };
    let Some(order_id) = params.order_id else {
        return Err(bad_order_id("is required"));
    };
    let order_id = OrderId::parse(&order_id).map_err(|message| bad_order_id(&message))?;
    let shipments = store.list_shipments_of_order(order_id).await?;
    Ok(axum::Json(ShipmentListResponse { shipments: shipments.iter().map(ShipmentResponse::from).collect() }))
}

fn parse_path_id(raw: &str) -> Result<ShipmentId, ApiError> {
    ShipmentId::parse(raw).map_err(|message| ApiError::BadRequest(FieldError::new("id", message)))
}
