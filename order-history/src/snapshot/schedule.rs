//! Periodic snapshots: every N events read or every T minutes, whichever comes first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{SnapshotError, SnapshotStore, SnapshottableReadModel};

/// How often the schedule looks at the view's checkpoint. Taking a snapshot is a few
/// milliseconds of held writes and a copy off the runtime, so a few seconds late is fine.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// When to take a snapshot; `None` turns a trigger off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotSchedule {
    /// Once the view's checkpoint is this many records past the last snapshot's.
    pub every_events: Option<u64>,
    /// Once this long has passed since the last snapshot, if the view moved meanwhile.
    pub every: Option<Duration>,
}

impl SnapshotSchedule {
    pub fn is_off(&self) -> bool {
        self.every_events.is_none() && self.every.is_none()
    }

    /// Whether a snapshot is due, `records_since` records and `elapsed` after the last one.
    pub fn is_due(&self, records_since: u64, elapsed: Duration) -> bool {
        if records_since == 0 {
            return false;
        }
        let enough_events = self.every_events.is_some_and(|every_events| records_since >= every_events);
        let long_enough = self.every.is_some_and(|every| elapsed >= every);
        enough_events || long_enough
    }
}

/// Takes snapshots of `model` on `schedule` until `shutdown`, watching what it covers. Failures are logged and tried
/// again at the next trigger: a snapshot is an optimisation, never a reason to stop serving.
pub async fn run<M: SnapshottableReadModel>(
    store: Arc<SnapshotStore>,
    model: M,
    schedule: SnapshotSchedule,
    shutdown: CancellationToken,
) {
    if schedule.is_off() {
        return;
    }
    let mut last_records = match store.list(model.read_model()).await {
        Ok(listed) => listed
            .iter()
            .find_map(|snapshot| snapshot.manifest.as_ref().ok())
            .map(|manifest| manifest.records_covered())
            .unwrap_or_default(),
        Err(_) => 0,
    };
    let mut last_at = Instant::now();
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let records = match model.covered().await {
            Ok(Some(checkpoint)) => checkpoint.records(),
            // nothing read yet (or a backend without a checkpoint of its own)
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, read_model = model.read_model(), "cannot read the checkpoint for the snapshot schedule");
                continue;
            }
        };
        let records_since = u64::try_from(records - last_records).unwrap_or_default();
        if !schedule.is_due(records_since, last_at.elapsed()) {
            continue;
        }
        match store.take(&model).await {
            Ok(manifest) => {
                last_records = manifest.records_covered();
                last_at = Instant::now();
            }
            // `POST /admin/snapshot` is taking one: it counts as this one
            Err(SnapshotError::Busy(_)) => last_at = Instant::now(),
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), read_model = model.read_model(), "periodic snapshot failed");
                last_at = Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_due_after_enough_events_or_enough_time_but_never_without_news() {
        let schedule = SnapshotSchedule { every_events: Some(100), every: Some(Duration::from_secs(60)) };
        assert!(!schedule.is_due(0, Duration::from_secs(3600)), "nothing new: no snapshot");
        assert!(!schedule.is_due(99, Duration::from_secs(59)));
        assert!(schedule.is_due(100, Duration::ZERO));
        assert!(schedule.is_due(1, Duration::from_secs(60)));
        let events_only = SnapshotSchedule { every_events: Some(100), every: None };
        assert!(!events_only.is_due(99, Duration::from_secs(86_400)));
        let off = SnapshotSchedule { every_events: None, every: None };
        assert!(off.is_off());
        assert!(!off.is_due(u64::MAX, Duration::MAX));
    }
}
