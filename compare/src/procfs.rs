//! What the kernel knows about the stack's processes: which process listens on which port, and
//! the CPU time and memory each has used. Read from /proc, so it costs the processes nothing and
//! needs no cooperation from them. Off Linux, or for processes in other namespaces (containers),
//! nothing is found and the figures that need it are reported as unknown.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Clock ticks per second of `/proc/<pid>/stat`'s times. `USER_HZ` is 100 on every Linux
/// architecture this runs on; the kernel fixes it for user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// The processes listening on `ports` on this machine, by port.
pub fn listeners(ports: &[u16]) -> BTreeMap<u16, u32> {
    let wanted: HashSet<u16> = ports.iter().copied().collect();
    let mut inode_to_port = BTreeMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            if fields.len() < 10 || fields[3] != "0A" {
                continue;
            }
            let Some(port) = fields[1].rsplit(':').next().and_then(|hex| u16::from_str_radix(hex, 16).ok()) else {
                continue;
            };
            if wanted.contains(&port) {
                inode_to_port.insert(fields[9].to_string(), port);
            }
        }
    }
    let mut found = BTreeMap::new();
    if inode_to_port.is_empty() {
        return found;
    }
    let Ok(processes) = std::fs::read_dir("/proc") else { return found };
    for process in processes.flatten() {
        let Some(pid) = process.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            let target = target.to_string_lossy();
            if let Some(inode) = target.strip_prefix("socket:[").and_then(|rest| rest.strip_suffix(']'))
                && let Some(port) = inode_to_port.get(inode)
            {
                found.insert(*port, pid);
            }
        }
    }
    found
}

/// The processes that listen on the named ports, by name; a port nobody listens on is left out.
pub fn processes_listening(ports: Vec<(String, u16)>) -> BTreeMap<String, u32> {
    let numbers: Vec<u16> = ports.iter().map(|(_, port)| *port).collect();
    let found = listeners(&numbers);
    ports.into_iter().filter_map(|(name, port)| found.get(&port).map(|pid| (name, *pid))).collect()
}

/// User plus system CPU seconds the process has used, or `None` when it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    stat_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// User plus system CPU seconds from the text of a `stat` file (a process's or a thread's).
fn stat_cpu_seconds(stat: &str) -> Option<f64> {
    // the command name may hold spaces and parentheses; the fields after its last ')' are fixed
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after the name: state(0) ppid(1) ... utime(11) stime(12)
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Resident memory in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU seconds of this process (the load generator).
pub fn own_cpu_seconds() -> Option<f64> {
    cpu_seconds(std::process::id())
}

/// Each named process's CPU seconds so far; a process that went away is left out.
pub fn cpu_seconds_by_process(processes: &BTreeMap<String, u32>) -> BTreeMap<String, f64> {
    processes.iter().filter_map(|(name, pid)| Some((name.clone(), cpu_seconds(*pid)?))).collect()
}

/// What each process used between two readings of [`cpu_seconds_by_process`].
pub fn cpu_seconds_between(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after.iter().filter_map(|(name, at_end)| Some((name.clone(), (at_end - before.get(name)?).max(0.0)))).collect()
}

/// CPU seconds of the threads of `pid` whose name starts with `prefix`: librdkafka names its
/// threads `rdk:main`, `rdk:broker…`, so a service's Kafka client can be told apart from the
/// rest of it. `None` when the process is gone.
pub fn thread_cpu_seconds(pid: u32, prefix: &str) -> Option<f64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0.0;
    for task in tasks.flatten() {
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else { continue };
        if !name.starts_with(prefix) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        total += stat_cpu_seconds(&stat).unwrap_or(0.0);
    }
    Some(total)
}

/// The CPU one process used over a window.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProcessCpu {
    pub process: String,
    pub pid: u32,
    /// CPU seconds per second of the window: 1.0 is one core kept busy.
    pub cores: f64,
}

/// Each process's CPU over `window`, from its CPU time at the window's start and end, in the
/// order given. A process gone by the end is left out.
pub async fn cpu_cores_over(processes: &BTreeMap<String, u32>, window: std::time::Duration) -> Vec<ProcessCpu> {
    let before: Vec<(String, u32, Option<f64>)> =
        processes.iter().map(|(name, pid)| (name.clone(), *pid, cpu_seconds(*pid))).collect();
    let started = std::time::Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut used = Vec::with_capacity(before.len());
    for (process, pid, at_start) in before {
        if let (Some(at_start), Some(at_end)) = (at_start, cpu_seconds(pid)) {
            used.push(ProcessCpu { process, pid, cores: (at_end - at_start) / elapsed });
        }
    }
    used
}

/// Bytes of every file under `path`, or `None` when it does not exist.
pub fn dir_bytes(path: &Path) -> Option<u64> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    if metadata.is_file() {
        return Some(metadata.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path).ok()?.flatten() {
        total += dir_bytes(&entry.path()).unwrap_or(0);
    }
    Some(total)
}

/// The topics whose log CQRS keeps to rebuild from.
const SOURCE_TOPICS: [&str; 3] = ["orders", "payments", "shipments"];

/// Bytes of the broker's log in `dir`: with Kafka's layout (a `<topic>-<partition>` directory
/// per partition) the partitions of the three source topics; otherwise (tansu's one SQLite
/// store) the whole directory. `None` when `dir` does not exist.
pub fn broker_log_bytes(dir: &Path) -> Option<u64> {
    let is_source_partition = |name: &str| {
        name.rsplit_once('-').is_some_and(|(topic, partition)| {
            SOURCE_TOPICS.contains(&topic) && !partition.is_empty() && partition.bytes().all(|b| b.is_ascii_digit())
        })
    };
    let partitions: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|entry| entry.path().is_dir() && entry.file_name().to_str().is_some_and(is_source_partition))
        .map(|entry| entry.path())
        .collect();
    if partitions.is_empty() {
        return dir_bytes(dir);
    }
    Some(partitions.iter().filter_map(|partition| dir_bytes(partition)).sum())
}

pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

pub fn memory_total_mib() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

pub fn os_description() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let release = release.trim();
    format!("{} {} {}", std::env::consts::OS, release, std::env::consts::ARCH).replace("  ", " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_log_is_the_source_topics_partitions_in_kafkas_layout() {
        let kafka = tempfile::tempdir().unwrap();
        for (dir, bytes) in [("orders-0", 100), ("orders-1", 50), ("shipments-0", 7), ("__consumer_offsets-3", 1000)] {
            std::fs::create_dir(kafka.path().join(dir)).unwrap();
            std::fs::write(kafka.path().join(dir).join("00000000000000000000.log"), vec![0u8; bytes]).unwrap();
        }
        std::fs::write(kafka.path().join("meta.properties"), b"x").unwrap();
        assert_eq!(broker_log_bytes(kafka.path()), Some(157));
        let tansu = tempfile::tempdir().unwrap();
        std::fs::write(tansu.path().join("tansu.db"), vec![0u8; 4096]).unwrap();
        assert_eq!(broker_log_bytes(tansu.path()), Some(4096));
        assert_eq!(broker_log_bytes(&tansu.path().join("missing")), None);
    }

    #[test]
    fn finds_its_own_listener_and_cpu_time() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let found = listeners(&[port]);
        assert_eq!(found.get(&port), Some(&std::process::id()));
        // burn a little CPU so the figure is positive whatever the tick rounding
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert!(x != 1);
        assert!(own_cpu_seconds().unwrap() > 0.0);
        // the test harness names its threads after the tests
        let own = thread_cpu_seconds(std::process::id(), "").unwrap();
        assert!(own > 0.0 && own <= own_cpu_seconds().unwrap() + 0.02, "{own}");
        assert_eq!(thread_cpu_seconds(std::process::id(), "no thread is named this"), Some(0.0));
        assert!(rss_mib(std::process::id()).unwrap() > 0.0);
    }
}
