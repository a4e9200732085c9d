//! Startup and shutdown: build the downstream client, serve HTTP; on a signal, stop accepting
//! and let in-flight requests finish (each is bounded by its deadline).

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use platform::auth::{ReadAccess, ReadGuard, ServiceToken};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::downstream::Downstream;
use crate::http::{ApiState, RequestLimits, router};

/// A composer ready to serve.
pub struct Application {
    pub state: ApiState,
}

impl Application {
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        config.validate().context("invalid configuration")?;
        crate::telemetry::describe_metrics();
        let service_token = ServiceToken::configured(config.read_token.clone()).context("invalid configuration")?;
        let verifier = config.read_auth.verifier("composer").await.context("invalid configuration")?;
        let downstream = Downstream::new(config, service_token).context("cannot build the http client")?;
        let state = ApiState {
            downstream: Arc::new(downstream),
            limits: RequestLimits::of(config),
            read_guard: ReadGuard::new(verifier, ReadAccess::Anyone),
        };
        Ok(Application { state })
    }

    /// Serves until `signal`, then stops accepting and finishes in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        platform::http::serve(listener, router(self.state), signal).await.context("http server failed")
    }
}
