//! `/api/faults`: the comparison page's fault controls. Each source service's
//! `GET`/`PUT /admin/faults`, called with the admin token from the configuration, which the
//! browser never sees. Without an admin token the controls are off and say so.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform::http::json_error;
use platform::json::JsonBody;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::upstream::{SOURCE_SERVICES, relay, url_of};

/// Whether the controls are on, and the services they control.
pub async fn fault_controls(State(state): State<AppState>) -> Json<Value> {
    let enabled = state.upstreams.admin_token.is_some();
    let mut body = json!({"enabled": enabled, "services": SOURCE_SERVICES});
    if !enabled {
        body["reason"] = json!("fault controls are off: web was started without an admin token (ADMIN_TOKEN)");
    }
    Json(body)
}

pub async fn get_faults(State(state): State<AppState>, Path(service): Path<String>) -> Response {
    admin_call(&state, &service, |client, url| client.get(url)).await
}

/// The settings are passed on as they are: the service checks them and its refusal, a 4xx that
/// names the field, reaches the page unchanged.
///
/// Only a same-origin `application/json` request gets this far: a cross-site form cannot send
/// that content type, and a script on another origin (or on a name rebound to this address)
/// sends its own `Origin`.
pub async fn put_faults(
    State(state): State<AppState>,
    Path(service): Path<String>,
    headers: HeaderMap,
    JsonBody(settings): JsonBody<Map<String, Value>>,
) -> Response {
    if let Some(refusal) = refuse_unless_same_origin_json(&headers) {
        return refusal;
    }
    admin_call(&state, &service, |client, url| client.put(url).json(&settings)).await
}

/// Refuses a state-changing request that does not say it is JSON, or whose `Origin` is not the
/// host it was sent to. A request without `Origin` comes from outside a browser (curl, a
/// script), which the pages' origin rules do not govern.
fn refuse_unless_same_origin_json(headers: &HeaderMap) -> Option<Response> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    if !declared.starts_with("application/json") {
        return Some(json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content type must be application/json",
            Some("content-type"),
        ));
    }
    let origin = headers.get(header::ORIGIN)?;
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|origin| origin.parse::<axum::http::Uri>().ok());
    let same = match (origin_host.as_ref().and_then(|uri| uri.authority()), host) {
        (Some(authority), Some(host)) => authority.as_str().eq_ignore_ascii_case(host),
        _ => false,
    };
    if same {
        return None;
    }
    let origin = String::from_utf8_lossy(origin.as_bytes());
    Some(json_error(StatusCode::FORBIDDEN, &format!("a request from origin {origin:?} is refused"), Some("origin")))
}

async fn admin_call(
    state: &AppState,
    service: &str,
    request: impl FnOnce(&reqwest::Client, reqwest::Url) -> reqwest::RequestBuilder,
) -> Response {
    let Some((name, base)) = state.upstreams.source(service) else {
        let message = format!("no source service named {service:?}: {}", SOURCE_SERVICES.join(", "));
        return json_error(StatusCode::NOT_FOUND, &message, Some("service"));
    };
    let Some(token) = &state.upstreams.admin_token else {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "fault controls are off: web was started without an admin token (ADMIN_TOKEN)"})),
        )
            .into_response();
    };
    let url = url_of(base, &["admin", "faults"], None);
    let call =
        request(&state.upstreams.client, url).header(header::AUTHORIZATION, format!("Bearer {}", token.expose()));
    relay(name, call).await
}
