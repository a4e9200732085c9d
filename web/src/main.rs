//! web: parse the configuration, start telemetry, build the app, serve; nothing else.

use anyhow::Context;
use clap::Parser;
use web::app::Application;
use web::config::Config;

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
        order_history = %config.order_history_url,
        composer = %config.composer_url,
        fault_controls = config.admin_token.is_some(),
        report_dir = %config.report_dir.display(),
        "web serving"
    );
    app.serve(listener, platform::http::shutdown_signal()).await
}
