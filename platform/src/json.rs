//! Request bodies and error bodies shared by every JSON API of the system.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::http::json_error;

/// The error body of every endpoint.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What was wrong, in lowercase words.
    pub error: String,
    /// The offending field, as a JSON path such as `items[0].quantity`, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A JSON request body whose rejection names the offending field: 400 for a body that is not
/// JSON (or too large: 413), 422 for JSON of the wrong shape, 415 for another content type.
pub struct JsonBody<T>(pub T);

/// Why a body was rejected.
#[derive(Debug)]
pub struct JsonRejection {
    status: StatusCode,
    message: String,
    field: Option<String>,
}

impl IntoResponse for JsonRejection {
    fn into_response(self) -> Response {
        json_error(self.status, &self.message, self.field.as_deref())
    }
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = JsonRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
        if !content_type.is_empty() && !content_type.starts_with("application/json") {
            return Err(JsonRejection {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: "content type must be application/json".to_string(),
                field: None,
            });
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| JsonRejection {
            status: rejection.status(),
            message: if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "request body too large".to_string()
            } else {
                "cannot read request body".to_string()
            },
            field: None,
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses `bytes` as `T`, naming the offending field on failure.
///
/// Syntax is checked first, on its own: serde_json reports some shape errors (a number where an
/// enum's string belongs) as syntax errors, and those must still be a 422 that names the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonRejection> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| JsonRejection {
        status: StatusCode::BAD_REQUEST,
        message: format!("malformed json: {}", error.to_string().to_lowercase()),
        field: None,
    })?;
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string().to_lowercase();
        let field = offending_field(&path, &message);
        JsonRejection { status: StatusCode::UNPROCESSABLE_ENTITY, message, field }
    })
}

/// The path of the offending field. serde reports a missing field at its parent's path and
/// names it only in the message ("missing field `items`"), so the name is taken from there.
fn offending_field(path: &str, message: &str) -> Option<String> {
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => Some(name.to_string()),
        (parent, Some(name)) => Some(format!("{parent}.{name}")),
        (".", None) => None,
        (path, None) => Some(path.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        quantity: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Order {
        items: Vec<Item>,
    }

    #[test]
    fn a_wrong_type_names_the_field_path() {
        let rejection = parse_json::<Order>(br#"{"items":[{"quantity":-1}]}"#).unwrap_err();
        assert_eq!(rejection.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(rejection.field.as_deref(), Some("items[0].quantity"));
    }

    #[test]
    fn a_missing_field_is_unprocessable_and_named() {
        let rejection = parse_json::<Order>(br#"{}"#).unwrap_err();
        assert_eq!(rejection.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(rejection.field.as_deref(), Some("items"));
        let nested = parse_json::<Order>(br#"{"items":[{}]}"#).unwrap_err();
        assert_eq!(nested.field.as_deref(), Some("items[0].quantity"));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Status {
        Shipped,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct StatusChange {
        status: Status,
    }

    #[test]
    fn a_number_for_an_enum_is_unprocessable_and_named() {
        let rejection = parse_json::<StatusChange>(br#"{"status": 2}"#).unwrap_err();
        assert_eq!(rejection.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(rejection.field.as_deref(), Some("status"));
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let rejection = parse_json::<Order>(b"{\"items\": [").unwrap_err();
        assert_eq!(rejection.status, StatusCode::BAD_REQUEST);
        assert!(rejection.field.is_none());
    }
}
