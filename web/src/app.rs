//! Startup: check the configuration, build the routes, serve; on a signal, stop accepting and
//! let in-flight requests finish.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use platform::auth::{ServiceToken, checked_token};
use platform::http::{HttpLimits, with_operational_routes};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::upstream::Upstreams;
use crate::{faults, pages, reads, report};

#[derive(Clone)]
pub struct AppState {
    pub upstreams: Arc<Upstreams>,
    pub report_dir: PathBuf,
}

/// The pages and their API, ready to serve.
pub struct Application {
    router: Router,
}

impl Application {
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        let read_token = ServiceToken::configured(config.read_token.clone()).context("invalid configuration")?;
        let admin_token = checked_token("admin token", config.admin_token.clone()).context("invalid configuration")?;
        crate::upstream::describe_metrics();
        let state = AppState {
            upstreams: Arc::new(Upstreams::new(config, read_token, admin_token)?),
            report_dir: report::report_dir(&config.report_dir),
        };
        let api = Router::new()
            .route("/api/{design}/orders", get(reads::search_orders))
            .route("/api/{design}/orders/{id}", get(reads::get_order))
            .route("/api/{design}/stats", get(reads::stats))
            .route("/api/breakers", get(reads::breakers))
            .route("/api/faults", get(faults::fault_controls))
            .route("/api/faults/{service}", get(faults::get_faults).put(faults::put_faults))
            .route("/api/report", get(report::latest_report))
            .route("/report/{file}", get(report::chart))
            .with_state(state)
            .merge(pages::routes());
        let limits = HttpLimits {
            // above the upstream timeout, so that a slow service is answered with a 504 naming it
            request_timeout: config.upstream_timeout() + Duration::from_secs(1),
            ..HttpLimits::default()
        };
        // ready as soon as it serves: a design that is down is what the pages are there to show
        let router = with_operational_routes(api, Vec::new(), platform::telemetry::metrics_handle(), &limits);
        Ok(Application { router })
    }

    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves until `signal`, then stops accepting and finishes in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        platform::http::serve(listener, self.router, signal).await.context("http server failed")
    }
}
