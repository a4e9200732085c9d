//! order-svc: parse the configuration, start the shared runtime, serve until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use order_svc::ApiDoc;
use order_svc::config::Config;
use source_platform::source_service::SourceServiceRuntime;
use utoipa::OpenApi;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    platform::telemetry::init_tracing();
    let runtime =
        SourceServiceRuntime::start("order-svc", &config.database_url, sqlx::migrate!(), &config.common).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let (reads, writes) = order_svc::routes(runtime.context.clone());
    let router = runtime.router(reads, writes, ApiDoc::openapi());
    runtime.serve(listener, router, platform::http::shutdown_signal()).await
}
