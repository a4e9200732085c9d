//! `/subjects`: registering schemas, looking them up, reading and deleting versions.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::http::compatibility::find_incompatibilities;
use crate::http::error::ApiError;
use crate::http::request::{
    ConfluentJson, ConfluentPath, ConfluentQuery, DeletedFlag, PermanentFlag, SchemaRequest, VersionSelector,
    visible_versions,
};
use crate::http::{AppState, CONFLUENT_CONTENT_TYPE};

#[derive(Serialize)]
pub struct RegisteredId {
    id: i32,
}

/// One version of a subject, as Confluent returns it.
#[derive(Serialize)]
pub struct SubjectVersionBody {
    subject: String,
    version: i32,
    id: i32,
    schema: String,
}

pub async fn list_subjects(
    State(state): State<AppState>,
    ConfluentQuery(flag): ConfluentQuery<DeletedFlag>,
) -> Result<ConfluentJson<Vec<String>>, ApiError> {
    Ok(ConfluentJson(state.store.subjects(flag.deleted).await?))
}

pub async fn list_versions(
    State(state): State<AppState>,
    ConfluentPath(subject): ConfluentPath<String>,
    ConfluentQuery(flag): ConfluentQuery<DeletedFlag>,
) -> Result<ConfluentJson<Vec<i32>>, ApiError> {
    let versions = visible_versions(state.store.subject_versions(&subject).await?, flag.deleted);
    if versions.is_empty() {
        return Err(ApiError::SubjectNotFound(subject));
    }
    Ok(ConfluentJson(versions.iter().map(|stored| stored.version).collect()))
}

pub async fn get_version(
    State(state): State<AppState>,
    ConfluentPath((subject, version)): ConfluentPath<(String, String)>,
    ConfluentQuery(flag): ConfluentQuery<DeletedFlag>,
) -> Result<ConfluentJson<SubjectVersionBody>, ApiError> {
    let selector = VersionSelector::parse(&version)?;
    let versions = visible_versions(state.store.subject_versions(&subject).await?, flag.deleted);
    let selected = selector.select(&subject, &versions)?;
    Ok(ConfluentJson(SubjectVersionBody {
        version: selected.version,
        id: selected.schema_id,
        schema: selected.schema.clone(),
        subject,
    }))
}

/// Answers with the schema itself as the JSON body, not wrapped in a string.
pub async fn get_version_schema(
    State(state): State<AppState>,
    ConfluentPath((subject, version)): ConfluentPath<(String, String)>,
    ConfluentQuery(flag): ConfluentQuery<DeletedFlag>,
) -> Result<Response, ApiError> {
    let selector = VersionSelector::parse(&version)?;
    let versions = visible_versions(state.store.subject_versions(&subject).await?, flag.deleted);
    let selected = selector.select(&subject, &versions)?;
    // the stored text parsed as an Avro schema, so it is JSON already
    Ok(([(header::CONTENT_TYPE, CONFLUENT_CONTENT_TYPE)], selected.schema.clone()).into_response())
}

/// Registers a schema under a subject, or returns the id it already has there.
pub async fn register_schema(
    State(state): State<AppState>,
    ConfluentPath(subject): ConfluentPath<String>,
    ConfluentJson(request): ConfluentJson<SchemaRequest>,
) -> Result<ConfluentJson<RegisteredId>, ApiError> {
    let candidate = request.parse_schema().await?;
    let _one_registration_at_a_time = state.registrations.lock().await;

    let live_versions = visible_versions(state.store.subject_versions(&subject).await?, false);
    let known_id = state.store.schema_id_by_fingerprint(&candidate.fingerprint).await?;
    if let Some(id) = known_id
        && live_versions.iter().any(|stored| stored.schema_id == id)
    {
        return Ok(ConfluentJson(RegisteredId { id }));
    }

    let level = state.store.effective_level(&subject).await?;
    let earlier = level.versions_to_check(&live_versions).to_vec();
    let messages = find_incompatibilities(level, candidate.schema, earlier).await?;
    if !messages.is_empty() {
        tracing::info!(subject, %level, ?messages, "incompatible schema rejected");
        return Err(ApiError::IncompatibleSchema { subject, messages });
    }

    let (id, version) = state.store.insert_version(&subject, &candidate.text, &candidate.fingerprint).await?;
    tracing::info!(subject, version, schema_id = id, "schema registered");
    Ok(ConfluentJson(RegisteredId { id }))
}

/// Tells whether a schema is registered under a subject, and as which version.
pub async fn lookup_schema(
    State(state): State<AppState>,
    ConfluentPath(subject): ConfluentPath<String>,
    ConfluentQuery(flag): ConfluentQuery<DeletedFlag>,
    ConfluentJson(request): ConfluentJson<SchemaRequest>,
) -> Result<ConfluentJson<SubjectVersionBody>, ApiError> {
    let candidate = request.parse_schema().await?;
    let versions = visible_versions(state.store.subject_versions(&subject).await?, flag.deleted);
    if versions.is_empty() {
        return Err(ApiError::SubjectNotFound(subject));
    }
    let Some(id) = state.store.schema_id_by_fingerprint(&candidate.fingerprint).await? else {
        return Err(ApiError::SchemaNotInSubject(subject));
    };
    // a schema registered again after a soft delete has several versions: report the newest
    let Some(matching) = versions.iter().rev().find(|stored| stored.schema_id == id) else {
        return Err(ApiError::SchemaNotInSubject(subject));
    };
    Ok(ConfluentJson(SubjectVersionBody { version: matching.version, id, schema: matching.schema.clone(), subject }))
}

/// Soft-deletes every live version of a subject, or with `permanent=true` removes the
/// soft-deleted ones for good. Answers with the versions deleted.
pub async fn delete_subject(
    State(state): State<AppState>,
    ConfluentPath(subject): ConfluentPath<String>,
    ConfluentQuery(flag): ConfluentQuery<PermanentFlag>,
) -> Result<ConfluentJson<Vec<i32>>, ApiError> {
    let versions = state.store.subject_versions(&subject).await?;
    if versions.is_empty() {
        return Err(ApiError::SubjectNotFound(subject));
    }
    let has_live_versions = versions.iter().any(|stored| !stored.deleted);
    let deleted = if flag.permanent {
        if has_live_versions {
            return Err(ApiError::SubjectNotSoftDeleted(subject));
        }
        state.store.hard_delete_subject(&subject).await?
    } else {
        if !has_live_versions {
            return Err(ApiError::SubjectAlreadySoftDeleted(subject));
        }
        state.store.soft_delete_subject(&subject).await?
    };
    tracing::info!(subject, permanent = flag.permanent, versions = ?deleted, "subject deleted");
    Ok(ConfluentJson(deleted))
}

/// Soft-deletes one version, or with `permanent=true` removes a soft-deleted one for good.
/// `latest` means the newest version, soft-deleted or not.
pub async fn delete_version(
    State(state): State<AppState>,
    ConfluentPath((subject, version)): ConfluentPath<(String, String)>,
    ConfluentQuery(flag): ConfluentQuery<PermanentFlag>,
) -> Result<ConfluentJson<i32>, ApiError> {
    let selector = VersionSelector::parse(&version)?;
    let versions = state.store.subject_versions(&subject).await?;
    let selected = selector.select(&subject, &versions)?;
    let version = selected.version;
    if flag.permanent {
        if !selected.deleted {
            return Err(ApiError::VersionNotSoftDeleted { subject, version });
        }
        state.store.hard_delete_version(&subject, version).await?;
    } else {
        if selected.deleted {
            return Err(ApiError::VersionAlreadySoftDeleted { subject, version });
        }
        state.store.soft_delete_version(&subject, version).await?;
    }
    tracing::info!(subject, version, permanent = flag.permanent, "version deleted");
    Ok(ConfluentJson(version))
}
