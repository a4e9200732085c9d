//! The statistics store (SQLite or PostgreSQL) as a snapshottable read model: a copy of its
//! tables, the checkpoint among them, as one SQLite file read from one committed state
//! (`stats::dump`). Restoring it into a SQLite store puts the file in the store's place.

use std::path::{Path, PathBuf};

use anyhow::Context;
use async_trait::async_trait;

use super::{Captured, SnapshotError, SnapshottableReadModel};
use crate::index::Checkpoint;
use crate::stats::{self, Exported, StatsStore};

pub const STATISTICS: &str = "statistics";

/// The statistics behind a [`StatsStore`]. A restore loads the copy into that store, replacing
/// what it holds, so it is only used while the statistics projection is not running: at
/// bootstrap and in `order-history rebuild`.
#[derive(Clone)]
pub struct StatisticsSnapshots {
    store: StatsStore,
    /// Where captured copies are written before the snapshot store takes them.
    staging_dir: PathBuf,
    /// Where restored files wait to be loaded.
    restore_dir: PathBuf,
}

impl StatisticsSnapshots {
    /// Stages and restores under `data_dir`.
    pub fn new(store: StatsStore, data_dir: &Path) -> Self {
        StatisticsSnapshots {
            store,
            staging_dir: data_dir.join("snapshot-staging"),
            restore_dir: data_dir.join("snapshot-restore"),
        }
    }

    pub fn store(&self) -> &StatsStore {
        &self.store
    }

    fn restore_path(&self, target: &str) -> PathBuf {
        self.restore_dir.join(format!("{STATISTICS}-{target}"))
    }
}

#[async_trait]
impl SnapshottableReadModel for StatisticsSnapshots {
    type Restored = Exported;

    fn read_model(&self) -> &'static str {
        STATISTICS
    }

    fn schema_fingerprint(&self) -> Result<String, SnapshotError> {
        Ok(stats::schema_fingerprint())
    }

    async fn covered(&self) -> Result<Option<Checkpoint>, SnapshotError> {
        let checkpoint = self.store.checkpoint().await?;
        Ok((!checkpoint.offsets.is_empty()).then_some(checkpoint))
    }

    async fn capture(&self, name: &str) -> Result<Captured, SnapshotError> {
        let files = self.staging_dir.join(format!("{STATISTICS}-{name}"));
        tokio::fs::create_dir_all(&files).await.with_context(|| format!("cannot create {}", files.display()))?;
        let exported = match self.store.export(&files).await {
            Ok(exported) => exported,
            Err(error) => {
                let _ = tokio::fs::remove_dir_all(&files).await;
                return Err(error.into());
            }
        };
        Ok(Captured { files, checkpoint: exported.checkpoint, documents: exported.orders })
    }

    async fn restore_target(&self, target: &str) -> Result<PathBuf, SnapshotError> {
        let path = self.restore_path(target);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            tokio::fs::remove_dir_all(&path).await.with_context(|| format!("cannot empty {}", path.display()))?;
        }
        tokio::fs::create_dir_all(&path).await.with_context(|| format!("cannot create {}", path.display()))?;
        Ok(path)
    }

    async fn open_restored(&self, target: &str) -> Result<Self::Restored, SnapshotError> {
        let path = self.restore_path(target);
        let loaded = self.store.import(&path).await;
        self.discard_restored(target).await;
        Ok(loaded?)
    }

    async fn discard_restored(&self, target: &str) {
        let path = self.restore_path(target);
        if let Err(error) = tokio::fs::remove_dir_all(&path).await
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%error, path = %path.display(), "cannot remove restored statistics files");
        }
    }
}
