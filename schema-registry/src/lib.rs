//! The project's own Confluent-compatible Schema Registry, for the local profile.
//!
//! It implements Confluent's REST API for Avro closely enough that clients cannot tell it from
//! `confluentinc/cp-schema-registry`, which replaces it in production. State lives in a SQLite
//! file instead of a Kafka topic; docs/schema-registry.md lists that and every other
//! deliberate difference.
//!
//! Other crates' tests can run one in-process:
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let data_dir = tempfile::tempdir()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let registry = schema_registry::spawn(data_dir.path(), listener).await?;
//! let url = registry.url(); // e.g. http://127.0.0.1:40123
//! # let _ = url;
//! registry.shutdown().await?;
//! # Ok(())
//! # }
//! ```

pub mod compatibility;
pub mod config;
mod http;
pub mod schema;
pub mod store;

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use axum::Router;
use platform::http::{HttpLimits, ReadinessProbe, with_operational_routes};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::store::Store;

/// Opens the store in `data_dir` and builds the full router: the API plus `/healthz`,
/// `/readyz` (the store answers `select 1`) and `/metrics`, with the shared limits.
///
/// The store is returned too, so the caller can close it once serving has stopped.
pub async fn build_app(data_dir: &Path) -> anyhow::Result<(Router, Store)> {
    let store = Store::open(data_dir).await?;
    let probe_store = store.clone();
    let store_probe = ReadinessProbe::new("store", move || {
        let store = probe_store.clone();
        async move { store.ping().await.map_err(|error| format!("store unreachable: {error}")) }
    });
    let app = with_operational_routes(
        http::router(store.clone()),
        vec![store_probe],
        platform::telemetry::metrics_handle(),
        &HttpLimits::default(),
    );
    Ok((app, store))
}

/// Serves a registry on `listener` in the background, with its store in `data_dir`.
pub async fn spawn(data_dir: impl AsRef<Path>, listener: TcpListener) -> anyhow::Result<RunningRegistry> {
    let (app, store) = build_app(data_dir.as_ref()).await?;
    let address = listener.local_addr().context("listener has no local address")?;
    let (stop, stop_requested) = oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        // resolves on an explicit stop and also when the handle is dropped
        let shutdown = async {
            let _ = stop_requested.await;
        };
        let served = platform::http::serve(listener, app, shutdown).await;
        store.close().await;
        served
    });
    Ok(RunningRegistry { address, stop, serving })
}

/// A registry started by [`spawn`]. Dropping it starts a graceful shutdown without waiting
/// for it; [`RunningRegistry::shutdown`] waits until the store is closed.
pub struct RunningRegistry {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
}

impl RunningRegistry {
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base URL clients are configured with, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops accepting requests, lets in-flight ones finish and closes the store.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        // an error means the server already stopped on its own, which the join reports
        let _ = self.stop.send(());
        self.serving.await.context("registry task failed")?.context("registry server failed")
    }
}
