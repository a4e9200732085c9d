//! The faults: when each happens, how it is injected, and how long the system takes to be ready
//! again.

use std::time::{Duration, Instant};

use anyhow::bail;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;

use crate::procfs;
use crate::report::model::SOURCE_SERVICES;
use crate::seed::generator::Generator;
use crate::target::Stack;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// SIGKILL order-history, mid-batch under the steady writes.
    KillOrderHistory,
    /// SIGKILL a source service the moment it acknowledges a write: after its commit, before
    /// its relay has published (or marked) the outbox row.
    KillSourceAfterCommit,
    /// SIGKILL a source service at a random moment.
    KillSourceAtRandom,
    /// SIGKILL the broker; the stack starts it again on the same data.
    RestartBroker,
    /// SIGSTOP the schema registry, SIGCONT it a few seconds later.
    PauseRegistry,
}

const KINDS: [FaultKind; 5] = [
    FaultKind::KillOrderHistory,
    FaultKind::KillSourceAfterCommit,
    FaultKind::KillSourceAtRandom,
    FaultKind::RestartBroker,
    FaultKind::PauseRegistry,
];

/// A fault planned at `at` after the start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Planned {
    pub at: Duration,
    pub kind: FaultKind,
}

/// `count` faults over `duration`: one in each of `count` equal slots, at a random point of the
/// slot's middle 80%, so faults never overlap and the order is unpredictable. Every kind comes
/// up once before any comes up again.
pub fn schedule(count: usize, duration: Duration, seed: u64) -> Vec<Planned> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let slot = duration.as_secs_f64() / count.max(1) as f64;
    let mut kinds = Vec::with_capacity(count);
    while kinds.len() < count {
        let mut round = KINDS.to_vec();
        rng.shuffle(&mut round);
        kinds.extend(round);
    }
    (0..count)
        .map(|index| Planned {
            at: Duration::from_secs_f64(slot * (index as f64 + 0.1 + 0.8 * rng.f64())),
            kind: kinds[index],
        })
        .collect()
}

/// What happened to one fault.
#[derive(Clone, Debug, Serialize)]
pub struct FaultRecord {
    /// Seconds after the start.
    pub at_s: f64,
    pub kind: FaultKind,
    pub target: String,
    pub pid: Option<u32>,
    /// From the signal until the target (and what depends on it) answered ready again; `None`
    /// when it did not within the minute allowed.
    pub recovered_after_s: Option<f64>,
    pub note: Option<String>,
}

/// How long a fault's target may take to be ready again.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Injector {
    stack: Stack,
    pause: Duration,
    rng: std::sync::Mutex<fastrand::Rng>,
    generator: std::sync::Mutex<Generator>,
}

impl Injector {
    /// `seed` chooses the targets and the orders written before an after-commit kill, so that a
    /// run can be repeated.
    pub fn new(stack: Stack, pause_secs: f64, seed: u64) -> Self {
        Self {
            stack,
            pause: Duration::from_secs_f64(pause_secs.clamp(0.1, 60.0)),
            rng: std::sync::Mutex::new(fastrand::Rng::with_seed(seed)),
            // apart from the writer's generator, whose orders would otherwise repeat
            generator: std::sync::Mutex::new(Generator::new(seed.wrapping_add(1), 50)),
        }
    }

    /// Fails unless every process of the stack can be found by its port: chaos signals them.
    pub fn check_processes_visible(&self) -> anyhow::Result<()> {
        let missing: Vec<String> = self
            .stack
            .endpoints
            .ports()
            .into_iter()
            .filter(|(name, _)| name != "composer" && self.pid_of(name).is_none())
            .map(|(name, port)| format!("{name} (port {port})"))
            .collect();
        if !missing.is_empty() {
            bail!(
                "chaos signals the stack's processes and must run on their machine (the local profile, `stack up`); \
                 not found in /proc: {}",
                missing.join(", ")
            );
        }
        Ok(())
    }

    fn pid_of(&self, process: &str) -> Option<u32> {
        let port = self.stack.endpoints.ports().into_iter().find(|(name, _)| name == process)?.1;
        procfs::listeners(&[port]).get(&port).copied()
    }

    fn pick_source_service(&self) -> &'static str {
        let mut rng = self.rng.lock().expect("no panics while locked");
        SOURCE_SERVICES[rng.usize(..SOURCE_SERVICES.len())]
    }

    pub async fn inject(&self, kind: FaultKind, started: Instant) -> FaultRecord {
        let at_s = started.elapsed().as_secs_f64();
        let (target, pid, recovered, note) = match kind {
            FaultKind::KillOrderHistory => {
                let (pid, recovered) = self.kill("order-history", &["order-history"]).await;
                ("order-history", pid, recovered, None)
            }
            FaultKind::KillSourceAtRandom => {
                let service = self.pick_source_service();
                let (pid, recovered) = self.kill(service, &[service]).await;
                (service, pid, recovered, None)
            }
            FaultKind::KillSourceAfterCommit => {
                let service = self.pick_source_service();
                match self.write_then_kill(service).await {
                    Ok((pid, recovered, acknowledged)) => (service, pid, recovered, Some(acknowledged)),
                    Err(error) => (service, None, None, Some(format!("no write to kill after: {error:#}"))),
                }
            }
            FaultKind::RestartBroker => {
                let dependents = ["broker", "order-history", "order-svc", "payment-svc", "shipping-svc"];
                let (pid, recovered) = self.kill("broker", &dependents).await;
                ("broker", pid, recovered, None)
            }
            FaultKind::PauseRegistry => {
                let pid = self.pid_of("schema-registry");
                let signalled = Instant::now();
                if let Some(pid) = pid {
                    signal(pid, Signal::SIGSTOP);
                    tokio::time::sleep(self.pause).await;
                    signal(pid, Signal::SIGCONT);
                }
                let recovered = self.wait_ready(&["schema-registry"], None, signalled).await;
                ("schema-registry", pid, recovered, Some(format!("paused {:.1} s", self.pause.as_secs_f64())))
            }
        };
        FaultRecord { at_s, kind, target: target.to_string(), pid, recovered_after_s: recovered, note }
    }

    /// SIGKILLs `process`; then waits until a new process listens in its place and `ready` all
    /// answer `/readyz`.
    async fn kill(&self, process: &str, ready: &[&str]) -> (Option<u32>, Option<f64>) {
        let Some(pid) = self.pid_of(process) else {
            return (None, None);
        };
        let signalled = Instant::now();
        signal(pid, Signal::SIGKILL);
        let recovered = self.wait_ready(ready, Some((process, pid)), signalled).await;
        (Some(pid), recovered)
    }

    /// Writes to `service` and SIGKILLs it the moment the write is acknowledged. A payment or
    /// shipment belongs to an order placed first, so that the source of truth stays whole.
    async fn write_then_kill(&self, service: &str) -> anyhow::Result<(Option<u32>, Option<f64>, String)> {
        let plan = {
            let mut generator = self.generator.lock().expect("no panics while locked");
            loop {
                let plan = generator.order();
                if plan.payment.is_some() && plan.shipment.is_some() {
                    break plan;
                }
            }
        };
        let pid = self.pid_of(service);
        let (path, body) = if service == "order-svc" {
            ("/orders".to_string(), plan.order.clone())
        } else {
            let (order, _) = self.stack.write("order-svc", "/orders", Some(&plan.order)).await?;
            let order_id = order["id"].as_str().unwrap_or_default();
            match (service, &plan.payment, &plan.shipment) {
                ("payment-svc", Some(payment), _) => (
                    "/payments".to_string(),
                    crate::seed::generator::with_order_id(&payment.body_without_order_id, order_id),
                ),
                (_, _, Some(shipment)) => (
                    "/shipments".to_string(),
                    serde_json::json!({"order_id": order_id, "carrier": shipment.carrier, "address": shipment.address}),
                ),
                _ => bail!("the plan has no {service} part"),
            }
        };
        let (answer, _) = self.stack.write(service, &path, Some(&body)).await?;
        let signalled = Instant::now();
        if let Some(pid) = pid {
            signal(pid, Signal::SIGKILL);
        }
        let acknowledged =
            format!("killed right after acknowledging {} {}", path, answer["id"].as_str().unwrap_or("?"));
        let recovered = match pid {
            Some(pid) => self.wait_ready(&[service], Some((service, pid)), signalled).await,
            None => None,
        };
        Ok((pid, recovered, acknowledged))
    }

    /// Waits until every one of `services` answers `/readyz` (the broker: listens again) and,
    /// with `replaced`, a new process listens in place of the killed one; seconds since
    /// `since`, or `None` after [`RECOVERY_TIMEOUT`].
    async fn wait_ready(&self, services: &[&str], replaced: Option<(&str, u32)>, since: Instant) -> Option<f64> {
        let deadline = since + RECOVERY_TIMEOUT;
        loop {
            let new_process = match replaced {
                Some((process, old)) => self.pid_of(process).is_some_and(|pid| pid != old),
                None => true,
            };
            if new_process && self.all_ready(services).await {
                return Some(since.elapsed().as_secs_f64());
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn all_ready(&self, services: &[&str]) -> bool {
        for service in services {
            let ready = if *service == "broker" {
                self.pid_of("broker").is_some()
            } else {
                let Ok(base) = self.stack.url_of(service) else {
                    return false;
                };
                let url = format!("{base}/readyz");
                let answer = self.stack.client.get(&url).timeout(Duration::from_secs(1)).send().await;
                answer.is_ok_and(|response| response.status().is_success())
            };
            if !ready {
                return false;
            }
        }
        true
    }

    /// Whether the whole stack is ready again within `timeout`.
    pub async fn wait_all_ready(&self, timeout: Duration) -> bool {
        let everything = ["broker", "schema-registry", "order-svc", "payment-svc", "shipping-svc", "order-history"];
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.all_ready(&everything).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }
}

fn signal(pid: u32, signal: Signal) {
    let Ok(raw) = i32::try_from(pid) else { return };
    if let Err(error) = kill(Pid::from_raw(raw), signal) {
        tracing::warn!(pid, ?signal, %error, "cannot signal the process");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spreads_faults_over_the_run_and_covers_every_kind() {
        let planned = schedule(10, Duration::from_secs(100), 3);
        assert_eq!(planned.len(), 10);
        for (index, fault) in planned.iter().enumerate() {
            let slot_start = index as f64 * 10.0;
            assert!(fault.at.as_secs_f64() >= slot_start + 1.0 && fault.at.as_secs_f64() <= slot_start + 9.0);
        }
        for kind in KINDS {
            assert_eq!(planned.iter().filter(|fault| fault.kind == kind).count(), 2, "{kind:?}");
        }
        assert_eq!(planned, schedule(10, Duration::from_secs(100), 3), "the same seed, the same schedule");
    }
}
