//! `spawn_web()`: a web app on port 0 in front of the services a test chooses.

use std::net::SocketAddr;

use platform::auth::Secret;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use web::app::Application;
use web::config::Config;

/// A running web app; dropping it stops it.
pub struct TestWeb {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    _task: JoinHandle<anyhow::Result<()>>,
}

impl Drop for TestWeb {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestWeb {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

/// An address nothing listens on.
pub fn nowhere() -> String {
    format!("http://{}", testkit_http::unused_address())
}

/// A configuration whose services are all unreachable, with the test credentials.
pub fn config() -> Config {
    let mut config = Config::local("127.0.0.1:0".parse().expect("address"));
    config.order_history_url = nowhere();
    config.composer_url = nowhere();
    config.sources.order_svc_url = nowhere();
    config.sources.payment_svc_url = nowhere();
    config.sources.shipping_svc_url = nowhere();
    config.admin_token = Some(Secret::from(testkit_http::TEST_ADMIN_TOKEN));
    config.read_token = Some(Secret::from(testkit_http::service_token().as_str()));
    config.upstream_timeout_ms = 3000;
    config
}

pub async fn spawn_web(config: Config) -> TestWeb {
    testkit_http::init_test_tracing();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().expect("address");
    let app = Application::start(&config).await.expect("web starts");
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    let task = tokio::spawn(app.serve(listener, async move { signal.cancelled().await }));
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    TestWeb { address, client, shutdown, _task: task }
}

/// A real composer in this process, calling `order_svc_url` and unreachable payment and
/// shipping services.
pub async fn spawn_composer(order_svc_url: String) -> (String, CancellationToken) {
    let mut config = composer::config::Config::local("127.0.0.1:0".parse().expect("address"));
    config.sources.order_svc_url = order_svc_url;
    config.sources.payment_svc_url = nowhere();
    config.sources.shipping_svc_url = nowhere();
    config.read_auth = testkit_http::test_read_auth();
    config.read_token = Some(Secret::from(testkit_http::service_token().as_str()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().expect("address");
    let app = composer::app::Application::start(&config).await.expect("composer starts");
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(app.serve(listener, async move { signal.cancelled().await }));
    (format!("http://{address}"), shutdown)
}
