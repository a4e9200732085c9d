//! Rebuilding the statistics: from offset 0 into an emptied store, or from the newest valid
//! snapshot plus the tail. The store is rebuilt in place, so it runs only while no statistics
//! projection writes to it (`order-history rebuild`, with the server stopped).

use std::time::{Duration, Instant};

use kafka_config::KafkaArgs;
use tokio_util::sync::CancellationToken;

use super::{StatsSetup, catch_up};
use crate::rebuild::{RebuildFrom, new_generation, watermarks};
use crate::snapshot::{SnapshotStore, SnapshottableReadModel, StatisticsSnapshots};

/// What a statistics rebuild did.
#[derive(Debug)]
pub struct StatisticsRebuilt {
    /// The snapshot loaded first; `None` when the store started empty.
    pub restored_snapshot: Option<String>,
    /// Snapshots refused on the way, each with why.
    pub refused_snapshots: Vec<String>,
    /// How long loading the snapshot took, within `elapsed`.
    pub restore_elapsed: Duration,
    /// Records read after the snapshot (or from offset 0).
    pub records_read: u64,
    pub elapsed: Duration,
}

impl StatisticsRebuilt {
    pub fn records_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { self.records_read as f64 / seconds } else { 0.0 }
    }
}

/// Loads the newest valid snapshot (with [`RebuildFrom::LatestSnapshot`]) or empties the store,
/// then reads the topics up to their current ends.
pub async fn rebuild(
    setup: StatsSetup,
    model: &StatisticsSnapshots,
    snapshots: &SnapshotStore,
    kafka: &KafkaArgs,
    from: RebuildFrom,
    shutdown: &CancellationToken,
) -> anyhow::Result<StatisticsRebuilt> {
    let started = Instant::now();
    let mut rebuilt = StatisticsRebuilt {
        restored_snapshot: None,
        refused_snapshots: Vec::new(),
        restore_elapsed: Duration::ZERO,
        records_read: 0,
        elapsed: Duration::ZERO,
    };
    if from == RebuildFrom::LatestSnapshot {
        let (restored, refused) = snapshots.restore_latest(model, &new_generation()).await?;
        rebuilt.refused_snapshots = refused.iter().map(ToString::to_string).collect();
        rebuilt.restored_snapshot = restored.map(|restored| restored.manifest.name);
        rebuilt.restore_elapsed = started.elapsed();
    }
    if rebuilt.restored_snapshot.is_none() {
        if from == RebuildFrom::LatestSnapshot {
            tracing::warn!(
                read_model = model.read_model(),
                refused = rebuilt.refused_snapshots.len(),
                snapshot_dir = %snapshots.root().display(),
                "no valid statistics snapshot; rebuilding from offset 0"
            );
        }
        model.store().clear().await?;
    }
    let (_, ends) = watermarks(kafka).await?;
    rebuilt.records_read = catch_up(setup, model.store(), &ends, shutdown).await?;
    rebuilt.elapsed = started.elapsed();
    tracing::info!(
        restored_snapshot = rebuilt.restored_snapshot,
        records_read = rebuilt.records_read,
        elapsed_ms = rebuilt.elapsed.as_millis(),
        "statistics rebuilt"
    );
    Ok(rebuilt)
}
