//! Child processes under supervision: each logs to its own file, dies with the launcher, is
//! started again the same way when it exits on its own, and is stopped with SIGTERM before
//! SIGKILL.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

const GRACEFUL_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How to start a process: kept, so that it can be started again the same way.
#[derive(Clone, Debug, Default)]
pub struct ProcessSpec {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, Option<String>)>,
    current_dir: Option<PathBuf>,
}

impl ProcessSpec {
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self { program: program.into(), ..Self::default() }
    }

    pub fn arg(mut self, arg: impl std::fmt::Display) -> Self {
        self.args.push(arg.to_string());
        self
    }

    pub fn env(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.env.push((name.to_string(), Some(value.to_string())));
        self
    }

    /// Keeps `name` of the launcher's environment from reaching the process.
    pub fn env_remove(mut self, name: &str) -> Self {
        self.env.push((name.to_string(), None));
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        command
    }
}

pub struct Supervised {
    pub name: &'static str,
    pub log_path: PathBuf,
    child: Child,
    spec: ProcessSpec,
    /// When it was started again after exiting on its own, most recent last.
    restarts: Vec<Instant>,
}

/// A process that exits on its own more often than this is crash-looping: it is not started
/// again, and the stack fails.
pub const MAX_RESTARTS: usize = 5;
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);

impl Supervised {
    /// Starts `spec`, appending its stdout and stderr to `<log_dir>/<name>.log`.
    pub fn spawn(name: &'static str, spec: ProcessSpec, log_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let log_path = log_dir.join(format!("{name}.log"));
        let child = start(name, &spec, &log_path)?;
        Ok(Self { name, log_path, child, spec, restarts: Vec::new() })
    }

    /// Starts the process again the same way, after it exited on its own; refuses when it has
    /// done so [`MAX_RESTARTS`] times within [`RESTART_WINDOW`].
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        self.restarts.retain(|at| now.duration_since(*at) < RESTART_WINDOW);
        if self.restarts.len() >= MAX_RESTARTS {
            anyhow::bail!(
                "{} exited {} times within {} s: not starting it again",
                self.name,
                MAX_RESTARTS + 1,
                RESTART_WINDOW.as_secs()
            );
        }
        self.child = start(self.name, &self.spec, &self.log_path)?;
        self.restarts.push(now);
        Ok(())
    }
}

fn start(name: &'static str, spec: &ProcessSpec, log_path: &Path) -> anyhow::Result<Child> {
    let mut command = spec.command();
    let log = OpenOptions::new().create(true).append(true).open(log_path)?;
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
    Ok(child)
}

impl Supervised {
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

/// Waits for `ready`, failing early with the log tail if the process exits first.
pub async fn wait_ready(
    process: Option<&mut Supervised>,
    ready: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let process = process.context("no process to wait for")?;
    tokio::select! {
        outcome = ready => outcome.with_context(|| format!("{} did not become ready; its log ends with:\n{}", process.name, process.log_tail())),
        status = process.exited() => {
            bail!("{} exited before it was ready ({}); its log ends with:\n{}", process.name, describe_status(status), process.log_tail())
        }
    }
}

fn describe_status(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(error) => error.to_string(),
    }
}
