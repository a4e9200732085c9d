//! Finding the pinned tansu broker, or installing it from crates.io when it is missing.
//!
//! tansu is the only Kafka-protocol broker that installs without Docker or a JVM. It is built
//! with the `libsql` feature, because its default features store nothing.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::config::BrokerInstallArgs;

pub const TANSU_VERSION: &str = "0.6.0";

/// Returns a tansu binary of the pinned version, installing it first if needed.
pub async fn ensure_installed(args: &BrokerInstallArgs) -> anyhow::Result<PathBuf> {
    if let Some(path) = &args.tansu_bin {
        if !reports_pinned_version(path).await {
            bail!("{} is not tansu {TANSU_VERSION}", path.display());
        }
        return Ok(path.clone());
    }
    let cache_dir = cache_dir(args)?;
    let installed = cache_dir.join(format!("tansu-{TANSU_VERSION}")).join("bin").join("tansu");
    if reports_pinned_version(&installed).await {
        return Ok(installed);
    }
    if reports_pinned_version(Path::new("tansu")).await {
        return Ok(PathBuf::from("tansu"));
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

/// Builds tansu with cargo into the cache dir, with a separate target dir so the 1.5 GB build
/// stays out of the workspace.
async fn install(cache_dir: &Path) -> anyhow::Result<()> {
    let root = cache_dir.join(format!("tansu-{TANSU_VERSION}"));
    eprintln!("tansu {TANSU_VERSION} is not installed; building it into {}", root.display());
    let target_dir = cache_dir.join("tansu-target");
    let progress = ProgressBar::new_spinner();
    progress.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] installing tansu {msg}")?);
    progress.enable_steady_tick(Duration::from_millis(200));
    progress.set_message(format!("{TANSU_VERSION} (a one-time build of 10-25 minutes)"));

    let mut child = Command::new("cargo")
        .args(["install", "tansu", "--version", TANSU_VERSION, "--locked", "--features", "libsql", "--root"])
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
    while let Some(line) = lines.next_line().await? {
        let line = line.trim().to_string();
        if line.starts_with("Compiling") {
            progress.set_message(line.clone());
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
    eprintln!("installed tansu {TANSU_VERSION} into {}", root.display());
    Ok(())
}
