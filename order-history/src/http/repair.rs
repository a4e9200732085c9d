//! `POST /admin/repair` re-projects named orders from the topics (see [`crate::repair`]);
//! `GET /admin/repair` reports the last repair. Both are behind the admin token, which the
//! router checks for every `/admin` route before the body is read.
//!
//! A repair reads every source topic, which can outlast the server's request timeout, so it
//! runs in a task of its own: the POST answers with the outcome when the repair is done within
//! [`answer_within`], and with 202 otherwise, for the client to poll `GET /admin/repair`.

use std::collections::HashSet;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::http::{HttpLimits, json_error};
use platform::json::{JsonBody, JsonRejection};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiState;
use crate::repair::{self, MAX_REPAIR_IDS, RepairState, RepairStatus};

/// How long the POST waits for the repair before answering 202: well within the request
/// timeout every route has.
pub fn answer_within() -> Duration {
    HttpLimits::default().request_timeout.saturating_sub(Duration::from_secs(2))
}

/// The body of `POST /admin/repair`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // documents the body; it is parsed by hand for precise errors
pub struct RepairRequest {
    /// 1 to 10,000 order ids (UUIDs); a repeated id counts once.
    order_ids: Vec<String>,
}

/// Re-projects the named orders from every source topic and replaces their documents; an
/// order without any event loses its document.
#[utoipa::path(post, path = "/admin/repair", tag = "admin", security(("admin_token" = [])),
    request_body = RepairRequest,
    responses(
        (status = 200, body = RepairStatus, description = "repaired: the documents are replaced and committed"),
        (status = 202, body = RepairStatus, description = "repair running; poll GET /admin/repair"),
        (status = 400, body = platform::json::ErrorBody, description = "the body is not JSON, or order_ids is missing, empty, longer than 10,000 or holds a malformed id (named in `field`)"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token"),
        (status = 409, body = RepairStatus, description = "another repair is running"),
        (status = 415, body = platform::json::ErrorBody, description = "the content type is not application/json"),
        (status = 500, body = RepairStatus, description = "the repair failed; `error` says why")))]
pub async fn start_repair(State(state): State<ApiState>, body: Result<JsonBody<Value>, JsonRejection>) -> Response {
    let JsonBody(body) = match body {
        Ok(body) => body,
        Err(rejection) => return rejection.into_response(),
    };
    let order_ids = match parse_order_ids(&body) {
        Ok(order_ids) => order_ids,
        Err(error) => return json_error(StatusCode::BAD_REQUEST, &error.message, Some(&error.field)),
    };
    if !state.repairs.try_start(order_ids.len()) {
        return (StatusCode::CONFLICT, Json(state.repairs.status())).into_response();
    }
    let repairs = state.repairs.clone();
    let task = tokio::spawn(async move {
        // the outcome is in the tracker and the log
        let _ = repair::run(&state.rebuild, &state.view, order_ids, &state.repairs, &state.shutdown).await;
    });
    // the task goes on if the wait runs out, or if this request is dropped
    let _ = tokio::time::timeout(answer_within(), task).await;
    let status = repairs.status();
    let code = match status.state {
        RepairState::Done => StatusCode::OK,
        RepairState::Failed => StatusCode::INTERNAL_SERVER_ERROR,
        RepairState::Running | RepairState::Idle => StatusCode::ACCEPTED,
    };
    (code, Json(status)).into_response()
}

/// The state of the last repair.
#[utoipa::path(get, path = "/admin/repair", tag = "admin", security(("admin_token" = [])),
    responses(
        (status = 200, body = RepairStatus),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
pub async fn repair_status(State(state): State<ApiState>) -> Response {
    Json(state.repairs.status()).into_response()
}

/// What is wrong with a repair request, and where.
#[derive(Debug, PartialEq, Eq)]
struct BadRepairRequest {
    field: String,
    message: String,
}

impl BadRepairRequest {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        BadRepairRequest { field: field.into(), message: message.into() }
    }
}

/// The distinct order ids of a request body, in the order given.
fn parse_order_ids(body: &Value) -> Result<Vec<Uuid>, BadRepairRequest> {
    let Some(fields) = body.as_object() else {
        return Err(BadRepairRequest::new("body", "the body must be an object with order_ids"));
    };
    if let Some(unknown) = fields.keys().find(|name| name.as_str() != "order_ids") {
        return Err(BadRepairRequest::new(unknown.as_str(), format!("unknown field {unknown:?}")));
    }
    let Some(raw_ids) = fields.get("order_ids") else {
        return Err(BadRepairRequest::new("order_ids", "order_ids is required"));
    };
    let Some(raw_ids) = raw_ids.as_array() else {
        return Err(BadRepairRequest::new("order_ids", "order_ids must be an array of order ids"));
    };
    if raw_ids.is_empty() {
        return Err(BadRepairRequest::new("order_ids", "order_ids is empty"));
    }
    if raw_ids.len() > MAX_REPAIR_IDS {
        return Err(BadRepairRequest::new("order_ids", format!("order_ids holds more than {MAX_REPAIR_IDS} ids")));
    }
    let mut order_ids = Vec::with_capacity(raw_ids.len());
    let mut seen = HashSet::with_capacity(raw_ids.len());
    for (position, raw_id) in raw_ids.iter().enumerate() {
        let field = format!("order_ids[{position}]");
        let order_id = raw_id
            .as_str()
            .and_then(|text| Uuid::parse_str(text).ok())
            .ok_or_else(|| BadRepairRequest::new(field, format!("{raw_id} is not an order id (a uuid)")))?;
        if seen.insert(order_id) {
            order_ids.push(order_id);
        }
    }
    Ok(order_ids)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field_of(body: Value) -> String {
        match parse_order_ids(&body) {
            Err(error) => error.field,
            Ok(order_ids) => panic!("expected a bad request for {body}, got {order_ids:?}"),
        }
    }

    #[test]
    fn distinct_ids_are_kept_in_the_order_given() {
        let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
        let body = json!({"order_ids": [second.to_string(), first.to_string(), second.to_string()]});
        assert_eq!(parse_order_ids(&body), Ok(vec![second, first]));
    }

    #[test]
    fn a_bad_body_names_what_is_wrong() {
        assert_eq!(field_of(json!([])), "body");
        assert_eq!(field_of(json!({})), "order_ids");
        assert_eq!(field_of(json!({"order_ids": []})), "order_ids");
        assert_eq!(field_of(json!({"order_ids": "0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a"})), "order_ids");
        assert_eq!(field_of(json!({"order_ids": [Uuid::now_v7().to_string(), "not-a-uuid"]})), "order_ids[1]");
        assert_eq!(field_of(json!({"order_ids": [17]})), "order_ids[0]");
        assert_eq!(field_of(json!({"order_ids": [Uuid::now_v7().to_string()], "all": true})), "all");
    }

    #[test]
    fn more_than_the_limit_is_refused_and_the_limit_accepted() {
        let ids = |count: usize| -> Vec<String> { (0..count).map(|_| Uuid::new_v4().to_string()).collect() };
        assert_eq!(field_of(json!({"order_ids": ids(MAX_REPAIR_IDS + 1)})), "order_ids");
        assert_eq!(
            parse_order_ids(&json!({"order_ids": ids(MAX_REPAIR_IDS)})).map(|ids| ids.len()),
            Ok(MAX_REPAIR_IDS)
        );
    }
}
