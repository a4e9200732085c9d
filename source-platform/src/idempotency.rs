//! Idempotent creates: a POST carrying an `Idempotency-Key` header returns the first response
//! again instead of creating anything new.
//!
//! The key and the response are saved in the same transaction as the entity and its outbox
//! row. Two concurrent requests with one key race on the table's primary key: the loser's
//! transaction rolls back whole, and it answers with the winner's response.

use anyhow::Context;
use axum::http::HeaderValue;
use axum::response::Response;
use platform::http::IDEMPOTENCY_KEY_HEADER;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::store::{Store, now_ms};

/// The response header that marks an answer recorded earlier for the same key, so that a client
/// (and a person reading logs) can tell a replay from a fresh create.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 255;

/// A client-chosen key: 1 to 255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > MAX_KEY_LEN {
            return Err(format!("idempotency key must be 1 to {MAX_KEY_LEN} characters"));
        }
        if !raw.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err("idempotency key must be visible ascii characters".to_string());
        }
        Ok(Self(raw.to_string()))
    }

    /// Reads the optional header; a present but invalid key is an error.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Result<Option<Self>, String> {
        let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
            return Ok(None);
        };
        let text = value.to_str().map_err(|_| "idempotency key must be visible ascii characters".to_string())?;
        Self::parse(text).map(Some)
    }
}

/// What a key already stands for.
#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The same request was handled before: answer with this again.
    Response { status: u16, body: String },
    /// The key was used for a different request body.
    DifferentRequest,
}

/// What a create saves under its idempotency key, in its own transaction, to answer a retry
/// with: the key, the request it was first used for, and the response that request got.
pub struct IdempotentResponse<'a> {
    pub key: &'a IdempotencyKey,
    pub request_fingerprint: &'a str,
    pub response_status: u16,
    pub response_body: &'a str,
}

/// Saves `response` under its key within `scope`, inside the caller's transaction.
pub async fn record_response(
    transaction: &mut AnyConnection,
    scope: &str,
    response: &IdempotentResponse<'_>,
) -> sqlx::Result<()> {
    record(
        transaction,
        scope,
        response.key,
        response.request_fingerprint,
        response.response_status,
        response.response_body,
    )
    .await
}

/// A stable digest of the request body, to tell a retry from a different request.
pub fn fingerprint(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The fingerprint of a parsed request written back out, not of the raw bytes: a retry that
/// differs only in whitespace, key order or an explicit `null` for an absent optional field is
/// the same request.
pub fn request_fingerprint(request: &impl Serialize) -> anyhow::Result<String> {
    let canonical_request = serde_json::to_vec(request).context("cannot serialize the request")?;
    Ok(fingerprint(&canonical_request))
}

/// Marks `response` as the replay of the response recorded for an idempotency key.
pub fn mark_replayed(response: &mut Response) {
    response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
}

/// Looks up `key` within `scope` outside any transaction: before a create starts, or after it
/// lost the race for the key and rolled back, to answer what the concurrent winner answered.
pub async fn find_outside_transaction(
    store: &Store,
    scope: &str,
    key: &IdempotencyKey,
    request_fingerprint: &str,
) -> anyhow::Result<Option<Recorded>> {
    let mut connection = store.pool.acquire().await.context("cannot get a database connection")?;
    find(&mut connection, scope, key, request_fingerprint).await.context("cannot look up the idempotency key")
}

/// Looks up `key` within `scope` (one scope per operation, e.g. `create-order`).
pub async fn find(
    connection: &mut AnyConnection,
    scope: &str,
    key: &IdempotencyKey,
    request_fingerprint: &str,
) -> sqlx::Result<Option<Recorded>> {
    let row = sqlx::query(
        "select request_fingerprint, response_status, response_body from idempotency_keys \
         where scope = $1 and idempotency_key = $2",
    )
    .bind(scope)
    .bind(&key.0)
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored_fingerprint: String = row.try_get("request_fingerprint")?;
    if stored_fingerprint != request_fingerprint {
        return Ok(Some(Recorded::DifferentRequest));
    }
    let status: i32 = row.try_get("response_status")?;
    Ok(Some(Recorded::Response { status: u16::try_from(status).unwrap_or(200), body: row.try_get("response_body")? }))
}

/// Saves the response for `key` inside the caller's transaction.
pub async fn record(
    transaction: &mut AnyConnection,
    scope: &str,
    key: &IdempotencyKey,
    request_fingerprint: &str,
    status: u16,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into idempotency_keys (scope, idempotency_key, request_fingerprint, response_status, \
         response_body, created_at_ms) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(scope)
    .bind(&key.0)
    .bind(request_fingerprint)
    .bind(i32::from(status))
    .bind(body)
    .bind(now_ms())
    .execute(&mut *transaction)
    .await?;
    Ok(())
}

/// How often expired keys are deleted: an expired key may still replay for this long.
pub const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Deletes the keys recorded before `created_before_ms`; returns how many.
pub async fn prune(store: &Store, created_before_ms: i64) -> anyhow::Result<u64> {
    let deleted = sqlx::query("delete from idempotency_keys where created_at_ms < $1")
        .bind(created_before_ms)
        .execute(&store.pool)
        .await
        .context("cannot delete expired idempotency keys")?;
    Ok(deleted.rows_affected())
}

/// Deletes keys older than `ttl` at start and every [`PRUNE_INTERVAL`] until `shutdown`. A key
/// is a promise to answer a retry the same way; past `ttl` the client has stopped retrying, and
/// the key may mean a new request.
pub async fn prune_expired(store: Store, ttl: std::time::Duration, shutdown: tokio_util::sync::CancellationToken) {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let mut ticks = tokio::time::interval(PRUNE_INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match prune(&store, now_ms().saturating_sub(ttl_ms)).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired idempotency keys deleted"),
            // the next tick tries again; until then an old key replays a little longer
            Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot delete expired idempotency keys"),
        }
    }
}

/// Whether `error` is a primary-key or unique violation, i.e. a concurrent request won.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database_error) if database_error.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_short_visible_ascii() {
        assert!(IdempotencyKey::parse("order-2026-11-22-0001").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("naïve").is_err());
    }

    #[test]
    fn fingerprints_tell_bodies_apart() {
        assert_eq!(fingerprint(b"{\"a\":1}"), fingerprint(b"{\"a\":1}"));
        assert_ne!(fingerprint(b"{\"a\":1}"), fingerprint(b"{\"a\":2}"));
    }
}
