//! The service's configuration, read from flags and environment variables.

use std::net::SocketAddr;

use source_platform::source_service::SourceServiceArgs;

use crate::domain::PaymentRules;

/// Everything payment-svc is configured with. Each flag has an environment variable; the flag
/// wins when both are given.
#[derive(Clone, Debug, clap::Parser)]
#[command(name = "payment-svc", about = "Owns payments and publishes every change to the payments topic")]
pub struct Config {
    /// Where the HTTP API listens. Default: 127.0.0.1:8002 (order-svc is 8001, shipping-svc 8003).
    #[arg(long = "listen", env = "LISTEN_ADDR", default_value = "127.0.0.1:8002")]
    pub listen: SocketAddr,
    /// The payments database: `sqlite://PATH` (created when missing) or `postgres://...`.
    /// Default: sqlite://.data/payment-svc/payment-svc.db, relative to the working directory.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = "sqlite://.data/payment-svc/payment-svc.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// New payments above this many minor units are declined with "amount above the
    /// authorization limit"; at or below it they are authorized. Default: 100000 (1,000.00 in
    /// a two-decimal currency).
    #[arg(
        long = "decline-above-minor",
        env = "PAYMENT_DECLINE_ABOVE_MINOR",
        default_value_t = crate::domain::DEFAULT_DECLINE_ABOVE_MINOR,
        value_parser = clap::value_parser!(i64).range(0..)
    )]
    pub decline_above_minor: i64,
    /// The broker, the schema registry, the admin token and the outbox relay.
    #[command(flatten)]
    pub common: SourceServiceArgs,
}

impl Config {
    pub fn payment_rules(&self) -> PaymentRules {
        PaymentRules::new(self.decline_above_minor)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// Reads the defaults from the command definition rather than by parsing, so that the
    /// test does not depend on the environment it runs in.
    #[test]
    fn the_defaults_are_the_documented_ones() {
        let command = <Config as clap::CommandFactory>::command();
        let default_of = |id: &str| {
            let argument = command.get_arguments().find(|argument| argument.get_id() == id).expect("argument exists");
            argument.get_default_values().iter().map(|value| value.to_string_lossy().into_owned()).collect::<Vec<_>>()
        };
        assert_eq!(default_of("listen"), ["127.0.0.1:8002"]);
        assert_eq!(default_of("database_url"), ["sqlite://.data/payment-svc/payment-svc.db"]);
        assert_eq!(default_of("decline_above_minor"), ["100000"]);
        assert_eq!(PaymentRules::default(), PaymentRules::new(100_000));
    }

    #[test]
    fn flags_override_the_defaults_and_a_negative_limit_is_refused() {
        let config = Config::try_parse_from([
            "payment-svc",
            "--listen",
            "0.0.0.0:9000",
            "--decline-above-minor",
            "500",
            "--write-token",
            "w",
        ])
        .expect("flags parse");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.payment_rules(), PaymentRules::new(500));
        assert!(Config::try_parse_from(["payment-svc", "--decline-above-minor", "-1", "--write-token", "w"]).is_err());
    }
}
