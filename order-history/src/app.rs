//! Startup and shutdown: open the live view, start the projection, serve HTTP; on a signal,
//! stop accepting, finish requests, stop projection after its current batch.

use std::sync::Arc;

use anyhow::Context;
use events::{EventCodec, RegistryConfig};
use platform::auth::{BearerToken, ReadAccess, ReadGuard, checked_token};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{BootstrapSource, Config};
use crate::http::{ApiState, StatsState, router};
use crate::index::ViewCatalog;
use crate::index::elasticsearch::{ElasticsearchCatalog, ElasticsearchConfig};
use crate::index::tantivy::TantivyCatalog;
use crate::projection::{self, Assignment, LiveView, ProjectionSetup};
use crate::rebuild::{RebuildSetup, RebuildTracker};
use crate::snapshot::{
    ORDER_VIEW, OrderViewSnapshots, STATISTICS, SnapshotStore, SnapshottableReadModel, StatisticsSnapshots, remote,
    schedule,
};
use crate::stats::{StatsSetup, StatsStatus, StatsStore};

/// The view catalog the configuration names: Elasticsearch when a URL is given, else tantivy.
pub fn catalog(config: &Config) -> anyhow::Result<Arc<dyn ViewCatalog>> {
    Ok(match &config.elasticsearch_url {
        Some(url) => {
            let mut es = ElasticsearchConfig::new(url);
            es.index_prefix = config.elasticsearch_alias.clone();
            Arc::new(ElasticsearchCatalog::new(&es).with_context(|| format!("cannot use elasticsearch at {url}"))?)
        }
        None => Arc::new(
            TantivyCatalog::open(&config.data_dir)
                .with_context(|| format!("cannot use the data dir {}", config.data_dir.display()))?,
        ),
    })
}

pub fn codec(config: &Config) -> anyhow::Result<Arc<EventCodec>> {
    Ok(Arc::new(
        EventCodec::new(&RegistryConfig::new(&config.schema_registry_url))
            .context("cannot create the schema registry client")?,
    ))
}

/// On first start (no live view yet), makes the newest valid snapshot at `source` the live view,
/// so projection resumes from the offsets it covers instead of offset 0. A data dir that has a
/// view already is left alone; when every snapshot is refused, the view starts empty (logged).
async fn bootstrap_order_view(catalog: Arc<dyn ViewCatalog>, source: &std::path::Path) -> anyhow::Result<()> {
    let model = OrderViewSnapshots::new(catalog.clone());
    // the live generation is only known to the tantivy catalog; elasticsearch has no bootstrap
    model.schema_fingerprint().map_err(anyhow::Error::new).context("cannot bootstrap from a snapshot")?;
    if catalog.has_live().await? {
        tracing::info!(source = %source.display(), "the data dir has a view already; bootstrap skipped");
        return Ok(());
    }
    let store = SnapshotStore::new(source, 1);
    let generation = crate::rebuild::new_generation();
    let (restored, refused) = store.restore_latest(&model, &generation).await.context("cannot bootstrap")?;
    let Some(restored) = restored else {
        tracing::error!(source = %source.display(), refused = refused.len(), "no valid snapshot to bootstrap from; starting from offset 0");
        return Ok(());
    };
    // closing a tantivy view waits for its writer's threads: off the runtime
    let copy = restored.copy;
    tokio::task::spawn_blocking(move || drop(copy)).await.context("cannot close the restored view")?;
    catalog.promote(&generation).await.context("cannot make the restored snapshot the live view")?;
    tracing::info!(
        snapshot = restored.manifest.name,
        documents = restored.manifest.documents,
        source = %source.display(),
        "bootstrapped from a snapshot"
    );
    Ok(())
}

/// On first start (the statistics store covers nothing yet), loads the newest valid statistics
/// snapshot at `source` into it, so the statistics projection resumes from its offsets. When
/// every snapshot is refused, or `source` has none, the statistics start from offset 0 (logged).
async fn bootstrap_statistics(model: &StatisticsSnapshots, source: &std::path::Path) -> anyhow::Result<()> {
    if model.covered().await.map_err(anyhow::Error::new)?.is_some() {
        tracing::info!(source = %source.display(), "the statistics store has data already; bootstrap skipped");
        return Ok(());
    }
    let store = SnapshotStore::new(source, 1);
    let target = crate::rebuild::new_generation();
    let (restored, refused) = store.restore_latest(model, &target).await.context("cannot bootstrap the statistics")?;
    let Some(restored) = restored else {
        tracing::error!(source = %source.display(), refused = refused.len(), "no valid statistics snapshot to bootstrap from; starting from offset 0");
        return Ok(());
    };
    tracing::info!(
        snapshot = restored.manifest.name,
        orders = restored.copy.orders,
        source = %source.display(),
        "statistics bootstrapped from a snapshot"
    );
    Ok(())
}

/// A running order-history: the projection task and what the HTTP API serves from.
pub struct Application {
    pub state: ApiState,
    projection: JoinHandle<anyhow::Result<()>>,
    statistics: JoinHandle<anyhow::Result<()>>,
    shutdown: CancellationToken,
}

impl Application {
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        let catalog = catalog(config)?;
        let codec = codec(config)?;
        let snapshots = Arc::new(SnapshotStore::new(&config.snapshot_dir(), config.snapshot_keep));
        let stats_store = StatsStore::connect(&config.stats_database_url()).await?;
        let statistics_snapshots = StatisticsSnapshots::new(stats_store.clone(), &config.data_dir);
        if let Some(bootstrap_from) = &config.bootstrap_from {
            let source_dir = match bootstrap_from {
                BootstrapSource::Dir(dir) => dir.clone(),
                BootstrapSource::Url(url) => {
                    let token = config.bootstrap_token()?;
                    let into = config.data_dir.join("bootstrap");
                    // bootstrap leaves read models with data alone: download on first start only
                    let view_empty = catalog.schema_fingerprint().is_some() && !catalog.has_live().await?;
                    let statistics_empty = statistics_snapshots.covered().await?.is_none();
                    if view_empty || statistics_empty {
                        let fetched = remote::fetch_latest(url, token, &[ORDER_VIEW, STATISTICS], &into).await;
                        match fetched {
                            // a restart of a replica that has one read model already: the one
                            // still empty (its source had no snapshot of it then) reads from
                            // offset 0 if the source is gone, rather than the start failing
                            Err(error) if !(view_empty && statistics_empty) => tracing::warn!(
                                error = format!("{error:#}"),
                                "cannot download snapshots again; the empty read model reads from offset 0"
                            ),
                            fetched => {
                                fetched?;
                            }
                        }
                    }
                    into
                }
            };
            // elasticsearch keeps no order view here to bootstrap: only the statistics then
            if catalog.schema_fingerprint().is_some() {
                bootstrap_order_view(catalog.clone(), &source_dir).await?;
            }
            bootstrap_statistics(&statistics_snapshots, &source_dir).await?;
        }
        let live_index = catalog.open_live().await.context("cannot open the live view")?;
        // a tantivy replica resumes from the checkpoint kept with its view; with
        // elasticsearch, instances share the group and its committed offsets
        let assignment = match live_index.checkpoint().await? {
            Some(resume_from) => Assignment::AllPartitions { resume_from },
            None => Assignment::Group,
        };
        let view = LiveView::new(live_index);
        let shutdown = CancellationToken::new();
        let setup = ProjectionSetup {
            consumer: config.kafka.consumer_config("order-history", &config.group_id),
            producer: config.kafka.producer_config("order-history-dlq"),
            codec: codec.clone(),
            assignment,
            limits: config.batch_limits(),
            commit_interval: config.commit_interval(),
        };
        let projection = tokio::spawn(projection::run(setup, view.clone(), shutdown.clone()));
        let stats = StatsState { store: stats_store, status: StatsStatus::default(), snapshots: statistics_snapshots };
        let stats_setup = StatsSetup {
            consumer: config.kafka.consumer_config("order-history-stats", &config.stats_group_id),
            codec: codec.clone(),
            limits: config.batch_limits(),
        };
        let statistics =
            tokio::spawn(crate::stats::run(stats_setup, stats.store.clone(), stats.status.clone(), shutdown.clone()));
        if catalog.schema_fingerprint().is_some() {
            tokio::spawn(schedule::run(
                snapshots.clone(),
                OrderViewSnapshots::following(catalog.clone(), view.clone()),
                config.snapshot_schedule(),
                shutdown.clone(),
            ));
        }
        tokio::spawn(schedule::run(
            snapshots.clone(),
            stats.snapshots.clone(),
            config.snapshot_schedule(),
            shutdown.clone(),
        ));
        let state = ApiState {
            view,
            rebuild: Arc::new(RebuildSetup {
                catalog,
                kafka: config.kafka.clone(),
                codec,
                limits: config.batch_limits(),
                snapshots,
            }),
            rebuilds: RebuildTracker::default(),
            repairs: crate::repair::RepairTracker::default(),
            admin_token: BearerToken::new("admin token", checked_token("admin token", config.admin_token.clone())?),
            read_guard: ReadGuard::new(config.read_auth.verifier("order-history").await?, ReadAccess::Anyone),
            stats,
            kafka: config.kafka.clone(),
            shutdown: shutdown.clone(),
        };
        Ok(Application { state, projection, statistics, shutdown })
    }

    /// Serves until `signal`, then shuts down in order.
    pub async fn serve(
        self,
        listener: TcpListener,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let projection_failed = CancellationToken::new();
        let app_shutdown = self.shutdown.clone();
        let stop = {
            let projection_failed = projection_failed.clone();
            async move {
                tokio::select! {
                    () = signal => {},
                    () = app_shutdown.cancelled() => {},
                    () = projection_failed.cancelled() => {},
                }
            }
        };
        let mut projection = self.projection;
        let statistics = self.statistics;
        let served = tokio::select! {
            served = platform::http::serve(listener, router(self.state.clone()), stop) => served,
            result = &mut projection => {
                // projection stopped on its own: a fatal error; readiness cannot recover, stop
                projection_failed.cancel();
                self.shutdown.cancel();
                return match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => Err(error.context("projection failed")),
                    Err(error) => Err(anyhow::anyhow!("projection panicked: {error}")),
                };
            }
        };
        self.shutdown.cancel();
        projection.await.context("projection panicked")??;
        // the statistics are a secondary read model: their failure is logged (and /stats
        // stays stale), it does not stop the order view
        match statistics.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(error = format!("{error:#}"), "statistics projection failed"),
            Err(error) => tracing::error!(%error, "statistics projection panicked"),
        }
        served.context("http server failed")
    }
}
