//! Where the view lives: one interface, two backends with the same query semantics.
//!
//! - [`tantivy`](self::tantivy): embedded, on disk under the data dir; the default. Each
//!   instance is a full replica that consumes every partition under its own group id.
//! - [`elasticsearch`](self::elasticsearch): chosen by `ELASTICSEARCH_URL`. Instances share
//!   one consumer group and one index behind an alias; conditional writes keep a stale write
//!   from ever overwriting a newer one, even with two writers.
//!
//! Projection does read-modify-write: [`HistoryIndex::load`] the documents a batch touches,
//! apply the events, [`HistoryIndex::store`] the changed ones, then [`HistoryIndex::commit`]
//! with the checkpoint the batch covers. Offsets go to Kafka only after `commit` returns.

#[cfg(test)]
pub(crate) mod conformance;
mod document_json;
pub mod elasticsearch;
pub mod query;
pub mod tantivy;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use order_view::OrderHistory;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use document_json::DocumentJson;
pub use query::{Cursor, Facets, SearchHit, SearchQuery, SearchResults, SearchText, SortOrder, TextClause};

/// A document as loaded, with what the backend needs to write it back conditionally.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned {
    pub document: OrderHistory,
    pub token: WriteToken,
}

/// Optimistic-concurrency token of a loaded document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteToken {
    /// Not in the index yet: the write must create it, and loses if another writer did first.
    Absent,
    /// The backend has a single writer (tantivy): the write replaces unconditionally.
    SingleWriter,
    /// Elasticsearch's sequence number and primary term of the version that was read.
    SeqNo { seq_no: i64, primary_term: i64 },
}

/// The position of the next record to read, per topic partition: what a commit covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `topic` → `partition` → next offset to read.
    pub offsets: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl Checkpoint {
    pub fn advance(&mut self, topic: &str, partition: i32, next_offset: i64) {
        let slot = self.offsets.entry(topic.to_string()).or_default().entry(partition).or_insert(next_offset);
        *slot = (*slot).max(next_offset);
    }

    /// The records before this position, over all partitions: how far into the topics it is.
    pub fn records(&self) -> i64 {
        self.offsets.values().flat_map(|partitions| partitions.values()).sum()
    }

    pub fn next_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.offsets.get(topic).and_then(|partitions| partitions.get(&partition)).copied()
    }

    /// Whether this position is at or past `ends` in every partition `ends` names.
    pub fn covers(&self, ends: &Checkpoint) -> bool {
        for (topic, partitions) in &ends.offsets {
            for (partition, end) in partitions {
                if *end > 0 && self.next_offset(topic, *partition).is_none_or(|next| next < *end) {
                    return false;
                }
            }
        }
        true
    }

    pub fn merge(&mut self, other: &Checkpoint) {
        for (topic, partitions) in &other.offsets {
            for (partition, offset) in partitions {
                self.advance(topic, *partition, *offset);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Worth retrying: the engine is unreachable, overloaded or timed out.
    #[error("search index unavailable: {0}")]
    Unavailable(String),
    /// The query cannot be run as given, e.g. a cursor from another sort order.
    #[error("{0}")]
    BadQuery(String),
    /// A bug or a broken index: retrying will not help.
    #[error(transparent)]
    Fatal(#[from] anyhow::Error),
}

impl IndexError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, IndexError::Unavailable(_))
    }
}

/// The outcome of [`HistoryIndex::store`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StoreOutcome {
    /// Documents another writer changed since they were loaded; none were written. The caller
    /// loads them again and reapplies its events, which the version rules make safe.
    pub conflicts: Vec<Uuid>,
}

#[async_trait]
pub trait HistoryIndex: Send + Sync + 'static {
    /// A short name for logs and metrics: `tantivy` or `elasticsearch`.
    fn backend(&self) -> &'static str;

    /// The current documents for `ids`, including incomplete ones; ids not in the index are
    /// absent from the map. Sees everything stored so far, committed or not.
    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Versioned>, IndexError>;

    /// Writes the documents, each conditional on its token.
    async fn store(&self, documents: Vec<Versioned>) -> Result<StoreOutcome, IndexError>;

    /// Removes the documents of `ids`, unconditionally; ids not in the index are ignored. Like
    /// [`HistoryIndex::store`], it is seen by `load` at once and by reads after the next commit.
    /// Only a repair deletes: projection never does, as no event removes an order.
    async fn delete(&self, ids: &[Uuid]) -> Result<(), IndexError>;

    /// Makes everything stored so far durable and searchable, together with the checkpoint it
    /// covers, so that a crash after this returns never loses it.
    async fn commit(&self, checkpoint: &Checkpoint) -> Result<(), IndexError>;

    /// The checkpoint of the last commit when the backend keeps one with the data (tantivy);
    /// `None` when the consumer group's committed offsets are the checkpoint (elasticsearch).
    async fn checkpoint(&self) -> Result<Option<Checkpoint>, IndexError>;

    /// One document by order id, including an incomplete one. Real-time: it sees everything
    /// stored so far, committed (searchable) or not, as Elasticsearch's GET does.
    async fn get(&self, order_id: Uuid) -> Result<Option<OrderHistory>, IndexError>;

    /// [`HistoryIndex::get`] as the JSON GET by id answers with. A backend that keeps that JSON
    /// hands it over as it is; this default encodes the decoded document.
    async fn get_json(&self, order_id: Uuid) -> Result<Option<DocumentJson>, IndexError> {
        match self.get(order_id).await? {
            Some(document) => Ok(Some(DocumentJson::of(&document)?)),
            None => Ok(None),
        }
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, IndexError>;

    /// How many documents are searchable now, incomplete ones included.
    async fn count(&self) -> Result<u64, IndexError>;

    /// Whether the engine answers; for `/readyz`.
    async fn ping(&self) -> Result<(), IndexError>;
}

/// The views a backend holds: the live one that serves, and a next one a rebuild fills.
///
/// A rebuild fills a fresh view while the live one keeps serving, then [`ViewCatalog::promote`]
/// swaps them atomically: an alias swap in Elasticsearch, a directory swap in tantivy.
#[async_trait]
pub trait ViewCatalog: Send + Sync + 'static {
    /// Opens the view that serves now, creating an empty one on first start.
    async fn open_live(&self) -> Result<std::sync::Arc<dyn HistoryIndex>, IndexError>;

    /// Creates a new, empty view beside the live one, named `generation`.
    async fn create_next(&self, generation: &str) -> Result<std::sync::Arc<dyn HistoryIndex>, IndexError>;

    /// Makes the view `generation` the live one in one atomic step and drops the old one.
    /// The caller stops using the old view's handle before calling this.
    async fn promote(&self, generation: &str) -> Result<(), IndexError>;

    /// Removes a view that was never promoted, e.g. after a failed rebuild.
    async fn discard(&self, generation: &str) -> Result<(), IndexError>;

    /// Whether there is a live view yet: none before the first start.
    async fn has_live(&self) -> Result<bool, IndexError>;

    /// A fingerprint of the on-disk schema this build writes, when the backend can take
    /// snapshots of its views (`crate::snapshot`); `None` when it cannot.
    fn schema_fingerprint(&self) -> Option<String> {
        None
    }

    /// Places the files of the live view's last commit in a directory of their own (named
    /// after `name`), holding writes only while that commit is picked.
    async fn capture_live(&self, name: &str) -> Result<CapturedView, IndexError> {
        let _ = name;
        Err(IndexError::Fatal(anyhow::anyhow!("the {} backend does not take snapshots of its view", self.backend())))
    }

    /// An empty directory for the view `generation`, to restore a snapshot's files into.
    async fn restore_target(&self, generation: &str) -> Result<std::path::PathBuf, IndexError> {
        let _ = generation;
        Err(IndexError::Fatal(anyhow::anyhow!("the {} backend does not restore snapshots", self.backend())))
    }

    /// Opens the view `generation` whose files were restored into [`ViewCatalog::restore_target`].
    async fn open_restored(&self, generation: &str) -> Result<std::sync::Arc<dyn HistoryIndex>, IndexError> {
        let _ = generation;
        Err(IndexError::Fatal(anyhow::anyhow!("the {} backend does not restore snapshots", self.backend())))
    }

    /// `tantivy` or `elasticsearch`, for errors and logs.
    fn backend(&self) -> &'static str;
}

/// The live view's last commit, captured for a snapshot: its files, and what they cover.
#[derive(Clone, Debug)]
pub struct CapturedView {
    /// A directory holding only these files; the caller removes it once copied.
    pub files: std::path::PathBuf,
    pub checkpoint: Checkpoint,
    pub documents: u64,
}
