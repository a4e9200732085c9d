//! `start_search_engine`: a local server that speaks the Elasticsearch REST API, one per test.
//!
//! No real Elasticsearch can be installed on these machines (see `LOCAL-INFRA.md`), so tests
//! run against noida-db, which emulates Elasticsearch 8.15.3 and ships its binary in a PyPI
//! wheel (`requirements-test.txt`, installed by `.ci/run`). Each engine gets its own data dir and
//! a port chosen by the OS, on 127.0.0.1 only.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::OnceCell;

/// The emulator version `requirements-test.txt` pins; another version may answer differently.
pub const NOIDA_DB_VERSION: &str = "0.2.3";
/// Names the binary to use instead of looking for it.
pub const NOIDA_DB_BIN_ENV: &str = "NOIDA_DB_BIN";

const INSTALL_HINT: &str = "install it with `python3 -m pip install -r requirements-test.txt` (or `.ci/run`), \
     or point NOIDA_DB_BIN at a noida-db 0.2.3 binary";
/// How long a fresh engine may take to answer; it normally answers within a second.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);
/// Another process may take the free port between choosing it and the engine binding it.
const START_ATTEMPTS: usize = 3;

/// A running search engine; dropping it kills the engine and deletes its data.
pub struct SearchEngine {
    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    pub address: SocketAddr,
    pub log_path: PathBuf,
    process: Child,
    _dir: tempfile::TempDir,
}

/// Starts an empty Elasticsearch-API server on 127.0.0.1 and waits until it answers.
///
/// Panics with installation instructions when noida-db is missing: a test that needs a search
/// engine must fail, never pass without one.
pub async fn start_search_engine() -> SearchEngine {
    let binary = noida_db_binary().await;
    let mut last_failure = String::new();
    for _ in 0..START_ATTEMPTS {
        match try_start(&binary).await {
            Ok(engine) => return engine,
            Err(failure) => last_failure = failure,
        }
    }
    panic!("search engine ({}) did not start: {last_failure}", binary.display());
}

impl SearchEngine {
    /// The last lines of the engine's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }
}

impl Drop for SearchEngine {
    fn drop(&mut self) {
        // the engine runs in its own process group (see `try_start`), so this also reaches a
        // server that a wrapper script started as its child
        if let Ok(pid) = i32::try_from(self.process.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn try_start(binary: &Path) -> Result<SearchEngine, String> {
    let dir = tempfile::tempdir().map_err(|error| format!("cannot create a temp dir: {error}"))?;
    let address = crate::free_address();
    let log_path = dir.path().join("search-engine.log");
    let log = std::fs::File::create(&log_path).map_err(|error| format!("cannot create the log file: {error}"))?;
    let log_for_stderr = log.try_clone().map_err(|error| format!("cannot share the log file: {error}"))?;
    let mut command = Command::new(binary);
    command
        .arg("start")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--host", "127.0.0.1", "--only", "elasticsearch"])
        .args(["--elasticsearch-port", &address.port().to_string()])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_stderr)
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing
    unsafe {
        command.pre_exec(|| {
            // a test binary killed with SIGKILL must not leave an engine holding its port
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
    let process = command.spawn().map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
    let mut engine = SearchEngine { url: format!("http://{address}"), address, log_path, process, _dir: dir };
    wait_until_answering(&mut engine).await?;
    Ok(engine)
}

async fn wait_until_answering(engine: &mut SearchEngine) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|error| format!("cannot build an http client: {error}"))?;
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = engine.process.try_wait() {
            return Err(format!("it exited with {status}; its log ends with:\n{}", engine.log_tail()));
        }
        let answer = client.get(&engine.url).send().await;
        if answer.is_ok_and(|response| response.status().is_success()) {
            return Ok(());
        }
        if started.elapsed() > STARTUP_DEADLINE {
            return Err(format!(
                "it did not answer on {} within {STARTUP_DEADLINE:?}; its log ends with:\n{}",
                engine.url,
                engine.log_tail()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn log_tail(log_path: &Path) -> String {
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The noida-db binary, found once per test binary.
async fn noida_db_binary() -> PathBuf {
    static BINARY: OnceCell<PathBuf> = OnceCell::const_new();
    BINARY
        .get_or_init(|| async {
            match find_noida_db().await {
                Ok(binary) => binary,
                Err(looked_at) => panic!(
                    "noida-db {NOIDA_DB_VERSION}, the Elasticsearch-API server these tests run against, \
                     was not found; {INSTALL_HINT}. Looked at:\n{looked_at}"
                ),
            }
        })
        .await
        .clone()
}

/// The first candidate that reports the pinned version, or a report of every place looked at.
///
/// Candidates in order: `NOIDA_DB_BIN`; the binary inside the pip package of `python3` (the
/// interpreter `.ci/run` installs with), preferred over the `noida-db` script because that script
/// is a Python wrapper that runs the binary as a child; `noida-db` on `PATH` (e.g. from
/// `cargo install noida-db`); the script dirs of `python3`, which need not be on `PATH`.
async fn find_noida_db() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(configured) = std::env::var_os(NOIDA_DB_BIN_ENV) {
        candidates.push(configured.into());
    }
    let package_binary =
        python_answer("import pathlib, noida_db; print(pathlib.Path(noida_db.__file__).parent / 'noida-db')").await;
    candidates.extend(package_binary.into_iter().map(PathBuf::from));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("noida-db")));
    }
    let script_dirs = python_answer(
        "import os, sysconfig\n\
         print(sysconfig.get_path('scripts'))\n\
         print(sysconfig.get_path('scripts', f'{os.name}_user'))",
    )
    .await;
    candidates.extend(script_dirs.into_iter().map(|dir| PathBuf::from(dir).join("noida-db")));

    let mut looked_at = String::new();
    for candidate in candidates {
        if !candidate.is_file() {
            continue;
        }
        match reported_version(&candidate).await {
            Ok(version) if version.trim() == format!("noida-db {NOIDA_DB_VERSION}") => return Ok(candidate),
            Ok(version) => looked_at.push_str(&format!("  {}: reports {:?}\n", candidate.display(), version.trim())),
            Err(error) => looked_at.push_str(&format!("  {}: {error}\n", candidate.display())),
        }
    }
    if looked_at.is_empty() {
        looked_at.push_str(
            "  nothing named noida-db in NOIDA_DB_BIN, python3's site-packages, PATH or python3's script dirs\n",
        );
    }
    Err(looked_at)
}

/// The lines `python3 -c code` prints; none when there is no python3 or the code fails.
async fn python_answer(code: &str) -> Vec<String> {
    let output = tokio::process::Command::new("python3").args(["-c", code]).stdin(Stdio::null()).output().await;
    match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// What `binary version` prints, e.g. `noida-db 0.2.3`.
async fn reported_version(binary: &Path) -> Result<String, String> {
    let output = tokio::process::Command::new(binary).arg("version").stdin(Stdio::null()).output().await;
    match output {
        Ok(output) if output.status.success() => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
        Ok(output) => Err(format!("`version` failed with {}", output.status)),
        Err(error) if error.kind() == ErrorKind::PermissionDenied => Err("not executable".to_string()),
        Err(error) => Err(format!("cannot run it: {error}")),
    }
}
