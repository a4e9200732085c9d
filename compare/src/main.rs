//! `compare`: measures CQRS against API Composition on a running stack and writes a report.

use clap::{Parser, Subcommand};
use compare::chaos::ChaosArgs;
use compare::config::CompareArgs;

#[derive(Parser)]
#[command(
    name = "compare",
    about = "measures order-history (CQRS) against composer (API Composition) on a running stack and writes report.md, report.json and charts"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    args: CompareArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Steady writes while processes are killed, the broker restarted and the registry paused;
    /// then reconcile must find the view whole. Writes chaos.md and chaos.json.
    Chaos(Box<ChaosArgs>),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    platform::telemetry::init_tracing();
    let cli = Cli::parse();
    if let Some(Command::Chaos(args)) = cli.command {
        return chaos(&args).await;
    }
    match compare::run(&cli.args).await {
        Ok(outcome) => {
            println!("report written:");
            for file in &outcome.files {
                println!("  {}", file.display());
            }
            for line in compare::headlines(&outcome.report) {
                println!("- {line}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn chaos(args: &ChaosArgs) -> std::process::ExitCode {
    match compare::chaos::run(args).await {
        Ok(report) => {
            print!("{}", report.markdown());
            for file in &report.files {
                println!("written: {}", file.display());
            }
            if report.passed { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}
