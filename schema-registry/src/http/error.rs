//! The one error type of the HTTP surface, answered in Confluent's shape:
//! `{"error_code": 40401, "message": "..."}`.
//!
//! Clients such as `confluent_kafka` and `schema_registry_converter` branch on `error_code`, so
//! every arm carries Confluent's code for the same situation.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::compatibility::UnknownCompatibilityLevel;
use crate::http::CONFLUENT_CONTENT_TYPE;
use crate::http::request::VersionSelector;
use crate::schema::InvalidSchema;
use platform::errors::error_chain;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("subject '{0}' not found")]
    SubjectNotFound(String),

    #[error("version {version} of subject '{subject}' not found")]
    VersionNotFound { subject: String, version: VersionSelector },

    #[error("schema {0} not found")]
    SchemaIdNotFound(String),

    #[error("schema not found under subject '{0}'")]
    SchemaNotInSubject(String),

    #[error("subject '{0}' was soft deleted; set permanent=true to delete it permanently")]
    SubjectAlreadySoftDeleted(String),

    #[error("subject '{0}' must be soft deleted before it is permanently deleted")]
    SubjectNotSoftDeleted(String),

    #[error("version {version} of subject '{subject}' was soft deleted; set permanent=true to delete it permanently")]
    VersionAlreadySoftDeleted { subject: String, version: i32 },

    #[error("version {version} of subject '{subject}' must be soft deleted before it is permanently deleted")]
    VersionNotSoftDeleted { subject: String, version: i32 },

    #[error("subject '{0}' does not have subject-level compatibility configured")]
    SubjectLevelNotConfigured(String),

    #[error("schema being registered is incompatible with an earlier schema for subject '{subject}': {}", .messages.join("; "))]
    IncompatibleSchema { subject: String, messages: Vec<String> },

    #[error(transparent)]
    InvalidSchema(#[from] InvalidSchema),

    #[error("{0}")]
    UnsupportedSchemaFeature(String),

    #[error("invalid version '{0}': expected an integer between 1 and 2147483647, 'latest' or -1")]
    InvalidVersion(String),

    #[error(
        "invalid compatibility level: {0}; expected one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE"
    )]
    InvalidCompatibilityLevel(String),

    #[error("malformed json body: {0}")]
    MalformedJson(String),

    #[error("unexpected json body: {0}")]
    UnexpectedJson(String),

    #[error("unsupported content type '{0}'; send application/vnd.schemaregistry.v1+json or application/json")]
    UnsupportedMediaType(String),

    #[error("request body too large")]
    BodyTooLarge,

    #[error("bad request: {0}")]
    BadRequest(String),

    #[error("no such route")]
    RouteNotFound,

    #[error("method not allowed on this route")]
    MethodNotAllowed,

    #[error("store failure")]
    Store(#[from] sqlx::Error),

    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The HTTP status and Confluent's `error_code` for this error.
    fn status_and_code(&self) -> (StatusCode, u32) {
        match self {
            Self::SubjectNotFound(_) => (StatusCode::NOT_FOUND, 40401),
            Self::VersionNotFound { .. } => (StatusCode::NOT_FOUND, 40402),
            Self::SchemaIdNotFound(_) | Self::SchemaNotInSubject(_) => (StatusCode::NOT_FOUND, 40403),
            Self::SubjectAlreadySoftDeleted(_) => (StatusCode::NOT_FOUND, 40404),
            Self::SubjectNotSoftDeleted(_) => (StatusCode::NOT_FOUND, 40405),
            Self::VersionAlreadySoftDeleted { .. } => (StatusCode::NOT_FOUND, 40406),
            Self::VersionNotSoftDeleted { .. } => (StatusCode::NOT_FOUND, 40407),
            Self::SubjectLevelNotConfigured(_) => (StatusCode::NOT_FOUND, 40408),
            Self::IncompatibleSchema { .. } => (StatusCode::CONFLICT, 409),
            Self::InvalidSchema(_) | Self::UnsupportedSchemaFeature(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
            Self::InvalidVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42202),
            Self::InvalidCompatibilityLevel(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42203),
            // Confluent's REST layer answers JSON syntax errors with 400 and JSON of the wrong
            // shape with 422, using the status itself as the code
            Self::MalformedJson(_) | Self::BadRequest(_) => (StatusCode::BAD_REQUEST, 400),
            Self::UnexpectedJson(_) => (StatusCode::UNPROCESSABLE_ENTITY, 422),
            Self::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, 415),
            Self::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, 413),
            Self::RouteNotFound => (StatusCode::NOT_FOUND, 404),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, 405),
            Self::Store(_) | Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_code) = self.status_and_code();
        if status.is_server_error() {
            // the details stay in the log: they can name files and SQL, which clients need not see
            tracing::error!(error = %error_chain(&self), error_code, "request failed");
        } else {
            tracing::debug!(error = %self, error_code, "request rejected");
        }
        let body = json!({"error_code": error_code, "message": self.to_string()});
        (status, [(axum::http::header::CONTENT_TYPE, CONFLUENT_CONTENT_TYPE)], body.to_string()).into_response()
    }
}

impl From<UnknownCompatibilityLevel> for ApiError {
    fn from(error: UnknownCompatibilityLevel) -> Self {
        Self::InvalidCompatibilityLevel(format!("'{}'", error.0))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::BodyTooLarge;
        }
        Self::BadRequest(rejection.body_text().to_lowercase())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(rejection.body_text().to_lowercase())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text().to_lowercase())
    }
}
