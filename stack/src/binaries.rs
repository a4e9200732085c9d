//! Locating the workspace's own binaries, building them first when run from a source tree.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tokio::process::Command;

/// Every binary `stack up` starts, in start order.
pub const WORKSPACE_BINARIES: &[&str] =
    &["schema-registry", "order-svc", "payment-svc", "shipping-svc", "order-history", "composer", "web"];

/// Returns the directory that holds the workspace's binaries, after building them with the
/// same profile as this executable when the source tree is present and `build` is set.
pub async fn prepare(bin_dir: Option<&Path>, build: bool) -> anyhow::Result<PathBuf> {
    let dir = match bin_dir {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_exe()?.parent().context("this executable has no parent directory")?.to_path_buf(),
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf);
    let workspace = workspace.filter(|dir| dir.join("Cargo.toml").exists());
    if build && let Some(workspace) = workspace {
        cargo_build(&workspace).await?;
    }
    for binary in WORKSPACE_BINARIES {
        if !dir.join(binary).exists() {
            bail!("{binary} not found in {}; build the workspace first (cargo build --workspace)", dir.display());
        }
    }
    Ok(dir)
}

async fn cargo_build(workspace: &Path) -> anyhow::Result<()> {
    let mut command = Command::new("cargo");
    command.current_dir(workspace).arg("build");
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    for binary in WORKSPACE_BINARIES {
        command.args(["--bin", binary]);
    }
    let status = command.status().await.context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build of the workspace binaries failed with {status}");
    }
    Ok(())
}
