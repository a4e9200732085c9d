//! `POST /admin/snapshot` takes a snapshot of the order view; `GET /admin/snapshots` lists
//! them. Both are behind the admin token, which the router checks for every `/admin` route.
//!
//! A snapshot copies the whole view, which can outlast the request timeout, so it runs in a
//! task of its own: the POST answers with the manifest when it is done within
//! [`answer_within`](super::repair::answer_within), and with 202 otherwise; the snapshot then
//! shows up in `GET /admin/snapshots` once written.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::http::{json_error, unexpected_error_response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::ApiState;
use crate::snapshot::{Manifest, OrderViewSnapshots, SnapshotError, SnapshottableReadModel};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotRouteError {
    #[error("a snapshot is being taken already")]
    Busy,
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<SnapshotError> for SnapshotRouteError {
    fn from(error: SnapshotError) -> Self {
        match error {
            SnapshotError::Busy => SnapshotRouteError::Busy,
            SnapshotError::Unsupported(message) => SnapshotRouteError::Unsupported(message),
            other => SnapshotRouteError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl IntoResponse for SnapshotRouteError {
    fn into_response(self) -> Response {
        match &self {
            SnapshotRouteError::Busy => json_error(StatusCode::CONFLICT, &self.to_string(), None),
            SnapshotRouteError::Unsupported(message) => json_error(StatusCode::NOT_IMPLEMENTED, message, None),
            SnapshotRouteError::Unexpected(error) => unexpected_error_response(error),
        }
    }
}

/// One snapshot in `GET /admin/snapshots`: its manifest, or why it cannot be restored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedSnapshot {
    pub name: String,
    pub manifest: Option<Manifest>,
    /// Why the snapshot would be refused, when its manifest already says so.
    pub problem: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotList {
    /// Where the snapshots are kept.
    pub snapshot_dir: String,
    /// Newest first.
    pub snapshots: Vec<ListedSnapshot>,
}

/// Takes a snapshot of the order view: a copy of its last commit with the offsets it covers.
#[utoipa::path(post, path = "/admin/snapshot", tag = "admin", security(("admin_token" = [])),
    responses(
        (status = 201, body = Manifest, description = "snapshot written"),
        (status = 202, description = "snapshot still being written; see GET /admin/snapshots"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token"),
        (status = 409, body = platform::json::ErrorBody, description = "a snapshot is being taken already"),
        (status = 501, body = platform::json::ErrorBody, description = "the backend takes no snapshots (elasticsearch)")))]
pub async fn take_snapshot(State(state): State<ApiState>) -> Result<Response, SnapshotRouteError> {
    let model = OrderViewSnapshots::new(state.rebuild.catalog.clone());
    // refused at once, not after the wait below
    model.schema_fingerprint()?;
    let store = state.rebuild.snapshots.clone();
    let mut task = tokio::spawn(async move { store.take(&model).await });
    let Ok(taken) = tokio::time::timeout(super::repair::answer_within(), &mut task).await else {
        let body = json!({"state": "running", "message": "the snapshot is still being written"});
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    };
    let manifest =
        taken.map_err(|error| SnapshotRouteError::Unexpected(anyhow::anyhow!("snapshot task failed: {error}")))??;
    Ok((StatusCode::CREATED, Json(manifest)).into_response())
}

/// The snapshots of the order view, newest first.
#[utoipa::path(get, path = "/admin/snapshots", tag = "admin", security(("admin_token" = [])),
    responses(
        (status = 200, body = SnapshotList),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
pub async fn list_snapshots(State(state): State<ApiState>) -> Result<Json<SnapshotList>, SnapshotRouteError> {
    let model = OrderViewSnapshots::new(state.rebuild.catalog.clone());
    let store = &state.rebuild.snapshots;
    let mut snapshots = Vec::new();
    for listed in store.list(model.read_model()).await? {
        let (manifest, problem) = match listed.manifest {
            Ok(manifest) => (Some(manifest), None),
            Err(refusal) => (None, Some(refusal.to_string())),
        };
        snapshots.push(ListedSnapshot { name: listed.name, manifest, problem });
    }
    Ok(Json(SnapshotList { snapshot_dir: store.root().display().to_string(), snapshots }))
}
