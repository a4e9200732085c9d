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
        // the content type is checked before the body is read, so a wrong one answers 415
        // whatever the body's size
        refuse_other_content_types(&request)?;
        let bytes = read_body(request, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// An optional JSON request body: no body at all is `None`; anything else is read exactly as
/// [`JsonBody`] reads it, with the same statuses and error bodies. For endpoints such as
/// `POST /orders/{id}/cancel` whose fields are all optional, so that a client with nothing to
/// say does not have to send `{}`.
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = JsonRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        // an empty body is accepted whatever the content type says, so it is read first
        let content_type_check = refuse_other_content_types(&request);
        let bytes = read_body(request, state).await?;
        if bytes.is_empty() {
            return Ok(Self(None));
        }
        content_type_check?;
        parse_json(&bytes).map(|value| Self(Some(value)))
    }
}

/// Refuses a body declared as anything but JSON; no content type at all is taken as JSON.
fn refuse_other_content_types(request: &Request) -> Result<(), JsonRejection> {
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    if !content_type.is_empty() && !content_type.starts_with("application/json") {
        return Err(JsonRejection {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "content type must be application/json".to_string(),
            field: None,
        });
    }
    Ok(())
}

/// Reads the whole body through the `Bytes` extractor, which keeps the router's body size limit.
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, JsonRejection> {
    Bytes::from_request(request, state).await.map_err(|rejection| JsonRejection {
        status: rejection.status(),
        message: if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "request body too large".to_string()
        } else {
            "cannot read request body".to_string()
        },
        field: None,
    })
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

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct CancellationReason {
        reason: Option<String>,
    }

    async fn extract_optional(
        content_type: Option<&str>,
        body: &'static str,
    ) -> Result<Option<CancellationReason>, (StatusCode, String)> {
        let mut request = Request::new(axum::body::Body::from(body));
        if let Some(content_type) = content_type {
            request.headers_mut().insert(CONTENT_TYPE, content_type.parse().expect("header value"));
        }
        match OptionalJsonBody::<CancellationReason>::from_request(request, &()).await {
            Ok(OptionalJsonBody(value)) => Ok(value),
            Err(rejection) => {
                let response = rejection.into_response();
                let status = response.status();
                let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.expect("body");
                Err((status, String::from_utf8_lossy(&bytes).into_owned()))
            }
        }
    }

    #[tokio::test]
    async fn no_body_is_none() {
        assert_eq!(extract_optional(None, "").await, Ok(None));
        assert_eq!(extract_optional(Some("application/json"), "").await, Ok(None));
    }

    #[tokio::test]
    async fn a_body_is_parsed_like_json_body() {
        let parsed = extract_optional(Some("application/json"), r#"{"reason":"too late"}"#).await;
        assert_eq!(parsed, Ok(Some(CancellationReason { reason: Some("too late".to_string()) })));
        assert_eq!(
            extract_optional(Some("application/json"), "{").await.map_err(|(status, _)| status),
            Err(StatusCode::BAD_REQUEST)
        );
        let wrong_type = extract_optional(Some("application/json"), r#"{"reason":5}"#).await;
        assert!(
            matches!(wrong_type, Err((StatusCode::UNPROCESSABLE_ENTITY, ref body)) if body.contains("\"field\":\"reason\""))
        );
        let wrong_media = extract_optional(Some("text/plain"), "reason").await.map_err(|(status, _)| status);
        assert_eq!(wrong_media, Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
}
