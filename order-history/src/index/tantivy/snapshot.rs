//! A consistent copy of a view's last commit, for snapshots (`crate::snapshot`).
//!
//! tantivy never changes a segment file once written and replaces `meta.json` atomically, and
//! `meta.json` names the segments of the last commit together with its payload, the checkpoint.
//! So the files `meta.json` names, read under the writer lock (no commit can slip in), are the
//! committed state and the offsets it covers. They are hard-linked, not copied, while the lock
//! is held: that takes milliseconds whatever the index size, and the links keep the files even
//! when a merge that ends meanwhile deletes them from the view. The slow copy happens after.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use ::tantivy::index::SegmentComponent;
use anyhow::{Context, anyhow};
use sha2::{Digest, Sha256};

use super::{View, checkpoint_of, lock, schema};
use crate::index::{Checkpoint, IndexError};

const META_FILE: &str = "meta.json";
/// A merge that ends between reading `meta.json` and linking its files removes some of them;
/// the capture then starts over with the new `meta.json`. Merges are far rarer than this.
const CAPTURE_ATTEMPTS: usize = 5;

/// The last commit of a view, as files in a directory of their own.
#[derive(Clone, Debug)]
pub struct CapturedCommit {
    pub checkpoint: Checkpoint,
    pub documents: u64,
}

/// A fingerprint of the index schema this build writes and reads: a snapshot of a view with
/// another schema cannot be opened by this build.
pub fn schema_fingerprint() -> String {
    let (schema, _) = schema::build_schema();
    // the schema's JSON is what tantivy itself keeps in meta.json and compares on open
    let json = serde_json::to_vec(&schema).unwrap_or_default();
    // the first 12 bytes of the digest are plenty to tell schemas apart
    format!("tantivy-{}", &format!("{:x}", Sha256::digest(&json))[..24])
}

impl View {
    /// Links the files of the last commit into `staging` (created, must not exist) and writes
    /// the `meta.json` naming them. Blocks.
    pub(super) fn capture_committed(&self, staging: &Path) -> Result<CapturedCommit, IndexError> {
        for attempt in 1..=CAPTURE_ATTEMPTS {
            if staging.exists() {
                fs::remove_dir_all(staging).with_context(|| format!("cannot clear {}", staging.display()))?;
            }
            fs::create_dir_all(staging).with_context(|| format!("cannot create {}", staging.display()))?;
            match self.link_committed(staging)? {
                Some(captured) => return Ok(captured),
                None => tracing::debug!(attempt, "a merge removed files while they were linked; capturing again"),
            }
        }
        Err(anyhow!("cannot capture the committed view: merges kept replacing its files").into())
    }

    /// `None` if a file of the commit was gone before it could be linked.
    fn link_committed(&self, staging: &Path) -> Result<Option<CapturedCommit>, IndexError> {
        // held while the commit is picked and its files linked, so no commit replaces it meanwhile
        let writer_guard = lock(&self.writer);
        let writer = writer_guard.as_ref().ok_or_else(|| anyhow!("the index is closed"))?;
        let metas = writer.index().load_metas().context("cannot read the committed index metadata")?;
        let checkpoint = checkpoint_of(&metas)?;
        let mut wanted: HashSet<String> = HashSet::new();
        let mut segment_prefixes = Vec::new();
        for segment in &metas.segments {
            segment_prefixes.push(format!("{}.", segment.id().uuid_string()));
            if segment.has_deletes() {
                wanted.insert(segment.relative_path(SegmentComponent::Delete).to_string_lossy().into_owned());
            }
        }
        let entries = fs::read_dir(&self.directory)
            .with_context(|| format!("cannot list the view directory {}", self.directory.display()))?;
        for entry in entries {
            let name = entry.context("cannot list the view directory")?.file_name().to_string_lossy().into_owned();
            if !segment_prefixes.iter().any(|prefix| name.starts_with(prefix.as_str())) {
                continue;
            }
            // a segment keeps one delete file per commit that deleted from it; only the one
            // meta.json names is current. A temporary store is never part of a commit.
            if name.ends_with(".del") || name.ends_with(".temp") {
                continue;
            }
            wanted.insert(name);
        }
        for name in &wanted {
            match fs::hard_link(self.directory.join(name), staging.join(name)) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(_) => {
                    // another file system (or no hard links): copy instead, still under the lock
                    fs::copy(self.directory.join(name), staging.join(name))
                        .with_context(|| format!("cannot copy {name} of the view"))?;
                }
            }
        }
        let mut meta_json = serde_json::to_vec_pretty(&metas).context("cannot write the index metadata")?;
        meta_json.push(b'\n');
        fs::write(staging.join(META_FILE), meta_json).context("cannot write the index metadata")?;
        let documents = metas.segments.iter().map(|segment| u64::from(segment.num_docs())).sum();
        Ok(Some(CapturedCommit { checkpoint, documents }))
    }
}
