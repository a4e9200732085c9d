//! The order view (tantivy) as a snapshottable read model.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Captured, SnapshotError, SnapshottableReadModel};
use crate::index::{Checkpoint, HistoryIndex, ViewCatalog};
use crate::projection::LiveView;

pub const ORDER_VIEW: &str = "order-view";

/// The order view behind a [`ViewCatalog`]: captures the live view's last commit and restores
/// a snapshot as a new view generation beside it, for the catalog to promote.
#[derive(Clone)]
pub struct OrderViewSnapshots {
    catalog: Arc<dyn ViewCatalog>,
    /// The view projection writes, when there is one: what the schedule watches.
    live: Option<LiveView>,
}

impl OrderViewSnapshots {
    pub fn new(catalog: Arc<dyn ViewCatalog>) -> Self {
        OrderViewSnapshots { catalog, live: None }
    }

    /// The same, watching the live view's checkpoint for the snapshot schedule.
    pub fn following(catalog: Arc<dyn ViewCatalog>, live: LiveView) -> Self {
        OrderViewSnapshots { catalog, live: Some(live) }
    }
}

#[async_trait]
impl SnapshottableReadModel for OrderViewSnapshots {
    type Restored = Arc<dyn HistoryIndex>;

    fn read_model(&self) -> &'static str {
        ORDER_VIEW
    }

    fn schema_fingerprint(&self) -> Result<String, SnapshotError> {
        self.catalog.schema_fingerprint().ok_or_else(|| unsupported(self.catalog.as_ref()))
    }

    async fn covered(&self) -> Result<Option<Checkpoint>, SnapshotError> {
        let Some(live) = &self.live else { return Ok(None) };
        Ok(live.index().checkpoint().await.map_err(anyhow::Error::new)?)
    }

    async fn capture(&self, name: &str) -> Result<Captured, SnapshotError> {
        // `SnapshotStore::take` asked for the schema fingerprint first: a backend without
        // snapshots was refused there
        let captured = self.catalog.capture_live(name).await.map_err(anyhow::Error::new)?;
        Ok(Captured { files: captured.files, checkpoint: captured.checkpoint, documents: captured.documents })
    }

    async fn restore_target(&self, target: &str) -> Result<PathBuf, SnapshotError> {
        Ok(self.catalog.restore_target(target).await.map_err(anyhow::Error::new)?)
    }

    async fn open_restored(&self, target: &str) -> Result<Self::Restored, SnapshotError> {
        Ok(self.catalog.open_restored(target).await.map_err(anyhow::Error::new)?)
    }

    async fn discard_restored(&self, target: &str) {
        if let Err(error) = self.catalog.discard(target).await {
            tracing::warn!(%error, generation = target, "cannot discard a restored view");
        }
    }
}

fn unsupported(catalog: &dyn ViewCatalog) -> SnapshotError {
    SnapshotError::Unsupported(format!(
        "the {} backend takes no snapshots here; see docs/snapshots.md for its own snapshot api",
        catalog.backend()
    ))
}
