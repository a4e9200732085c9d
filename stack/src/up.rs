//! `stack up`: the start sequence of the local profile.
//!
//! broker → index fix → topics → schema registry → schemas → order-svc, payment-svc,
//! shipping-svc → order-history → composer → web, each step waiting for the one before it to be ready, so
//! nothing races. Then it waits for Ctrl-C, SIGTERM, or a component exiting on its own, and
//! stops everything in reverse order.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use events::topics;
use events::{EventCodec, OrderEvent, PaymentEvent, RegistryConfig, ShipmentEvent};
use kafka_config::{KafkaArgs, ensure_topics};
use platform::services::Service;

use broker::process::{ProcessSpec, Supervised, wait_ready};
use broker::{start_broker, tansu, topic_specs};

use crate::binaries;
use crate::config::UpArgs;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    start(&args).await?.serve_until_stopped().await
}

/// The whole system, running. Dropping it kills every process (they also die with the launcher).
pub struct RunningStack {
    processes: Vec<Supervised>,
    pub data_dir: PathBuf,
}

/// Starts everything, in order, and prints where it listens.
pub async fn start(args: &UpArgs) -> anyhow::Result<RunningStack> {
    let data_dir = std::path::absolute(&args.data_dir)?;
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let tansu = tansu::ensure_installed(&args.broker).await?;
    let bin_dir = binaries::prepare(args.bin_dir.as_deref(), !args.no_build).await?;

    let mut running: Vec<Supervised> = Vec::new();
    if let Err(error) = start_all(args, &data_dir, &tansu, &bin_dir, &mut running).await {
        stop_all(running).await;
        return Err(error);
    }
    print_summary(args, &data_dir);
    Ok(RunningStack { processes: running, data_dir })
}

impl RunningStack {
    /// Runs `work` while supervising the processes: one that exits on its own is started again,
    /// as a process manager would; one that keeps exiting fails `work`.
    pub async fn watch<T>(&mut self, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        let logs = self.data_dir.join("logs");
        tokio::select! {
            outcome = work => outcome,
            (name, reason) = restart_until_crash_loop(&mut self.processes) => {
                Err(anyhow::anyhow!("{name} keeps exiting ({reason}); see {}", logs.display()))
            }
        }
    }

    /// Waits for Ctrl-C, SIGTERM, or a component exiting on its own, then stops everything in
    /// reverse order.
    pub async fn serve_until_stopped(mut self) -> anyhow::Result<()> {
        println!("press ctrl-c to stop");
        let outcome = self
            .watch(async {
                platform::http::shutdown_signal().await;
                Ok(())
            })
            .await;
        self.stop().await;
        outcome
    }

    pub async fn stop(self) {
        stop_all(self.processes).await;
    }
}

async fn start_all(
    args: &UpArgs,
    data_dir: &Path,
    tansu: &Path,
    bin_dir: &Path,
    running: &mut Vec<Supervised>,
) -> anyhow::Result<()> {
    let log_dir = data_dir.join("logs");
    let kafka = KafkaArgs::new(args.broker_listen.to_string());

    running.push(start_broker(tansu, &data_dir.join("broker"), args.broker_listen, &log_dir).await?);
    ensure_topics(&kafka, &topic_specs(args.partitions)).await?;

    let registry_dir = data_dir.join("schema-registry");
    let registry = ProcessSpec::new(bin_dir.join("schema-registry"))
        .arg("--listen")
        .arg(args.registry_listen)
        .arg("--data-dir")
        .arg(registry_dir.display());
    running.push(Supervised::spawn("schema-registry", registry, &log_dir)?);
    let registry_url = format!("http://{}", args.registry_listen);
    wait_ready(running.last_mut(), wait_for_http_ready(&registry_url)).await?;
    register_schemas(&registry_url).await?;
    let tokens = LocalTokens::issue(args, data_dir).await?;

    for (name, listen) in source_services(args) {
        let database = data_dir.join(name).join(format!("{name}.db"));
        let service = ProcessSpec::new(bin_dir.join(name))
            .env("LISTEN_ADDR", listen)
            .env("DATABASE_URL", format!("sqlite://{}", database.display()))
            .env("KAFKA_BOOTSTRAP_SERVERS", &kafka.bootstrap_servers)
            .env("SCHEMA_REGISTRY_URL", &registry_url)
            .env("WRITE_TOKEN", args.credentials.write_token.expose())
            .env("ADMIN_TOKEN", args.credentials.admin_token.expose())
            .env("JWKS_FILE", tokens.jwks_file.display())
            .env("JWT_ISSUER", &tokens.issuer);
        running.push(Supervised::spawn(name, service, &log_dir)?);
        wait_ready(running.last_mut(), wait_for_http_ready(&format!("http://{listen}"))).await?;
    }

    let order_history = ProcessSpec::new(bin_dir.join("order-history"))
        .env("LISTEN_ADDR", args.order_history_listen)
        .env("DATA_DIR", data_dir.join("order-history").display())
        .env("KAFKA_BOOTSTRAP_SERVERS", &kafka.bootstrap_servers)
        .env("SCHEMA_REGISTRY_URL", &registry_url)
        .env("ADMIN_TOKEN", args.credentials.admin_token.expose())
        .env("JWKS_FILE", tokens.jwks_file.display())
        .env("JWT_ISSUER", &tokens.issuer);
    let order_history = match &args.elasticsearch_url {
        Some(url) => order_history.env("ELASTICSEARCH_URL", url),
        None => order_history.env_remove("ELASTICSEARCH_URL"),
    };
    running.push(Supervised::spawn("order-history", order_history, &log_dir)?);
    wait_ready(running.last_mut(), wait_for_http_ready(&format!("http://{}", args.order_history_listen))).await?;

    let composer = ProcessSpec::new(bin_dir.join("composer"))
        .env("LISTEN_ADDR", args.composer_listen)
        .env("ORDER_SVC_URL", format!("http://{}", args.order_svc_listen))
        .env("PAYMENT_SVC_URL", format!("http://{}", args.payment_svc_listen))
        .env("SHIPPING_SVC_URL", format!("http://{}", args.shipping_svc_listen))
        .env("JWKS_FILE", tokens.jwks_file.display())
        .env("JWT_ISSUER", &tokens.issuer)
        .env("READ_TOKEN", tokens.read_token.expose());
    running.push(Supervised::spawn("composer", composer, &log_dir)?);
    wait_ready(running.last_mut(), wait_for_http_ready(&format!("http://{}", args.composer_listen))).await?;

    let web = ProcessSpec::new(bin_dir.join("web"))
        .env("LISTEN_ADDR", args.web_listen)
        .env("ORDER_HISTORY_URL", format!("http://{}", args.order_history_listen))
        .env("COMPOSER_URL", format!("http://{}", args.composer_listen))
        .env("ORDER_SVC_URL", format!("http://{}", args.order_svc_listen))
        .env("PAYMENT_SVC_URL", format!("http://{}", args.payment_svc_listen))
        .env("SHIPPING_SVC_URL", format!("http://{}", args.shipping_svc_listen))
        .env("REPORT_DIR", std::path::absolute(&args.report_dir)?.display())
        .env("ADMIN_TOKEN", args.credentials.admin_token.expose())
        .env("READ_TOKEN", tokens.read_token.expose());
    running.push(Supervised::spawn("web", web, &log_dir)?);
    wait_ready(running.last_mut(), wait_for_http_ready(&format!("http://{}", args.web_listen))).await?;
    Ok(())
}

/// What the stack, as the local token issuer, gives its services: the issuer's public keys to
/// verify read tokens with, and a service token for composer's and web's calls.
struct LocalTokens {
    jwks_file: PathBuf,
    issuer: String,
    read_token: platform::auth::Secret,
}

impl LocalTokens {
    /// Longer than a local stack runs; `READ_TOKEN` set for `stack up` is used instead.
    const READ_TOKEN_TTL: Duration = Duration::from_secs(30 * 86_400);

    async fn issue(args: &UpArgs, data_dir: &Path) -> anyhow::Result<Self> {
        let issuer = args.credentials.issuer.load().await?;
        let keys_dir = data_dir.join("keys");
        tokio::fs::create_dir_all(&keys_dir).await.with_context(|| format!("cannot create {}", keys_dir.display()))?;
        let jwks_file = keys_dir.join("jwks.json");
        let jwks = serde_json::to_vec_pretty(&issuer.jwks())?;
        tokio::fs::write(&jwks_file, jwks).await.with_context(|| format!("cannot write {}", jwks_file.display()))?;
        let read_token = match &args.credentials.read_token {
            Some(token) => token.clone(),
            None => issuer.mint(&platform::auth::Reader::Service, Self::READ_TOKEN_TTL).as_str().into(),
        };
        Ok(Self { jwks_file, issuer: issuer.issuer().to_string(), read_token })
    }
}

/// The source services in start order, with their listeners.
fn source_services(args: &UpArgs) -> [(&'static str, SocketAddr); 3] {
    Service::SOURCES.map(|service| (service.name(), args.listen_of(service)))
}

pub async fn register_schemas(registry_url: &str) -> anyhow::Result<()> {
    let codec = EventCodec::new(&RegistryConfig::new(registry_url))?;
    let ids = [
        (topics::value_subject(topics::ORDERS), codec.register::<OrderEvent>().await?),
        (topics::value_subject(topics::PAYMENTS), codec.register::<PaymentEvent>().await?),
        (topics::value_subject(topics::SHIPMENTS), codec.register::<ShipmentEvent>().await?),
    ];
    for (subject, id) in ids {
        tracing::info!(subject, id, "schema registered");
    }
    Ok(())
}

async fn wait_for_http_ready(base_url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).no_proxy().build()?;
    let url = format!("{base_url}/readyz");
    let started = std::time::Instant::now();
    loop {
        let ready = client.get(&url).send().await.is_ok_and(|response| response.status().is_success());
        if ready {
            return Ok(());
        }
        if started.elapsed() > STARTUP_TIMEOUT {
            bail!("{url} not ready after {STARTUP_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts every process that exited on its own again; returns the first that crash-loops.
async fn restart_until_crash_loop(running: &mut [Supervised]) -> (&'static str, String) {
    loop {
        for process in running.iter_mut() {
            if let Some(status) = process.try_exited() {
                tracing::warn!(process = process.name, %status, "exited on its own; starting it again");
                println!("{} exited ({status}); starting it again", process.name);
                if let Err(error) = process.restart() {
                    return (process.name, format!("{status}; {error:#}"));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stop_all(mut running: Vec<Supervised>) {
    while let Some(process) = running.pop() {
        process.stop().await;
    }
}

fn print_summary(args: &UpArgs, data_dir: &Path) {
    let logs: PathBuf = data_dir.join("logs");
    println!("stack ready");
    println!("  kafka broker     {}", args.broker_listen);
    println!("  schema registry  http://{}", args.registry_listen);
    println!(
        "  topics           {} ({} partitions), {}",
        topics::SOURCE_TOPICS.join(", "),
        args.partitions,
        topics::ORDER_HISTORY_DLQ
    );
    for (name, listen) in source_services(args) {
        println!("  {name:<16} http://{listen}");
    }
    let backend = if args.elasticsearch_url.is_some() { "elasticsearch" } else { "tantivy" };
    println!("  order-history    http://{} ({backend})", args.order_history_listen);
    println!("  composer         http://{}", args.composer_listen);
    let web = args.web_listen;
    println!("  web pages        http://{web}/ (search), http://{web}/compare, http://{web}/stats");
    println!("  data             {}", data_dir.display());
    println!("  logs             {}", logs.display());
}
