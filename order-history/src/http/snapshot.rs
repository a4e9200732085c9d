//! `POST /admin/snapshot` takes a snapshot of every read model (the order view and the
//! statistics); `GET /admin/snapshots` lists them. Both are behind the admin token, which the
//! router checks for every `/admin` route.
//!
//! A snapshot copies a whole read model, which can outlast the request timeout, so it runs in a
//! task of its own: the POST answers with the manifests when they are written within
//! [`answer_within`](super::repair::answer_within), and with 202 otherwise; the snapshots then
//! show up in `GET /admin/snapshots` once written.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::http::{json_error, unexpected_error_response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::ApiState;
use crate::snapshot::{Manifest, OrderViewSnapshots, SnapshotError, SnapshotStore, SnapshottableReadModel};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotRouteError {
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<SnapshotError> for SnapshotRouteError {
    fn from(error: SnapshotError) -> Self {
        match error {
            SnapshotError::Busy(_) => SnapshotRouteError::Busy(error.to_string()),
            SnapshotError::Unsupported(message) => SnapshotRouteError::Unsupported(message),
            other => SnapshotRouteError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl IntoResponse for SnapshotRouteError {
    fn into_response(self) -> Response {
        match &self {
            SnapshotRouteError::Busy(message) => json_error(StatusCode::CONFLICT, message, None),
            SnapshotRouteError::Unsupported(message) => json_error(StatusCode::NOT_IMPLEMENTED, message, None),
            SnapshotRouteError::Unexpected(error) => unexpected_error_response(error),
        }
    }
}

/// One snapshot in `GET /admin/snapshots`: its manifest, or why it cannot be restored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedSnapshot {
    /// `order-view` or `statistics`.
    pub read_model: String,
    pub name: String,
    pub manifest: Option<Manifest>,
    /// Why the snapshot would be refused, when its manifest already says so.
    pub problem: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotList {
    /// Where the snapshots are kept.
    pub snapshot_dir: String,
    /// Per read model (the order view, then the statistics), newest first.
    pub snapshots: Vec<ListedSnapshot>,
}

/// What `POST /admin/snapshot` wrote.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SnapshotsTaken {
    /// The manifest of each snapshot written, one per read model.
    pub snapshots: Vec<Manifest>,
    /// The read models not snapshotted, each with why.
    pub not_taken: Vec<NotTaken>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotTaken {
    pub read_model: String,
    /// The order view on Elasticsearch (no files to copy), or a snapshot already under way.
    pub reason: String,
    #[serde(skip)]
    busy: bool,
}

impl SnapshotsTaken {
    /// Records one read model's outcome; an unexpected failure stops the whole request.
    fn record(&mut self, read_model: &str, taken: Result<Manifest, SnapshotError>) -> Result<(), SnapshotError> {
        let busy = matches!(taken, Err(SnapshotError::Busy(_)));
        match taken {
            Ok(manifest) => self.snapshots.push(manifest),
            Err(error @ (SnapshotError::Busy(_) | SnapshotError::Unsupported(_))) => {
                self.not_taken.push(NotTaken { read_model: read_model.to_string(), reason: error.to_string(), busy });
            }
            Err(error) => return Err(error),
        }
        Ok(())
    }
}

/// Takes a snapshot of every read model: a copy of its last commit with the offsets it covers.
#[utoipa::path(post, path = "/admin/snapshot", tag = "admin", security(("admin_token" = [])),
    responses(
        (status = 201, body = SnapshotsTaken, description = "snapshots written; `not_taken` names the read models left out and why"),
        (status = 202, description = "snapshots still being written; see GET /admin/snapshots"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token"),
        (status = 409, body = platform::json::ErrorBody, description = "a snapshot is being taken already"),
        (status = 501, body = platform::json::ErrorBody, description = "no read model takes snapshots here")))]
pub async fn take_snapshot(State(state): State<ApiState>) -> Result<Response, SnapshotRouteError> {
    let store = state.rebuild.snapshots.clone();
    let order_view = OrderViewSnapshots::new(state.rebuild.catalog.clone());
    let statistics = state.stats.snapshots.clone();
    let mut task = tokio::spawn(async move {
        let mut taken = SnapshotsTaken::default();
        taken.record(order_view.read_model(), store.take(&order_view).await)?;
        taken.record(statistics.read_model(), store.take(&statistics).await)?;
        Ok::<_, SnapshotError>(taken)
    });
    let Ok(finished) = tokio::time::timeout(super::repair::answer_within(), &mut task).await else {
        let body = json!({"state": "running", "message": "the snapshots are still being written"});
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    };
    let taken = finished
        .map_err(|error| SnapshotRouteError::Unexpected(anyhow::anyhow!("snapshot task failed: {error}")))??;
    if taken.snapshots.is_empty() {
        let reasons: Vec<&str> = taken.not_taken.iter().map(|not_taken| not_taken.reason.as_str()).collect();
        let message = reasons.join("; ");
        if taken.not_taken.iter().any(|not_taken| not_taken.busy) {
            return Err(SnapshotRouteError::Busy(message));
        }
        return Err(SnapshotRouteError::Unsupported(message));
    }
    Ok((StatusCode::CREATED, Json(taken)).into_response())
}

/// The snapshots of every read model, newest first.
#[utoipa::path(get, path = "/admin/snapshots", tag = "admin", security(("admin_token" = [])),
    responses(
        (status = 200, body = SnapshotList),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token")))]
pub async fn list_snapshots(State(state): State<ApiState>) -> Result<Json<SnapshotList>, SnapshotRouteError> {
    let store = &state.rebuild.snapshots;
    let order_view = OrderViewSnapshots::new(state.rebuild.catalog.clone());
    let mut snapshots = Vec::new();
    list_into(store, order_view.read_model(), &mut snapshots).await?;
    list_into(store, state.stats.snapshots.read_model(), &mut snapshots).await?;
    Ok(Json(SnapshotList { snapshot_dir: store.root().display().to_string(), snapshots }))
}

async fn list_into(
    store: &SnapshotStore,
    read_model: &str,
    snapshots: &mut Vec<ListedSnapshot>,
) -> Result<(), SnapshotRouteError> {
    for listed in store.list(read_model).await? {
        let (manifest, problem) = match listed.manifest {
            Ok(manifest) => (Some(manifest), None),
            Err(refusal) => (None, Some(refusal.to_string())),
        };
        snapshots.push(ListedSnapshot { read_model: read_model.to_string(), name: listed.name, manifest, problem });
    }
    Ok(())
}
