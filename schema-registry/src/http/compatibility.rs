//! `/compatibility`: would this schema be accepted as the next version of a subject?

use anyhow::Context;
use apache_avro::Schema;
use axum::extract::State;
use serde::Serialize;

use crate::compatibility::{CompatibilityLevel, EarlierVersion, incompatibilities};
use crate::http::error::ApiError;
use crate::http::request::{
    ConfluentJson, ConfluentPath, ConfluentQuery, SchemaRequest, VerboseFlag, VersionSelector, visible_versions,
};
use crate::http::{AppState, run_blocking};
use crate::store::StoredVersion;

#[derive(Serialize)]
pub struct CompatibilityVerdict {
    is_compatible: bool,
    /// Only with `verbose=true`, as in Confluent.
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<String>>,
}

impl CompatibilityVerdict {
    fn new(messages: Vec<String>, verbose: bool) -> Self {
        Self { is_compatible: messages.is_empty(), messages: verbose.then_some(messages) }
    }
}

/// Checks against the versions a registration would be checked against: the latest, or all
/// of them under a transitive level. A subject without versions accepts anything.
pub async fn check_against_subject(
    State(state): State<AppState>,
    ConfluentPath(subject): ConfluentPath<String>,
    ConfluentQuery(flag): ConfluentQuery<VerboseFlag>,
    ConfluentJson(request): ConfluentJson<SchemaRequest>,
) -> Result<ConfluentJson<CompatibilityVerdict>, ApiError> {
    let candidate = request.parse_schema().await?;
    let live_versions = visible_versions(state.store.subject_versions(&subject).await?, false);
    let level = state.store.effective_level(&subject).await?;
    let earlier = level.versions_to_check(&live_versions).to_vec();
    let messages = find_incompatibilities(level, candidate.schema, earlier).await?;
    Ok(ConfluentJson(CompatibilityVerdict::new(messages, flag.verbose)))
}

/// Checks against one named version; `latest` under a transitive level means every version.
pub async fn check_against_version(
    State(state): State<AppState>,
    ConfluentPath((subject, version)): ConfluentPath<(String, String)>,
    ConfluentQuery(flag): ConfluentQuery<VerboseFlag>,
    ConfluentJson(request): ConfluentJson<SchemaRequest>,
) -> Result<ConfluentJson<CompatibilityVerdict>, ApiError> {
    let selector = VersionSelector::parse(&version)?;
    let candidate = request.parse_schema().await?;
    let live_versions = visible_versions(state.store.subject_versions(&subject).await?, false);
    // fails with 40401 or 40402 when there is nothing to check against
    let selected = selector.select(&subject, &live_versions)?;
    let level = state.store.effective_level(&subject).await?;
    let earlier = match selector {
        VersionSelector::Latest => level.versions_to_check(&live_versions).to_vec(),
        VersionSelector::Number(_) => vec![selected.clone()],
    };
    let messages = find_incompatibilities(level, candidate.schema, earlier).await?;
    Ok(ConfluentJson(CompatibilityVerdict::new(messages, flag.verbose)))
}

/// Checks `candidate` against `earlier` under `level` on the blocking pool, since each stored
/// schema is parsed again and a transitive check walks every version.
pub async fn find_incompatibilities(
    level: CompatibilityLevel,
    candidate: Schema,
    earlier: Vec<StoredVersion>,
) -> Result<Vec<String>, ApiError> {
    let outcome = run_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut parsed = Vec::with_capacity(earlier.len());
        for stored in &earlier {
            // it parsed when it was registered; failing now means the parser or the file changed
            let schema = Schema::parse_str(&stored.schema)
                .with_context(|| format!("stored schema {} does not parse", stored.schema_id))?;
            parsed.push((stored.version, schema));
        }
        let earlier_versions: Vec<EarlierVersion<'_>> =
            parsed.iter().map(|(version, schema)| EarlierVersion { version: *version, schema }).collect();
        Ok(incompatibilities(level, &candidate, &earlier_versions))
    })
    .await?;
    Ok(outcome?)
}
