//! The flags of `compare`. The defaults reach the local `stack up`; every flag has an
//! environment variable, so the compose stack is one `.env` away.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
pub use platform::auth::Credentials;
use platform::services::Service;

/// The stack's processes that answer HTTP.
const HTTP_PROCESSES: [Service; 6] = [
    Service::OrderSvc,
    Service::PaymentSvc,
    Service::ShippingSvc,
    Service::OrderHistory,
    Service::Composer,
    Service::SchemaRegistry,
];

/// The deadline of a load request, the same for both designs: long enough for a healthy answer
/// under load, short enough that an answer a user would have given up on is not a success.
pub const DEFAULT_DEADLINE_MS: u64 = 1000;

/// Where each service of the stack answers.
#[derive(Clone, Debug, clap::Args)]
pub struct Endpoints {
    #[arg(long, env = "COMPARE_ORDER_SVC_URL", default_value = "http://127.0.0.1:8001")]
    pub order_svc: String,
    #[arg(long, env = "COMPARE_PAYMENT_SVC_URL", default_value = "http://127.0.0.1:8002")]
    pub payment_svc: String,
    #[arg(long, env = "COMPARE_SHIPPING_SVC_URL", default_value = "http://127.0.0.1:8003")]
    pub shipping_svc: String,
    #[arg(long, env = "COMPARE_ORDER_HISTORY_URL", default_value = "http://127.0.0.1:8010")]
    pub order_history: String,
    #[arg(long, env = "COMPARE_COMPOSER_URL", default_value = "http://127.0.0.1:8020")]
    pub composer: String,
    /// The broker, only to find its process for the CPU figures.
    #[arg(long, env = "COMPARE_BROKER", default_value = "127.0.0.1:9092")]
    pub broker: String,
    /// The schema registry, only to find its process for the CPU figures.
    #[arg(long, env = "COMPARE_SCHEMA_REGISTRY_URL", default_value = "http://127.0.0.1:8081")]
    pub schema_registry: String,
}

impl Endpoints {
    /// The base URL of `service`; none for web, which compare does not measure.
    pub fn url_of(&self, service: Service) -> Option<&str> {
        match service {
            Service::OrderSvc => Some(&self.order_svc),
            Service::PaymentSvc => Some(&self.payment_svc),
            Service::ShippingSvc => Some(&self.shipping_svc),
            Service::OrderHistory => Some(&self.order_history),
            Service::Composer => Some(&self.composer),
            Service::SchemaRegistry => Some(&self.schema_registry),
            Service::Web => None,
        }
    }

    /// The loopback ports of every process of the stack, to find them in /proc.
    pub fn ports(&self) -> Vec<(String, u16)> {
        let mut ports: Vec<(String, u16)> = HTTP_PROCESSES
            .iter()
            .filter_map(|service| port_of(self.url_of(*service)?).map(|port| (service.name().to_string(), port)))
            .collect();
        if let Some(port) = port_of(&self.broker) {
            ports.push(("broker".to_string(), port));
        }
        ports
    }

    pub fn as_list(&self) -> Vec<(String, String)> {
        HTTP_PROCESSES
            .iter()
            .filter_map(|service| Some((service.name().to_string(), self.url_of(*service)?.to_string())))
            .chain([("broker".to_string(), self.broker.clone())])
            .collect()
    }
}

fn port_of(address: &str) -> Option<u16> {
    let without_scheme = address.split("://").last()?;
    let host_port = without_scheme.split('/').next()?;
    host_port.rsplit(':').next()?.parse().ok()
}

/// The scenarios, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Scenario {
    Capacity,
    GetById,
    Search,
    /// `GET /stats` for the last 1, 7 and 30 days on both designs.
    Statistics,
    Freshness,
    SlowDependency,
    DependencyDown,
    /// payment-svc's contracts changed at run time, one at a time, and reverted.
    ContractChange,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::Capacity,
        Scenario::GetById,
        Scenario::Search,
        Scenario::Statistics,
        Scenario::Freshness,
        Scenario::SlowDependency,
        Scenario::DependencyDown,
        Scenario::ContractChange,
    ];
}

#[derive(Clone, Debug, clap::Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub endpoints: Endpoints,
    #[command(flatten)]
    pub credentials: Credentials,
    /// Orders to create before measuring.
    #[arg(long, env = "COMPARE_ORDERS")]
    pub orders: Option<u64>,
    /// Seconds of each load step (default 5; 1.5 with --quick).
    #[arg(long, env = "COMPARE_DURATION")]
    pub duration: Option<f64>,
    /// Arrival rates of the GET-by-id scenario, requests per second, comma separated (default:
    /// `--capacity-fraction` of the lower of the two designs' capacities).
    #[arg(long, env = "COMPARE_RATES", value_delimiter = ',')]
    pub rates: Option<Vec<f64>>,
    /// Arrival rate of the search, slow and down scenarios and of the read load under which
    /// freshness is measured (default: `--capacity-fraction` of the lower capacity of each
    /// request kind).
    #[arg(long, env = "COMPARE_FAULT_RATE")]
    pub fault_rate: Option<f64>,
    /// The p99 a rate must keep, in milliseconds, to count in a design's capacity (with under
    /// 1% of its requests failed or degraded).
    #[arg(long, env = "COMPARE_SLO_MS", default_value_t = 100.0)]
    pub slo_ms: f64,
    /// The share of the lower of the two capacities every other scenario runs at.
    #[arg(long, env = "COMPARE_CAPACITY_FRACTION", default_value_t = 0.5)]
    pub capacity_fraction: f64,
    /// Writes per read at which CQRS's cost of projecting writes is charged to its reads
    /// (default 0.1: one write for every ten reads).
    #[arg(long, env = "COMPARE_WRITE_READ_RATIO", default_value_t = 0.1)]
    pub write_read_ratio: f64,
    /// The broker's data directory, for the size of its log (Kafka: the partition directories
    /// of the three topics; tansu: its whole store). Default: `<stack-data-dir>/broker`.
    #[arg(long, env = "COMPARE_BROKER_DATA_DIR")]
    pub broker_data_dir: Option<PathBuf>,
    /// Elasticsearch, when the order view lives there, for the index size (stats API).
    #[arg(long, env = "COMPARE_ELASTICSEARCH_URL")]
    pub elasticsearch_url: Option<String>,
    /// The alias that names order-history's live index on Elasticsearch.
    #[arg(long, env = "COMPARE_ELASTICSEARCH_ALIAS", default_value = "order-history")]
    pub elasticsearch_alias: String,
    /// Writes per second of the freshness scenario.
    #[arg(long, env = "COMPARE_WRITE_RATE")]
    pub write_rate: Option<f64>,
    /// Milliseconds a load request may take, the same for both designs; a later answer is a
    /// `timeout` error (default 1000).
    #[arg(long, env = "COMPARE_DEADLINE_MS")]
    pub deadline_ms: Option<u64>,
    /// Times each compared step is measured, the designs interleaved (A B B A …); the report
    /// gives medians and 95% bootstrap intervals (default 3; 1 with --quick).
    #[arg(long, env = "COMPARE_REPEAT")]
    pub repeat: Option<u32>,
    /// Small and fast (under 2 minutes): 300 orders, 1.5-second steps measured once, two rates,
    /// one slowdown.
    #[arg(long)]
    pub quick: bool,
    /// Run only these scenarios (comma separated); the default is all of them.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub scenarios: Option<Vec<Scenario>>,
    /// The seed of the generated data; the same seed gives the same orders, customers and mix.
    #[arg(long, env = "COMPARE_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Where `report.md`, `report.json` and the charts are written.
    #[arg(long, env = "COMPARE_OUT", default_value = "report")]
    pub out: PathBuf,
    /// The stack's data directory, to measure the size of the view and of the source databases
    /// (the local profile's layout: `<dir>/order-history`, `<dir>/order-svc`, ...).
    #[arg(long, env = "COMPARE_STACK_DATA_DIR", default_value = ".data")]
    pub stack_data_dir: PathBuf,
    /// `local` or `compose`: recorded in the report.
    #[arg(long, env = "COMPARE_PROFILE", default_value = "local")]
    pub profile: String,
    /// How long to wait for order-history to hold every seeded order, in seconds.
    #[arg(long, env = "COMPARE_CONVERGE_TIMEOUT", default_value_t = 600.0)]
    pub converge_timeout: f64,
    /// Do not draw progress bars (logs only).
    #[arg(long)]
    pub no_progress: bool,
}

/// The arguments with every default resolved.
#[derive(Clone, Debug)]
pub struct Plan {
    pub endpoints: Endpoints,
    pub credentials: Credentials,
    pub orders: u64,
    pub customers: u64,
    pub step: Duration,
    /// GET-by-id rates given on the command line; `None` runs at a fraction of capacity.
    pub rates: Option<Vec<f64>>,
    /// The rate of the other read scenarios given on the command line; `None`: from capacity.
    pub fault_rate: Option<f64>,
    /// The rates used when capacity was not measured (`--scenarios` without `capacity`).
    pub fallback_rates: Vec<f64>,
    pub fallback_fault_rate: f64,
    pub write_rate: f64,
    pub slo: crate::capacity::Slo,
    pub capacity_fraction: f64,
    pub capacity_limits: crate::capacity::Limits,
    /// Seconds of each capacity probe.
    pub probe: Duration,
    pub write_read_ratio: f64,
    pub broker_data_dir: PathBuf,
    pub elasticsearch_url: Option<String>,
    pub elasticsearch_alias: String,
    /// The deadline of every load request, both designs alike.
    pub deadline: Duration,
    /// Repetitions of every compared step.
    pub repeat: u32,
    pub quick: bool,
    pub scenarios: Vec<Scenario>,
    pub seed: u64,
    pub out: PathBuf,
    pub stack_data_dir: PathBuf,
    pub profile: String,
    pub converge_timeout: Duration,
    pub progress: bool,
    /// The slowdowns of shipping-svc in the slow-dependency scenario.
    pub slow_delays_ms: Vec<u64>,
    /// Requests in a row per window, design and repetition in the statistics scenario.
    pub statistics_requests: u32,
}

impl CompareArgs {
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let (orders, step, rates, fault_rate, write_rate) = if self.quick {
            (300, 1.5, vec![100.0, 400.0], 100.0, 20.0)
        } else {
            // 5-second steps: three repetitions of each keep a full run within 20 minutes
            (20_000, 5.0, vec![200.0, 1000.0, 3000.0], 200.0, 50.0)
        };
        let repeat = self.repeat.unwrap_or(if self.quick { 1 } else { 3 });
        if !(1..=20).contains(&repeat) {
            bail!("--repeat must be between 1 and 20, got {repeat}");
        }
        let orders = self.orders.unwrap_or(orders);
        let step = self.duration.unwrap_or(step);
        let write_rate = self.write_rate.unwrap_or(write_rate);
        if orders == 0 {
            bail!("--orders must be at least 1");
        }
        if !(step.is_finite() && (0.5..=3600.0).contains(&step)) {
            bail!("--duration must be between 0.5 and 3600 seconds, got {step}");
        }
        let given_rates = self.rates.iter().flatten().chain(self.fault_rate.as_ref());
        for rate in given_rates.chain([&fault_rate, &write_rate]) {
            if !(rate.is_finite() && (1.0..=100_000.0).contains(rate)) {
                bail!("rates must be between 1 and 100000 per second, got {rate}");
            }
        }
        let deadline_ms = self.deadline_ms.unwrap_or(DEFAULT_DEADLINE_MS);
        if !(1..=600_000).contains(&deadline_ms) {
            bail!("--deadline-ms must be between 1 and 600000, got {deadline_ms}");
        }
        if !(self.slo_ms.is_finite() && (1.0..=60_000.0).contains(&self.slo_ms)) {
            bail!("--slo-ms must be between 1 and 60000, got {}", self.slo_ms);
        }
        if !(self.capacity_fraction.is_finite() && self.capacity_fraction > 0.0 && self.capacity_fraction <= 1.0) {
            bail!("--capacity-fraction must be above 0 and at most 1, got {}", self.capacity_fraction);
        }
        if !(self.write_read_ratio.is_finite() && (0.0..=100.0).contains(&self.write_read_ratio)) {
            bail!("--write-read-ratio must be between 0 and 100 writes per read, got {}", self.write_read_ratio);
        }
        let mut scenarios = self.scenarios.clone().unwrap_or_else(|| Scenario::ALL.to_vec());
        scenarios.sort();
        scenarios.dedup();
        Ok(Plan {
            endpoints: self.endpoints.clone(),
            credentials: self.credentials.clone(),
            orders,
            // about four orders a customer on average, skewed: some have dozens
            customers: (orders / 4).max(1),
            step: Duration::from_secs_f64(step),
            rates: self.rates.clone(),
            fault_rate: self.fault_rate,
            fallback_rates: rates,
            fallback_fault_rate: fault_rate,
            write_rate,
            slo: crate::capacity::Slo { p99_ms: self.slo_ms, max_bad_rate: crate::capacity::MAX_BAD_RATE },
            capacity_fraction: self.capacity_fraction,
            capacity_limits: if self.quick {
                crate::capacity::Limits { start_rps: 100.0, max_rps: 6_400.0, precision: 0.25, max_probes: 8 }
            } else {
                crate::capacity::Limits { start_rps: 100.0, max_rps: 12_800.0, precision: 0.1, max_probes: 12 }
            },
            // long enough that a rate above capacity queues past the SLO within the probe
            probe: Duration::from_secs_f64(if self.quick { 1.0 } else { 3.0 }),
            write_read_ratio: self.write_read_ratio,
            broker_data_dir: self.broker_data_dir.clone().unwrap_or_else(|| self.stack_data_dir.join("broker")),
            elasticsearch_url: self.elasticsearch_url.clone(),
            elasticsearch_alias: self.elasticsearch_alias.clone(),
            deadline: Duration::from_millis(deadline_ms),
            repeat,
            quick: self.quick,
            scenarios,
            seed: self.seed,
            out: self.out.clone(),
            stack_data_dir: self.stack_data_dir.clone(),
            profile: self.profile.clone(),
            converge_timeout: Duration::from_secs_f64(self.converge_timeout.max(1.0)),
            progress: !self.no_progress,
            // quick mode keeps the slowdown that shows the effect most clearly
            slow_delays_ms: if self.quick { vec![250] } else { vec![50, 250] },
            // few: a composer answer reads every order of the window, up to the deadline each
            statistics_requests: if self.quick { 4 } else { 8 },
        })
    }
}

impl Plan {
    pub fn runs(&self, scenario: Scenario) -> bool {
        self.scenarios.contains(&scenario)
    }

    /// Every parameter, for the report's environment section.
    pub fn parameters(&self) -> Vec<(String, String)> {
        let rates: Vec<String> = match &self.rates {
            Some(rates) => rates.iter().map(|rate| format!("{rate}")).collect(),
            None => vec![format!("{} of the lower capacity", self.capacity_fraction)],
        };
        let scenarios: Vec<String> = self.scenarios.iter().map(|scenario| format!("{scenario:?}")).collect();
        vec![
            ("orders".into(), self.orders.to_string()),
            ("customers".into(), self.customers.to_string()),
            ("seed".into(), self.seed.to_string()),
            ("step_seconds".into(), format!("{}", self.step.as_secs_f64())),
            ("get_by_id_rates".into(), rates.join(", ")),
            (
                "fault_and_search_rate".into(),
                self.fault_rate.map_or_else(
                    || format!("{} of the lower capacity of each kind", self.capacity_fraction),
                    |rate| format!("{rate}"),
                ),
            ),
            ("slo_p99_ms".into(), format!("{}", self.slo.p99_ms)),
            ("slo_max_bad_rate".into(), format!("{}", self.slo.max_bad_rate)),
            ("capacity_probe_seconds".into(), format!("{}", self.probe.as_secs_f64())),
            ("capacity_precision".into(), format!("{}", self.capacity_limits.precision)),
            ("write_read_ratio".into(), format!("{}", self.write_read_ratio)),
            ("freshness_write_rate".into(), format!("{}", self.write_rate)),
            ("deadline_ms".into(), self.deadline.as_millis().to_string()),
            ("repeat".into(), self.repeat.to_string()),
            ("slow_delays_ms".into(), format!("{:?}", self.slow_delays_ms)),
            ("statistics_requests".into(), self.statistics_requests.to_string()),
            ("quick".into(), self.quick.to_string()),
            ("scenarios".into(), scenarios.join(", ")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ports_in_urls_and_addresses() {
        assert_eq!(port_of("http://127.0.0.1:8001"), Some(8001));
        assert_eq!(port_of("http://localhost:8010/"), Some(8010));
        assert_eq!(port_of("127.0.0.1:9092"), Some(9092));
        assert_eq!(port_of("http://example.com"), None);
    }
}
