//! Finding the pinned tansu broker, or installing it from crates.io when it is missing.
//!
//! tansu is the only Kafka-protocol broker that installs without Docker or a JVM. It is built
//! with the `libsql` feature, because its default features store nothing, and with one patch to
//! its storage crate (`patches/`, reasons in `docs/local-broker.md`): a fetch waiting for data
//! is woken by the next produce and answers as soon as it has records, as Kafka's does, and a
//! fetch reads storage only for the partitions that may have changed since it last read them.
//! Without it, tansu answers a fetch only when its `fetch.wait.max.ms` runs out, so a consumer
//! must choose between polling the broker a hundred times a second and stale reads, and every
//! fetch re-reads every partition it names.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[derive(Clone, Debug, clap::Args)]
pub struct BrokerInstallArgs {
    /// Use this tansu binary instead of finding or installing one.
    #[arg(long, env = "TANSU_BIN")]
    pub tansu_bin: Option<PathBuf>,
    /// Where the pinned tansu is installed when it is missing.
    #[arg(long, env = "STACK_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

pub const TANSU_VERSION: &str = "0.6.0";

/// The one patch applied to the crates.io source of `tansu-storage` 0.6.0.
const FETCH_PATCH: &str = include_str!("../patches/tansu-storage-0.6.0-fetch-known.patch");
/// Names the install, so that an unpatched tansu of the same version, or one built with an
/// earlier patch, is never taken for it.
const PATCH_NAME: &str = "fetch-known";

/// Returns a tansu binary of the pinned version, installing it first if needed.
pub async fn ensure_installed(args: &BrokerInstallArgs) -> anyhow::Result<PathBuf> {
    if let Some(path) = &args.tansu_bin {
        if !reports_pinned_version(path).await {
            bail!("{} is not tansu {TANSU_VERSION}", path.display());
        }
        return Ok(path.clone());
    }
    let cache_dir = cache_dir(args)?;
    let installed = install_root(&cache_dir).join("bin").join("tansu");
    if reports_pinned_version(&installed).await {
        return Ok(installed);
    }
    install(&cache_dir).await?;
    if !reports_pinned_version(&installed).await {
        bail!("tansu was installed but {} does not run", installed.display());
    }
    Ok(installed)
}

fn cache_dir(args: &BrokerInstallArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.cache_dir {
        return Ok(dir.clone());
    }
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").context("neither XDG_CACHE_HOME nor HOME is set")?).join(".cache")
        }
    };
    Ok(base.join("order-history-demo"))
}

async fn reports_pinned_version(path: &Path) -> bool {
    let output = Command::new(path).arg("--version").stdin(Stdio::null()).output().await;
    output.is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == format!("tansu {TANSU_VERSION}"))
}

fn install_root(cache_dir: &Path) -> PathBuf {
    cache_dir.join(format!("tansu-{TANSU_VERSION}-{PATCH_NAME}"))
}

/// Builds tansu with cargo into the cache dir, its storage crate patched, with a separate
/// target dir so the 1.5 GB build stays out of the workspace.
async fn install(cache_dir: &Path) -> anyhow::Result<()> {
    let root = install_root(cache_dir);
    eprintln!("tansu {TANSU_VERSION} ({PATCH_NAME}) is not installed; building it into {}", root.display());
    let patched_storage = patched_storage_source(cache_dir).await?;
    let target_dir = cache_dir.join("tansu-target");
    let progress = ProgressBar::new_spinner();
    progress.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] installing tansu {msg}")?);
    progress.enable_steady_tick(Duration::from_millis(200));
    progress.set_message(format!("{TANSU_VERSION} (a one-time build of 10-25 minutes)"));

    // `--locked` keeps every other dependency at the version tansu 0.6.0 was released with
    let patch = format!("patch.crates-io.tansu-storage.path={:?}", patched_storage.display().to_string());
    let mut child = Command::new("cargo")
        .args(["install", "tansu", "--version", TANSU_VERSION, "--locked", "--features", "libsql"])
        .args(["--config", &patch, "--root"])
        .arg(&root)
        .env("CARGO_TARGET_DIR", &target_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run cargo to install tansu")?;
    let stderr = child.stderr.take().context("cargo's stderr is not captured")?;
    let mut lines = BufReader::new(stderr).lines();
    let mut last_lines: Vec<String> = Vec::new();
    let mut built_patched_storage = false;
    while let Some(line) = lines.next_line().await? {
        let line = line.trim().to_string();
        if line.starts_with("Compiling") {
            progress.set_message(line.clone());
            built_patched_storage |= line.starts_with("Compiling tansu-storage") && line.contains(PATCH_NAME);
        }
        last_lines.push(line);
        if last_lines.len() > 20 {
            last_lines.remove(0);
        }
    }
    let status = child.wait().await?;
    progress.finish_and_clear();
    if !status.success() {
        bail!("cargo install tansu failed with {status}:\n{}", last_lines.join("\n"));
    }
    if !built_patched_storage {
        bail!("cargo install tansu did not build the patched tansu-storage:\n{}", last_lines.join("\n"));
    }
    eprintln!("installed tansu {TANSU_VERSION} ({PATCH_NAME}) into {}", root.display());
    Ok(())
}

/// Copies the crates.io source of `tansu-storage` into the cache dir and applies the patch;
/// returns the patched crate's directory.
async fn patched_storage_source(cache_dir: &Path) -> anyhow::Result<PathBuf> {
    let pristine = crates_io_source(cache_dir, "tansu-storage", TANSU_VERSION).await?;
    let patched = cache_dir.join(format!("tansu-storage-{TANSU_VERSION}-{PATCH_NAME}"));
    if patched.exists() {
        std::fs::remove_dir_all(&patched).with_context(|| format!("cannot remove {}", patched.display()))?;
    }
    copy_dir(&pristine, &patched)?;
    let patch_file = cache_dir.join(format!("tansu-storage-{TANSU_VERSION}-{PATCH_NAME}.patch"));
    std::fs::write(&patch_file, FETCH_PATCH).with_context(|| format!("cannot write {}", patch_file.display()))?;
    // git apply works outside a repository too; the ceiling keeps it from finding one above
    let output = Command::new("git")
        .args(["apply", "-p1"])
        .arg(&patch_file)
        .current_dir(&patched)
        .env("GIT_CEILING_DIRECTORIES", cache_dir)
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run git to apply the tansu patch")?;
    if !output.status.success() {
        bail!(
            "the tansu patch does not apply to {}: {}",
            pristine.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(patched)
}

/// The unpacked crates.io source of `name` at exactly `version`, downloaded by cargo through
/// a throwaway manifest that depends on it.
async fn crates_io_source(cache_dir: &Path, name: &str, version: &str) -> anyhow::Result<PathBuf> {
    let manifest_dir = cache_dir.join("tansu-sources");
    std::fs::create_dir_all(&manifest_dir).with_context(|| format!("cannot create {}", manifest_dir.display()))?;
    let manifest = manifest_dir.join("Cargo.toml");
    std::fs::write(
        &manifest,
        format!(
            "[package]\nname = \"tansu-sources\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [lib]\npath = \"lib.rs\"\n\n[dependencies]\n{name} = {{ version = \"={version}\", default-features = false }}\n"
        ),
    )
    .with_context(|| format!("cannot write {}", manifest.display()))?;
    std::fs::write(manifest_dir.join("lib.rs"), "").context("cannot write the sources manifest's lib.rs")?;
    let output = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo cannot download {name} {version}: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cannot parse cargo metadata's output")?;
    let packages = metadata["packages"].as_array().context("cargo metadata lists no packages")?;
    for package in packages {
        if package["name"] == name && package["version"] == version {
            let manifest_path = package["manifest_path"].as_str().context("a package without a manifest path")?;
            let source = Path::new(manifest_path).parent().context("a manifest path without a folder")?;
            return Ok(source.to_path_buf());
        }
    }
    bail!("cargo metadata does not list {name} {version}")
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let destination = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &destination)?;
        } else {
            std::fs::copy(entry.path(), &destination)
                .with_context(|| format!("cannot copy {} to {}", entry.path().display(), destination.display()))?;
        }
    }
    Ok(())
}
