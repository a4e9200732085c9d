//! Snapshots' internal events, each behind one metric.

use std::time::Duration;

use super::SnapshotRefused;

/// A snapshot was written: how long it took (capture and copy) and its size.
pub fn snapshot_taken(duration: Duration, bytes: u64) {
    metrics::counter!("order_history_snapshots_total", "outcome" => "taken").increment(1);
    metrics::histogram!("order_history_snapshot_seconds").record(duration.as_secs_f64());
    metrics::gauge!("order_history_snapshot_bytes").set(bytes as f64);
}

pub fn snapshot_failed() {
    metrics::counter!("order_history_snapshots_total", "outcome" => "failed").increment(1);
}

/// A snapshot was refused at restore; `reason` is one of a fixed set of labels.
pub fn snapshot_refused(refusal: &SnapshotRefused) {
    let reason = match refusal {
        SnapshotRefused::ManifestMissing { .. } | SnapshotRefused::ManifestUnreadable { .. } => "manifest",
        SnapshotRefused::FormatMismatch { .. }
        | SnapshotRefused::ReadModelMismatch { .. }
        | SnapshotRefused::SchemaMismatch { .. } => "schema",
        SnapshotRefused::FileMissing { .. } | SnapshotRefused::UnsafePath { .. } => "file",
        SnapshotRefused::SizeMismatch { .. } | SnapshotRefused::ChecksumMismatch { .. } => "checksum",
        SnapshotRefused::Unopenable { .. } => "unopenable",
    };
    metrics::counter!("order_history_snapshots_refused_total", "reason" => reason).increment(1);
}

pub fn snapshot_restored() {
    metrics::counter!("order_history_snapshots_restored_total").increment(1);
}
