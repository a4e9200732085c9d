//! The snapshot directory: writing a snapshot, listing, pruning, and restoring the newest one
//! that passes every check.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{
    Captured, FILES_DIR, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, ManifestFile, SnapshotError, SnapshotRefused,
    SnapshottableReadModel, is_snapshot_dir, new_snapshot_name, telemetry,
};

const PARTIAL_SUFFIX: &str = ".partial";
const COPY_BUFFER_BYTES: usize = 1024 * 1024;

/// The snapshots under one directory, kept `keep` deep per read model.
pub struct SnapshotStore {
    root: PathBuf,
    keep: usize,
    /// The read models a snapshot is being taken of: one at a time per read model, so the
    /// periodic one and `POST /admin/snapshot` never overlap.
    taking: std::sync::Mutex<BTreeSet<&'static str>>,
}

/// Marks a read model's snapshot as under way until dropped.
struct Taking<'a> {
    taking: &'a std::sync::Mutex<BTreeSet<&'static str>>,
    read_model: &'static str,
}

impl<'a> Taking<'a> {
    fn start(taking: &'a std::sync::Mutex<BTreeSet<&'static str>>, read_model: &'static str) -> Option<Self> {
        let inserted = taking.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(read_model);
        inserted.then_some(Taking { taking, read_model })
    }
}

impl Drop for Taking<'_> {
    fn drop(&mut self) {
        self.taking.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(self.read_model);
    }
}

/// A snapshot restored into a fresh copy of its read model.
pub struct Restored<R> {
    pub manifest: Manifest,
    pub copy: R,
}

/// One snapshot as listed: its manifest, or why it cannot be read.
#[derive(Debug)]
pub struct ListedSnapshot {
    pub name: String,
    pub manifest: Result<Manifest, SnapshotRefused>,
}

impl SnapshotStore {
    /// The store under `root`, which may also be one snapshot's own directory (with a
    /// manifest) or a read model's directory of snapshots: what `--bootstrap-from` accepts.
    pub fn new(root: &Path, keep: usize) -> SnapshotStore {
        SnapshotStore { root: root.to_path_buf(), keep: keep.max(1), taking: std::sync::Mutex::default() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the snapshot `name` of `read_model` is kept, in a store laid out as
    /// `--snapshot-dir` is (not one given as a single snapshot's directory).
    pub fn snapshot_dir_of(&self, read_model: &str, name: &str) -> PathBuf {
        self.root.join(read_model).join(name)
    }

    /// Captures the read model's last commit and writes it as a new snapshot, then prunes the
    /// oldest beyond `keep`. The read model holds writes only while it picks the commit; the
    /// copy and the checksums run on the blocking pool.
    pub async fn take<M: SnapshottableReadModel>(&self, model: &M) -> Result<Manifest, SnapshotError> {
        let Some(_taking) = Taking::start(&self.taking, model.read_model()) else {
            return Err(SnapshotError::Busy(model.read_model()));
        };
        let schema_fingerprint = model.schema_fingerprint()?;
        let name = new_snapshot_name();
        let started = std::time::Instant::now();
        let captured = model.capture(&name).await.inspect_err(|_| telemetry::snapshot_failed())?;
        let models_dir = self.root.join(model.read_model());
        let read_model = model.read_model().to_string();
        let keep = self.keep;
        let manifest = tokio::task::spawn_blocking(move || {
            let written = write_snapshot(&models_dir, &read_model, &name, &schema_fingerprint, &captured);
            if let Err(error) = fs::remove_dir_all(&captured.files) {
                tracing::warn!(%error, staging = %captured.files.display(), "cannot remove the snapshot staging dir");
            }
            let manifest = written?;
            prune(&models_dir, keep, &manifest.name);
            Ok::<_, SnapshotError>(manifest)
        })
        .await
        .map_err(|error| anyhow!("the snapshot task failed: {error}"))?
        .inspect_err(|_| telemetry::snapshot_failed())?;
        telemetry::snapshot_taken(started.elapsed(), manifest.bytes());
        tracing::info!(
            read_model = model.read_model(),
            snapshot = manifest.name,
            documents = manifest.documents,
            bytes = manifest.bytes(),
            records_covered = manifest.records_covered(),
            elapsed_ms = started.elapsed().as_millis(),
            "snapshot taken"
        );
        Ok(manifest)
    }

    /// Every snapshot of `read_model`, newest first, each with its manifest or why it is
    /// unreadable. Checks no checksums: that reads every file.
    pub async fn list(&self, read_model: &str) -> Result<Vec<ListedSnapshot>, SnapshotError> {
        let candidates = self.candidates(read_model).await?;
        tokio::task::spawn_blocking(move || {
            let mut listed = Vec::new();
            for directory in candidates {
                let name = snapshot_name(&directory);
                listed.push(ListedSnapshot { manifest: read_manifest(&directory), name });
            }
            Ok(listed)
        })
        .await
        .map_err(|error| anyhow!("the snapshot listing task failed: {error}"))?
    }

    /// Restores the newest snapshot that passes every check into a fresh copy named `target`.
    /// Each snapshot refused on the way is logged and returned with why; `None` when none
    /// passed, so the caller starts from offset 0.
    pub async fn restore_latest<M: SnapshottableReadModel>(
        &self,
        model: &M,
        target: &str,
    ) -> Result<(Option<Restored<M::Restored>>, Vec<SnapshotRefused>), SnapshotError> {
        let candidates = self.candidates(model.read_model()).await?;
        let mut refused = Vec::new();
        for directory in candidates {
            match restore_one(model, &directory, target).await {
                Ok(restored) => {
                    telemetry::snapshot_restored();
                    return Ok((Some(restored), refused));
                }
                Err(SnapshotError::Refused(refusal)) => {
                    telemetry::snapshot_refused(&refusal);
                    tracing::warn!(read_model = model.read_model(), reason = %refusal, "snapshot refused");
                    refused.push(refusal);
                }
                Err(error) => return Err(error),
            }
        }
        Ok((None, refused))
    }

    /// [`candidates_in`] off the async runtime: it reads directories.
    async fn candidates(&self, read_model: &str) -> Result<Vec<PathBuf>, SnapshotError> {
        let root = self.root.clone();
        let read_model = read_model.to_string();
        tokio::task::spawn_blocking(move || candidates_in(&root, &read_model))
            .await
            .map_err(|error| anyhow!("the snapshot listing task failed: {error}"))?
    }
}

/// The snapshot directories `root` holds for `read_model`, newest first. `root` may be the
/// store, the read model's directory in it, or one snapshot.
fn candidates_in(root: &Path, read_model: &str) -> Result<Vec<PathBuf>, SnapshotError> {
    if is_snapshot_dir(root) {
        return Ok(vec![root.to_path_buf()]);
    }
    let models_dir = root.join(read_model);
    let parent = if models_dir.is_dir() { models_dir } else { root.to_path_buf() };
    let entries = match fs::read_dir(&parent) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!("cannot list {}", parent.display())).into());
        }
    };
    let mut snapshots = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", parent.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // an unfinished one is not a snapshot; a stray file is not one either
        if name.ends_with(PARTIAL_SUFFIX) || name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        snapshots.push(entry.path());
    }
    // names sort by the time they were taken
    snapshots.sort();
    snapshots.reverse();
    Ok(snapshots)
}

fn snapshot_name(directory: &Path) -> String {
    directory.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Copies the captured files with their checksums into `<models_dir>/<name>.partial`, writes
/// the manifest and renames the directory to `<name>`. Blocks.
fn write_snapshot(
    models_dir: &Path,
    read_model: &str,
    name: &str,
    schema_fingerprint: &str,
    captured: &Captured,
) -> Result<Manifest, SnapshotError> {
    let partial = models_dir.join(format!("{name}{PARTIAL_SUFFIX}"));
    let files_dir = partial.join(FILES_DIR);
    fs::create_dir_all(&files_dir).with_context(|| format!("cannot create {}", files_dir.display()))?;
    let mut names = Vec::new();
    for entry in fs::read_dir(&captured.files).context("cannot list the captured files")? {
        names.push(entry.context("cannot list the captured files")?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let mut files = Vec::with_capacity(names.len());
    for file_name in names {
        let (bytes, sha256) = copy_with_checksum(&captured.files.join(&file_name), &files_dir.join(&file_name))?;
        files.push(ManifestFile { path: file_name, bytes, sha256 });
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        read_model: read_model.to_string(),
        name: name.to_string(),
        schema_fingerprint: schema_fingerprint.to_string(),
        checkpoint: captured.checkpoint.clone(),
        documents: captured.documents,
        created_at: Utc::now(),
        files,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).context("cannot encode the manifest")?;
    let mut manifest_file = File::create(partial.join(MANIFEST_FILE)).context("cannot create the manifest")?;
    manifest_file.write_all(&manifest_json).context("cannot write the manifest")?;
    manifest_file.sync_all().context("cannot flush the manifest")?;
    let complete = models_dir.join(name);
    fs::rename(&partial, &complete).with_context(|| format!("cannot rename {}", partial.display()))?;
    File::open(models_dir)
        .and_then(|directory| directory.sync_all())
        .with_context(|| format!("cannot flush {}", models_dir.display()))?;
    Ok(manifest)
}

/// Removes the oldest complete snapshots beyond `keep`, and unfinished ones other than
/// `current`'s. Failures only cost disk space, so they are logged.
fn prune(models_dir: &Path, keep: usize, current: &str) {
    let complete = match candidates_in(models_dir, "") {
        Ok(complete) => complete,
        Err(error) => {
            tracing::warn!(%error, "cannot list snapshots to prune");
            return;
        }
    };
    for old in complete.iter().skip(keep) {
        match fs::remove_dir_all(old) {
            Ok(()) => tracing::info!(snapshot = snapshot_name(old), "old snapshot pruned"),
            Err(error) => tracing::warn!(%error, snapshot = %old.display(), "cannot prune an old snapshot"),
        }
    }
    let Ok(entries) = fs::read_dir(models_dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(PARTIAL_SUFFIX) && name != format!("{current}{PARTIAL_SUFFIX}") {
            // left by a snapshot that crashed half-way
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Copies `from` to `to`, flushed to disk; its size and SHA-256.
fn copy_with_checksum(from: &Path, to: &Path) -> anyhow::Result<(u64, String)> {
    let mut source = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let mut target = File::create(to).with_context(|| format!("cannot create {}", to.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; COPY_BUFFER_BYTES];
    let mut bytes = 0u64;
    loop {
        let read = source.read(&mut buffer).with_context(|| format!("cannot read {}", from.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        target.write_all(&buffer[..read]).with_context(|| format!("cannot write {}", to.display()))?;
        bytes += read as u64;
    }
    target.sync_all().with_context(|| format!("cannot flush {}", to.display()))?;
    Ok((bytes, format!("{:x}", hasher.finalize())))
}

/// The SHA-256 of `bytes`, as the manifest writes it.
#[cfg(test)]
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The manifest of the snapshot in `directory`, or why it cannot be read.
fn read_manifest(directory: &Path) -> Result<Manifest, SnapshotRefused> {
    let snapshot = snapshot_name(directory);
    let bytes = match fs::read(directory.join(MANIFEST_FILE)) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(SnapshotRefused::ManifestMissing { snapshot });
        }
        Err(error) => return Err(SnapshotRefused::ManifestUnreadable { snapshot, reason: error.to_string() }),
    };
    serde_json::from_slice(&bytes)
        .map_err(|error| SnapshotRefused::ManifestUnreadable { snapshot, reason: error.to_string() })
}

/// Every check that needs no more than the manifest and the file sizes. Blocks.
fn check_snapshot(directory: &Path, read_model: &str, schema_fingerprint: &str) -> Result<Manifest, SnapshotRefused> {
    let manifest = read_manifest(directory)?;
    let snapshot = snapshot_name(directory);
    if manifest.format != MANIFEST_FORMAT {
        return Err(SnapshotRefused::FormatMismatch { snapshot, expected: MANIFEST_FORMAT, found: manifest.format });
    }
    if manifest.read_model != read_model {
        let found = manifest.read_model.clone();
        return Err(SnapshotRefused::ReadModelMismatch { snapshot, expected: read_model.to_string(), found });
    }
    if manifest.schema_fingerprint != schema_fingerprint {
        let found = manifest.schema_fingerprint.clone();
        return Err(SnapshotRefused::SchemaMismatch { snapshot, expected: schema_fingerprint.to_string(), found });
    }
    for file in &manifest.files {
        let plain = !file.path.is_empty()
            && !file.path.starts_with('.')
            && !file.path.contains('/')
            && !file.path.contains('\\');
        if !plain {
            return Err(SnapshotRefused::UnsafePath { snapshot, file: file.path.clone() });
        }
        let found = match fs::metadata(directory.join(FILES_DIR).join(&file.path)) {
            Ok(metadata) => metadata.len(),
            Err(_) => return Err(SnapshotRefused::FileMissing { snapshot, file: file.path.clone() }),
        };
        if found != file.bytes {
            return Err(SnapshotRefused::SizeMismatch {
                snapshot,
                file: file.path.clone(),
                expected: file.bytes,
                found,
            });
        }
    }
    Ok(manifest)
}

/// Copies the snapshot's files into `target`, refusing it at the first checksum mismatch.
/// Blocks.
fn copy_verified(directory: &Path, manifest: &Manifest, target: &Path) -> Result<(), SnapshotError> {
    let snapshot = snapshot_name(directory);
    for file in &manifest.files {
        let from = directory.join(FILES_DIR).join(&file.path);
        let (bytes, sha256) = match copy_with_checksum(&from, &target.join(&file.path)) {
            Ok(copied) => copied,
            Err(_) if !from.is_file() => {
                return Err(SnapshotRefused::FileMissing { snapshot, file: file.path.clone() }.into());
            }
            Err(error) => return Err(error.into()),
        };
        if bytes != file.bytes || sha256 != file.sha256 {
            return Err(SnapshotRefused::ChecksumMismatch { snapshot, file: file.path.clone() }.into());
        }
    }
    File::open(target).and_then(|directory| directory.sync_all()).context("cannot flush the restored copy")?;
    Ok(())
}

async fn restore_one<M: SnapshottableReadModel>(
    model: &M,
    directory: &Path,
    target: &str,
) -> Result<Restored<M::Restored>, SnapshotError> {
    let schema_fingerprint = model.schema_fingerprint()?;
    let read_model = model.read_model().to_string();
    let manifest = {
        let directory = directory.to_path_buf();
        tokio::task::spawn_blocking(move || check_snapshot(&directory, &read_model, &schema_fingerprint))
            .await
            .map_err(|error| anyhow!("the snapshot check failed: {error}"))??
    };
    let target_dir = model.restore_target(target).await?;
    let copied = {
        let directory = directory.to_path_buf();
        let manifest = manifest.clone();
        tokio::task::spawn_blocking(move || copy_verified(&directory, &manifest, &target_dir))
            .await
            .map_err(|error| anyhow!("the snapshot copy failed: {error}"))?
    };
    if let Err(error) = copied {
        model.discard_restored(target).await;
        return Err(error);
    }
    match model.open_restored(target).await {
        Ok(copy) => {
            tracing::info!(
                read_model = model.read_model(),
                snapshot = manifest.name,
                documents = manifest.documents,
                records_covered = manifest.records_covered(),
                "snapshot restored"
            );
            Ok(Restored { manifest, copy })
        }
        Err(error) => {
            model.discard_restored(target).await;
            let reason = format!("{error:#}");
            Err(SnapshotRefused::Unopenable { snapshot: snapshot_name(directory), reason }.into())
        }
    }
}
