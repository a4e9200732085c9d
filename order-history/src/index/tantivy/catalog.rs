//! The views under a data dir: `<data_dir>/views/<generation>/` each, and `<data_dir>/LIVE`
//! naming the one that serves. Swapping views is replacing `LIVE` atomically.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use anyhow::{Context, anyhow};
use async_trait::async_trait;

use super::snapshot::schema_fingerprint;
use super::{TantivyIndex, View, lock};
use crate::index::{CapturedView, HistoryIndex, IndexError, ViewCatalog};

/// The generation `open_live` creates on first start.
pub const INITIAL_GENERATION: &str = "initial";
const LIVE_FILE: &str = "LIVE";
const LIVE_TEMP_FILE: &str = "LIVE.tmp";
const VIEWS_DIR: &str = "views";
/// The files tantivy may delete when no commit needs them any more.
const MANAGED_FILE: &str = ".managed.json";
/// Where a snapshot's files are linked while it is taken: inside the data dir, on the views'
/// file system, so hard links work.
const SNAPSHOT_STAGING_DIR: &str = "snapshot-staging";
const MAX_GENERATION_CHARS: usize = 100;

pub struct TantivyCatalog {
    inner: Arc<CatalogInner>,
}

struct CatalogInner {
    data_dir: PathBuf,
    /// The views this process has open. tantivy allows one writer per directory, so every
    /// caller that opens a view gets the same one.
    open_views: Mutex<HashMap<String, Weak<View>>>,
}

impl TantivyCatalog {
    /// The catalog of the views under `data_dir`, which is created if missing.
    pub fn open(data_dir: &Path) -> Result<TantivyCatalog, IndexError> {
        let views_dir = data_dir.join(VIEWS_DIR);
        fs::create_dir_all(&views_dir).with_context(|| format!("cannot create {}", views_dir.display()))?;
        Ok(TantivyCatalog {
            inner: Arc::new(CatalogInner { data_dir: data_dir.to_path_buf(), open_views: Mutex::new(HashMap::new()) }),
        })
    }

    /// The generation `LIVE` names, if any view was ever made live.
    pub async fn live_generation(&self) -> Result<Option<String>, IndexError> {
        self.blocking(|catalog| catalog.read_live()).await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&CatalogInner) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|error| IndexError::Fatal(anyhow!("a tantivy catalog task failed: {error}")))?
    }
}

impl CatalogInner {
    fn view_dir(&self, generation: &str) -> PathBuf {
        self.data_dir.join(VIEWS_DIR).join(generation)
    }

    fn read_live(&self) -> Result<Option<String>, IndexError> {
        let path = self.data_dir.join(LIVE_FILE);
        let content = match fs::read_to_string(&path) {
            Ok(content) => content,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!("cannot read {}", path.display())).into());
            }
        };
        let generation = content.trim().to_string();
        check_generation(&generation).with_context(|| format!("{} is corrupt", path.display()))?;
        Ok(Some(generation))
    }

    /// Replaces `LIVE` so that a crash leaves either the old or the new content, never a mix:
    /// write a temporary file, flush it to disk, rename it over, flush the directory entry.
    fn write_live(&self, generation: &str) -> Result<(), IndexError> {
        let temp_path = self.data_dir.join(LIVE_TEMP_FILE);
        let live_path = self.data_dir.join(LIVE_FILE);
        let mut temp_file =
            File::create(&temp_path).with_context(|| format!("cannot create {}", temp_path.display()))?;
        temp_file.write_all(format!("{generation}\n").as_bytes()).context("cannot write the live generation")?;
        temp_file.sync_all().context("cannot flush the live generation")?;
        drop(temp_file);
        fs::rename(&temp_path, &live_path).with_context(|| format!("cannot replace {}", live_path.display()))?;
        File::open(&self.data_dir)
            .and_then(|directory| directory.sync_all())
            .with_context(|| format!("cannot flush {}", self.data_dir.display()))?;
        Ok(())
    }

    fn open_view(&self, generation: &str) -> Result<TantivyIndex, IndexError> {
        let mut open_views = lock(&self.open_views);
        if let Some(view) = open_views.get(generation).and_then(Weak::upgrade) {
            return Ok(TantivyIndex { view });
        }
        let index = TantivyIndex::open_in(&self.view_dir(generation))?;
        open_views.insert(generation.to_string(), Arc::downgrade(&index.view));
        Ok(index)
    }

    /// Removes the view's directory now, or when its last handle is dropped if it is open.
    fn remove_view(&self, generation: &str) -> Result<(), IndexError> {
        let open_view = lock(&self.open_views).remove(generation).and_then(|view| view.upgrade());
        if let Some(view) = open_view {
            view.remove_when_dropped.store(true, Ordering::Release);
            return Ok(());
        }
        let directory = self.view_dir(generation);
        match fs::remove_dir_all(&directory) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => {
                Err(anyhow::Error::new(error).context(format!("cannot remove {}", directory.display())).into())
            }
        }
    }

    fn open_live(&self) -> Result<TantivyIndex, IndexError> {
        if let Some(generation) = self.read_live()? {
            if !self.view_dir(&generation).is_dir() {
                return Err(anyhow!("the live view {generation} is missing from {}", self.data_dir.display()).into());
            }
            return self.open_view(&generation);
        }
        let index = self.open_view(INITIAL_GENERATION)?;
        self.write_live(INITIAL_GENERATION)?;
        Ok(index)
    }

    fn create_next(&self, generation: &str) -> Result<TantivyIndex, IndexError> {
        self.clear_generation(generation)?;
        self.open_view(generation)
    }

    /// Removes what is left of view `generation`, which must be neither live nor open: a
    /// rebuild or restore that never finished starts over empty.
    fn clear_generation(&self, generation: &str) -> Result<(), IndexError> {
        check_generation(generation)?;
        if self.read_live()?.as_deref() == Some(generation) {
            return Err(anyhow!("view {generation} is the live view").into());
        }
        if lock(&self.open_views).get(generation).and_then(Weak::upgrade).is_some() {
            return Err(anyhow!("view {generation} is open already").into());
        }
        self.remove_view(generation)
    }

    fn promote(&self, generation: &str) -> Result<(), IndexError> {
        check_generation(generation)?;
        if !self.view_dir(generation).is_dir() {
            return Err(anyhow!("there is no view {generation} to promote").into());
        }
        let previous = self.read_live()?;
        if previous.as_deref() == Some(generation) {
            return Ok(());
        }
        self.write_live(generation)?;
        if let Some(previous) = previous
            && let Err(error) = self.remove_view(&previous)
        {
            // the swap is done; a leftover directory only costs disk space
            tracing::warn!(%error, generation = previous, "cannot remove the previous view");
        }
        Ok(())
    }

    fn capture_live(&self, name: &str) -> Result<CapturedView, IndexError> {
        check_generation(name)?;
        let live = self.open_live()?;
        let staging = self.data_dir.join(SNAPSHOT_STAGING_DIR).join(name);
        let captured = match live.view.capture_committed(&staging) {
            Ok(captured) => captured,
            Err(error) => {
                // nothing else will ever use this staging dir: its name is the snapshot's
                let _ = fs::remove_dir_all(&staging);
                return Err(error);
            }
        };
        Ok(CapturedView { files: staging, checkpoint: captured.checkpoint, documents: captured.documents })
    }

    fn restore_target(&self, generation: &str) -> Result<PathBuf, IndexError> {
        self.clear_generation(generation)?;
        let directory = self.view_dir(generation);
        fs::create_dir_all(&directory).with_context(|| format!("cannot create {}", directory.display()))?;
        Ok(directory)
    }

    /// Opens a view whose files were restored from a snapshot. tantivy deletes only the files
    /// it lists in `.managed.json` once merges no longer need them; the restored segment files
    /// are listed there first, or they would stay on disk for good after the first merge.
    fn open_restored(&self, generation: &str) -> Result<TantivyIndex, IndexError> {
        check_generation(generation)?;
        let directory = self.view_dir(generation);
        let mut managed = Vec::new();
        for entry in fs::read_dir(&directory).with_context(|| format!("cannot list {}", directory.display()))? {
            let name = entry.context("cannot list a restored view")?.file_name().to_string_lossy().into_owned();
            if name != "meta.json" && !name.starts_with('.') {
                managed.push(name);
            }
        }
        let managed_json = serde_json::to_vec(&managed).context("cannot list the restored files")?;
        fs::write(directory.join(MANAGED_FILE), managed_json).context("cannot write the restored view's file list")?;
        self.open_view(generation)
    }

    fn discard(&self, generation: &str) -> Result<(), IndexError> {
        check_generation(generation)?;
        if self.read_live()?.as_deref() == Some(generation) {
            return Err(anyhow!("view {generation} is live and cannot be discarded").into());
        }
        self.remove_view(generation)
    }
}

/// A generation names a directory: keep it to one plain path component.
fn check_generation(generation: &str) -> Result<(), IndexError> {
    let plain = !generation.is_empty()
        && generation.chars().count() <= MAX_GENERATION_CHARS
        && !generation.starts_with('.')
        && generation.chars().all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character))
        && generation != LIVE_FILE;
    if !plain {
        return Err(anyhow!("{generation:?} is not a valid view generation").into());
    }
    Ok(())
}

#[async_trait]
impl ViewCatalog for TantivyCatalog {
    fn backend(&self) -> &'static str {
        "tantivy"
    }

    async fn open_live(&self) -> Result<Arc<dyn HistoryIndex>, IndexError> {
        let index = self.blocking(|catalog| catalog.open_live()).await?;
        Ok(Arc::new(index))
    }

    async fn create_next(&self, generation: &str) -> Result<Arc<dyn HistoryIndex>, IndexError> {
        let generation = generation.to_string();
        let index = self.blocking(move |catalog| catalog.create_next(&generation)).await?;
        Ok(Arc::new(index))
    }

    async fn promote(&self, generation: &str) -> Result<(), IndexError> {
        let generation = generation.to_string();
        self.blocking(move |catalog| catalog.promote(&generation)).await
    }

    async fn discard(&self, generation: &str) -> Result<(), IndexError> {
        let generation = generation.to_string();
        self.blocking(move |catalog| catalog.discard(&generation)).await
    }

    async fn has_live(&self) -> Result<bool, IndexError> {
        Ok(self.live_generation().await?.is_some())
    }

    fn schema_fingerprint(&self) -> Option<String> {
        Some(schema_fingerprint())
    }

    async fn capture_live(&self, name: &str) -> Result<CapturedView, IndexError> {
        let name = name.to_string();
        self.blocking(move |catalog| catalog.capture_live(&name)).await
    }

    async fn restore_target(&self, generation: &str) -> Result<PathBuf, IndexError> {
        let generation = generation.to_string();
        self.blocking(move |catalog| catalog.restore_target(&generation)).await
    }

    async fn open_restored(&self, generation: &str) -> Result<Arc<dyn HistoryIndex>, IndexError> {
        let generation = generation.to_string();
        let index = self.blocking(move |catalog| catalog.open_restored(&generation)).await?;
        Ok(Arc::new(index))
    }
}
