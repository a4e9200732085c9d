//! An optional JSON body: no body at all is `None`; anything else is read exactly as
//! [`JsonBody`] reads it, with the same statuses and error bodies.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use platform::http::json_error;
use platform::json::JsonBody;
use serde::de::DeserializeOwned;

/// `POST /orders/{id}/cancel` takes an optional `{reason}`; clients that have no reason
/// should not have to send `{}`.
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request.headers().get(CONTENT_TYPE).cloned();
        // reading through the `Bytes` extractor keeps the router's body size limit
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            let message = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "request body too large"
            } else {
                "cannot read request body"
            };
            json_error(rejection.status(), message, None)
        })?;
        if bytes.is_empty() {
            return Ok(Self(None));
        }
        let mut with_body = Request::new(Body::from(bytes));
        if let Some(content_type) = content_type {
            with_body.headers_mut().insert(CONTENT_TYPE, content_type);
        }
        let JsonBody(value) =
            JsonBody::<T>::from_request(with_body, state).await.map_err(IntoResponse::into_response)?;
        Ok(Self(Some(value)))
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Reason {
        reason: Option<String>,
    }

    async fn extract(content_type: Option<&str>, body: &'static str) -> Result<Option<Reason>, (StatusCode, String)> {
        let mut request = Request::new(Body::from(body));
        if let Some(content_type) = content_type {
            request.headers_mut().insert(CONTENT_TYPE, content_type.parse().expect("header value"));
        }
        match OptionalJsonBody::<Reason>::from_request(request, &()).await {
            Ok(OptionalJsonBody(value)) => Ok(value),
            Err(response) => {
                let status = response.status();
                let bytes = to_bytes(response.into_body(), 64 * 1024).await.expect("body");
                Err((status, String::from_utf8_lossy(&bytes).into_owned()))
            }
        }
    }

    #[tokio::test]
    async fn no_body_is_none() {
        assert_eq!(extract(None, "").await, Ok(None));
        assert_eq!(extract(Some("application/json"), "").await, Ok(None));
    }

    #[tokio::test]
    async fn a_body_is_parsed_like_json_body() {
        let parsed = extract(Some("application/json"), r#"{"reason":"too late"}"#).await;
        assert_eq!(parsed, Ok(Some(Reason { reason: Some("too late".to_string()) })));
        assert_eq!(
            extract(Some("application/json"), "{").await.map_err(|(status, _)| status),
            Err(StatusCode::BAD_REQUEST)
        );
        let wrong_type = extract(Some("application/json"), r#"{"reason":5}"#).await;
        assert!(
            matches!(wrong_type, Err((StatusCode::UNPROCESSABLE_ENTITY, ref body)) if body.contains("\"field\":\"reason\""))
        );
        let wrong_media = extract(Some("text/plain"), "reason").await.map_err(|(status, _)| status);
        assert_eq!(wrong_media, Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
}
