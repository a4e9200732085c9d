//! One error enum per route family; each knows its status and its JSON body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::http::{json_error, unexpected_error_response};
use uuid::Uuid;

use crate::index::IndexError;

#[derive(Debug, thiserror::Error)]
pub enum GetOrderError {
    #[error("{message}")]
    BadRequest { message: String, field: &'static str },
    #[error("order {0} is not in the view")]
    NotFound(Uuid),
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl IntoResponse for GetOrderError {
    fn into_response(self) -> Response {
        match &self {
            GetOrderError::BadRequest { message, field } => json_error(StatusCode::BAD_REQUEST, message, Some(field)),
            GetOrderError::NotFound(_) => json_error(StatusCode::NOT_FOUND, &self.to_string(), None),
            GetOrderError::Index(error) => index_error_response(error),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{message}")]
    BadRequest { field: &'static str, message: String },
    #[error(transparent)]
    Refused(#[from] platform::auth::AuthError),
    #[error(transparent)]
    Index(#[from] IndexError),
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
            SearchError::Refused(refusal) => refusal.clone().into_response(),
            SearchError::Index(error) => index_error_response(error),
        }
    }
}

fn index_error_response(error: &IndexError) -> Response {
    match error {
        IndexError::BadQuery(message) => json_error(StatusCode::BAD_REQUEST, message, None),
        IndexError::Unavailable(message) => {
            tracing::warn!(%message, "index unavailable");
            json_error(StatusCode::SERVICE_UNAVAILABLE, "search index unavailable, try again shortly", None)
        }
        IndexError::Fatal(error) => unexpected_error_response(error),
    }
}
