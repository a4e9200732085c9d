//! `POST /admin/rebuild` starts a rebuild in the background; `GET /admin/rebuild` reports it.
//! Both are behind the admin token, which the router checks for every `/admin` route.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::ApiState;
use platform::http::json_error;

use crate::rebuild::{self, RebuildFrom, RebuildStatus};

/// Replays every topic into a fresh view and swaps it in; the current view serves until then.
/// With `from_snapshot=true`, the new view starts from the newest valid snapshot and replays
/// only the events after it (from offset 0 when no snapshot is valid; `refused_snapshots` says
/// why).
#[utoipa::path(post, path = "/admin/rebuild", tag = "admin", security(("admin_token" = [])),
    params(("from_snapshot" = Option<bool>, Query, description = "start from the newest valid snapshot")),
    responses(
        (status = 202, body = RebuildStatus, description = "rebuild started"),
        (status = 400, body = platform::json::ErrorBody, description = "an unknown parameter, or from_snapshot is not true or false (named in `field`)"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token"),
        (status = 409, body = RebuildStatus, description = "a rebuild is already running")))]
pub async fn start_rebuild(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Response {
    let from = match rebuild_from(query.as_deref().unwrap_or_default()) {
        Ok(from) => from,
        Err((field, message)) => return json_error(StatusCode::BAD_REQUEST, &message, Some(field)),
    };
    let generation = rebuild::new_generation();
    if !state.rebuilds.try_start(&generation) {
        return (StatusCode::CONFLICT, Json(state.rebuilds.status())).into_response();
    }
    let status = state.rebuilds.status();
    tokio::spawn(async move {
        // the outcome is in the tracker and the log
        let _ =
            rebuild::run(&state.rebuild, &generation, Some(&state.view), from, &state.rebuilds, &state.shutdown).await;
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

/// Where the rebuild starts, from the query string; the field and message of a bad parameter.
fn rebuild_from(query: &str) -> Result<RebuildFrom, (&'static str, String)> {
    let mut from = RebuildFrom::Beginning;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name != "from_snapshot" {
            return Err(("query", format!("unknown parameter {name:?}; only from_snapshot is accepted")));
        }
        from = match value {
            "true" => RebuildFrom::LatestSnapshot,
            "false" => RebuildFrom::Beginning,
            _ => return Err(("from_snapshot", format!("from_snapshot must be true or false, not {value:?}"))),
        };
    }
    Ok(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rebuild_query_names_the_bad_field() {
        assert_eq!(rebuild_from(""), Ok(RebuildFrom::Beginning));
        assert_eq!(rebuild_from("from_snapshot=true"), Ok(RebuildFrom::LatestSnapshot));
        assert_eq!(rebuild_from("from_snapshot=false"), Ok(RebuildFrom::Beginning));
        assert_eq!(rebuild_from("from_snapshot=yes").map_err(|(field, _)| field), Err("from_snapshot"));
        assert_eq!(rebuild_from("from_snapshot").map_err(|(field, _)| field), Err("from_snapshot"));
        assert_eq!(rebuild_from("snapshot=true").map_err(|(field, _)| field), Err("query"));
    }
}
