//! The one error type of the orders API, and how each case answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::http::FieldError;
use platform::http::{json_error, unexpected_error_response};

use crate::domain::{InvalidCursor, InvalidOrderId, OrderId, TransitionError};
use crate::store::StoreError;

/// The header named in idempotency errors, as clients spell it.
pub const IDEMPOTENCY_KEY_FIELD: &str = "Idempotency-Key";

/// Every way a request to the orders API can fail. Each case maps to one status and a body
/// `{"error": "...", "field": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A body field that parsed as JSON but breaks a rule: 422.
    #[error("{}", .0.message)]
    Validation(FieldError),
    /// A query parameter that cannot be used: 400.
    #[error("{}", .0.message)]
    InvalidQuery(FieldError),
    /// A path id that is not a uuid: 400, field `id`.
    #[error(transparent)]
    InvalidOrderId(#[from] InvalidOrderId),
    #[error(transparent)]
    InvalidCursor(#[from] InvalidCursor),
    /// An `Idempotency-Key` header that is not 1 to 255 visible ASCII characters: 400.
    #[error("{0}")]
    InvalidIdempotencyKey(String),
    /// The key was used before with a different body: 422.
    #[error("idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("order {0} not found")]
    NotFound(OrderId),
    /// The state machine forbids the change: 409.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// Another request changed the order between read and write: 409, and a retry sees why.
    #[error("order {0} was changed by a concurrent request; retry")]
    ConcurrentChange(OrderId),
    /// Anything else: 500, logged with its whole chain, answered without details.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InvalidQuery(_)
            | Self::InvalidOrderId(_)
            | Self::InvalidCursor(_)
            | Self::InvalidIdempotencyKey(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Transition(_) | Self::ConcurrentChange(_) => StatusCode::CONFLICT,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            Self::Validation(error) | Self::InvalidQuery(error) => Some(&error.field),
            Self::InvalidOrderId(_) => Some("id"),
            Self::InvalidCursor(_) => Some("cursor"),
            Self::InvalidIdempotencyKey(_) | Self::IdempotencyKeyReused => Some(IDEMPOTENCY_KEY_FIELD),
            Self::NotFound(_) | Self::Transition(_) | Self::ConcurrentChange(_) | Self::Unexpected(_) => None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            StoreError::ConcurrentChange(id) => Self::ConcurrentChange(id),
            StoreError::Unexpected(error) => Self::Unexpected(error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Unexpected(error) = &self {
            return unexpected_error_response(error);
        }
        if status == StatusCode::CONFLICT {
            tracing::info!(error = %self, "request conflicts with the order's state");
        }
        json_error(status, &self.to_string(), self.field())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    async fn answer(error: ApiError) -> (StatusCode, Value) {
        testkit::status_and_json_of_axum_response(error.into_response()).await
    }

    #[tokio::test]
    async fn each_case_answers_with_its_status_message_and_field() {
        let id: OrderId = "0196f3a2-7b1c-7d4e-8f00-0123456789ab".parse().expect("uuid");
        let cases = [
            (
                ApiError::Validation(FieldError::new("items[0].quantity", "must be between 1 and 1000")),
                422,
                json!({"error": "must be between 1 and 1000", "field": "items[0].quantity"}),
            ),
            (
                ApiError::InvalidQuery(FieldError::new("limit", "must be an integer between 1 and 100")),
                400,
                json!({"error": "must be an integer between 1 and 100", "field": "limit"}),
            ),
            (ApiError::from(InvalidOrderId), 400, json!({"error": "order id must be a uuid", "field": "id"})),
            (ApiError::from(InvalidCursor), 400, json!({"error": "cannot parse cursor", "field": "cursor"})),
            (
                ApiError::InvalidIdempotencyKey("idempotency key must be visible ascii characters".into()),
                400,
                json!({"error": "idempotency key must be visible ascii characters", "field": "Idempotency-Key"}),
            ),
            (
                ApiError::IdempotencyKeyReused,
                422,
                json!({"error": "idempotency key was already used with a different request", "field": "Idempotency-Key"}),
            ),
            (ApiError::NotFound(id), 404, json!({"error": format!("order {id} not found")})),
            (ApiError::from(TransitionError::AlreadyCancelled), 409, json!({"error": "order is already cancelled"})),
            (
                ApiError::from(StoreError::ConcurrentChange(id)),
                409,
                json!({"error": format!("order {id} was changed by a concurrent request; retry")}),
            ),
        ];
        for (error, status, body) in cases {
            assert_eq!(answer(error).await, (StatusCode::from_u16(status).expect("status"), body));
        }
    }

    #[tokio::test]
    async fn unexpected_errors_answer_500_without_details() {
        let error = anyhow::anyhow!("password=hunter2 rejected").context("cannot connect to postgres");
        let (status, body) = answer(ApiError::from(StoreError::Unexpected(error))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({"error": "internal error"}));
    }
}
