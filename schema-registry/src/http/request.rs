//! Reading requests the way Confluent does: its body media types, its query flags, its
//! version selectors, and the schema body shared by register, lookup and compatibility.
//!
//! Every extractor here rejects with [`ApiError`], so even a malformed request is answered
//! in Confluent's error shape rather than axum's plain text.

use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::error::Category;

use crate::http::error::ApiError;
use crate::http::{CONFLUENT_CONTENT_TYPE, run_blocking};
use crate::schema::{self, ParsedSchema};
use crate::store::StoredVersion;

/// The request media types Confluent consumes. It also reads a body without a Content-Type,
/// which Jersey treats as `application/octet-stream`.
const ACCEPTED_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
];

/// A JSON body read and answered in Confluent's media types.
///
/// axum's `Json` insists on `application/json` and answers in its own error shape, so the
/// body is read as bytes and parsed here.
pub struct ConfluentJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ConfluentJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
            // parameters such as `charset` do not matter
            let essence = content_type.to_str().unwrap_or_default().split(';').next().unwrap_or_default();
            let media_type = essence.trim().to_ascii_lowercase();
            if !ACCEPTED_MEDIA_TYPES.contains(&media_type.as_str()) {
                return Err(ApiError::UnsupportedMediaType(media_type));
            }
        }
        // the body limit from platform::http is enforced here; over it, this fails with 413
        let body = Bytes::from_request(request, state).await?;
        serde_json::from_slice(&body).map(ConfluentJson).map_err(|error| match error.classify() {
            Category::Data => ApiError::UnexpectedJson(error.to_string()),
            Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson(error.to_string()),
        })
    }
}

impl<T: Serialize> IntoResponse for ConfluentJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => ([(header::CONTENT_TYPE, CONFLUENT_CONTENT_TYPE)], body).into_response(),
            Err(error) => {
                ApiError::Internal(anyhow::Error::new(error).context("cannot serialize response")).into_response()
            }
        }
    }
}

/// Path parameters, percent-decoded (a subject may contain an encoded `/`).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ConfluentPath<T>(pub T);

/// Query parameters; parameters a handler does not name are accepted and ignored.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ConfluentQuery<T>(pub T);

/// Reads a query flag the way Confluent (Java's `Boolean.valueOf`) does: `true` in any case is
/// true and anything else is false, so Python clients' `deleted=False` works.
fn java_boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(text.eq_ignore_ascii_case("true"))
}

#[derive(Deserialize)]
pub struct DeletedFlag {
    /// Include soft-deleted subjects or versions.
    #[serde(default, deserialize_with = "java_boolean")]
    pub deleted: bool,
}

#[derive(Deserialize)]
pub struct PermanentFlag {
    /// Hard-delete what was soft-deleted before.
    #[serde(default, deserialize_with = "java_boolean")]
    pub permanent: bool,
}

#[derive(Deserialize)]
pub struct VerboseFlag {
    /// Explain an incompatibility in `messages`.
    #[serde(default, deserialize_with = "java_boolean")]
    pub verbose: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultToGlobalFlag {
    /// Answer with the global level when the subject has none of its own.
    #[serde(default, deserialize_with = "java_boolean")]
    pub default_to_global: bool,
}

/// A version in a path: a number from 1, or `latest` (also spelled `-1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionSelector {
    Latest,
    Number(i32),
}

impl VersionSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        if text.eq_ignore_ascii_case("latest") || text == "-1" {
            return Ok(Self::Latest);
        }
        match text.parse::<i32>() {
            Ok(number) if number >= 1 => Ok(Self::Number(number)),
            _ => Err(ApiError::InvalidVersion(text.to_string())),
        }
    }

    /// Picks the selected version out of `versions` (oldest first); `Latest` is the last one.
    pub fn select<'a>(self, subject: &str, versions: &'a [StoredVersion]) -> Result<&'a StoredVersion, ApiError> {
        let Some(latest) = versions.last() else {
            return Err(ApiError::SubjectNotFound(subject.to_string()));
        };
        let selected = match self {
            Self::Latest => Some(latest),
            Self::Number(number) => versions.iter().find(|stored| stored.version == number),
        };
        selected.ok_or_else(|| ApiError::VersionNotFound { subject: subject.to_string(), version: self })
    }
}

impl fmt::Display for VersionSelector {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => formatter.write_str("latest"),
            Self::Number(number) => write!(formatter, "{number}"),
        }
    }
}

/// The body of register, lookup and compatibility requests.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRequest {
    schema: Option<String>,
    schema_type: Option<String>,
    references: Option<Vec<Value>>,
    metadata: Option<Value>,
    rule_set: Option<Value>,
}

impl SchemaRequest {
    /// Refuses what this registry does not implement, then parses the schema off the async
    /// workers (a schema can be as large as the body limit).
    pub async fn parse_schema(self) -> Result<ParsedSchema, ApiError> {
        if let Some(schema_type) = &self.schema_type
            && !schema_type.eq_ignore_ascii_case("AVRO")
        {
            return Err(ApiError::UnsupportedSchemaFeature(format!(
                "schema type '{schema_type}' is not supported: only AVRO is"
            )));
        }
        if self.references.as_ref().is_some_and(|references| !references.is_empty()) {
            return Err(ApiError::UnsupportedSchemaFeature("schema references are not supported".to_string()));
        }
        // silently dropping data-contract rules would let a client believe they are enforced
        if self.metadata.is_some() || self.rule_set.is_some() {
            return Err(ApiError::UnsupportedSchemaFeature("metadata and rule sets are not supported".to_string()));
        }
        let text = self.schema.unwrap_or_default();
        Ok(run_blocking(move || schema::parse(text)).await??)
    }
}

/// Keeps the versions that were not soft-deleted, unless `include_deleted`.
pub fn visible_versions(versions: Vec<StoredVersion>, include_deleted: bool) -> Vec<StoredVersion> {
    versions.into_iter().filter(|stored| include_deleted || !stored.deleted).collect()
}
