//! The Elasticsearch backend: one index per view generation, served behind an alias.
//!
//! Writes are conditional on what was read: a document loaded with `_seq_no`/`_primary_term`
//! is written back with `if_seq_no`/`if_primary_term`, a document that was absent is written with
//! `create`. Whichever of two writers comes second gets a version conflict instead of
//! overwriting, reloads and reapplies its events, so a stale write never wins.
//!
//! An acknowledged `_bulk` is already durable (the translog is fsynced per request by default);
//! [`HistoryIndex::commit`] only refreshes, to make the writes searchable. The consumer group's
//! committed offsets are the checkpoint, so none is kept with the data.

mod catalog;
mod mapping;
mod search;
#[cfg(test)]
mod tests;

pub use catalog::ElasticsearchCatalog;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use elasticsearch::http::StatusCode;
use elasticsearch::http::Url;
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::indices::IndicesRefreshParts;
use elasticsearch::{BulkParts, CountParts, Elasticsearch, GetParts, MgetParts};
use order_view::OrderHistory;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::index::{
    Checkpoint, HistoryIndex, IndexError, SearchQuery, SearchResults, StoreOutcome, Versioned, WriteToken,
};

/// Where the Elasticsearch backend connects and how it names its indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElasticsearchConfig {
    /// The base URL of a node, e.g. `http://127.0.0.1:9200`.
    pub url: String,
    /// The alias the live view is served under; each view is an index `<prefix>-<generation>`.
    pub index_prefix: String,
    /// The limit on every request, connecting included.
    pub request_timeout: Duration,
    /// Replicas of each index. 1 survives the loss of a node; a single-node cluster serves
    /// with 0 or 1 alike (1 leaves it yellow).
    pub number_of_replicas: u32,
}

pub const DEFAULT_INDEX_PREFIX: &str = "order-history";
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl ElasticsearchConfig {
    /// The defaults: prefix `order-history`, 10 s per request, one replica.
    pub fn new(url: impl Into<String>) -> Self {
        ElasticsearchConfig {
            url: url.into(),
            index_prefix: DEFAULT_INDEX_PREFIX.to_string(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            number_of_replicas: 1,
        }
    }
}

/// `_source` filter that fetches only the stored document.
const DOCUMENT_FIELD_LIST: [&str; 1] = [mapping::DOCUMENT_FIELD];

/// Builds a client for one node; requests fail with [`IndexError::Unavailable`] after the
/// configured timeout.
fn client_for(config: &ElasticsearchConfig) -> Result<Elasticsearch, IndexError> {
    let url =
        Url::parse(&config.url).map_err(|error| anyhow!("elasticsearch url {:?} is invalid: {error}", config.url))?;
    let transport = TransportBuilder::new(SingleNodeConnectionPool::new(url))
        .timeout(config.request_timeout)
        .build()
        .map_err(|error| anyhow!("cannot build the elasticsearch client: {error}"))?;
    Ok(Elasticsearch::new(transport))
}

/// One view: an index, or the alias that names the live one.
#[derive(Clone)]
pub struct ElasticsearchIndex {
    client: Elasticsearch,
    /// An alias (the live view) or an index name (a view being rebuilt); requests go there.
    target: String,
}

impl ElasticsearchIndex {
    fn new(client: Elasticsearch, target: String) -> Self {
        ElasticsearchIndex { client, target }
    }

    /// The alias or index this handle reads and writes.
    pub fn target(&self) -> &str {
        &self.target
    }
}

#[async_trait]
impl HistoryIndex for ElasticsearchIndex {
    fn backend(&self) -> &'static str {
        "elasticsearch"
    }

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Versioned>, IndexError> {
        let mut loaded = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(loaded);
        }
        let id_strings: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        // realtime (the default) reads the latest write of each id, refreshed or not
        let sent = self
            .client
            .mget(MgetParts::Index(&self.target))
            .body(json!({ "ids": id_strings }))
            ._source(&DOCUMENT_FIELD_LIST)
            .send()
            .await;
        let body = reply_of(sent, "mget").await?.expect_success("mget")?;
        let Some(docs) = body.get("docs").and_then(Value::as_array) else {
            return Err(malformed("mget", "no docs"));
        };
        for doc in docs {
            if let Some(error) = doc.get("error") {
                let message = format!("mget of {} failed: {}", self.target, reason_of(error));
                // a shard that is relocating or recovering comes back; anything else is a broken setup
                let error_type = error.get("type").and_then(Value::as_str).unwrap_or_default();
                if error_type.contains("unavailable") || error_type.starts_with("no_shard_available") {
                    return Err(IndexError::Unavailable(message));
                }
                return Err(IndexError::Fatal(anyhow!(message)));
            }
            if doc.get("found").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let document = document_of(doc).map_err(|why| malformed("mget", &why))?;
            let (Some(seq_no), Some(primary_term)) =
                (doc.get("_seq_no").and_then(Value::as_i64), doc.get("_primary_term").and_then(Value::as_i64))
            else {
                return Err(malformed("mget", "a document without _seq_no and _primary_term"));
            };
            let token = WriteToken::SeqNo { seq_no, primary_term };
            loaded.insert(document.order_id, Versioned { document, token });
        }
        Ok(loaded)
    }

    async fn store(&self, documents: Vec<Versioned>) -> Result<StoreOutcome, IndexError> {
        let mut outcome = StoreOutcome::default();
        if documents.is_empty() {
            return Ok(outcome);
        }
        let mut lines: Vec<Value> = Vec::with_capacity(documents.len() * 2);
        for versioned in &documents {
            let id = versioned.document.order_id.to_string();
            let action = match versioned.token {
                WriteToken::Absent => json!({ "create": { "_id": id } }),
                WriteToken::SeqNo { seq_no, primary_term } => {
                    json!({ "index": { "_id": id, "if_seq_no": seq_no, "if_primary_term": primary_term } })
                }
                // an unconditional write could overwrite another writer's newer version
                WriteToken::SingleWriter => {
                    return Err(IndexError::Fatal(anyhow!(
                        "document {id} has a single-writer token, which elasticsearch cannot write conditionally"
                    )));
                }
            };
            let source = mapping::source_of(&versioned.document)
                .map_err(|error| anyhow!("cannot serialize document {id}: {error}"))?;
            lines.push(action);
            lines.push(source);
        }
        let body: Vec<elasticsearch::http::request::JsonBody<Value>> = lines.into_iter().map(Into::into).collect();
        let sent = self.client.bulk(BulkParts::Index(&self.target)).body(body).send().await;
        let reply = reply_of(sent, "bulk").await?.expect_success("bulk")?;
        let Some(items) = reply.get("items").and_then(Value::as_array) else {
            return Err(malformed("bulk", "no items"));
        };
        if items.len() != documents.len() {
            return Err(malformed("bulk", &format!("{} items for {} documents", items.len(), documents.len())));
        }

        let mut retryable_failure: Option<String> = None;
        let mut fatal_failure: Option<String> = None;
        // items come back in request order
        for (item, versioned) in items.iter().zip(&documents) {
            let result = item.as_object().and_then(|actions| actions.values().next()).unwrap_or(&Value::Null);
            let status = result.get("status").and_then(Value::as_u64).unwrap_or(0);
            if (200..300).contains(&status) {
                continue;
            }
            let order_id = versioned.document.order_id;
            let failure = format!(
                "order {order_id} answered {status}: {}",
                reason_of(result.get("error").unwrap_or(&Value::Null))
            );
            match status {
                409 => outcome.conflicts.push(order_id),
                429 | 500..=599 => {
                    retryable_failure.get_or_insert(failure);
                }
                _ => {
                    fatal_failure.get_or_insert(failure);
                }
            }
        }
        // a fatal failure wins: retrying the batch would only fail the same way again
        if let Some(failure) = fatal_failure {
            return Err(IndexError::Fatal(anyhow!("bulk write to {} failed: {failure}", self.target)));
        }
        if let Some(failure) = retryable_failure {
            return Err(IndexError::Unavailable(format!("bulk write to {} failed: {failure}", self.target)));
        }
        Ok(outcome)
    }

    async fn delete(&self, ids: &[Uuid]) -> Result<(), IndexError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut lines: Vec<elasticsearch::http::request::JsonBody<Value>> = Vec::with_capacity(ids.len());
        for id in ids {
            lines.push(json!({ "delete": { "_id": id.to_string() } }).into());
        }
        let sent = self.client.bulk(BulkParts::Index(&self.target)).body(lines).send().await;
        let reply = reply_of(sent, "bulk delete").await?.expect_success("bulk delete")?;
        let Some(items) = reply.get("items").and_then(Value::as_array) else {
            return Err(malformed("bulk delete", "no items"));
        };
        if items.len() != ids.len() {
            return Err(malformed("bulk delete", &format!("{} items for {} ids", items.len(), ids.len())));
        }
        let mut retryable_failure: Option<String> = None;
        for (item, id) in items.iter().zip(ids) {
            let result = item.get("delete").unwrap_or(&Value::Null);
            let status = result.get("status").and_then(Value::as_u64).unwrap_or(0);
            // 404: not in the index, which is what a delete asks for
            if (200..300).contains(&status) || status == 404 {
                continue;
            }
            let failure =
                format!("order {id} answered {status}: {}", reason_of(result.get("error").unwrap_or(&Value::Null)));
            if status == 429 || (500..600).contains(&status) {
                retryable_failure.get_or_insert(failure);
                continue;
            }
            return Err(IndexError::Fatal(anyhow!("bulk delete in {} failed: {failure}", self.target)));
        }
        if let Some(failure) = retryable_failure {
            return Err(IndexError::Unavailable(format!("bulk delete in {} failed: {failure}", self.target)));
        }
        Ok(())
    }

    async fn commit(&self, _checkpoint: &Checkpoint) -> Result<(), IndexError> {
        // the bulk writes are durable once acknowledged; a refresh makes them searchable
        let targets = [self.target.as_str()];
        let sent = self.client.indices().refresh(IndicesRefreshParts::Index(&targets)).send().await;
        reply_of(sent, "refresh").await?.expect_success("refresh")?;
        Ok(())
    }

    async fn checkpoint(&self) -> Result<Option<Checkpoint>, IndexError> {
        // the consumer group's committed offsets are the checkpoint
        Ok(None)
    }

    async fn get(&self, order_id: Uuid) -> Result<Option<OrderHistory>, IndexError> {
        let id = order_id.to_string();
        let sent =
            self.client.get(GetParts::IndexId(&self.target, &id))._source_includes(&DOCUMENT_FIELD_LIST).send().await;
        let reply = reply_of(sent, "get").await?;
        // a missing document answers 404 with `found: false`; a missing index answers 404 too,
        // with an error, and that is not "no such order"
        if reply.status == StatusCode::NOT_FOUND && reply.body.get("found").and_then(Value::as_bool) == Some(false) {
            return Ok(None);
        }
        let body = reply.expect_success("get")?;
        let document = document_of(&body).map_err(|why| malformed("get", &why))?;
        Ok(Some(document))
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, IndexError> {
        let plan = search::SearchPlan::of(query)?;
        let targets = [self.target.as_str()];
        let sent =
            self.client.search(elasticsearch::SearchParts::Index(&targets)).body(plan.request_body()).send().await;
        let body = reply_of(sent, "search").await?.expect_success("search")?;
        plan.results_of(&body).map_err(|why| malformed("search", &why))
    }

    async fn count(&self) -> Result<u64, IndexError> {
        let targets = [self.target.as_str()];
        let sent = self.client.count(CountParts::Index(&targets)).send().await;
        let body = reply_of(sent, "count").await?.expect_success("count")?;
        body.get("count").and_then(Value::as_u64).ok_or_else(|| malformed("count", "no count"))
    }

    async fn ping(&self) -> Result<(), IndexError> {
        let sent = self.client.ping().send().await;
        let reply = reply_of(sent, "ping").await?;
        if reply.status.is_success() {
            return Ok(());
        }
        // a node that answers anything but success cannot serve
        Err(IndexError::Unavailable(format!("ping answered {}", reply.status)))
    }
}

/// The `OrderHistory` under `_source.document` of a get, mget or search hit.
fn document_of(hit: &Value) -> Result<OrderHistory, String> {
    let Some(document) = hit.get("_source").and_then(|source| source.get(mapping::DOCUMENT_FIELD)) else {
        return Err("a hit without _source.document".to_string());
    };
    OrderHistory::deserialize(document).map_err(|error| format!("a stored document does not parse: {error}"))
}

/// What Elasticsearch answered: the status and the JSON body (`Null` when empty, the text as a
/// string when it is not JSON, e.g. a proxy's error page).
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: Value,
}

/// Reads the answer to a request. A request that got no answer (refused, reset, timed out) is
/// [`IndexError::Unavailable`]: the engine may be back soon.
async fn reply_of(sent: Result<Response, elasticsearch::Error>, action: &str) -> Result<Reply, IndexError> {
    let response = sent.map_err(|error| IndexError::Unavailable(format!("{action} request failed: {error}")))?;
    let status = response.status_code();
    let text = response
        .text()
        .await
        .map_err(|error| IndexError::Unavailable(format!("{action} answer could not be read: {error}")))?;
    let body =
        if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Ok(Reply { status, body })
}

impl Reply {
    /// The body of a successful answer; otherwise the error it means: retryable when the engine
    /// is overloaded (429) or failing (5xx), fatal for anything else, which a retry repeats.
    fn expect_success(self, action: &str) -> Result<Value, IndexError> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        let message = format!("{action} answered {}: {}", self.status, reason_of(&self.body));
        if self.status == StatusCode::TOO_MANY_REQUESTS || self.status.is_server_error() {
            return Err(IndexError::Unavailable(message));
        }
        Err(IndexError::Fatal(anyhow!(message)))
    }
}

/// A one-line reason from an Elasticsearch error body: `type: reason` where it has them.
fn reason_of(body: &Value) -> String {
    let error = body.get("error").unwrap_or(body);
    match error {
        Value::Null => "no reason given".to_string(),
        Value::String(text) => text.chars().take(300).collect(),
        _ => {
            let error_type = error.get("type").and_then(Value::as_str).unwrap_or("error");
            let reason = error.get("reason").and_then(Value::as_str).unwrap_or("no reason given");
            format!("{error_type}: {reason}")
        }
    }
}

fn malformed(action: &str, why: &str) -> IndexError {
    IndexError::Fatal(anyhow!("unexpected {action} answer: {why}"))
}
