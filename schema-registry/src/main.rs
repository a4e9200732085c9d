use anyhow::Context;
use clap::Parser;
use schema_registry::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    platform::telemetry::init_tracing();
    let (app, store) = schema_registry::build_app(&config.data_dir).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(listen = %config.listen, data_dir = %config.data_dir.display(), "schema registry serving");
    platform::http::serve(listener, app, platform::http::shutdown_signal()).await?;
    store.close().await;
    Ok(())
}
