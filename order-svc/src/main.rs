//! order-svc: parse the configuration, start the shared runtime, serve until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use order_svc::ApiDoc;
use order_svc::config::Config;
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
        SourceServiceRuntime::start("order-svc", &config.database_url, sqlx::migrate!(), &config.common).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let (reads, writes) = order_svc::routes(runtime.context.clone());
    let router = runtime.router(reads, writes, ApiDoc::openapi());
    runtime.serve(listener, router, platform::http::shutdown_signal()).await
}
