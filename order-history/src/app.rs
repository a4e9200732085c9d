//! Startup and shutdown: open the live view, start the projection, serve HTTP; on a signal,
//! stop accepting, finish requests, stop projection after its current batch.

use std::sync::Arc;

use anyhow::Context;
use events::{EventCodec, RegistryConfig};
use platform::auth::{BearerToken, ReadAccess, ReadGuard, checked_token};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::{ApiState, StatsState, router};
use crate::index::ViewCatalog;
use crate::index::elasticsearch::{ElasticsearchCatalog, ElasticsearchConfig};
use crate::index::tantivy::TantivyCatalog;
use crate::projection::{self, Assignment, LiveView, ProjectionSetup};
use crate::rebuild::{RebuildSetup, RebuildTracker};
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
        let stats = StatsState {
            store: StatsStore::connect(&config.stats_database_url()).await?,
            status: StatsStatus::default(),
        };
        let stats_setup = StatsSetup {
            consumer: config.kafka.consumer_config("order-history-stats", &config.stats_group_id),
            codec: codec.clone(),
            limits: config.batch_limits(),
        };
        let statistics =
            tokio::spawn(crate::stats::run(stats_setup, stats.store.clone(), stats.status.clone(), shutdown.clone()));
        let state = ApiState {
            view,
            rebuild: Arc::new(RebuildSetup {
                catalog,
                kafka: config.kafka.clone(),
                codec,
                limits: config.batch_limits(),
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
