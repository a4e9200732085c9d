//! `POST /admin/rebuild` starts a rebuild in the background; `GET /admin/rebuild` reports it.
//! Both are behind the admin token, which the router checks for every `/admin` route.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::ApiState;
use crate::rebuild::{self, RebuildStatus};

/// Replays every topic into a fresh view and swaps it in; the current view serves until then.
#[utoipa::path(post, path = "/admin/rebuild", tag = "admin", security(("admin_token" = [])),
    responses(
        (status = 202, body = RebuildStatus, description = "rebuild started"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token"),
        (status = 409, body = RebuildStatus, description = "a rebuild is already running")))]
pub async fn start_rebuild(State(state): State<ApiState>) -> Response {
    let generation = rebuild::new_generation();
    if !state.rebuilds.try_start(&generation) {
        return (StatusCode::CONFLICT, Json(state.rebuilds.status())).into_response();
    }
    let status = state.rebuilds.status();
    tokio::spawn(async move {
        // the outcome is in the tracker and the log
        let _ = rebuild::run(&state.rebuild, &generation, Some(&state.view), &state.rebuilds, &state.shutdown).await;
    });
    (StatusCode::ACCEPTED, Json(status)).into_response()
}

/// The state of the last rebuild.
#[utoipa::path(get, path = "/admin/rebuild", tag = "admin", security(("admin_token" = [])),
    responses(
        (status = 200, body = RebuildStatus),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
pub async fn rebuild_status(State(state): State<ApiState>) -> Response {
    Json(state.rebuilds.status()).into_response()
}
