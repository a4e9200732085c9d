//! The one error type of payment-svc's API, and how each kind is answered.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::http::FieldError;
use platform::http::{field_error_response, json_error, unexpected_error_response};

use crate::domain::PaymentId;
use crate::store::StoreError;

/// The header a reused idempotency key is reported under, as clients spell it.
pub const IDEMPOTENCY_KEY_FIELD: &str = "Idempotency-Key";

/// Every way a request can fail. Each arm is one status code and one `{"error", "field"}` body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A body field that parsed as JSON but breaks a rule: 422.
    #[error("{}", .0.message)]
    Validation(FieldError),
    /// A path id, query parameter or header that cannot be parsed: 400.
    #[error("{}", .0.message)]
    BadRequest(FieldError),
    #[error("no payment with id {0}")]
    NotFound(PaymentId),
    /// The payment's current state does not allow the request: 409.
    #[error("{0}")]
    Conflict(String),
    /// An `Idempotency-Key` sent before with another body: 422, so that a client bug is not
    /// mistaken for a retry.
    #[error("idempotency key was already used with a different request body")]
    IdempotencyKeyReused,
    /// Anything the client cannot fix: 500, logged with its whole chain, answered without it.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(id) => Self::NotFound(id),
            StoreError::Refused(refused) => Self::Conflict(refused.to_string()),
            StoreError::ConcurrentChange(id) => {
                Self::Conflict(format!("payment {id} was changed by another request; read it again and retry"))
            }
            StoreError::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            StoreError::Unexpected(error) => Self::Unexpected(error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match &self {
            Self::Validation(error) => field_error_response(StatusCode::UNPROCESSABLE_ENTITY, error),
            Self::BadRequest(error) => field_error_response(StatusCode::BAD_REQUEST, error),
            Self::NotFound(_) => json_error(StatusCode::NOT_FOUND, &message, None),
            Self::Conflict(_) => json_error(StatusCode::CONFLICT, &message, None),
            Self::IdempotencyKeyReused => {
                json_error(StatusCode::UNPROCESSABLE_ENTITY, &message, Some(IDEMPOTENCY_KEY_FIELD))
            }
            Self::Unexpected(error) => unexpected_error_response(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::{PaymentAction, PaymentStatus, TransitionRefused};

    async fn status_and_body(error: ApiError) -> (StatusCode, Value) {
        testkit::status_and_json_of_axum_response(error.into_response()).await
    }

    #[tokio::test]
    async fn each_kind_has_its_status_and_body() {
        let id = PaymentId::parse("0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a").expect("valid");
        let cases = [
            (
                ApiError::Validation(FieldError::new("amount", "must be positive")),
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "must be positive", "field": "amount"}),
            ),
            (
                ApiError::BadRequest(FieldError::new("id", "must be a uuid")),
                StatusCode::BAD_REQUEST,
                json!({"error": "must be a uuid", "field": "id"}),
            ),
            (
                ApiError::NotFound(id),
                StatusCode::NOT_FOUND,
                json!({"error": "no payment with id 0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a"}),
            ),
            (
                StoreError::Refused(TransitionRefused {
                    action: PaymentAction::Capture,
                    current: PaymentStatus::Declined,
                })
                .into(),
                StatusCode::CONFLICT,
                json!({"error": "cannot capture a payment that is DECLINED"}),
            ),
            (
                ApiError::IdempotencyKeyReused,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "idempotency key was already used with a different request body", "field": "Idempotency-Key"}),
            ),
        ];
        for (error, expected_status, expected_body) in cases {
            assert_eq!(status_and_body(error).await, (expected_status, expected_body));
        }
    }

    #[tokio::test]
    async fn unexpected_errors_answer_without_their_details() {
        let error = anyhow::anyhow!("password=hunter2 rejected").context("cannot connect to postgres");
        let (status, body) = status_and_body(ApiError::Unexpected(error)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({"error": "internal error"}));
    }
}
