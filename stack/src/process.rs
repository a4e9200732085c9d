//! Child processes under supervision: each logs to its own file, dies with the launcher, and is
//! stopped with SIGTERM before SIGKILL.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

const GRACEFUL_STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Supervised {
    pub name: &'static str,
    pub log_path: PathBuf,
    child: Child,
}

impl Supervised {
    /// Starts `command`, appending its stdout and stderr to `<log_dir>/<name>.log`.
    pub fn spawn(name: &'static str, mut command: Command, log_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let log_path = log_dir.join(format!("{name}.log"));
        let log = OpenOptions::new().create(true).append(true).open(&log_path)?;
        command.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log).kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe; the closure allocates nothing
        unsafe {
            command.pre_exec(|| {
                // a launcher killed with SIGKILL must not leave orphans holding the ports
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
        let child = command.spawn().with_context(|| format!("cannot start {name}"))?;
        tracing::info!(process = name, pid = child.id(), log = %log_path.display(), "started");
        Ok(Self { name, log_path, child })
    }

    /// Resolves when the process exits on its own.
    pub async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Whether the process has already exited; its status if so.
    pub fn try_exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the process with SIGTERM, then SIGKILL if it has not exited in time.
    pub async fn stop(mut self) {
        if let Some(status) = self.try_exited() {
            tracing::info!(process = self.name, %status, "already exited");
            return;
        }
        if let Some(pid) = self.child.id().and_then(|pid| i32::try_from(pid).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        match tokio::time::timeout(GRACEFUL_STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => tracing::info!(process = self.name, status = ?status, "stopped"),
            Err(_) => {
                tracing::warn!(process = self.name, "did not stop in time, killing");
                let _ = self.child.kill().await;
            }
        }
    }

    /// The last lines of the process's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}
