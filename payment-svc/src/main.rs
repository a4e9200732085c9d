//! Parses the configuration, starts telemetry, builds the app and serves it; nothing else.

use anyhow::Context;
use clap::Parser;
use payment_svc::ApiDoc;
use payment_svc::config::Config;
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
        SourceServiceRuntime::start("payment-svc", &config.database_url, sqlx::migrate!(), &config.common).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let routes = payment_svc::routes(runtime.context.clone(), config.payment_rules());
    let router = runtime.router_with_admin(routes.reads, routes.writes, routes.admin, routes.probes, ApiDoc::openapi());
    tracing::info!(listen = %config.listen, decline_above_minor = config.decline_above_minor, "payment-svc listening");
    runtime.serve(listener, router, platform::http::shutdown_signal()).await
}
