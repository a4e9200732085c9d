//! The live view: the index that serves reads now, swappable by a rebuild, and a signal that
//! tells waiting readers its documents changed.

use std::sync::{Arc, RwLock};

use tokio::sync::{Mutex, MutexGuard, watch};

use crate::index::HistoryIndex;

#[derive(Clone)]
pub struct LiveView {
    current: Arc<RwLock<Arc<dyn HistoryIndex>>>,
    changes: watch::Sender<u64>,
    /// `false` from just before projection stores a batch until the commit that makes it
    /// searchable, so a reader that saw a document by id can wait for search to show it too.
    searchable: watch::Sender<bool>,
    /// Held by projection for each batch, and by a rebuild while it swaps views, so a batch is
    /// never half in the old view and half in the new one.
    writes: Arc<Mutex<()>>,
}

impl LiveView {
    pub fn new(index: Arc<dyn HistoryIndex>) -> Self {
        LiveView {
            current: Arc::new(RwLock::new(index)),
            changes: watch::channel(0).0,
            searchable: watch::channel(true).0,
            writes: Arc::default(),
        }
    }

    /// The index to read from or write to now.
    pub fn index(&self) -> Arc<dyn HistoryIndex> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn replace(&self, index: Arc<dyn HistoryIndex>) {
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = index;
        self.changed();
    }

    /// Tells waiting readers that documents changed: stored (readable by id at once) or
    /// committed (searchable).
    pub fn changed(&self) {
        self.changes.send_modify(|count| *count += 1);
    }

    /// Projection is about to store documents that search will not show until its next commit.
    pub fn storing(&self) {
        self.searchable.send_replace(false);
    }

    /// Everything stored so far is searchable.
    pub fn all_searchable(&self) {
        self.searchable.send_replace(true);
        self.changed();
    }

    /// Waits until everything stored before this call is searchable.
    pub async fn wait_until_searchable(&self) {
        let mut searchable = self.searchable.subscribe();
        // the sender lives as long as this view, so the wait ends only when the value does
        let _ = searchable.wait_for(|searchable| *searchable).await;
    }

    /// Changes whenever a document was stored or new data became searchable.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub async fn lock_writes(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().await
    }
}
