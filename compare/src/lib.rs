//! `compare`: measures CQRS (order-history) against API Composition (composer) on one running
//! stack, on the same work in the same run, and writes `report.md`, `report.json` and charts.
//!
//! ```text
//! check the stack → seed (and measure the projection's cost) → standing cost at rest
//!   → capacity of each design at the SLO → scenarios at a fraction of the lower capacity,
//!   one design at a time → coupling matrix, costs and verdicts from the measurements → report
//! ```

pub mod capacity;
pub mod chaos;
pub mod config;
pub mod costs;
pub mod load;
pub mod procfs;
pub mod report;
pub mod scenarios;
pub mod seed;
pub mod target;
pub mod verdict;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::MultiProgress;

use config::{CompareArgs, Plan, Scenario};
use report::model::{CqrsCost, Design, Environment, Report, SOURCE_SERVICES, StandingCost};
use scenarios::{Rates, Run};
use target::Stack;

/// The HTTP client's own limit on every call; the load steps apply `--deadline-ms` within it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a finished run leaves behind.
pub struct Outcome {
    pub report: Report,
    pub files: Vec<PathBuf>,
}

/// Runs the whole comparison and writes the report.
pub async fn run(args: &CompareArgs) -> anyhow::Result<Outcome> {
    let plan = args.plan()?;
    // before the first request: a report that cannot be saved would lose the whole run
    ensure_writable(&plan.out)?;
    let started_at = now();
    let stack =
        Stack::new(plan.endpoints.clone(), plan.credentials.clone(), REQUEST_TIMEOUT.max(plan.deadline)).await?;
    stack.check_reachable().await?;
    // a fault left behind by an interrupted run would skew every figure
    stack.clear_faults().await?;
    seed::ensure_empty(&stack, plan.seed, plan.customers).await?;
    let pids = stack_pids(&plan);
    let progress = if plan.progress {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
    };

    tracing::info!(orders = plan.orders, seed = plan.seed, "seeding");
    let order_history_pid = pids.get("order-history").copied();
    let cost_before = CostProbe::take(&stack, order_history_pid).await?;
    let seeded = seed::seed(&plan, &stack, &progress).await?;
    let cost_after = CostProbe::take(&stack, order_history_pid).await?;
    let seeding_seconds = seeded.seeding.as_ref().map_or(0.0, |s| s.write_seconds + s.converge_seconds);
    let cqrs_cost = cqrs_cost(&plan, &stack, &cost_before, &cost_after, seeding_seconds, order_history_pid).await;

    let idle_cpu = idle_cpu(&pids).await;
    let idle_cpu_cores = (!idle_cpu.is_empty()).then(|| idle_cpu.iter().map(|process| process.cores).sum::<f64>());
    let rates = Rates::fixed(&plan);
    let mut run = Run { plan: plan.clone(), stack, seeded, pids, rates, writes: None, progress };
    let mut environment = environment(&plan, &run.stack, &started_at).await;
    environment.idle_cpu_cores = idle_cpu_cores;
    let mut report = Report::empty(environment);
    report.standing_cost = standing_cost(&idle_cpu);
    report.environment.idle_cpu = idle_cpu;
    report.runs = plan.repeat;
    report.seeding = run.seeded.seeding.clone();
    report.cqrs_cost = Some(cqrs_cost);
    let outcome = run_scenarios(&mut run, &mut report).await;
    // whatever happened, leave no fault behind
    let cleared = run.stack.clear_faults().await;
    outcome?;
    cleared?;
    let mut healthy = report.get_by_id.clone();
    healthy.extend(report.search.iter().cloned());
    report.coupling = scenarios::coupling::matrix(&healthy, &report.dependency_down);
    report.verdicts = verdict::report_verdicts(&report);
    if let Some(writes) = &run.writes {
        report.costs = Some(costs::charge(&report, writes, plan.write_read_ratio));
    }
    report.environment.finished_at = now();
    let files = report::write_report(&plan.out, &report)
        .with_context(|| format!("cannot write the report to {}", plan.out.display()))?;
    Ok(Outcome { report, files })
}

/// Fails unless `folder` exists (or can be created) and a file can be written in it.
fn ensure_writable(folder: &Path) -> anyhow::Result<()> {
    let cannot_write = || format!("cannot write the report folder {}", folder.display());
    std::fs::create_dir_all(folder).with_context(cannot_write)?;
    // a hidden name, which the pages never list as a chart
    let probe = folder.join(format!(".compare-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(cannot_write)?;
    std::fs::remove_file(&probe).with_context(cannot_write)?;
    Ok(())
}

async fn run_scenarios(run: &mut Run, report: &mut Report) -> anyhow::Result<()> {
    if run.plan.runs(Scenario::Capacity) {
        report.capacity = run.capacity().await?;
        run.rates = Rates::from_capacity(&run.plan, &report.capacity);
        tracing::info!(rates = ?run.rates, "the scenarios run at a fraction of the lower capacity");
    }
    if run.plan.runs(Scenario::GetById) {
        report.get_by_id = run.get_by_id().await?;
    }
    if run.plan.runs(Scenario::Search) {
        report.search = run.search().await?;
    }
    // before freshness, whose writes would add orders: the windows then hold the seeded orders
    if run.plan.runs(Scenario::Statistics) {
        report.statistics = Some(run.statistics().await?);
    }
    if run.plan.runs(Scenario::Freshness) {
        run.writes = Some(run.measure_writes().await?);
        report.freshness = Some(run.freshness(0.0).await?);
        let read_load = run.rates.of(scenarios::reads::GET_BY_ID);
        report.freshness_under_load = Some(run.freshness(read_load).await?);
    }
    if run.plan.runs(Scenario::SlowDependency) {
        report.slow_dependency = run.slow_dependency().await?;
    }
    if run.plan.runs(Scenario::DependencyDown) {
        report.dependency_down = run.dependency_down().await?;
    }
    if run.plan.runs(Scenario::ContractChange) {
        report.contract_change = run.contract_change().await?;
    }
    Ok(())
}

/// CPU cores each of the stack's processes uses with nothing to do: consumers waiting on the
/// broker, relays, housekeeping. Reported as the standing cost, never subtracted.
async fn idle_cpu(pids: &BTreeMap<String, u32>) -> Vec<procfs::ProcessCpu> {
    if pids.is_empty() {
        return Vec::new();
    }
    // let the projection finish what seeding left, then sample a quiet stretch
    tokio::time::sleep(Duration::from_secs(2)).await;
    procfs::cpu_cores_over(pids, IDLE_WINDOW).await
}

/// Each process's standing cost, charged to the design it exists for: the read model, the
/// broker and the registry to CQRS, the composer to composition; the source services are the
/// system of record both designs read (`None`).
fn standing_cost(idle: &[procfs::ProcessCpu]) -> Vec<StandingCost> {
    idle.iter()
        .map(|process| StandingCost {
            process: process.process.clone(),
            cores: process.cores,
            design: Design::BOTH.into_iter().find(|design| {
                design.processes().contains(&process.process.as_str())
                    && !SOURCE_SERVICES.contains(&process.process.as_str())
            }),
        })
        .collect()
}

/// Long enough that one 100 Hz tick of CPU time is 0.1% of a core.
const IDLE_WINDOW: Duration = Duration::from_secs(10);

/// The stack's processes on this machine, by name.
fn stack_pids(plan: &Plan) -> BTreeMap<String, u32> {
    let pids = procfs::processes_listening(plan.endpoints.ports());
    if pids.is_empty() {
        tracing::warn!("none of the stack's processes is visible in /proc; cpu figures will be missing");
    }
    pids
}

struct CostProbe {
    events_applied: f64,
    cpu_seconds: Option<f64>,
}

impl CostProbe {
    async fn take(stack: &Stack, pid: Option<u32>) -> anyhow::Result<Self> {
        let events_applied = stack.scrape("order-history").await?.sum("order_history_events_applied_total", &[]);
        Ok(Self { events_applied, cpu_seconds: pid.and_then(procfs::cpu_seconds) })
    }
}

async fn cqrs_cost(
    plan: &Plan,
    stack: &Stack,
    before: &CostProbe,
    after: &CostProbe,
    seconds: f64,
    pid: Option<u32>,
) -> CqrsCost {
    let events_applied = (after.events_applied - before.events_applied).max(0.0) as u64;
    let source_bytes: Option<u64> = SOURCE_SERVICES
        .iter()
        .map(|service| procfs::dir_bytes(&plan.stack_data_dir.join(service)))
        .try_fold(0, |sum, bytes| bytes.map(|bytes| sum + bytes));
    let orders_in_view = async {
        let url = format!("{}/orders?limit=1", stack.design_url(Design::OrderHistory));
        let answer: serde_json::Value = stack.client.get(&url).send().await.ok()?.json().await.ok()?;
        answer["total"].as_u64()
    }
    .await
    .unwrap_or(0);
    let elasticsearch_index_bytes = match &plan.elasticsearch_url {
        Some(url) => elasticsearch_index_bytes(stack, url, &plan.elasticsearch_alias).await,
        None => None,
    };
    CqrsCost {
        view_bytes: procfs::dir_bytes(&plan.stack_data_dir.join("order-history")),
        source_bytes,
        broker_log_bytes: procfs::broker_log_bytes(&plan.broker_data_dir),
        elasticsearch_index_bytes,
        orders_in_view,
        projection_cpu_seconds: after.cpu_seconds.zip(before.cpu_seconds).map(|(after, before)| after - before),
        events_applied,
        events_applied_per_second: if seconds > 0.0 { events_applied as f64 / seconds } else { 0.0 },
        order_history_rss_mib: pid.and_then(procfs::rss_mib),
    }
}

/// The store size of the index behind `alias`, primaries and replicas, from Elasticsearch's
/// index stats API; `None` when it cannot be read (logged).
async fn elasticsearch_index_bytes(stack: &Stack, url: &str, alias: &str) -> Option<u64> {
    let stats = format!("{}/{alias}/_stats/store", url.trim_end_matches('/'));
    let answer = async {
        let response = stack.client.get(&stats).send().await?.error_for_status()?;
        response.json::<serde_json::Value>().await
    }
    .await;
    match answer {
        Ok(stats) => stats["_all"]["total"]["store"]["size_in_bytes"].as_u64(),
        Err(error) => {
            tracing::warn!(%error, url = %stats, "cannot read the index size from elasticsearch");
            None
        }
    }
}

async fn environment(plan: &Plan, stack: &Stack, started_at: &str) -> Environment {
    let mut versions = BTreeMap::new();
    for service in target::HTTP_SERVICES {
        let url = stack.url_of(service).map(|base| format!("{base}/openapi.json"));
        let version = async {
            let url = url.ok()?;
            let document: serde_json::Value = stack.client.get(&url).send().await.ok()?.json().await.ok()?;
            document["info"]["version"].as_str().map(str::to_string)
        }
        .await;
        versions.insert(service.to_string(), version.unwrap_or_else(|| "unknown".to_string()));
    }
    let backend = async {
        let url = format!("{}/readyz", stack.design_url(Design::OrderHistory));
        let answer: serde_json::Value = stack.client.get(&url).send().await.ok()?.json().await.ok()?;
        answer["checks"].as_object().map(|checks| checks.keys().cloned().collect::<Vec<_>>().join(", "))
    }
    .await;
    if let Some(backend) = backend {
        versions.insert("order-history readiness checks".to_string(), backend);
    }
    Environment {
        started_at: started_at.to_string(),
        finished_at: String::new(),
        cpus: procfs::cpu_count(),
        os: procfs::os_description(),
        memory_total_mib: procfs::memory_total_mib(),
        idle_cpu_cores: None,
        idle_cpu: Vec::new(),
        profile: plan.profile.clone(),
        compare_version: env!("CARGO_PKG_VERSION").to_string(),
        versions,
        parameters: plan.parameters().into_iter().collect(),
        endpoints: plan.endpoints.as_list().into_iter().collect(),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The three most telling figures of a report, one line each, for a terminal.
pub fn headlines(report: &Report) -> Vec<String> {
    use report::model::Design;
    let mut lines = Vec::new();
    // GET by id at the highest rate both designs were measured at
    let rate = report.get_by_id.iter().map(|step| step.target_rps).fold(f64::NAN, f64::max);
    let at = |design: Design| report.get_by_id.iter().find(|step| step.design == design && step.target_rps == rate);
    if let (Some(cqrs), Some(composition)) = (at(Design::OrderHistory), at(Design::Composer)) {
        lines.push(format!(
            "GET by id at {rate} req/s: p99 {:.1} ms from order-history (CQRS), {:.1} ms from composer (API Composition); errors {:.1}% vs {:.1}%",
            cqrs.latency_ms.p99,
            composition.latency_ms.p99,
            cqrs.error_rate * 100.0,
            composition.error_rate * 100.0
        ));
    }
    if let Some(freshness) = &report.freshness {
        lines.push(format!(
            "freshness: order-history shows a write after p50 {:.0} ms, p99 {:.0} ms; composer answered {} of {} reads-after-write at the written version",
            freshness.staleness_ms.p50, freshness.staleness_ms.p99, freshness.composer_fresh_reads, freshness.composer_reads
        ));
    }
    let down = |design: Design| {
        report
            .dependency_down
            .iter()
            .filter(move |step| step.design == design && step.endpoint == scenarios::reads::GET_BY_ID)
    };
    let worst_full = |design: Design| {
        down(design)
            .map(|step| (step.ok as f64 / step.sent.max(1) as f64, step.condition.label()))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    };
    if let (Some((cqrs, _)), Some((composition, condition))) =
        (worst_full(Design::OrderHistory), worst_full(Design::Composer))
    {
        lines.push(format!(
            "with {condition}: composer answered {:.0}% of GETs in full, order-history {:.0}% (its worst case over every service down)",
            composition * 100.0,
            cqrs * 100.0
        ));
    }
    lines
}
