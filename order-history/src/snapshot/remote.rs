//! Downloads the newest snapshot of each read model from a running order-history, for
//! `--bootstrap-from <url>`.
//!
//! The source serves its snapshots under `/admin/snapshots` (`crate::http::snapshot_files`).
//! The download lands in a directory laid out as a snapshot store,
//!
//! ```text
//! <into>/<read model>/<snapshot name>/manifest.json
//!                                     files/…
//! ```
//!
//! so the restore that follows checks the manifest, the sizes and the checksums exactly as it
//! does for a local directory: this module trusts nothing it downloads beyond its names. As in
//! the store, a snapshot is written under `<name>.partial` and renamed when complete.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Client, Response, StatusCode, Url};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::{FILES_DIR, MANIFEST_FILE, Manifest};

/// The snapshot name the source resolves to its newest snapshot whose manifest reads.
pub const LATEST: &str = "latest";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait for the next bytes of any response: a stalled source fails the start
/// instead of hanging it, while a large file may take as long as it needs.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A manifest is a few kilobytes: its whole request ends within this.
const MANIFEST_TIMEOUT: Duration = Duration::from_secs(30);
const PARTIAL_SUFFIX: &str = ".partial";
const WRITE_BUFFER_BYTES: usize = 1024 * 1024;
/// How much of an error response's body goes into the error.
const ERROR_BODY_CHARS: usize = 300;

/// Downloads the newest snapshot of each of `read_models` from the order-history at `base_url`
/// into `into`, and returns `into`, ready for `SnapshotStore::new(into, 1).restore_latest`.
///
/// A read model the source has no snapshot of is skipped (logged). A download left in `into`
/// by an earlier start is replaced.
pub async fn fetch_latest(
    base_url: &Url,
    admin_token: &str,
    read_models: &[&str],
    into: &Path,
) -> anyhow::Result<PathBuf> {
    let client = Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
        .context("cannot create the http client")?;
    let source = SnapshotSource { client, base_url, admin_token };
    for &read_model in read_models {
        let Some(downloaded) = source.download_latest(read_model, into).await? else {
            tracing::warn!(source = %base_url, read_model, "the snapshot source has no snapshot of this read model; skipped");
            continue;
        };
        tracing::info!(
            source = %base_url,
            read_model,
            snapshot = downloaded.name,
            files = downloaded.files.len(),
            bytes = downloaded.bytes(),
            "snapshot downloaded"
        );
    }
    Ok(into.to_path_buf())
}

/// A running order-history and the admin token it wants.
struct SnapshotSource<'a> {
    client: Client,
    base_url: &'a Url,
    admin_token: &'a str,
}

impl SnapshotSource<'_> {
    /// Downloads the newest snapshot of `read_model` into `<into>/<read_model>/<name>`; its
    /// manifest, or `None` when the source has none.
    async fn download_latest(&self, read_model: &str, into: &Path) -> anyhow::Result<Option<Manifest>> {
        let models_dir = into.join(read_model);
        remove_dir_if_present(&models_dir).await?;
        let manifest_url = self.snapshot_url(&[read_model, LATEST, MANIFEST_FILE])?;
        let response = self
            .client
            .get(manifest_url.clone())
            .bearer_auth(self.admin_token)
            .timeout(MANIFEST_TIMEOUT)
            .send()
            .await
            .with_context(|| format!("cannot reach the snapshot source: GET {manifest_url}"))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = successful(response, &manifest_url).await?;
        let manifest_bytes =
            response.bytes().await.with_context(|| format!("cannot read the manifest: GET {manifest_url}"))?;
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .with_context(|| format!("GET {manifest_url} answered with something that is not a snapshot manifest"))?;
        // the names become paths on this disk: only plain names
        if !is_plain_name(&manifest.name) {
            bail!("GET {manifest_url}: the snapshot name {:?} is not a plain name", manifest.name);
        }
        for file in &manifest.files {
            if !is_plain_name(&file.path) {
                bail!("GET {manifest_url}: the file {:?} is not a plain name", file.path);
            }
        }

        let partial = models_dir.join(format!("{}{PARTIAL_SUFFIX}", manifest.name));
        let files_dir = partial.join(FILES_DIR);
        tokio::fs::create_dir_all(&files_dir)
            .await
            .with_context(|| format!("cannot create {}", files_dir.display()))?;
        for file in &manifest.files {
            // by name, not `latest`: a snapshot taken meanwhile does not mix into this one
            let file_url = self.snapshot_url(&[read_model, &manifest.name, "files", &file.path])?;
            self.download_file(&file_url, &files_dir.join(&file.path)).await?;
        }
        let manifest_path = partial.join(MANIFEST_FILE);
        tokio::fs::write(&manifest_path, &manifest_bytes)
            .await
            .with_context(|| format!("cannot write {}", manifest_path.display()))?;
        let complete = models_dir.join(&manifest.name);
        tokio::fs::rename(&partial, &complete).await.with_context(|| format!("cannot rename {}", partial.display()))?;
        Ok(Some(manifest))
    }

    /// Streams the body of `GET url` into the file `to`, a chunk at a time.
    async fn download_file(&self, url: &Url, to: &Path) -> anyhow::Result<()> {
        let response = self
            .client
            .get(url.clone())
            .bearer_auth(self.admin_token)
            .send()
            .await
            .with_context(|| format!("cannot reach the snapshot source: GET {url}"))?;
        let mut response = successful(response, url).await?;
        let file = tokio::fs::File::create(to).await.with_context(|| format!("cannot create {}", to.display()))?;
        // each write of a tokio file is a trip to the blocking pool: a few per megabyte, not
        // one per network chunk
        let mut file = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
        while let Some(chunk) = response.chunk().await.with_context(|| format!("cannot download GET {url}"))? {
            file.write_all(&chunk).await.with_context(|| format!("cannot write {}", to.display()))?;
        }
        // tokio writes in the background: the last write has finished once flush returns
        file.flush().await.with_context(|| format!("cannot write {}", to.display()))?;
        Ok(())
    }

    /// `<base url>/admin/snapshots/<segments…>`, each segment percent-encoded; a base URL with a
    /// path (behind a proxy) keeps it.
    fn snapshot_url(&self, segments: &[&str]) -> anyhow::Result<Url> {
        let mut url = self.base_url.clone();
        let Ok(mut path) = url.path_segments_mut() else {
            bail!("{} cannot be the base of a url", self.base_url);
        };
        path.pop_if_empty().extend(["admin", "snapshots"]).extend(segments);
        drop(path);
        Ok(url)
    }
}

/// The response when its status is a success; otherwise an error naming the request, the
/// status and the start of the body (the source's JSON error says what is missing).
async fn successful(mut response: Response, url: &Url) -> anyhow::Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    if status == StatusCode::UNAUTHORIZED {
        bail!("GET {url}: the snapshot source answered 401: check --bootstrap-token");
    }
    // the first chunk only: an error body is short, and an odd source cannot make this read
    // a large one
    let body = match response.chunk().await {
        Ok(Some(chunk)) => String::from_utf8_lossy(&chunk).chars().take(ERROR_BODY_CHARS).collect(),
        Ok(None) | Err(_) => String::new(),
    };
    bail!("GET {url}: the snapshot source answered {status}: {body}")
}

/// A name that is one path component: not empty, no separator, no leading dot.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains('/') && !name.contains('\\')
}

async fn remove_dir_if_present(directory: &Path) -> anyhow::Result<()> {
    match tokio::fs::remove_dir_all(directory).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(anyhow::Error::new(error).context(format!("cannot remove {}", directory.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(base_url: &Url) -> SnapshotSource<'_> {
        SnapshotSource { client: Client::new(), base_url, admin_token: "token" }
    }

    #[test]
    fn snapshot_urls_keep_the_base_path_and_encode_each_segment() {
        let root = Url::parse("http://order-history:8010").expect("url");
        let url = source(&root).snapshot_url(&["order-view", LATEST, MANIFEST_FILE]).expect("url");
        assert_eq!(url.as_str(), "http://order-history:8010/admin/snapshots/order-view/latest/manifest.json");
        for base in ["https://proxy/replica-1", "https://proxy/replica-1/"] {
            let base = Url::parse(base).expect("url");
            let url = source(&base).snapshot_url(&["order-view", "s1", "files", "a b#c"]).expect("url");
            assert_eq!(url.as_str(), "https://proxy/replica-1/admin/snapshots/order-view/s1/files/a%20b%23c");
        }
    }

    #[test]
    fn plain_names_are_one_path_component() {
        for plain in ["s20260101000000000000", "meta.json", "a1b2.idx", "latest"] {
            assert!(is_plain_name(plain), "{plain}");
        }
        for not_plain in ["", ".", "..", ".hidden", "a/b", "a\\b", "/etc", "../x"] {
            assert!(!is_plain_name(not_plain), "{not_plain}");
        }
    }
}
