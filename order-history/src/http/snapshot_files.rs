//! `GET /admin/snapshots/{read_model}/{name}/manifest.json` and `…/files/{file}`: the snapshots
//! this instance keeps, for a new replica started with `--bootstrap-from <this instance's url>`
//! to download (`crate::snapshot::remote`). Behind the admin token, which the router checks for
//! every `/admin` route.
//!
//! Only snapshots whose manifest reads are served, and of those only the files the manifest
//! lists. `latest` stands for the newest such snapshot. A file is streamed from disk, so serving
//! a segment of any size costs a buffer.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform::http::{json_error, unexpected_error_response};
use tokio_util::io::ReaderStream;

use super::ApiState;
use crate::snapshot::remote::{LATEST, is_plain_name};
use crate::snapshot::{FILES_DIR, MANIFEST_FILE, Manifest};

/// How much of a file one chunk of the response body holds.
const READ_BUFFER_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotFileError {
    #[error("{field} must be a plain name (not empty, no '/' or '\\', no leading '.'), not {value:?}")]
    NotPlain { field: &'static str, value: String },
    #[error("{message}")]
    NotFound { field: &'static str, message: String },
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl IntoResponse for SnapshotFileError {
    fn into_response(self) -> Response {
        match &self {
            SnapshotFileError::NotPlain { field, .. } => {
                json_error(StatusCode::BAD_REQUEST, &self.to_string(), Some(field))
            }
            SnapshotFileError::NotFound { field, message } => json_error(StatusCode::NOT_FOUND, message, Some(field)),
            SnapshotFileError::Unexpected(error) => unexpected_error_response(error),
        }
    }
}

/// The manifest of a snapshot: what it covers, and each file with its size and SHA-256.
#[utoipa::path(get, path = "/admin/snapshots/{read_model}/{name}/manifest.json", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("read_model" = String, Path, description = "the read model, e.g. `order-view`"),
        ("name" = String, Path, description = "a snapshot name, or `latest` for the newest one whose manifest reads")),
    responses(
        (status = 200, body = Manifest, content_type = "application/json", description = "the manifest as written with the snapshot"),
        (status = 400, body = platform::json::ErrorBody, description = "read_model or name is not a plain name (named in `field`)"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token"),
        (status = 404, body = platform::json::ErrorBody, description = "no such snapshot, or none of that read model")))]
pub async fn get_snapshot_manifest(
    State(state): State<ApiState>,
    Path((read_model, name)): Path<(String, String)>,
) -> Result<Response, SnapshotFileError> {
    plain("read_model", &read_model)?;
    plain("name", &name)?;
    let snapshot = find_snapshot(&state, &read_model, &name).await?;
    let path = snapshot.directory.join(MANIFEST_FILE);
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(pruned(&snapshot.manifest)),
        Err(error) => {
            let context = format!("cannot read {}", path.display());
            return Err(SnapshotFileError::Unexpected(anyhow::Error::new(error).context(context)));
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// One file of a snapshot, as its manifest lists it.
#[utoipa::path(get, path = "/admin/snapshots/{read_model}/{name}/files/{file}", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("read_model" = String, Path, description = "the read model, e.g. `order-view`"),
        ("name" = String, Path, description = "a snapshot name, or `latest` for the newest one whose manifest reads"),
        ("file" = String, Path, description = "a file the snapshot's manifest lists")),
    responses(
        (status = 200, body = SnapshotFileBytes, content_type = "application/octet-stream", description = "the file's bytes, with its content-length"),
        (status = 400, body = platform::json::ErrorBody, description = "read_model, name or file is not a plain name (named in `field`)"),
        (status = 401, body = platform::json::ErrorBody, description = "missing or wrong admin token"),
        (status = 404, body = platform::json::ErrorBody, description = "no such snapshot, or its manifest lists no such file")))]
pub async fn get_snapshot_file(
    State(state): State<ApiState>,
    Path((read_model, name, file)): Path<(String, String, String)>,
) -> Result<Response, SnapshotFileError> {
    plain("read_model", &read_model)?;
    plain("name", &name)?;
    plain("file", &file)?;
    let snapshot = find_snapshot(&state, &read_model, &name).await?;
    if !snapshot.manifest.files.iter().any(|listed| listed.path == file) {
        let message = format!("snapshot {} of {read_model} has no file {file}", snapshot.manifest.name);
        return Err(SnapshotFileError::NotFound { field: "file", message });
    }
    let path = snapshot.directory.join(FILES_DIR).join(&file);
    let opened = match tokio::fs::File::open(&path).await {
        Ok(opened) => opened,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(pruned(&snapshot.manifest)),
        Err(error) => {
            let context = format!("cannot open {}", path.display());
            return Err(SnapshotFileError::Unexpected(anyhow::Error::new(error).context(context)));
        }
    };
    // once open, the file reads to its end even if the snapshot is pruned meanwhile
    let metadata = opened.metadata().await.map_err(|error| {
        SnapshotFileError::Unexpected(anyhow::Error::new(error).context(format!("cannot read {}", path.display())))
    })?;
    let headers = [
        (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        (header::CONTENT_LENGTH, metadata.len().to_string()),
    ];
    let body = Body::from_stream(ReaderStream::with_capacity(opened, READ_BUFFER_BYTES));
    Ok((headers, body).into_response())
}

/// The bytes of a snapshot file, as the OpenAPI document describes them: one binary string,
/// not an array of numbers.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(dead_code, reason = "only the openapi document uses it; the body is streamed")]
pub struct SnapshotFileBytes(Vec<u8>);

/// A snapshot being served: where it is and its manifest.
struct ServedSnapshot {
    directory: std::path::PathBuf,
    manifest: Manifest,
}

/// The snapshot `name` (or the newest, for `latest`) of `read_model` whose manifest reads.
async fn find_snapshot(state: &ApiState, read_model: &str, name: &str) -> Result<ServedSnapshot, SnapshotFileError> {
    let store = &state.rebuild.snapshots;
    let listed = store.list(read_model).await.map_err(|error| SnapshotFileError::Unexpected(error.into()))?;
    for snapshot in listed {
        let Ok(manifest) = snapshot.manifest else { continue };
        // a snapshot is served under the read model its manifest names, and no other
        if manifest.read_model != read_model {
            continue;
        }
        if name == LATEST || snapshot.name == name {
            return Ok(ServedSnapshot { directory: store.snapshot_dir_of(read_model, &snapshot.name), manifest });
        }
    }
    let message = match name {
        LATEST => format!("no snapshot of {read_model}"),
        _ => format!("no snapshot {name} of {read_model}"),
    };
    Err(SnapshotFileError::NotFound { field: "name", message })
}

/// The answer when a snapshot was pruned between listing it and reading it.
fn pruned(manifest: &Manifest) -> SnapshotFileError {
    let message = format!("snapshot {} of {} was pruned meanwhile", manifest.name, manifest.read_model);
    SnapshotFileError::NotFound { field: "name", message }
}

fn plain(field: &'static str, value: &str) -> Result<(), SnapshotFileError> {
    if is_plain_name(value) {
        return Ok(());
    }
    Err(SnapshotFileError::NotPlain { field, value: value.to_string() })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use utoipa::OpenApi;

    /// The fuzzer checks every answer against the document: a file is one binary string, and
    /// every refusal the JSON error body.
    #[test]
    fn the_openapi_document_declares_a_binary_file_and_json_errors() {
        let document = serde_json::to_value(super::super::ApiDoc::openapi()).expect("json");
        let schemas = &document["components"]["schemas"];
        let file_bytes = &schemas["SnapshotFileBytes"];
        assert_eq!((&file_bytes["type"], &file_bytes["format"]), (&json!("string"), &json!("binary")), "{file_bytes}");
        let operations = [
            ("/admin/snapshots/{read_model}/{name}/manifest.json", "application/json", "Manifest"),
            ("/admin/snapshots/{read_model}/{name}/files/{file}", "application/octet-stream", "SnapshotFileBytes"),
        ];
        for (path, content_type, schema) in operations {
            let responses = &document["paths"][path]["get"]["responses"];
            let ok = &responses["200"]["content"][content_type]["schema"]["$ref"];
            assert_eq!(ok, &Value::from(format!("#/components/schemas/{schema}")), "{path}: {responses}");
            for status in ["400", "401", "404"] {
                let error = &responses[status]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(error, "#/components/schemas/ErrorBody", "{path} {status}: {responses}");
            }
        }
    }
}
