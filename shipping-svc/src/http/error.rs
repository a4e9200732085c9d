//! The one error type of the shipments API and how each case answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::http::FieldError;
use platform::http::{field_error_response, json_error, unexpected_error_response};

use crate::domain::{ShipmentId, TransitionError};

/// The `field` named when the `Idempotency-Key` header is at fault.
pub const IDEMPOTENCY_KEY_FIELD: &str = "Idempotency-Key";

/// Everything a shipments endpoint can answer besides success. Body errors of the JSON
/// extractor (malformed JSON 400, wrong shape 422, wrong content type 415) answer on their own,
/// in the same `{"error", "field"}` shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request body value that does not parse: 422.
    #[error("{}: {}", .0.field, .0.message)]
    Validation(FieldError),
    /// A path id, query parameter or header that does not parse: 400.
    #[error("{}: {}", .0.field, .0.message)]
    BadRequest(FieldError),
    #[error("shipment {0} not found")]
    NotFound(ShipmentId),
    /// The state machine does not allow the change: 409.
    #[error(transparent)]
    InvalidTransition(#[from] TransitionError),
    /// Another request changed the shipment between our read and our write: 409, and the
    /// client may retry against the new state.
    #[error("shipment {0} was changed by a concurrent request; retry")]
    ChangedConcurrently(ShipmentId),
    /// The key was first used with a different request body: 422.
    #[error("idempotency key was already used with a different request body")]
    IdempotencyKeyReused,
    #[error("unexpected error")]
    Unexpected(#[from] anyhow::Error),
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::Validation(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Validation(error) => field_error_response(StatusCode::UNPROCESSABLE_ENTITY, error),
            Self::BadRequest(error) => field_error_response(StatusCode::BAD_REQUEST, error),
            Self::NotFound(_) => json_error(StatusCode::NOT_FOUND, &self.to_string(), None),
            Self::InvalidTransition(_) | Self::ChangedConcurrently(_) => {
                json_error(StatusCode::CONFLICT, &self.to_string(), None)
            }
            Self::IdempotencyKeyReused => {
                json_error(StatusCode::UNPROCESSABLE_ENTITY, &self.to_string(), Some(IDEMPOTENCY_KEY_FIELD))
            }
            Self::Unexpected(error) => unexpected_error_response(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::ShipmentStatus;

    async fn answer(error: ApiError) -> (StatusCode, Value) {
        testkit::status_and_json_of_axum_response(error.into_response()).await
    }

    #[tokio::test]
    async fn each_case_answers_with_its_status_and_body() {
        let id = ShipmentId::parse("0190163d-8694-739b-aea5-966c26f8ad91").expect("valid");
        let cases = [
            (
                ApiError::Validation(FieldError::new("carrier", "must not be blank")),
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "must not be blank", "field": "carrier"}),
            ),
            (
                ApiError::BadRequest(FieldError::new("id", "must be a uuid")),
                StatusCode::BAD_REQUEST,
                json!({"error": "must be a uuid", "field": "id"}),
            ),
            (
                ApiError::NotFound(id),
                StatusCode::NOT_FOUND,
                json!({"error": "shipment 0190163d-8694-739b-aea5-966c26f8ad91 not found"}),
            ),
            (
                ApiError::InvalidTransition(TransitionError {
                    from: ShipmentStatus::Delivered,
                    to: ShipmentStatus::InTransit,
                }),
                StatusCode::CONFLICT,
                json!({"error": "cannot move a shipment from DELIVERED to IN_TRANSIT"}),
            ),
            (
                ApiError::ChangedConcurrently(id),
                StatusCode::CONFLICT,
                json!({"error": "shipment 0190163d-8694-739b-aea5-966c26f8ad91 was changed by a concurrent request; retry"}),
            ),
            (
                ApiError::IdempotencyKeyReused,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "idempotency key was already used with a different request body", "field": "Idempotency-Key"}),
            ),
        ];
        for (error, status, body) in cases {
            assert_eq!(answer(error).await, (status, body));
        }
    }

    #[tokio::test]
    async fn unexpected_errors_hide_their_details() {
        let error = anyhow::anyhow!("password=hunter2 rejected").context("cannot connect to postgres");
        let (status, body) = answer(ApiError::Unexpected(error)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({"error": "internal error"}));
    }
}
