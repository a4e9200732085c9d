//! The embedded tantivy backend: one index directory per view, one writer, searches served
//! from a reader that is reloaded at every commit.
//!
//! - [`TantivyIndex`]: a view. Projection is its only writer, so writes replace documents
//!   unconditionally and never conflict. Documents stored since the last commit are kept in
//!   memory as well, because tantivy searches only committed data and `load` must see them.
//! - [`TantivyCatalog`]: the views under a data dir, and which one is live.
//!
//! Every tantivy call blocks (disk, CPU), so each runs on the blocking pool.

mod catalog;
mod highlight;
mod schema;
mod search;
mod snapshot;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ::tantivy::collector::DocSetCollector;
use ::tantivy::directory::MmapDirectory;
use ::tantivy::indexer::{IndexWriterOptions, LogMergePolicy};
use ::tantivy::query::TermSetQuery;
use ::tantivy::schema::IndexRecordOption;
use ::tantivy::tokenizer::TextAnalyzer;
use ::tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, SegmentOrdinal, TERMINATED, Term,
};
use anyhow::{Context, anyhow};
use async_trait::async_trait;
use order_view::OrderHistory;
use uuid::Uuid;

pub use self::catalog::TantivyCatalog;

use self::schema::Fields;
use crate::index::{
    Checkpoint, DocumentJson, HistoryIndex, IndexError, SearchQuery, SearchResults, StoreOutcome, Versioned, WriteToken,
};

/// What reading a committed view with tantivy's own collectors needs (the aggregation bench):
/// the names of the fast fields and of the stored document, and how their values are encoded.
pub mod fast_fields {
    pub use super::schema::{DOCUMENT, PLACED_AT, STATUS_BITS, TOTAL, sortable_u64};
    use super::schema::{FacetKind, status_bit};

    /// The bit of [`STATUS_BITS`] set in the documents of orders whose status is `status`.
    pub fn order_status_bit(status: order_view::OrderStatus) -> u64 {
        status_bit(FacetKind::Status, status.symbol())
    }
}

/// Memory the writer buffers documents in before it writes a segment. Rebuilds write hundreds
/// of thousands of documents between commits; more memory means fewer, larger segments.
const WRITER_MEMORY_BYTES: usize = 64 * 1024 * 1024;
/// The machine this runs on is small and also serves searches: one thread indexes, one merges.
const WRITER_THREADS: usize = 1;
const MERGE_THREADS: usize = 1;
/// Segments below this many documents are grouped into merge levels by size, like larger ones.
/// tantivy's default (10,000) puts every smaller segment into one level: live projection commits
/// a segment of about 200 documents a second at 200 events/s, and each merge of that level took
/// the segment the last merge made along with seven new ones, rewriting it again and again until
/// it passed 10,000 documents.
const MIN_MERGE_LAYER_DOCS: u32 = 100;
/// Up to this many ids, `load` looks each up in the term dictionaries instead of building a
/// query over all of them.
const IDS_LOOKED_UP_ONE_BY_ONE: usize = 256;

/// One view in a tantivy index directory.
#[derive(Clone)]
pub struct TantivyIndex {
    view: Arc<View>,
}

/// The state of an open view, shared with the blocking tasks that work on it.
struct View {
    directory: PathBuf,
    fields: Fields,
    words_analyzer: TextAnalyzer,
    reader: IndexReader,
    /// `None` once closed for good (see [`Drop`]).
    writer: Mutex<Option<IndexWriter>>,
    /// Documents stored since the last commit, by order id, and `None` for those deleted since.
    /// Written under the writer lock, so a commit clears exactly what it made searchable.
    pending: Mutex<HashMap<Uuid, Option<OrderHistory>>>,
    committed_checkpoint: Mutex<Checkpoint>,
    /// Set when the catalog dropped this view while it was still open: the directory is
    /// removed once the last handle is gone, so searches in flight finish undisturbed.
    remove_when_dropped: AtomicBool,
}

impl TantivyIndex {
    /// Opens the view in `directory`, creating an empty one if there is none. Blocks; for
    /// tests, benchmarks and the catalog's blocking tasks.
    pub fn open_in(directory: &Path) -> Result<TantivyIndex, IndexError> {
        std::fs::create_dir_all(directory)
            .with_context(|| format!("cannot create the index directory {}", directory.display()))?;
        let (schema, fields) = schema::build_schema();
        let mmap_directory = MmapDirectory::open(directory)
            .with_context(|| format!("cannot open the index directory {}", directory.display()))?;
        let index = Index::builder()
            .schema(schema)
            .tokenizers(schema::tokenizers())
            .open_or_create(mmap_directory)
            .with_context(|| format!("cannot open the index in {}", directory.display()))?;
        let committed_checkpoint = committed_checkpoint(&index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .context("cannot open an index reader")?;
        let options = IndexWriterOptions::builder()
            .memory_budget_per_thread(WRITER_MEMORY_BYTES)
            .num_worker_threads(WRITER_THREADS)
            .num_merge_threads(MERGE_THREADS)
            .build();
        let writer: IndexWriter = index.writer_with_options(options).context("cannot open the index writer")?;
        writer.set_merge_policy(Box::new(merge_policy()));
        Ok(TantivyIndex {
            view: Arc::new(View {
                directory: directory.to_path_buf(),
                fields,
                words_analyzer: schema::words_analyzer(),
                reader,
                writer: Mutex::new(Some(writer)),
                pending: Mutex::new(HashMap::new()),
                committed_checkpoint: Mutex::new(committed_checkpoint),
                remove_when_dropped: AtomicBool::new(false),
            }),
        })
    }

    /// A searcher of the last commit, for tantivy's own collectors (see [`fast_fields`]).
    pub fn searcher(&self) -> Searcher {
        self.view.reader.searcher()
    }

    /// Runs `work` on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&View) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        let view = Arc::clone(&self.view);
        tokio::task::spawn_blocking(move || work(&view))
            .await
            .map_err(|error| IndexError::Fatal(anyhow!("a tantivy task failed: {error}")))?
    }
}

/// tantivy's log merge policy, with levels by size down to [`MIN_MERGE_LAYER_DOCS`]: a document is
/// rewritten once per level it climbs, eight segments of a size making one of the next.
fn merge_policy() -> LogMergePolicy {
    let mut policy = LogMergePolicy::default();
    policy.set_min_layer_size(MIN_MERGE_LAYER_DOCS);
    policy
}

/// The checkpoint saved as the payload of the last commit; empty for a new index.
fn committed_checkpoint(index: &Index) -> Result<Checkpoint, IndexError> {
    checkpoint_of(&index.load_metas().context("cannot read the index metadata")?)
}

/// The checkpoint a commit's metadata carries as its payload; empty for a new index.
fn checkpoint_of(metas: &::tantivy::IndexMeta) -> Result<Checkpoint, IndexError> {
    match metas.payload.as_deref() {
        None | Some("") => Ok(Checkpoint::default()),
        Some(payload) => Ok(serde_json::from_str(payload).context("cannot parse the checkpoint of the index")?),
    }
}

/// Locks `mutex`; a panic while it was held cannot leave these maps half-updated in a way a
/// later commit would not repair, so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl View {
    fn order_id_term(&self, order_id: Uuid) -> Term {
        Term::from_field_text(self.fields.order_id, &order_id.to_string())
    }

    fn store(&self, documents: Vec<Versioned>) -> Result<StoreOutcome, IndexError> {
        let writer_guard = lock(&self.writer);
        let writer = writer_guard.as_ref().ok_or_else(|| anyhow!("the index is closed"))?;
        for versioned in documents {
            let order_id = versioned.document.order_id;
            let tantivy_document = schema::to_tantivy_document(&self.fields, &versioned.document)?;
            // the delete applies to what was added before it only, so the add survives it
            writer.delete_term(self.order_id_term(order_id));
            writer.add_document(tantivy_document).context("cannot add a document to the index")?;
            lock(&self.pending).insert(order_id, Some(versioned.document));
        }
        Ok(StoreOutcome::default())
    }

    fn delete(&self, order_ids: &[Uuid]) -> Result<(), IndexError> {
        let writer_guard = lock(&self.writer);
        let writer = writer_guard.as_ref().ok_or_else(|| anyhow!("the index is closed"))?;
        for order_id in order_ids {
            writer.delete_term(self.order_id_term(*order_id));
            // remembered until the commit, so `load` stops returning the committed copy at once
            // and the commit is not skipped as having nothing to write
            lock(&self.pending).insert(*order_id, None);
        }
        Ok(())
    }

    fn commit(&self, checkpoint: &Checkpoint) -> Result<(), IndexError> {
        let mut writer_guard = lock(&self.writer);
        let writer = writer_guard.as_mut().ok_or_else(|| anyhow!("the index is closed"))?;
        let nothing_stored = lock(&self.pending).is_empty();
        // a batch names only the partitions it read; the commit carries the position of all
        let mut checkpoint_after = lock(&self.committed_checkpoint).clone();
        checkpoint_after.merge(checkpoint);
        if nothing_stored && *lock(&self.committed_checkpoint) == checkpoint_after {
            // projection commits every batch even when a batch changed nothing
            return Ok(());
        }
        let payload = serde_json::to_string(&checkpoint_after).context("cannot serialize the checkpoint")?;
        let mut prepared = writer.prepare_commit().context("cannot prepare the commit")?;
        prepared.set_payload(&payload);
        prepared.commit().context("cannot commit the index")?;
        // searchable before the pending copies go, so `load` never misses a document
        self.reader.reload().context("cannot reload the index reader")?;
        lock(&self.pending).clear();
        *lock(&self.committed_checkpoint) = checkpoint_after;
        Ok(())
    }

    fn load(&self, order_ids: &[Uuid]) -> Result<HashMap<Uuid, Versioned>, IndexError> {
        let mut found = HashMap::with_capacity(order_ids.len());
        let mut committed_ids = Vec::new();
        {
            let pending = lock(&self.pending);
            for order_id in order_ids {
                match pending.get(order_id) {
                    Some(Some(document)) => {
                        let versioned = Versioned { document: document.clone(), token: WriteToken::SingleWriter };
                        found.insert(*order_id, versioned);
                    }
                    // deleted since the last commit
                    Some(None) => {}
                    None => committed_ids.push(*order_id),
                }
            }
        }
        // taken after the pending map was read: a commit in between reloaded it before it
        // cleared the map, so this searcher has whatever the map no longer had
        for document in self.committed_documents(&committed_ids)? {
            found.insert(document.order_id, Versioned { document, token: WriteToken::SingleWriter });
        }
        Ok(found)
    }

    fn committed_documents(&self, order_ids: &[Uuid]) -> Result<Vec<OrderHistory>, IndexError> {
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        // a TermSetQuery builds an FST of its terms first, whose zeroed registry costs more than
        // looking a few ids up one by one; live projection's batches hold a few ids
        let addresses = if order_ids.len() <= IDS_LOOKED_UP_ONE_BY_ONE {
            let mut addresses = Vec::with_capacity(order_ids.len());
            for order_id in order_ids {
                addresses.extend(self.committed_address(&searcher, *order_id)?);
            }
            addresses
        } else {
            let query = TermSetQuery::new(order_ids.iter().map(|order_id| self.order_id_term(*order_id)));
            searcher.search(&query, &DocSetCollector).context("cannot look documents up by id")?.into_iter().collect()
        };
        let mut documents = Vec::with_capacity(addresses.len());
        for address in addresses {
            documents.push(search::stored_document(&searcher, &self.fields, address)?);
        }
        Ok(documents)
    }

    /// The newest stored document of `order_id`, committed or not.
    fn get(&self, order_id: Uuid) -> Result<Option<OrderHistory>, IndexError> {
        if let Some(stored_since_commit) = lock(&self.pending).get(&order_id) {
            return Ok(stored_since_commit.clone());
        }
        // read after the pending map: a commit in between reloaded the reader before it
        // cleared the map, so this searcher has whatever the map no longer had
        self.committed_document(order_id)
    }

    /// The committed document of `order_id`, found by looking its id term up in each segment.
    ///
    /// Not a [`TermSetQuery`] as in [`View::committed_documents`]: that builds an FST of its
    /// terms for every query, and for one id that cost a GET by id 90% of its CPU
    /// (docs/benchmarks.md).
    fn committed_document(&self, order_id: Uuid) -> Result<Option<OrderHistory>, IndexError> {
        self.committed_json(order_id)?.map(|json| json.decode()).transpose()
    }

    /// [`View::committed_document`] as the JSON it was stored as.
    fn committed_json(&self, order_id: Uuid) -> Result<Option<DocumentJson>, IndexError> {
        let searcher = self.reader.searcher();
        let Some(address) = self.committed_address(&searcher, order_id)? else { return Ok(None) };
        Ok(Some(search::stored_json(&searcher, &self.fields, address)?))
    }

    /// Where the live committed document of `order_id` is in `searcher`'s segments.
    fn committed_address(&self, searcher: &Searcher, order_id: Uuid) -> Result<Option<DocAddress>, IndexError> {
        let term = self.order_id_term(order_id);
        let mut found = None;
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let inverted_index = segment.inverted_index(self.fields.order_id).context("cannot open the id index")?;
            let postings =
                inverted_index.read_postings(&term, IndexRecordOption::Basic).context("cannot look an id up")?;
            let Some(mut postings) = postings else { continue };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if !segment.is_deleted(doc) {
                    // a store deletes the id's earlier copies before it adds the new one
                    debug_assert!(found.is_none(), "order {order_id} has one live document");
                    found = Some(DocAddress::new(segment_ord as SegmentOrdinal, doc));
                }
                doc = postings.advance();
            }
        }
        Ok(found)
    }

    /// [`View::get`] as JSON: a committed document as it was stored, one stored since the last
    /// commit encoded.
    fn get_json(&self, order_id: Uuid) -> Result<Option<DocumentJson>, IndexError> {
        let stored_since_commit = lock(&self.pending).get(&order_id).cloned();
        if let Some(stored_since_commit) = stored_since_commit {
            return stored_since_commit.as_ref().map(DocumentJson::of).transpose();
        }
        // read after the pending map, for the reason `View::get` gives
        self.committed_json(order_id)
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchResults, IndexError> {
        search::search(&self.reader.searcher(), &self.fields, &self.words_analyzer, query)
    }
}

impl Drop for View {
    fn drop(&mut self) {
        if !self.remove_when_dropped.load(Ordering::Acquire) {
            return;
        }
        let writer = self.writer.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let directory = self.directory.clone();
        // off the async runtime: waiting for merges and deleting files can take a while
        std::thread::spawn(move || {
            if let Some(writer) = writer
                && let Err(error) = writer.wait_merging_threads()
            {
                tracing::warn!(%error, "cannot finish merges of a dropped view");
            }
            if let Err(error) = std::fs::remove_dir_all(&directory) {
                tracing::warn!(%error, directory = %directory.display(), "cannot remove a dropped view");
            }
        });
    }
}

#[async_trait]
impl HistoryIndex for TantivyIndex {
    fn backend(&self) -> &'static str {
        "tantivy"
    }

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Versioned>, IndexError> {
        let ids = ids.to_vec();
        self.blocking(move |view| view.load(&ids)).await
    }

    async fn store(&self, documents: Vec<Versioned>) -> Result<StoreOutcome, IndexError> {
        self.blocking(move |view| view.store(documents)).await
    }

    async fn delete(&self, ids: &[Uuid]) -> Result<(), IndexError> {
        let ids = ids.to_vec();
        self.blocking(move |view| view.delete(&ids)).await
    }

    async fn commit(&self, checkpoint: &Checkpoint) -> Result<(), IndexError> {
        let checkpoint = checkpoint.clone();
        self.blocking(move |view| view.commit(&checkpoint)).await
    }

    async fn checkpoint(&self) -> Result<Option<Checkpoint>, IndexError> {
        Ok(Some(lock(&self.view.committed_checkpoint).clone()))
    }

    /// Real-time, as Elasticsearch's GET: a document stored since the last commit is returned
    /// before that commit makes it searchable.
    async fn get(&self, order_id: Uuid) -> Result<Option<OrderHistory>, IndexError> {
        self.blocking(move |view| view.get(order_id)).await
    }

    /// On the caller's thread, not the blocking pool: a term lookup per segment and one block
    /// of the doc store take microseconds, fewer than the hand-off to the pool and back, which
    /// was a quarter of a GET's CPU (docs/benchmarks.md). The files are memory-mapped, so a
    /// read the page cache misses waits for the disk here: one random read.
    async fn get_json(&self, order_id: Uuid) -> Result<Option<DocumentJson>, IndexError> {
        self.view.get_json(order_id)
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, IndexError> {
        let query = query.clone();
        self.blocking(move |view| view.search(&query)).await
    }

    async fn count(&self) -> Result<u64, IndexError> {
        Ok(self.view.reader.searcher().num_docs())
    }

    /// An embedded index is there as long as the process is.
    async fn ping(&self) -> Result<(), IndexError> {
        Ok(())
    }
}
