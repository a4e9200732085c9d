//! The live view: the index that serves reads now, swappable by a rebuild, and a signal that
//! tells waiting readers a commit happened.

use std::sync::{Arc, RwLock};

use tokio::sync::{Mutex, MutexGuard, watch};

use crate::index::HistoryIndex;

#[derive(Clone)]
pub struct LiveView {
    current: Arc<RwLock<Arc<dyn HistoryIndex>>>,
    commits: watch::Sender<u64>,
    /// Held by projection for each batch, and by a rebuild while it swaps views, so a batch is
    /// never half in the old view and half in the new one.
    writes: Arc<Mutex<()>>,
}

impl LiveView {
    pub fn new(index: Arc<dyn HistoryIndex>) -> Self {
        LiveView { current: Arc::new(RwLock::new(index)), commits: watch::channel(0).0, writes: Arc::default() }
    }

    /// The index to read from or write to now.
    pub fn index(&self) -> Arc<dyn HistoryIndex> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn replace(&self, index: Arc<dyn HistoryIndex>) {
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = index;
        self.committed();
    }

    pub fn committed(&self) {
        self.commits.send_modify(|count| *count += 1);
    }

    /// Changes whenever new data became searchable.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }

    pub async fn lock_writes(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().await
    }
}
