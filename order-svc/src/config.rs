//! order-svc's configuration: flags, each with an environment variable and a default that
//! runs the local profile.

use std::net::SocketAddr;

use clap::Parser;
use source_platform::source_service::SourceServiceArgs;

/// The default listen address: loopback, on order-svc's port of the local profile.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8001";
/// The default store: a SQLite file under the working directory's `.data/`, where `stack up`
/// keeps the broker and the registry too. It and its directory are created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://.data/order-svc/order-svc.db";

/// The system of record for orders: a REST API whose every change is published to the
/// `orders` topic through a transactional outbox.
#[derive(Clone, Debug, Parser)]
#[command(name = "order-svc", version)]
pub struct Config {
    /// The address the HTTP API listens on.
    #[arg(long = "listen", env = "LISTEN_ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The order store: `sqlite://<path>` (local profile) or `postgres://...` (compose).
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// Kafka, the schema registry, the admin token and the outbox relay.
    #[command(flatten)]
    pub common: SourceServiceArgs,
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
        let command = Config::command();
        let default_of = |name: &str| {
            let argument = command.get_arguments().find(|argument| argument.get_id() == name).expect(name);
            argument.get_default_values().iter().map(|value| value.to_string_lossy().into_owned()).collect::<Vec<_>>()
        };
        assert_eq!(default_of("listen"), [DEFAULT_LISTEN]);
        assert_eq!(default_of("database_url"), [DEFAULT_DATABASE_URL]);
        assert!(DEFAULT_LISTEN.parse::<SocketAddr>().is_ok());
    }

    #[test]
    fn flags_override_the_defaults() {
        let config = Config::try_parse_from([
            "order-svc",
            "--listen",
            "0.0.0.0:9001",
            "--database-url",
            "postgres://orders@db/orders",
            "--outbox-relay-enabled",
            "false",
            "--write-token",
            "a-write-token-of-16+",
        ])
        .expect("valid flags");
        assert_eq!(config.listen, "0.0.0.0:9001".parse::<SocketAddr>().expect("address"));
        assert_eq!(config.database_url, "postgres://orders@db/orders");
        assert!(!config.common.relay.enabled);
    }

    #[test]
    fn there_is_no_default_write_token() {
        let refused = Config::try_parse_from(["order-svc"]).map(|_| ()).expect_err("a write token is required");
        assert!(refused.to_string().contains("--write-token"), "{refused}");
    }
}
