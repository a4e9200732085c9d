//! Flags and environment variables of `stack`, with the local profile's defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use broker::BrokerInstallArgs;
use platform::services::Service;

#[derive(Clone, Debug, clap::Args)]
pub struct TokenArgs {
    /// A token of this customer, who reads only their own orders, on order-history and composer.
    #[arg(long, conflicts_with = "service", required_unless_present = "service")]
    pub customer: Option<String>,
    /// A service token, which reads everything, on every service.
    #[arg(long)]
    pub service: bool,
    /// How long the token is valid, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl_secs: u64,
    /// The key to sign with: the local profile's dev key unless set.
    #[command(flatten)]
    pub issuer: platform::auth::issuer::IssuerArgs,
}

impl TokenArgs {
    pub async fn mint(&self) -> anyhow::Result<String> {
        let reader = match &self.customer {
            Some(customer) => platform::auth::Reader::Customer(customer.clone()),
            None => platform::auth::Reader::Service,
        };
        let issuer = self.issuer.load().await?;
        Ok(issuer.mint(&reader, std::time::Duration::from_secs(self.ttl_secs)))
    }
}

#[derive(Clone, Debug, clap::Args)]
pub struct KeysArgs {
    /// The folder to write `issuer.pem` (the private key, readable by its owner only) and
    /// `jwks.json` (the public keys every service is given) to; neither may exist yet.
    #[arg(long)]
    pub out: PathBuf,
    /// During a rotation: also trust the keys of this JWKS (the one in use), so that tokens
    /// signed with the old key stay valid until they expire.
    #[arg(long)]
    pub also_trust: Option<PathBuf>,
    /// The issuer name tokens carry (`iss`).
    #[arg(long, env = "JWT_ISSUER", default_value = platform::auth::read_token::DEFAULT_ISSUER)]
    pub issuer: String,
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
    #[arg(long, env = "STACK_REGISTRY_LISTEN", default_value_t = Service::SchemaRegistry.default_listen())]
    pub registry_listen: SocketAddr,
    /// order-svc's listener.
    #[arg(long, env = "STACK_ORDER_SVC_LISTEN", default_value_t = Service::OrderSvc.default_listen())]
    pub order_svc_listen: SocketAddr,
    /// payment-svc's listener.
    #[arg(long, env = "STACK_PAYMENT_SVC_LISTEN", default_value_t = Service::PaymentSvc.default_listen())]
    pub payment_svc_listen: SocketAddr,
    /// shipping-svc's listener.
    #[arg(long, env = "STACK_SHIPPING_SVC_LISTEN", default_value_t = Service::ShippingSvc.default_listen())]
    pub shipping_svc_listen: SocketAddr,
    /// order-history's listener.
    #[arg(long, env = "STACK_ORDER_HISTORY_LISTEN", default_value_t = Service::OrderHistory.default_listen())]
    pub order_history_listen: SocketAddr,
    /// composer's listener.
    #[arg(long, env = "STACK_COMPOSER_LISTEN", default_value_t = Service::Composer.default_listen())]
    pub composer_listen: SocketAddr,
    /// The web pages' listener: order-history search at `/`, the live comparison at `/compare`,
    /// the order statistics at `/stats`.
    #[arg(long, env = "STACK_WEB_LISTEN", default_value_t = Service::Web.default_listen())]
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
    pub credentials: platform::auth::Credentials,
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
    /// Where `service` listens in this stack.
    pub fn listen_of(&self, service: Service) -> SocketAddr {
        match service {
            Service::OrderSvc => self.order_svc_listen,
            Service::PaymentSvc => self.payment_svc_listen,
            Service::ShippingSvc => self.shipping_svc_listen,
            Service::OrderHistory => self.order_history_listen,
            Service::Composer => self.composer_listen,
            Service::Web => self.web_listen,
            Service::SchemaRegistry => self.registry_listen,
        }
    }

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
