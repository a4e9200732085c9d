//! `compare`: measures CQRS against API Composition on a running stack and writes a report.

use clap::Parser;
use compare::config::CompareArgs;

#[derive(Parser)]
#[command(
    name = "compare",
    about = "measures order-history (CQRS) against composer (API Composition) on a running stack and writes report.md, report.json and charts"
)]
struct Cli {
    #[command(flatten)]
    args: CompareArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    platform::telemetry::init_tracing();
    let cli = Cli::parse();
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
