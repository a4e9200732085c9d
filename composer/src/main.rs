//! composer: parse the configuration, start telemetry, build the app, serve; nothing else.

use anyhow::Context;
use clap::Parser;
use composer::app::Application;
use composer::config::Config;

// A read allocates and frees per HTTP message, JSON value and row; glibc's malloc and free,
// with their arena locks, took a fifth of composer's read path in a profile
// (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    platform::telemetry::init_tracing();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let app = Application::start(&config).await?;
    tracing::info!(
        listen = %config.listen,
        order_svc = %config.sources.order_svc_url,
        payment_svc = %config.sources.payment_svc_url,
        shipping_svc = %config.sources.shipping_svc_url,
        "composer serving"
    );
    app.serve(listener, platform::http::shutdown_signal()).await
}
