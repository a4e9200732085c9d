//! shipping-svc: parse the configuration, start telemetry and the runtime, serve.

use anyhow::Context;
use clap::Parser;
use shipping_svc::ApiDoc;
use shipping_svc::config::Config;
use source_platform::source_service::SourceServiceRuntime;
use utoipa::OpenApi;

// A read allocates and frees per HTTP message, JSON value and row; glibc's malloc and free,
// with their arena locks, took a fifth of composer's read path in a profile
// (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    platform::telemetry::init_tracing();
    let runtime =
        SourceServiceRuntime::start("shipping-svc", &config.database_url, sqlx::migrate!(), &config.common).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let (reads, writes) = shipping_svc::routes(runtime.context.clone());
    let router = runtime.router(reads, writes, ApiDoc::openapi());
    tracing::info!(listen = %config.listen, "shipping-svc serving");
    runtime.serve(listener, router, platform::http::shutdown_signal()).await
}
