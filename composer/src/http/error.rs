//! One error enum per route; each knows its status and its JSON body.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::http::{json_error, unexpected_error_response};
use uuid::Uuid;

use crate::downstream::{Dependency, DownstreamError};

#[derive(Debug, thiserror::Error)]
pub enum GetOrderError {
    #[error("{message}")]
    BadRequest { message: String, field: &'static str },
    #[error("order {0} not found")]
    NotFound(Uuid),
    /// order-svc, which owns the order, failed: without it there is nothing to answer.
    #[error(transparent)]
    OrderSvc(DownstreamError),
    #[error("no answer within the request deadline of {} ms", .0.as_millis())]
    DeadlineExceeded(Duration),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl IntoResponse for GetOrderError {
    fn into_response(self) -> Response {
        match &self {
            GetOrderError::BadRequest { message, field } => json_error(StatusCode::BAD_REQUEST, message, Some(field)),
            GetOrderError::NotFound(_) => json_error(StatusCode::NOT_FOUND, &self.to_string(), None),
            GetOrderError::OrderSvc(error) => essential_dependency_response(error),
            GetOrderError::DeadlineExceeded(_) => {
                tracing::warn!(error = %self, "request deadline exceeded");
                json_error(StatusCode::GATEWAY_TIMEOUT, &self.to_string(), None)
            }
            GetOrderError::Unexpected(error) => unexpected_error_response(error),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{message}")]
    BadRequest { field: &'static str, message: String },
    #[error(
        "composition can only search one customer's orders: pass customer_id. a search across all \
         customers needs a global full-text index, which only order-history (the cqrs read model) has"
    )]
    CustomerRequired,
    #[error(transparent)]
    Refused(#[from] platform::auth::AuthError),
    #[error(transparent)]
    OrderSvc(DownstreamError),
    #[error("the search did not finish within its deadline of {} ms", .0.as_millis())]
    DeadlineExceeded(Duration),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl SearchError {
    pub fn bad(field: &'static str, message: String) -> Self {
        SearchError::BadRequest { field, message }
    }
}

impl From<platform::query::ParamError> for SearchError {
    fn from(error: platform::query::ParamError) -> Self {
        SearchError::BadRequest { field: error.field, message: error.message }
    }
}

impl From<order_view::search::SearchParamError> for SearchError {
    fn from(error: order_view::search::SearchParamError) -> Self {
        SearchError::BadRequest { field: error.field, message: error.message }
    }
}

impl IntoResponse for SearchError {
    fn into_response(self) -> Response {
        match &self {
            SearchError::BadRequest { field, message } => json_error(StatusCode::BAD_REQUEST, message, Some(field)),
            SearchError::CustomerRequired => {
                json_error(StatusCode::BAD_REQUEST, &self.to_string(), Some("customer_id"))
            }
            SearchError::Refused(refusal) => refusal.clone().into_response(),
            SearchError::OrderSvc(error) => essential_dependency_response(error),
            SearchError::DeadlineExceeded(_) => {
                tracing::warn!(error = %self, "search deadline exceeded");
                json_error(StatusCode::GATEWAY_TIMEOUT, &self.to_string(), None)
            }
            SearchError::Unexpected(error) => unexpected_error_response(error),
        }
    }
}

/// The answer when order-svc fails: 504 when it was too slow, 502 for every other failure.
/// The message names the failure without the details (addresses, causes), which go to the log.
fn essential_dependency_response(error: &DownstreamError) -> Response {
    debug_assert_eq!(error.dependency(), Dependency::OrderSvc, "only order-svc is essential");
    tracing::warn!(dependency = error.dependency().name(), error = %error, "essential dependency failed");
    let dependency = error.dependency();
    match error {
        DownstreamError::Timeout(_) => json_error(
            StatusCode::GATEWAY_TIMEOUT,
            &format!("{dependency}, which owns the order, did not answer within its deadline"),
            None,
        ),
        DownstreamError::CircuitOpen(_) => json_error(
            StatusCode::BAD_GATEWAY,
            &format!("{dependency}, which owns the order, is failing; its circuit breaker is open"),
            None,
        ),
        DownstreamError::Unreachable { .. } => {
            json_error(StatusCode::BAD_GATEWAY, &format!("{dependency}, which owns the order, is unreachable"), None)
        }
        DownstreamError::Status { status, .. } => {
            json_error(StatusCode::BAD_GATEWAY, &format!("{dependency}, which owns the order, answered {status}"), None)
        }
        DownstreamError::MalformedBody { .. } => json_error(
            StatusCode::BAD_GATEWAY,
            &format!("{dependency}, which owns the order, answered with an unexpected body"),
            None,
        ),
        DownstreamError::ContractViolation { .. } => json_error(
            StatusCode::BAD_GATEWAY,
            &format!("{dependency}, which owns the order, answered in a shape that breaks its contract"),
            None,
        ),
    }
}
