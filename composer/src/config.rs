//! composer's configuration: flags, each with an environment variable and a default that runs
//! the local profile (the three source services on their local ports).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use platform::auth::{ReadAuthArgs, Secret};
use platform::endpoints::SourceServiceUrls;

use crate::downstream::breaker::BreakerSettings;
use crate::downstream::retry::RetryBudgetSettings;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8020";
pub use platform::endpoints::{DEFAULT_ORDER_SVC_URL, DEFAULT_PAYMENT_SVC_URL, DEFAULT_SHIPPING_SVC_URL};

/// API Composition of order history: answers `GET /orders/{id}` and a customer's order search
/// by calling order-svc, payment-svc and shipping-svc at request time.
#[derive(Clone, Debug, Parser)]
#[command(name = "composer", version)]
pub struct Config {
    /// The address the HTTP API listens on.
    #[arg(long = "listen", env = "LISTEN_ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The services composed: order-svc is essential, without it there is no answer;
    /// payment-svc and shipping-svc are optional, an answer without them is degraded.
    #[command(flatten)]
    pub sources: SourceServiceUrls,
    /// The version of payment-svc's read API composer calls: `v1` (`/payments`) or `v2`
    /// (`/v2/payments`, where `amount` is named `amount_minor`). payment-svc serves both, so
    /// composers can move from one to the other one instance at a time.
    #[arg(long = "payment-api-version", env = "PAYMENT_API_VERSION", value_enum, default_value_t = PaymentApiVersion::V1)]
    pub payment_api_version: PaymentApiVersion,
    /// The deadline of one downstream call, all its attempts included, in milliseconds.
    #[arg(long = "call-deadline-ms", env = "CALL_DEADLINE_MS", default_value_t = 800)]
    pub call_deadline_ms: u64,
    /// The deadline of one `GET /orders/{id}`, in milliseconds; always honoured.
    #[arg(long = "request-deadline-ms", env = "REQUEST_DEADLINE_MS", default_value_t = 1500)]
    pub request_deadline_ms: u64,
    /// The deadline of one search, which makes one call per listed page and two per order.
    #[arg(long = "search-deadline-ms", env = "SEARCH_DEADLINE_MS", default_value_t = 5000)]
    pub search_deadline_ms: u64,
    /// How many times a failed GET is retried at most (0 turns retries off).
    #[arg(long = "max-retries", env = "MAX_RETRIES", default_value_t = 1)]
    pub max_retries: u32,
    /// Retries allowed per request made, per dependency, once the reserve is spent.
    #[arg(long = "retry-budget-ratio", env = "RETRY_BUDGET_RATIO", default_value_t = 0.1)]
    pub retry_budget_ratio: f64,
    /// Retries a dependency may use before any request has earned them; also the bucket's
    /// floor after a quiet period.
    #[arg(long = "retry-budget-reserve", env = "RETRY_BUDGET_RESERVE", default_value_t = 10)]
    pub retry_budget_reserve: u32,
    /// Consecutive failed calls that open a dependency's circuit breaker.
    #[arg(long = "breaker-failure-threshold", env = "BREAKER_FAILURE_THRESHOLD", default_value_t = 5)]
    pub breaker_failure_threshold: u32,
    /// How long an open breaker refuses calls before it lets one probe through, in milliseconds.
    #[arg(long = "breaker-cooldown-ms", env = "BREAKER_COOLDOWN_MS", default_value_t = 5000)]
    pub breaker_cooldown_ms: u64,
    /// How many orders one search composes at the same time (two calls each).
    #[arg(long = "fanout-concurrency", env = "FANOUT_CONCURRENCY", default_value_t = 16)]
    pub fanout_concurrency: usize,
    /// The most pages of 100 orders one search lists from order-svc; what lies beyond is not
    /// searched and the response says so (`x-scan-truncated: true`).
    #[arg(long = "search-max-pages", env = "SEARCH_MAX_PAGES", default_value_t = 10)]
    pub search_max_pages: u32,
    /// Idle keep-alive connections kept per dependency.
    #[arg(long = "pool-max-idle-per-host", env = "POOL_MAX_IDLE_PER_HOST", default_value_t = 64)]
    pub pool_max_idle_per_host: usize,
    /// Reads need a customer or service token from the token issuer, verified with its public
    /// keys.
    #[command(flatten)]
    pub read_auth: ReadAuthArgs,
    /// The service token composer sends on its calls to the source services (`stack token
    /// --service`); required.
    #[arg(long = "read-token", env = "READ_TOKEN", hide_env_values = true)]
    pub read_token: Option<Secret>,
}

/// The versions of payment-svc's read API composer can call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PaymentApiVersion {
    V1,
    V2,
}

impl Config {
    /// A configuration with every default and no credentials, listening on `listen`; for tests
    /// and benches, which set the credentials they use.
    pub fn local(listen: SocketAddr) -> Config {
        let mut config = Config::parse_from(["composer"]);
        config.listen = listen;
        config
    }

    pub fn call_deadline(&self) -> Duration {
        Duration::from_millis(self.call_deadline_ms)
    }

    pub fn request_deadline(&self) -> Duration {
        Duration::from_millis(self.request_deadline_ms)
    }

    pub fn search_deadline(&self) -> Duration {
        Duration::from_millis(self.search_deadline_ms)
    }

    pub fn breaker_settings(&self) -> BreakerSettings {
        BreakerSettings {
            failure_threshold: self.breaker_failure_threshold.max(1),
            cooldown: Duration::from_millis(self.breaker_cooldown_ms),
        }
    }

    pub fn retry_budget_settings(&self) -> RetryBudgetSettings {
        RetryBudgetSettings {
            max_retries: self.max_retries,
            ratio: self.retry_budget_ratio.clamp(0.0, 1.0),
            reserve: f64::from(self.retry_budget_reserve),
        }
    }

    /// Checks what clap cannot: values that would make composer useless or unsafe.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.call_deadline_ms > 0, "call-deadline-ms must be positive");
        anyhow::ensure!(self.request_deadline_ms > 0, "request-deadline-ms must be positive");
        anyhow::ensure!(self.search_deadline_ms > 0, "search-deadline-ms must be positive");
        anyhow::ensure!(self.fanout_concurrency > 0, "fanout-concurrency must be positive");
        anyhow::ensure!(self.search_max_pages > 0, "search-max-pages must be positive");
        anyhow::ensure!((0.0..=1.0).contains(&self.retry_budget_ratio), "retry-budget-ratio must be between 0 and 1");
        for (flag, url) in [
            ("order-svc-url", &self.sources.order_svc_url),
            ("payment-svc-url", &self.sources.payment_svc_url),
            ("shipping-svc-url", &self.sources.shipping_svc_url),
        ] {
            let parsed = reqwest::Url::parse(url).map_err(|error| anyhow::anyhow!("{flag} {url:?}: {error}"))?;
            anyhow::ensure!(matches!(parsed.scheme(), "http" | "https"), "{flag} must be an http or https url");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn defaults_run_the_local_profile() {
        let config = Config::try_parse_from(["composer"]).expect("parses");
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.sources.order_svc_url, DEFAULT_ORDER_SVC_URL);
        assert_eq!(config.sources.payment_svc_url, DEFAULT_PAYMENT_SVC_URL);
        assert_eq!(config.sources.shipping_svc_url, DEFAULT_SHIPPING_SVC_URL);
        assert_eq!(config.payment_api_version, PaymentApiVersion::V1);
        assert!(config.call_deadline() < config.request_deadline(), "one slow call leaves time to answer");
        config.validate().expect("defaults are valid");
    }

    #[test]
    fn flags_override_the_defaults_and_bad_values_are_refused() {
        let config = Config::try_parse_from([
            "composer",
            "--order-svc-url",
            "http://orders:8001",
            "--request-deadline-ms",
            "250",
            "--breaker-failure-threshold",
            "2",
        ])
        .expect("parses");
        assert_eq!(config.sources.order_svc_url, "http://orders:8001");
        assert_eq!(config.request_deadline(), Duration::from_millis(250));
        assert_eq!(config.breaker_settings().failure_threshold, 2);

        let mut bad = config.clone();
        bad.sources.payment_svc_url = "ftp://payments".to_string();
        assert!(bad.validate().is_err());
        let mut bad = config;
        bad.fanout_concurrency = 0;
        assert!(bad.validate().is_err());
    }
}
