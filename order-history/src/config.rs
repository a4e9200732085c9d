//! order-history's configuration: flags, each with an environment variable and a default that
//! runs the local profile (tantivy under `.data/`, the local broker and registry).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use events::DEFAULT_SCHEMA_REGISTRY_URL;
use kafka_config::KafkaArgs;
use platform::auth::{ReadAuthArgs, Secret};

use crate::projection::BatchLimits;
use crate::snapshot::schedule::SnapshotSchedule;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8010";
pub const DEFAULT_DATA_DIR: &str = ".data/order-history";
pub const DEFAULT_GROUP_ID: &str = "order-history";
pub const DEFAULT_ALIAS: &str = "order-history";

/// The CQRS read model of order history: projects the orders, payments and shipments topics
/// into one search document per order and serves search and GET by id.
#[derive(Clone, Debug, Parser)]
#[command(name = "order-history", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Project the topics and serve the HTTP API (the default).
    Serve,
    /// Replay every topic from offset 0 into a fresh order view and swap it in, and rebuild the
    /// statistics store in place. Run it while the server is stopped (the running server
    /// rebuilds its order view on `POST /admin/rebuild`).
    Rebuild(RebuildArgs),
    /// Compare the running order-history's view with the source services over HTTP and report
    /// drift (exit 0: none, 1: drift, 2: a service cannot be read); `--repair` re-projects the
    /// drifting orders. Its flags go after `reconcile`.
    Reconcile(reconcile::ReconcileArgs),
}

#[derive(Clone, Debug, Default, clap::Args)]
pub struct RebuildArgs {
    /// Start from the newest valid snapshot in the snapshot dir and replay only the events
    /// after it; from offset 0 when no snapshot is valid (each refusal is logged with why).
    #[arg(long = "from-snapshot")]
    pub from_snapshot: bool,
    /// Rebuild only this read model; both when absent.
    #[arg(long = "only", value_enum)]
    pub only: Option<ReadModel>,
}

/// The read models order-history keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadModel {
    /// The search view, one document per order.
    OrderView,
    /// The statistics rollups.
    Statistics,
}

impl RebuildArgs {
    pub fn includes(&self, read_model: ReadModel) -> bool {
        self.only.is_none_or(|only| only == read_model)
    }
}

#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// The address the HTTP API listens on.
    #[arg(long = "listen", env = "LISTEN_ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Where the tantivy views live (ignored with Elasticsearch).
    #[arg(long = "data-dir", env = "DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Use Elasticsearch at this URL instead of the embedded tantivy index.
    #[arg(long = "elasticsearch-url", env = "ELASTICSEARCH_URL")]
    pub elasticsearch_url: Option<String>,
    /// The Elasticsearch alias that names the live view; indices are `<alias>-<generation>`.
    #[arg(long = "elasticsearch-alias", env = "ELASTICSEARCH_ALIAS", default_value = DEFAULT_ALIAS)]
    pub elasticsearch_alias: String,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// The Confluent-compatible schema registry.
    #[arg(long = "schema-registry-url", env = "SCHEMA_REGISTRY_URL", default_value = DEFAULT_SCHEMA_REGISTRY_URL)]
    pub schema_registry_url: String,
    /// The consumer group. With tantivy every instance is a full replica and needs its own.
    #[arg(long = "group-id", env = "CONSUMER_GROUP_ID", default_value = DEFAULT_GROUP_ID)]
    pub group_id: String,
    /// Bearer token of the admin endpoints; without it they answer 401.
    #[arg(long = "admin-token", env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// Reads need a customer or service token from the token issuer, verified with its public
    /// keys.
    #[command(flatten)]
    pub read_auth: ReadAuthArgs,
    /// The most records one batch holds.
    #[arg(long = "batch-max-records", env = "BATCH_MAX_RECORDS", default_value_t = 5000)]
    pub batch_max_records: usize,
    /// How long a batch stays open after its first record, in milliseconds. A batch is
    /// readable by id as soon as it is stored.
    #[arg(long = "batch-max-wait-ms", env = "BATCH_MAX_WAIT_MS", default_value_t = DEFAULT_BATCH_MAX_WAIT_MS)]
    pub batch_max_wait_ms: u64,
    /// While records keep coming, the index is committed (made searchable and durable with its
    /// checkpoint) at most this often, in milliseconds; when they stop, at once. A commit costs
    /// the same for one event as for a thousand (docs/benchmarks.md).
    #[arg(long = "commit-interval-ms", env = "COMMIT_INTERVAL_MS", default_value_t = DEFAULT_COMMIT_INTERVAL_MS)]
    pub commit_interval_ms: u64,
    /// The statistics store: a `postgres://` URL, or by default the SQLite file
    /// `stats.sqlite` under the data dir.
    #[arg(long = "stats-database-url", env = "STATS_DATABASE_URL", hide_env_values = true)]
    pub stats_database_url: Option<String>,
    /// The statistics projection's consumer group; its committed offsets only mirror the
    /// checkpoint kept in the statistics store, for lag monitoring.
    #[arg(long = "stats-group-id", env = "STATS_CONSUMER_GROUP_ID", default_value = crate::stats::DEFAULT_STATS_GROUP_ID)]
    pub stats_group_id: String,
    /// Where snapshots of the view are written and restored from; `<data dir>/snapshots` when
    /// unset.
    #[arg(long = "snapshot-dir", env = "SNAPSHOT_DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// Take a snapshot once the view has read this many events past the last one; 0: never.
    #[arg(long = "snapshot-every-events", env = "SNAPSHOT_EVERY_EVENTS", default_value_t = DEFAULT_SNAPSHOT_EVERY_EVENTS)]
    pub snapshot_every_events: u64,
    /// Take a snapshot this many minutes after the last one if the view changed; 0: never.
    #[arg(long = "snapshot-every-minutes", env = "SNAPSHOT_EVERY_MINUTES", default_value_t = DEFAULT_SNAPSHOT_EVERY_MINUTES)]
    pub snapshot_every_minutes: u64,
    /// How many snapshots to keep; older ones are removed after each new one.
    #[arg(long = "snapshot-keep", env = "SNAPSHOT_KEEP", default_value_t = DEFAULT_SNAPSHOT_KEEP)]
    pub snapshot_keep: usize,
    /// On first start (no view in the data dir yet), restore this snapshot (or the newest
    /// valid one in this snapshot dir) and replay only the events after it. An `http://` or
    /// `https://` URL names a running order-history instead, whose newest snapshot is
    /// downloaded first (needs `--bootstrap-token`).
    #[arg(long = "bootstrap-from", env = "BOOTSTRAP_FROM", value_parser = BootstrapSource::parse)]
    pub bootstrap_from: Option<BootstrapSource>,
    /// The admin token of the order-history that `--bootstrap-from` names by URL.
    #[arg(long = "bootstrap-token", env = "BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<Secret>,
}

/// Where `--bootstrap-from` restores a snapshot from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootstrapSource {
    /// A snapshot dir, a read model's directory in one, or one snapshot's directory.
    Dir(PathBuf),
    /// A running order-history, which serves its snapshots under `/admin/snapshots`.
    Url(reqwest::Url),
}

impl BootstrapSource {
    /// An `http://` or `https://` URL, else a local path.
    pub fn parse(source: &str) -> Result<BootstrapSource, String> {
        if source.is_empty() {
            return Err("the bootstrap source is empty; give a snapshot dir or an order-history url".to_string());
        }
        let scheme = source.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("http" | "https")) {
            return Ok(BootstrapSource::Dir(PathBuf::from(source)));
        }
        let url = reqwest::Url::parse(source).map_err(|error| format!("cannot parse the url {source:?}: {error}"))?;
        Ok(BootstrapSource::Url(url))
    }
}

pub const DEFAULT_SNAPSHOT_EVERY_EVENTS: u64 = 1_000_000;
pub const DEFAULT_SNAPSHOT_EVERY_MINUTES: u64 = 60;
pub const DEFAULT_SNAPSHOT_KEEP: usize = 3;

pub const DEFAULT_BATCH_MAX_WAIT_MS: u64 = 10;
pub const DEFAULT_COMMIT_INTERVAL_MS: u64 = 1000;

impl Config {
    /// Every default, with the broker, registry and data dir given and no snapshots taken on a
    /// schedule; for tests and benches, which set the credentials and batching they use.
    pub fn local(data_dir: PathBuf, kafka: KafkaArgs, schema_registry_url: String) -> Config {
        let mut config = Cli::parse_from(["order-history"]).config;
        config.listen = "127.0.0.1:0".parse().expect("a static address parses");
        config.data_dir = data_dir;
        config.kafka = kafka;
        config.schema_registry_url = schema_registry_url;
        config.snapshot_every_events = 0;
        config.snapshot_every_minutes = 0;
        config
    }

    pub fn batch_limits(&self) -> BatchLimits {
        BatchLimits {
            max_records: self.batch_max_records.max(1),
            max_wait: Duration::from_millis(self.batch_max_wait_ms),
        }
    }

    /// The statistics store's URL: the configured one, or a SQLite file under the data dir.
    pub fn stats_database_url(&self) -> String {
        match &self.stats_database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join(crate::stats::DEFAULT_STATS_FILE).display()),
        }
    }

    pub fn commit_interval(&self) -> Duration {
        Duration::from_millis(self.commit_interval_ms)
    }

    pub fn snapshot_dir(&self) -> PathBuf {
        self.snapshot_dir.clone().unwrap_or_else(|| self.data_dir.join("snapshots"))
    }

    /// The admin token of the instance `--bootstrap-from` names by URL; an error naming the
    /// flag when it is not given.
    pub fn bootstrap_token(&self) -> anyhow::Result<&str> {
        match &self.bootstrap_token {
            Some(token) => Ok(token.expose()),
            None => anyhow::bail!(
                "--bootstrap-from names a url: --bootstrap-token (BOOTSTRAP_TOKEN), the admin token of that instance, is required"
            ),
        }
    }

    pub fn snapshot_schedule(&self) -> SnapshotSchedule {
        SnapshotSchedule {
            every_events: (self.snapshot_every_events > 0).then_some(self.snapshot_every_events),
            every: (self.snapshot_every_minutes > 0).then(|| Duration::from_secs(self.snapshot_every_minutes * 60)),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_run_the_local_profile_and_serve() {
        let cli = Cli::try_parse_from(["order-history"]).expect("parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(cli.config.elasticsearch_url, None);
        assert_eq!(cli.config.group_id, DEFAULT_GROUP_ID);
        let rebuild = Cli::try_parse_from(["order-history", "--group-id", "replica-2", "rebuild"]).expect("parses");
        assert!(matches!(rebuild.command, Some(Command::Rebuild(RebuildArgs { from_snapshot: false, only: None }))));
        let from_snapshot = Cli::try_parse_from(["order-history", "rebuild", "--from-snapshot"]).expect("parses");
        assert!(matches!(from_snapshot.command, Some(Command::Rebuild(RebuildArgs { from_snapshot: true, .. }))));
        let statistics = Cli::try_parse_from(["order-history", "rebuild", "--only", "statistics"]).expect("parses");
        let Some(Command::Rebuild(statistics)) = statistics.command else { panic!("a rebuild") };
        assert!(statistics.includes(ReadModel::Statistics) && !statistics.includes(ReadModel::OrderView));
        assert!(RebuildArgs::default().includes(ReadModel::OrderView), "both by default");
        assert_eq!(cli.config.snapshot_dir(), cli.config.data_dir.join("snapshots"));
        assert_eq!(
            cli.config.snapshot_schedule(),
            SnapshotSchedule {
                every_events: Some(DEFAULT_SNAPSHOT_EVERY_EVENTS),
                every: Some(Duration::from_secs(DEFAULT_SNAPSHOT_EVERY_MINUTES * 60))
            }
        );
        let off =
            Cli::try_parse_from(["order-history", "--snapshot-every-events", "0", "--snapshot-every-minutes", "0"])
                .expect("parses");
        assert!(off.config.snapshot_schedule().is_off());
    }

    #[test]
    fn a_bootstrap_source_is_a_url_for_http_and_https_and_a_dir_otherwise() {
        let url = |source: &str| BootstrapSource::Url(reqwest::Url::parse(source).expect("a url"));
        let dir = |source: &str| BootstrapSource::Dir(PathBuf::from(source));
        assert_eq!(BootstrapSource::parse("http://order-history:8010"), Ok(url("http://order-history:8010/")));
        assert_eq!(BootstrapSource::parse("https://10.0.0.5/prefix/"), Ok(url("https://10.0.0.5/prefix/")));
        assert_eq!(BootstrapSource::parse("HTTP://order-history"), Ok(url("http://order-history/")));
        assert_eq!(BootstrapSource::parse(".data/order-history/snapshots"), Ok(dir(".data/order-history/snapshots")));
        assert_eq!(BootstrapSource::parse("/mnt/snapshots/order-view"), Ok(dir("/mnt/snapshots/order-view")));
        // only http and https are fetched; any other scheme is not taken for a url
        assert_eq!(BootstrapSource::parse("s3://bucket/snapshots"), Ok(dir("s3://bucket/snapshots")));
        assert_eq!(BootstrapSource::parse("httpdir"), Ok(dir("httpdir")));
        let unparsable = BootstrapSource::parse("http://").expect_err("no host");
        assert!(unparsable.contains("cannot parse the url"), "{unparsable}");
        assert!(BootstrapSource::parse("").is_err());
    }

    #[test]
    fn a_bootstrap_url_comes_with_the_flag_and_the_token() {
        let cli = Cli::try_parse_from([
            "order-history",
            "--bootstrap-from",
            "http://order-history-1:8010",
            "--bootstrap-token",
            "the-admin-token-of-instance-1",
        ])
        .expect("parses");
        assert!(matches!(cli.config.bootstrap_from, Some(BootstrapSource::Url(_))));
        assert_eq!(cli.config.bootstrap_token().expect("given"), "the-admin-token-of-instance-1");
        let without_token =
            Cli::try_parse_from(["order-history", "--bootstrap-from", "http://order-history-1:8010"]).expect("parses");
        let missing = without_token.config.bootstrap_token().expect_err("required").to_string();
        assert!(missing.contains("--bootstrap-token"), "{missing}");
    }

    #[test]
    fn reconcile_defaults_to_the_local_stack_and_takes_its_own_flags() {
        let cli = Cli::try_parse_from(["order-history", "reconcile"]).expect("parses");
        let Some(Command::Reconcile(args)) = cli.command else { panic!("reconcile parses as reconcile") };
        assert_eq!(args.order_history_url, reconcile::DEFAULT_ORDER_HISTORY_URL);
        assert_eq!(args.sources.order_svc_url, reconcile::DEFAULT_ORDER_SVC_URL);
        assert_eq!((args.repair, args.json, args.examples, args.settle_ms), (false, false, 5, 2000));
        let cli = Cli::try_parse_from([
            "order-history",
            "reconcile",
            "--repair",
            "--json",
            "--examples",
            "2",
            "--settle-ms",
            "0",
            "--admin-token",
            "an-admin-token-of-length",
            "--payment-svc-url",
            "http://payment-svc:8002",
        ])
        .expect("parses");
        let Some(Command::Reconcile(args)) = cli.command else { panic!("reconcile parses as reconcile") };
        assert_eq!((args.repair, args.json, args.examples, args.settle_ms), (true, true, 2, 0));
        assert_eq!(args.admin_token.as_ref().map(|token| token.expose()), Some("an-admin-token-of-length"));
        assert_eq!(args.sources.payment_svc_url, "http://payment-svc:8002");
        assert!(!format!("{args:?}").contains("an-admin-token-of-length"), "tokens never print");
    }
}
