//! The contract drill: switches that change payment-svc's contracts at run time, behind the
//! admin token, in the style of fault injection (`/admin/faults`). `compare`'s
//! `contract-change` scenario uses them to measure how each read design follows a change of an
//! upstream contract, and reverts them afterwards. Both are off (`v1`) until an admin sets them.
//!
//! - `rest`: `renamed` makes the unversioned read API (`/payments…`) answer `amount_minor`
//!   instead of `amount`, plus a new field, as a careless deploy would. `/v2/payments…` always
//!   answers that shape, beside the unchanged `/payments…`: the versioned way to make the same
//!   change.
//! - `event_schema`: `v2` makes the relay publish `payments-value` v2 (a new optional field),
//!   after registering it; `v3-incompatible` tries to register a schema that changes a field's
//!   type. The registry refuses it (409) before anything is written with it: payment-svc keeps
//!   publishing the version it had, answers 409, counts the refusal and reports it on `/readyz`
//!   (check `event_schema`) until the switch is set again.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use events::evolution::PaymentSchemaVersion;
use events::{EncodeError, EventCodec, topics};
use platform::http::{ProbeResult, json_error, json_object};
use serde::{Deserialize, Serialize};

/// Counter `{version}`: schema versions the registry refused to register.
pub const SCHEMA_REGISTRATIONS_REFUSED_TOTAL: &str = "payment_schema_registrations_refused_total";

/// The shape of the unversioned read API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestContract {
    /// `amount`, as documented.
    #[default]
    V1,
    /// `amount_minor` instead of `amount`, plus `authorization_limit_minor`: the shape of
    /// `/v2/payments…`, served on the unversioned path.
    Renamed,
}

/// The contracts payment-svc currently serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractSettings {
    #[serde(default)]
    pub rest: RestContract,
    /// The `payments-value` version new events are written with: `v1`, `v2` or
    /// `v3-incompatible` (which the registry refuses).
    #[serde(default)]
    #[schema(value_type = String, example = "v2")]
    pub event_schema: PaymentSchemaVersion,
}

#[derive(Clone, Debug, Default)]
struct ContractState {
    settings: ContractSettings,
    /// The registry's last refusal, until the switch is set again.
    refusal: Option<String>,
}

/// The switch, shared by the handlers, the admin routes and the readiness check.
#[derive(Clone, Default)]
pub struct ContractSwitch(Arc<RwLock<ContractState>>);

impl ContractSwitch {
    pub fn current(&self) -> ContractSettings {
        self.state().settings
    }

    fn state(&self) -> ContractState {
        match self.0.read() {
            Ok(state) => state.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, state: ContractState) {
        match self.0.write() {
            Ok(mut current) => *current = state,
            Err(poisoned) => *poisoned.into_inner() = state,
        }
    }

    /// The readiness check `event_schema`: fails while a refused schema is what was asked for.
    pub fn readiness(&self) -> ProbeResult {
        match self.state().refusal {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }
}

#[derive(Clone)]
pub struct AdminState {
    switch: ContractSwitch,
    codec: Arc<EventCodec>,
}

/// `GET`, `PUT` and `DELETE /admin/contract`; the service runtime puts them behind the admin
/// token.
pub fn admin_routes(switch: ContractSwitch, codec: Arc<EventCodec>) -> Router {
    Router::new()
        .route("/admin/contract", put(put_contract).get(get_contract).delete(delete_contract))
        .with_state(AdminState { switch, codec })
}

/// What `GET /admin/contract` answers: the settings in force and the last refusal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractStatus {
    // the fields of `ContractSettings`, spelled out rather than flattened: the settings' schema
    // forbids other properties, so a flattened `allOf` would forbid `refusal` too
    pub rest: RestContract,
    /// The `payments-value` version new events are written with.
    #[schema(value_type = String, example = "v2")]
    pub event_schema: PaymentSchemaVersion,
    /// Why the registry refused the last `event_schema` asked for; null when it did not.
    pub refusal: Option<String>,
}

/// Reads the contracts payment-svc serves.
#[utoipa::path(get, path = "/admin/contract", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, body = ContractStatus), (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
pub async fn get_contract(State(state): State<AdminState>) -> Response {
    let current = state.switch.state();
    axum::Json(ContractStatus {
        rest: current.settings.rest,
        event_schema: current.settings.event_schema,
        refusal: current.refusal,
    })
    .into_response()
}

/// Changes the contracts payment-svc serves, without a restart.
#[utoipa::path(put, path = "/admin/contract", tag = "admin", request_body = ContractSettings,
    security(("admin_token" = [])),
    responses((status = 200, body = ContractSettings),
        (status = 400, body = platform::json::ErrorBody, description = "the body is not json contract settings"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token"),
        (status = 409, body = platform::json::ErrorBody, description = "the registry refused the event schema; the previous one stays in force"),
        (status = 503, body = platform::json::ErrorBody, description = "the schema registry is unavailable")))]
pub async fn put_contract(State(state): State<AdminState>, body: Bytes) -> Response {
    let settings: ContractSettings = match json_object(&body, "contract settings") {
        Ok(settings) => settings,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, &message, None),
    };
    let previous = state.switch.current();
    let registered = match settings.event_schema == previous.event_schema {
        true => Ok(0),
        false => state.codec.register_schema_text(topics::PAYMENTS, settings.event_schema.schema_text()).await,
    };
    match registered {
        Ok(_) => {}
        Err(EncodeError::SchemaRejected { reason, .. }) => {
            let refusal = format!("the registry refused payments-value {}: {reason}", settings.event_schema.label());
            metrics::counter!(SCHEMA_REGISTRATIONS_REFUSED_TOTAL, "version" => settings.event_schema.label())
                .increment(1);
            tracing::warn!(version = settings.event_schema.label(), %reason, "event schema refused");
            // the REST part applies; the events keep the version they had
            let kept = ContractSettings { rest: settings.rest, event_schema: previous.event_schema };
            state.switch.set(ContractState { settings: kept, refusal: Some(refusal.clone()) });
            return json_error(StatusCode::CONFLICT, &refusal, Some("event_schema"));
        }
        Err(other) => {
            tracing::warn!(error = %other, "cannot register the event schema");
            return json_error(StatusCode::SERVICE_UNAVAILABLE, "the schema registry is unavailable", None);
        }
    }
    state.switch.set(ContractState { settings, refusal: None });
    tracing::warn!(rest = ?settings.rest, event_schema = settings.event_schema.label(), "contract changed");
    axum::Json(settings).into_response()
}

/// Reverts every contract to `v1`.
#[utoipa::path(delete, path = "/admin/contract", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, body = ContractSettings), (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
pub async fn delete_contract(State(state): State<AdminState>) -> Response {
    let settings = ContractSettings::default();
    state.switch.set(ContractState { settings, refusal: None });
    tracing::warn!("contract reverted to v1");
    axum::Json(settings).into_response()
}
