//! Snapshots of the read side: a consistent copy of a read model's last commit with the offsets
//! it covers, so a rebuild or a new replica replays only the tail of the topics.
//!
//! A read model takes part through [`SnapshottableReadModel`]: it captures its committed state
//! as files in a directory of its own (holding writes only while it picks the commit), and it
//! opens such files again as a fresh copy. The [`SnapshotStore`] does the rest, the same for
//! every read model:
//!
//! ```text
//! <snapshot dir>/<read model>/<snapshot name>/manifest.json
//!                                             files/…
//! ```
//!
//! The manifest names the schema fingerprint, the checkpoint, the document count and every
//! file with its size and SHA-256. A snapshot is written under `<name>.partial` and renamed
//! when complete, so a crash never leaves a snapshot that looks whole. Restoring checks the
//! manifest, the schema and every file's checksum, and refuses the snapshot naming why
//! ([`SnapshotRefused`]).

mod orders;
pub mod remote;
pub mod schedule;
mod statistics;
mod store;
pub mod telemetry;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::index::Checkpoint;

pub use orders::{ORDER_VIEW, OrderViewSnapshots};
pub use statistics::{STATISTICS, StatisticsSnapshots};
pub use store::{Restored, SnapshotStore};

/// The manifest layout this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";
pub const FILES_DIR: &str = "files";

/// A read model whose committed state can be copied with the offsets it covers and restored.
#[async_trait]
pub trait SnapshottableReadModel: Send + Sync {
    /// What a restore yields: the read model's handle on the restored copy.
    type Restored: Send;

    /// Names the read model in manifests and in the snapshot dir: `order-view`, `statistics`.
    fn read_model(&self) -> &'static str;

    /// A fingerprint of the on-disk schema this build writes and reads; a snapshot with
    /// another is refused.
    fn schema_fingerprint(&self) -> Result<String, SnapshotError>;

    /// The positions the live read model covers now, for the snapshot schedule; `None` when
    /// it has none yet (or no live copy to look at).
    async fn covered(&self) -> Result<Option<Checkpoint>, SnapshotError>;

    /// Places the files of the last commit in a directory of their own, named after `name`,
    /// holding writes only while that commit is picked. The store removes the directory once
    /// it has copied the files.
    async fn capture(&self, name: &str) -> Result<Captured, SnapshotError>;

    /// An empty directory for a restored copy named `target`.
    async fn restore_target(&self, target: &str) -> Result<PathBuf, SnapshotError>;

    /// Opens the copy whose files were restored (and verified) into its restore target.
    async fn open_restored(&self, target: &str) -> Result<Self::Restored, SnapshotError>;

    /// Removes a restored copy that is not used after all.
    async fn discard_restored(&self, target: &str);
}

/// A read model's last commit as files, and what they cover.
#[derive(Clone, Debug)]
pub struct Captured {
    pub files: PathBuf,
    pub checkpoint: Checkpoint,
    pub documents: u64,
}

/// What a snapshot holds, written next to its files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Manifest {
    pub format: u32,
    /// The read model: `order-view` or `statistics`.
    pub read_model: String,
    pub name: String,
    pub schema_fingerprint: String,
    /// The next offset to read per topic partition: where a restore resumes.
    #[schema(value_type = Object)]
    pub checkpoint: Checkpoint,
    pub documents: u64,
    pub created_at: DateTime<Utc>,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|file| file.bytes).sum()
    }

    /// Records up to the checkpoint, over all partitions: how far into the topics it is.
    pub fn records_covered(&self) -> i64 {
        self.checkpoint.records()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManifestFile {
    /// Relative to the snapshot's `files/`.
    pub path: String,
    pub bytes: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// Why a snapshot cannot be restored. Each message names the snapshot and the reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SnapshotRefused {
    #[error("snapshot {snapshot}: manifest.json is missing")]
    ManifestMissing { snapshot: String },
    #[error("snapshot {snapshot}: manifest.json is unreadable (truncated or not a manifest): {reason}")]
    ManifestUnreadable { snapshot: String, reason: String },
    #[error("snapshot {snapshot}: manifest format {found} is not {expected}, the one this build reads")]
    FormatMismatch { snapshot: String, expected: u32, found: u32 },
    #[error("snapshot {snapshot}: it holds the read model {found}, not {expected}")]
    ReadModelMismatch { snapshot: String, expected: String, found: String },
    #[error("snapshot {snapshot}: schema {found} does not match this build's schema {expected}")]
    SchemaMismatch { snapshot: String, expected: String, found: String },
    #[error("snapshot {snapshot}: file {file} is missing")]
    FileMissing { snapshot: String, file: String },
    #[error("snapshot {snapshot}: file {file} has {found} bytes, the manifest says {expected}")]
    SizeMismatch { snapshot: String, file: String, expected: u64, found: u64 },
    #[error("snapshot {snapshot}: file {file} does not match its checksum")]
    ChecksumMismatch { snapshot: String, file: String },
    #[error("snapshot {snapshot}: file {file} is not a plain path inside the snapshot")]
    UnsafePath { snapshot: String, file: String },
    #[error("snapshot {snapshot}: the restored copy cannot be opened: {reason}")]
    Unopenable { snapshot: String, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Refused(#[from] SnapshotRefused),
    /// The backend keeps no files to copy (Elasticsearch; see docs/snapshots.md).
    #[error("{0}")]
    Unsupported(String),
    #[error("a snapshot of {0} is being taken already")]
    Busy(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A new snapshot name: sortable, unique per microsecond (taking one takes far longer).
pub fn new_snapshot_name() -> String {
    format!("s{}", Utc::now().format("%Y%m%d%H%M%S%6f"))
}

/// Whether `path` is a snapshot itself (it has a manifest) rather than a store of them.
pub fn is_snapshot_dir(path: &Path) -> bool {
    path.join(MANIFEST_FILE).is_file()
}
