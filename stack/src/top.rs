//! `stack top`: the CPU each of a running stack's processes uses over a window, found by the
//! ports they listen on, so it measures a stack started by `stack up` or `stack demo` from
//! outside without asking the processes anything.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::bail;
use compare::procfs;
use platform::services::Service;

use crate::config::UpArgs;

#[derive(Debug, clap::Args)]
pub struct TopArgs {
    /// How long to measure, in seconds.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// The stack to measure: the same flags and environment as `stack up`.
    #[command(flatten)]
    pub stack: Box<UpArgs>,
}

pub async fn run(args: TopArgs) -> anyhow::Result<()> {
    let processes = procfs::processes_listening(listeners(&args.stack));
    if processes.is_empty() {
        bail!("no process of the stack listens on this machine; start it with `stack up`");
    }
    let window = Duration::from_secs(args.seconds.max(1));
    eprintln!("measuring {} processes for {}s", processes.len(), window.as_secs());
    let used = procfs::cpu_cores_over(&processes, window).await;
    println!("{:<16} {:>8} {:>8}", "process", "pid", "cores");
    for process in &used {
        println!("{:<16} {:>8} {:>8.3}", process.process, process.pid, process.cores);
    }
    let total: f64 = used.iter().map(|process| process.cores).sum();
    println!("{:<16} {:>8} {:>8.3}", "total", "", total);
    Ok(())
}

/// Every process `stack up` starts, with the port it listens on.
fn listeners(stack: &UpArgs) -> Vec<(String, u16)> {
    let mut named: BTreeMap<&str, SocketAddr> = BTreeMap::from([("broker", stack.broker_listen)]);
    for service in Service::ALL {
        named.insert(service.name(), stack.listen_of(service));
    }
    named.into_iter().map(|(name, address)| (name.to_string(), address.port())).collect()
}
