//! `/config`: the global and per-subject compatibility levels.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::compatibility::CompatibilityLevel;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::request::{ConfluentJson, ConfluentPath, ConfluentQuery, DefaultToGlobalFlag};

#[derive(Deserialize)]
pub struct ConfigUpdate {
    compatibility: Option<String>,
}

impl ConfigUpdate {
    fn level(&self) -> Result<CompatibilityLevel, ApiError> {
        let Some(level) = &self.compatibility else {
            return Err(ApiError::InvalidCompatibilityLevel("missing 'compatibility'".to_string()));
        };
        Ok(level.parse()?)
    }
}

/// What `GET` and `DELETE` answer; Confluent names the field differently from `PUT`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigBody {
    compatibility_level: &'static str,
}

impl From<CompatibilityLevel> for ConfigBody {
    fn from(level: CompatibilityLevel) -> Self {
        Self { compatibility_level: level.as_str() }
    }
}

/// What `PUT` answers: the update, echoed.
#[derive(Serialize)]
pub struct ConfigUpdateBody {
    compatibility: &'static str,
}

pub async fn get_global(State(state): State<AppState>) -> Result<ConfluentJson<ConfigBody>, ApiError> {
    let level = state.store.global_level().await?.unwrap_or(CompatibilityLevel::DEFAULT);
    Ok(ConfluentJson(level.into()))
}

pub async fn put_global(
    State(state): State<AppState>,
    ConfluentJson(update): ConfluentJson<ConfigUpdate>,
) -> Result<ConfluentJson<ConfigUpdateBody>, ApiError> {
    let level = update.level()?;
    state.store.set_global_level(level).await?;
    tracing::info!(%level, "global compatibility level set");
    Ok(ConfluentJson(ConfigUpdateBody { compatibility: level.as_str() }))
}

/// Reverts to the default level and answers with the one it replaced.
pub async fn delete_global(State(state): State<AppState>) -> Result<ConfluentJson<ConfigBody>, ApiError> {
    let previous = state.store.delete_global_level().await?.unwrap_or(CompatibilityLevel::DEFAULT);
    tracing::info!(%previous, "global compatibility level reset");
    Ok(ConfluentJson(previous.into()))
}

pub async fn get_subject(
    State(state): State<AppState>,
    ConfluentPath(subject): ConfluentPath<String>,
    ConfluentQuery(flag): ConfluentQuery<DefaultToGlobalFlag>,
) -> Result<ConfluentJson<ConfigBody>, ApiError> {
    if let Some(level) = state.store.subject_level(&subject).await? {
        return Ok(ConfluentJson(level.into()));
    }
    if !flag.default_to_global {
        return Err(ApiError::SubjectLevelNotConfigured(subject));
    }
    let level = state.store.global_level().await?.unwrap_or(CompatibilityLevel::DEFAULT);
    Ok(ConfluentJson(level.into()))
}

/// Sets a subject's own level; the subject need not have versions yet.
pub async fn put_subject(
    State(state): State<AppState>,
    ConfluentPath(subject): ConfluentPath<String>,
    ConfluentJson(update): ConfluentJson<ConfigUpdate>,
) -> Result<ConfluentJson<ConfigUpdateBody>, ApiError> {
    let level = update.level()?;
    state.store.set_subject_level(&subject, level).await?;
    tracing::info!(subject, %level, "subject compatibility level set");
    Ok(ConfluentJson(ConfigUpdateBody { compatibility: level.as_str() }))
}

/// Drops a subject's own level, so the global one applies; answers with the one dropped.
pub async fn delete_subject(
    State(state): State<AppState>,
    ConfluentPath(subject): ConfluentPath<String>,
) -> Result<ConfluentJson<ConfigBody>, ApiError> {
    // Confluent answers 40401 here, not 40408, when the subject has no level of its own
    let Some(previous) = state.store.delete_subject_level(&subject).await? else {
        return Err(ApiError::SubjectNotFound(subject));
    };
    tracing::info!(subject, %previous, "subject compatibility level removed");
    Ok(ConfluentJson(previous.into()))
}
