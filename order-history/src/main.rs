//! order-history: serve (the default), rebuild the view, or reconcile it with the sources.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use order_history::app::{Application, catalog, codec};
use order_history::config::{Cli, Command, Config, ReadModel};
use order_history::rebuild::{self, RebuildFrom, RebuildSetup, RebuildTracker};
use order_history::snapshot::{SnapshotStore, StatisticsSnapshots};
use order_history::stats::{self, StatsSetup, StatsStore};
use tokio_util::sync::CancellationToken;

// Projection allocates and frees a document per event; glibc's malloc took a quarter of the
// rebuild's CPU in a profile (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    platform::telemetry::init_tracing();
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Reconcile(args) => {
            // 0 no drift, 1 drift, 2 a service cannot be read: for scripts and cron
            let exit_code = reconcile::main(args).await;
            std::process::exit(exit_code)
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            let app = Application::start(&config).await?;
            tracing::info!(listen = %config.listen, "order-history serving");
            app.serve(listener, platform::http::shutdown_signal()).await
        }
        Command::Rebuild(args) => {
            let catalog = catalog(&config)?;
            // opening the live view takes tantivy's writer lock, so a running server is
            // detected here instead of having its view swapped under it
            let _live = catalog
                .open_live()
                .await
                .context("cannot open the live view; is order-history running? then use POST /admin/rebuild")?;
            let from = if args.from_snapshot { RebuildFrom::LatestSnapshot } else { RebuildFrom::Beginning };
            let snapshots = Arc::new(SnapshotStore::new(&config.snapshot_dir(), config.snapshot_keep));
            let shutdown = CancellationToken::new();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                platform::http::shutdown_signal().await;
                stop.cancel();
            });
            if args.includes(ReadModel::OrderView) {
                let setup = RebuildSetup {
                    catalog,
                    kafka: config.kafka.clone(),
                    codec: codec(&config)?,
                    limits: config.batch_limits(),
                    snapshots: snapshots.clone(),
                };
                rebuild_order_view(&setup, from, &shutdown).await?;
            }
            if args.includes(ReadModel::Statistics) {
                rebuild_statistics(&config, &snapshots, from, &shutdown).await?;
            }
            Ok(())
        }
    }
}

async fn rebuild_order_view(
    setup: &RebuildSetup,
    from: RebuildFrom,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let generation = rebuild::new_generation();
    let tracker = RebuildTracker::with_progress_bar();
    tracker.try_start(&generation);
    rebuild::run(setup, &generation, None, from, &tracker, shutdown).await?;
    let status = tracker.status();
    for refusal in &status.refused_snapshots {
        println!("refused {refusal}");
    }
    let started_from = match &status.restored_snapshot {
        Some(snapshot) => format!("snapshot {snapshot}"),
        None => "offset 0".to_string(),
    };
    println!(
        "rebuilt view {generation} from {started_from}: {} records, {} events applied, {} rejected, {:.0} records/s",
        status.records_done,
        status.events_applied,
        status.rejected,
        status.records_per_second.unwrap_or_default()
    );
    Ok(())
}

async fn rebuild_statistics(
    config: &Config,
    snapshots: &SnapshotStore,
    from: RebuildFrom,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let store = StatsStore::connect(&config.stats_database_url()).await?;
    let model = StatisticsSnapshots::new(store, &config.data_dir);
    let setup = StatsSetup {
        consumer: config.kafka.consumer_config("order-history-stats-rebuild", &config.stats_group_id),
        codec: codec(config)?,
        limits: config.batch_limits(),
    };
    let rebuilt = stats::rebuild::rebuild(setup, &model, snapshots, &config.kafka, from, shutdown).await?;
    for refusal in &rebuilt.refused_snapshots {
        println!("refused {refusal}");
    }
    let started_from = match &rebuilt.restored_snapshot {
        Some(snapshot) => format!("snapshot {snapshot}"),
        None => "offset 0".to_string(),
    };
    println!(
        "rebuilt statistics from {started_from}: {} records read, {:.0} records/s",
        rebuilt.records_read,
        rebuilt.records_per_second()
    );
    Ok(())
}
