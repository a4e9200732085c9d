//! The contract drill: switches that change payment-svc's contracts at run time, behind the
//! admin token, in the style of fault injection (`/admin/faults`). `compare`'s
//! `contract-change` scenario uses them to measure how each read design follows a change of an
//! upstream contract, and reverts them afterwards. Both are off (`v1`) until an admin sets them.
//!
//! - `rest`: `renamed` makes the unversioned read API (`/payments…`) answer `amount_minor`
//!   instead of `amount`, plus a new field, as a careless deploy would. `/v2/payments…` always
//!   answers that shape, beside the unchanged `/payments…`: the versioned way to make the same
//!   change.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use platform::auth::BearerToken;
use platform::http::json_error;
use serde::{Deserialize, Serialize};

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
}

/// The switch, shared by the read handlers and the admin routes.
#[derive(Clone, Default)]
pub struct ContractSwitch(Arc<RwLock<ContractSettings>>);

impl ContractSwitch {
    pub fn current(&self) -> ContractSettings {
        match self.0.read() {
            Ok(settings) => *settings,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    fn set(&self, settings: ContractSettings) {
        match self.0.write() {
            Ok(mut current) => *current = settings,
            Err(poisoned) => *poisoned.into_inner() = settings,
        }
    }
}

#[derive(Clone)]
pub struct AdminState {
    switch: ContractSwitch,
    token: BearerToken,
}

/// `GET`, `PUT` and `DELETE /admin/contract`, guarded by the admin token.
pub fn admin_routes(switch: ContractSwitch, token: BearerToken) -> Router {
    Router::new()
        .route("/admin/contract", put(put_contract).get(get_contract).delete(delete_contract))
        .with_state(AdminState { switch, token })
}

/// Reads the contracts payment-svc serves.
#[utoipa::path(get, path = "/admin/contract", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, body = ContractSettings), (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
pub async fn get_contract(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    if let Err(refused) = state.token.check(&headers) {
        return refused.into_response();
    }
    axum::Json(state.switch.current()).into_response()
}

/// Changes the contracts payment-svc serves, without a restart.
#[utoipa::path(put, path = "/admin/contract", tag = "admin", request_body = ContractSettings,
    security(("admin_token" = [])),
    responses((status = 200, body = ContractSettings),
        (status = 400, body = platform::json::ErrorBody, description = "the body is not json contract settings"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
pub async fn put_contract(State(state): State<AdminState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = state.token.check(&headers) {
        return refused.into_response();
    }
    // an object only: serde would also read a struct from an array
    let settings: ContractSettings = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(object @ serde_json::Value::Object(_)) => match serde_json::from_value(object) {
            Ok(settings) => settings,
            Err(error) => {
                return json_error(StatusCode::BAD_REQUEST, &format!("invalid contract settings: {error}"), None);
            }
        },
        Ok(_) => return json_error(StatusCode::BAD_REQUEST, "the body must be a json object", None),
        Err(error) => return json_error(StatusCode::BAD_REQUEST, &format!("invalid json: {error}"), None),
    };
    state.switch.set(settings);
    tracing::warn!(rest = ?settings.rest, "contract changed");
    axum::Json(settings).into_response()
}

/// Reverts every contract to `v1`.
#[utoipa::path(delete, path = "/admin/contract", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, body = ContractSettings), (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
pub async fn delete_contract(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    if let Err(refused) = state.token.check(&headers) {
        return refused.into_response();
    }
    let settings = ContractSettings::default();
    state.switch.set(settings);
    tracing::warn!("contract reverted to v1");
    axum::Json(settings).into_response()
}
