//! `/schemas`: schemas by their global id, which is what a consumer decoding a record asks.

use axum::extract::State;
use serde::Serialize;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::request::{ConfluentJson, ConfluentPath, ConfluentQuery, DeletedFlag};
use crate::store::SubjectVersion;

#[derive(Serialize)]
pub struct SchemaBody {
    schema: String,
}

/// Only Avro is implemented.
pub async fn schema_types() -> ConfluentJson<[&'static str; 1]> {
    ConfluentJson(["AVRO"])
}

/// Answers for soft-deleted versions too, whatever `deleted` says, so old records stay
/// decodable; `deleted` and `subject` are accepted and ignored, like any other parameter.
pub async fn get_schema(
    State(state): State<AppState>,
    ConfluentPath(id): ConfluentPath<String>,
) -> Result<ConfluentJson<SchemaBody>, ApiError> {
    let id = parse_schema_id(id)?;
    let Some(schema) = state.store.schema_text(id).await? else {
        return Err(ApiError::SchemaIdNotFound(id.to_string()));
    };
    Ok(ConfluentJson(SchemaBody { schema }))
}

pub async fn subjects_of_schema(
    State(state): State<AppState>,
    ConfluentPath(id): ConfluentPath<String>,
    ConfluentQuery(flag): ConfluentQuery<DeletedFlag>,
) -> Result<ConfluentJson<Vec<String>>, ApiError> {
    let pairs = versions_using_schema(&state, id, flag.deleted).await?;
    let mut subjects: Vec<String> = pairs.into_iter().map(|pair| pair.subject).collect();
    subjects.dedup();
    Ok(ConfluentJson(subjects))
}

pub async fn versions_of_schema(
    State(state): State<AppState>,
    ConfluentPath(id): ConfluentPath<String>,
    ConfluentQuery(flag): ConfluentQuery<DeletedFlag>,
) -> Result<ConfluentJson<Vec<SubjectVersion>>, ApiError> {
    Ok(ConfluentJson(versions_using_schema(&state, id, flag.deleted).await?))
}

/// The subject versions using schema `id`, sorted by subject; 40403 for an unknown id.
async fn versions_using_schema(
    state: &AppState,
    id: String,
    include_deleted: bool,
) -> Result<Vec<SubjectVersion>, ApiError> {
    let id = parse_schema_id(id)?;
    if state.store.schema_text(id).await?.is_none() {
        return Err(ApiError::SchemaIdNotFound(id.to_string()));
    }
    Ok(state.store.subject_versions_of_schema(id, include_deleted).await?)
}

/// An id that is not a number cannot name a schema, so it is simply not found.
fn parse_schema_id(id: String) -> Result<i32, ApiError> {
    id.parse().map_err(|_| ApiError::SchemaIdNotFound(id))
}
