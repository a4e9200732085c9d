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
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonRejection> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let status = if inner.is_data() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::BAD_REQUEST };
        let message = if inner.is_data() {
            inner.to_string().to_lowercase()
        } else {
            format!("malformed json: {}", inner.to_string().to_lowercase())
        };
        let field = (path != "." && inner.is_data()).then_some(path);
        JsonRejection { status, message, field }
    })
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
    fn a_missing_field_is_unprocessable() {
        let rejection = parse_json::<Order>(br#"{}"#).unwrap_err();
        assert_eq!(rejection.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(rejection.message.contains("items"), "{}", rejection.message);
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let rejection = parse_json::<Order>(b"{\"items\": [").unwrap_err();
        assert_eq!(rejection.status, StatusCode::BAD_REQUEST);
        assert!(rejection.field.is_none());
    }
}
