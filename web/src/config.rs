//! web's configuration: flags, each with an environment variable and a default that runs the
//! local profile.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use platform::auth::Secret;
use platform::endpoints::SourceServiceUrls;

/// The web pages: order-history search, the live comparison of the two designs, and the order
/// statistics.
#[derive(Clone, Debug, Parser)]
#[command(name = "web", version)]
pub struct Config {
    /// The address the pages are served on.
    #[arg(long = "listen", env = "LISTEN_ADDR", default_value = "127.0.0.1:8030")]
    pub listen: SocketAddr,
    /// order-history's base URL (CQRS).
    #[arg(long = "order-history-url", env = "ORDER_HISTORY_URL", default_value = "http://127.0.0.1:8010")]
    pub order_history_url: String,
    /// composer's base URL (API Composition).
    #[arg(long = "composer-url", env = "COMPOSER_URL", default_value = "http://127.0.0.1:8020")]
    pub composer_url: String,
    /// The source services, for their fault controls.
    #[command(flatten)]
    pub sources: SourceServiceUrls,
    /// The source services' admin token. With it, `/compare` can slow down or fail each source
    /// service; without it the fault controls are off.
    #[arg(long = "admin-token", env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// The pages read with this service token (`stack token --service`), unless the browser's
    /// request carries its own `Authorization` (e.g. a customer token set by a gateway in front);
    /// required.
    #[arg(long = "read-token", env = "READ_TOKEN", hide_env_values = true)]
    pub read_token: Option<Secret>,
    /// Where `compare` wrote its latest report (`report.json` and its charts).
    #[arg(long = "report-dir", env = "REPORT_DIR", default_value = "report")]
    pub report_dir: PathBuf,
    /// How long a call to order-history, composer or a source service may take, in milliseconds.
    #[arg(long = "upstream-timeout-ms", env = "UPSTREAM_TIMEOUT_MS", default_value_t = 10_000)]
    pub upstream_timeout_ms: u64,
}

impl Config {
    /// Every default and no credentials, listening on `listen`; for tests, which set the
    /// credentials they use.
    pub fn local(listen: SocketAddr) -> Config {
        let mut config = Config::parse_from(["web"]);
        config.listen = listen;
        config
    }

    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }
}
