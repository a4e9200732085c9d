//! `compare chaos`: does the view lose anything when the system is knocked over?
//!
//! ```text
//! steady writes (order life cycles through the three source services, retried across restarts)
//!   ‖ faults at random moments: SIGKILL order-history, SIGKILL a source service right after it
//!     acknowledged a write (between its commit and its publish) or at random, SIGKILL the
//!     broker, SIGSTOP the schema registry for a few seconds
//!   → stop writing, wait for every process to be ready again
//!   → reconcile (order-history's drift detector) until it finds no drift, or time runs out
//! ```
//!
//! Pass: no missing, stale, extra or mismatched document, and every fault recovered.
//!
//! Processes are found by their listening ports in /proc and signalled directly, so the stack
//! must run on this machine and start again what exits: `stack up` does (the local profile).

mod faults;
mod report;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use reconcile::{ReconcileArgs, Reconciliation};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::{Credentials, Endpoints};
use crate::seed::{self, generator::Generator};
use crate::target::Stack;
pub use faults::{FaultKind, FaultRecord};
pub use report::ChaosReport;

#[derive(Clone, Debug, clap::Args)]
pub struct ChaosArgs {
    #[command(flatten)]
    pub endpoints: Endpoints,
    #[command(flatten)]
    pub credentials: Credentials,
    /// Seconds of writes under faults.
    #[arg(long, env = "CHAOS_DURATION", default_value_t = 60.0)]
    pub duration: f64,
    /// Faults to inject over the run, at random moments, cycling through every kind.
    #[arg(long, env = "CHAOS_FAULTS", default_value_t = 8)]
    pub faults: usize,
    /// Order life cycles started per second.
    #[arg(long, env = "CHAOS_WRITE_RATE", default_value_t = 5.0)]
    pub write_rate: f64,
    /// Seconds the schema registry stays paused.
    #[arg(long, env = "CHAOS_PAUSE_SECS", default_value_t = 3.0)]
    pub pause_secs: f64,
    /// How long the view may take to converge after the faults, in seconds.
    #[arg(long, env = "CHAOS_SETTLE_TIMEOUT", default_value_t = 180.0)]
    pub settle_timeout: f64,
    /// The seed of the data and of the fault schedule.
    #[arg(long, env = "CHAOS_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Where `chaos.md` and `chaos.json` are written.
    #[arg(long, env = "CHAOS_OUT", default_value = "report")]
    pub out: PathBuf,
}

/// How long a write keeps retrying while its service restarts.
const WRITE_PATIENCE: Duration = Duration::from_secs(60);
/// Order life cycles in flight at most.
const MAX_LIFE_CYCLES_IN_FLIGHT: usize = 32;

/// Runs the chaos test and writes its report; `passed` tells the verdict.
pub async fn run(args: &ChaosArgs) -> anyhow::Result<ChaosReport> {
    anyhow::ensure!(args.duration >= 1.0, "--duration must be at least 1 second");
    anyhow::ensure!(args.write_rate > 0.0 && args.write_rate <= 1000.0, "--write-rate must be in (0, 1000]");
    let stack = Stack::new(args.endpoints.clone(), args.credentials.clone(), Duration::from_secs(10))
        .await?
        .retrying_writes(WRITE_PATIENCE);
    stack.check_reachable().await?;
    stack.clear_faults().await?;
    let injector = faults::Injector::new(stack.clone(), args.pause_secs, args.seed);
    injector.check_processes_visible()?;

    let started = Instant::now();
    let stop_writing = CancellationToken::new();
    let tally = Arc::new(Mutex::new(WriteTally::default()));
    let writer =
        tokio::spawn(write_steadily(stack.clone(), args.write_rate, args.seed, tally.clone(), stop_writing.clone()));

    let schedule = faults::schedule(args.faults, Duration::from_secs_f64(args.duration), args.seed);
    let mut records = Vec::new();
    for planned in schedule {
        tokio::time::sleep_until((started + planned.at).into()).await;
        let record = injector.inject(planned.kind, started).await;
        tracing::info!(kind = ?record.kind, target = %record.target, recovered_s = ?record.recovered_after_s, "fault injected");
        records.push(record);
    }
    tokio::time::sleep_until((started + Duration::from_secs_f64(args.duration)).into()).await;
    stop_writing.cancel();
    writer.await.context("the writer panicked")?;
    let wrote_for = started.elapsed();

    let recovered = injector.wait_all_ready(Duration::from_secs(60)).await;
    let settle_started = Instant::now();
    let (reconciliation, attempts) =
        reconcile_until_clean(&args.endpoints, &args.credentials, Duration::from_secs_f64(args.settle_timeout)).await?;
    let converged_after = settle_started.elapsed();

    let tally = tally.lock().expect("no panics while locked").clone();
    let mut report =
        ChaosReport::new(args, wrote_for, records, recovered, tally, &reconciliation, attempts, converged_after);
    report.files = report.write(&args.out)?;
    Ok(report)
}

/// Writes counted by outcome.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WriteTally {
    pub life_cycles_started: u64,
    pub life_cycles_failed: u64,
    pub writes_acknowledged: u64,
    pub writes_refused: u64,
}

/// Starts order life cycles at `rate` per second until `stop`, then waits for those in flight.
async fn write_steadily(stack: Stack, rate: f64, seed: u64, tally: Arc<Mutex<WriteTally>>, stop: CancellationToken) {
    let mut generator = Generator::new(seed, 200);
    let in_flight = Arc::new(Semaphore::new(MAX_LIFE_CYCLES_IN_FLIGHT));
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut running = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            // every slot waits on a restarting service: starting more would only pile up
            continue;
        };
        let (stack, tally, plan) = (stack.clone(), tally.clone(), generator.order());
        running.spawn(async move {
            let _permit = permit;
            let outcome = seed::write_life_cycle_counted(&stack, plan).await;
            let mut tally = tally.lock().expect("no panics while locked");
            tally.life_cycles_started += 1;
            tally.writes_acknowledged += outcome.acknowledged;
            tally.writes_refused += outcome.refused;
            if !outcome.placed {
                tally.life_cycles_failed += 1;
            }
        });
    }
    while running.join_next().await.is_some() {}
}

/// Reconciles until there is no drift or `timeout` runs out; the last reconciliation and the
/// number of passes.
async fn reconcile_until_clean(
    endpoints: &Endpoints,
    credentials: &Credentials,
    timeout: Duration,
) -> anyhow::Result<(Reconciliation, u32)> {
    let mut args = ReconcileArgs::new(
        &endpoints.order_history,
        &endpoints.order_svc,
        &endpoints.payment_svc,
        &endpoints.shipping_svc,
    );
    args.read_token = Some(credentials.service_token().await?);
    let deadline = Instant::now() + timeout;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let reconciliation = reconcile::reconcile(&args).await.context("reconcile failed")?;
        if !reconciliation.has_drift() || Instant::now() >= deadline {
            return Ok((reconciliation, attempts));
        }
        tracing::info!(attempts, "the view has not converged yet; reconciling again");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
