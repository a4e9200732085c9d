//! Flags and environment variables of `stack`, with the local profile's defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug, clap::Args)]
pub struct BrokerInstallArgs {
    /// Use this tansu binary instead of finding or installing one.
    #[arg(long, env = "TANSU_BIN")]
    pub tansu_bin: Option<PathBuf>,
    /// Where the pinned tansu is installed when it is missing.
    #[arg(long, env = "STACK_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Clone, Debug, clap::Args)]
pub struct TokenArgs {
    /// A token of this customer, who reads only their own orders.
    #[arg(long, conflicts_with = "service", required_unless_present = "service")]
    pub customer: Option<String>,
    /// A service token, which reads everything.
    #[arg(long)]
    pub service: bool,
    /// How long the token is valid, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl_secs: u64,
    /// The secret to sign with: the stack's (the local profile's dev secret unless set).
    #[arg(long, env = "JWT_SECRET", default_value = platform::auth::dev::JWT_SECRET, hide_env_values = true, hide_default_value = true)]
    pub jwt_secret: platform::auth::Secret,
}

impl TokenArgs {
    pub fn mint(&self) -> anyhow::Result<String> {
        let reader = match &self.customer {
            Some(customer) => platform::auth::Reader::Customer(customer.clone()),
            None => platform::auth::Reader::Service,
        };
        let keys = platform::auth::JwtKeys::new(&self.jwt_secret)?;
        Ok(keys.mint(&reader, std::time::Duration::from_secs(self.ttl_secs)))
    }
}

#[derive(Clone, Debug, clap::Args)]
pub struct UpArgs {
    /// Where every component keeps its data and logs; reusing it keeps all data.
    #[arg(long, env = "STACK_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,
    /// The broker's listener.
    #[arg(long, env = "STACK_BROKER_LISTEN", default_value = "127.0.0.1:9092")]
    pub broker_listen: SocketAddr,
    /// The schema registry's listener.
    #[arg(long, env = "STACK_REGISTRY_LISTEN", default_value = "127.0.0.1:8081")]
    pub registry_listen: SocketAddr,
    /// order-svc's listener.
    #[arg(long, env = "STACK_ORDER_SVC_LISTEN", default_value = "127.0.0.1:8001")]
    pub order_svc_listen: SocketAddr,
    /// payment-svc's listener.
    #[arg(long, env = "STACK_PAYMENT_SVC_LISTEN", default_value = "127.0.0.1:8002")]
    pub payment_svc_listen: SocketAddr,
    /// shipping-svc's listener.
    #[arg(long, env = "STACK_SHIPPING_SVC_LISTEN", default_value = "127.0.0.1:8003")]
    pub shipping_svc_listen: SocketAddr,
    /// order-history's listener.
    #[arg(long, env = "STACK_ORDER_HISTORY_LISTEN", default_value = "127.0.0.1:8010")]
    pub order_history_listen: SocketAddr,
    /// composer's listener.
    #[arg(long, env = "STACK_COMPOSER_LISTEN", default_value = "127.0.0.1:8020")]
    pub composer_listen: SocketAddr,
    /// The web pages' listener: order-history search at `/`, the live comparison at `/compare`.
    #[arg(long, env = "STACK_WEB_LISTEN", default_value = "127.0.0.1:8030")]
    pub web_listen: SocketAddr,
    /// Where the web pages look for the latest `compare` report (`stack demo` sets its `--out`).
    #[arg(long, env = "STACK_REPORT_DIR", default_value = "report")]
    pub report_dir: PathBuf,
    /// Serve order-history from Elasticsearch at this URL instead of the embedded tantivy index.
    #[arg(long, env = "STACK_ELASTICSEARCH_URL")]
    pub elasticsearch_url: Option<String>,
    /// The credentials every service is started with. The defaults are public and for the local
    /// profile only, where everything listens on 127.0.0.1 (docs/security.md).
    #[command(flatten)]
    pub credentials: compare::config::Credentials,
    /// Partitions of each source topic; only applies when a topic is created.
    #[arg(long, env = "STACK_PARTITIONS", default_value_t = 3)]
    pub partitions: i32,
    /// Where the workspace's binaries are; defaults to the directory of this executable.
    #[arg(long, env = "STACK_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Do not run `cargo build` for the workspace's binaries before starting them.
    #[arg(long)]
    pub no_build: bool,
    #[command(flatten)]
    pub broker: BrokerInstallArgs,
}

impl UpArgs {
    /// Where `compare` finds this stack.
    pub fn endpoints(&self) -> compare::config::Endpoints {
        let http = |address: SocketAddr| format!("http://{address}");
        compare::config::Endpoints {
            order_svc: http(self.order_svc_listen),
            payment_svc: http(self.payment_svc_listen),
            shipping_svc: http(self.shipping_svc_listen),
            order_history: http(self.order_history_listen),
            composer: http(self.composer_listen),
            broker: self.broker_listen.to_string(),
            schema_registry: http(self.registry_listen),
        }
    }
}
