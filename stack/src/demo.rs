//! `stack demo`: the main job. Brings up the whole system on an empty data dir, runs `compare`
//! against it, prints where the report is and its most telling figures, and keeps the system up
//! for exploring until Ctrl-C (or stops at once with `--exit`).

use std::path::PathBuf;

use anyhow::Context;
use compare::config::{CompareArgs, Scenario};

use crate::config::UpArgs;
use crate::up;

#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub up: UpArgs,
    /// Orders to seed (default 20,000; 300 with --quick).
    #[arg(long)]
    pub orders: Option<u64>,
    /// Seconds of each load step (default 5, measured 3 times; 1.5 and once with --quick).
    #[arg(long)]
    pub duration: Option<f64>,
    /// GET-by-id arrival rates, requests per second, comma separated (default 200,1000,3000).
    #[arg(long, value_delimiter = ',')]
    pub rates: Option<Vec<f64>>,
    /// How often each compared step is measured (default 3; 1 with --quick).
    #[arg(long, env = "COMPARE_REPEAT")]
    pub repeat: Option<u32>,
    /// The deadline of every load request, both designs, in milliseconds (default 1,000).
    #[arg(long, env = "COMPARE_DEADLINE_MS")]
    pub deadline_ms: Option<u64>,
    /// The p99 a rate must keep to count in a design's capacity, in milliseconds.
    #[arg(long, env = "COMPARE_SLO_MS", default_value_t = 100.0)]
    pub slo_ms: f64,
    /// Small and fast: 300 orders, 1.5-second steps, two rates, one slowdown; under 2 minutes once built.
    #[arg(long)]
    pub quick: bool,
    /// Run only these scenarios (comma separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub scenarios: Option<Vec<Scenario>>,
    /// The seed of the generated data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where the report is written.
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// Stop the system once the report is written, instead of leaving it up until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
}

pub async fn run(mut args: DemoArgs) -> anyhow::Result<()> {
    // every demo starts from nothing, so that its figures are comparable with other runs of the
    // same seed; the data of `stack up` (the data dir itself) is left alone
    let demo_dir = args.up.data_dir.join("demo");
    if demo_dir.exists() {
        std::fs::remove_dir_all(&demo_dir).with_context(|| format!("cannot empty {}", demo_dir.display()))?;
    }
    args.up.data_dir = demo_dir.clone();
    // the pages show the charts of the report this demo writes
    args.up.report_dir = args.out.clone();
    let mut stack = up::start(&args.up).await?;
    let compare_args = compare_args(&args, &demo_dir);
    println!(
        "running compare (seed {}); this takes {}",
        args.seed,
        if args.quick { "under two minutes" } else { "under twenty minutes" }
    );
    let outcome = stack.watch(compare::run(&compare_args)).await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            stack.stop().await;
            return Err(error.context("the comparison failed; the logs are in the data dir"));
        }
    };
    let report = std::path::absolute(args.out.join("report.md"))?;
    println!();
    println!("report: {}", report.display());
    for line in compare::headlines(&outcome.report) {
        println!("- {line}");
    }
    if args.exit {
        stack.stop().await;
        return Ok(());
    }
    let web = args.up.web_listen;
    println!(
        "the system stays up for exploring: search at http://{web}/, both designs side by side at \
         http://{web}/compare, statistics at http://{web}/stats"
    );
    println!("(README.md, \"Try it\", has more)");
    stack.serve_until_stopped().await
}

fn compare_args(args: &DemoArgs, data_dir: &std::path::Path) -> CompareArgs {
    let up = &args.up;
    CompareArgs {
        endpoints: up.endpoints(),
        credentials: up.credentials.clone(),
        orders: args.orders,
        duration: args.duration,
        rates: args.rates.clone(),
        fault_rate: None,
        write_rate: None,
        deadline_ms: args.deadline_ms,
        slo_ms: args.slo_ms,
        capacity_fraction: 0.5,
        write_read_ratio: 0.1,
        broker_data_dir: None,
        elasticsearch_url: up.elasticsearch_url.clone(),
        elasticsearch_alias: "order-history".into(),
        repeat: args.repeat,
        quick: args.quick,
        scenarios: args.scenarios.clone(),
        seed: args.seed,
        out: args.out.clone(),
        stack_data_dir: data_dir.to_path_buf(),
        profile: if up.elasticsearch_url.is_some() { "local, elasticsearch".into() } else { "local".into() },
        converge_timeout: 600.0,
        no_progress: false,
    }
}
