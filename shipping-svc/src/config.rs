//! The service's configuration, from flags or environment variables.

use std::net::SocketAddr;

use source_platform::source_service::SourceServiceArgs;

/// How shipping-svc runs. Every setting has a flag and an environment variable; the defaults
/// are the local profile's.
#[derive(Clone, Debug, clap::Parser)]
#[command(name = "shipping-svc", about = "The system of record for shipments")]
pub struct Config {
    /// Where the HTTP API listens. Default 127.0.0.1:8003: loopback only, and the port after
    /// order-svc (8001) and payment-svc (8002).
    #[arg(long = "listen", env = "LISTEN_ADDR", default_value = "127.0.0.1:8003")]
    pub listen: SocketAddr,
    /// The store: `sqlite://<file>` or `postgres://...`. Default
    /// sqlite://.data/shipping-svc/shipping-svc.db, a file under the working directory (created
    /// with its directory when missing), which is the local profile's store.
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = "sqlite://.data/shipping-svc/shipping-svc.db")]
    pub database_url: String,
    /// The broker, the schema registry, the admin token and the outbox relay, as every source
    /// service takes them.
    #[command(flatten)]
    pub common: SourceServiceArgs,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn the_defaults_are_the_local_profile() {
        let config = Config::try_parse_from(["shipping-svc", "--write-token", "w"]).expect("defaults parse");
        assert_eq!(config.listen, "127.0.0.1:8003".parse::<SocketAddr>().expect("address"));
        assert_eq!(config.database_url, "sqlite://.data/shipping-svc/shipping-svc.db");
        assert!(config.common.relay.enabled);
    }

    #[test]
    fn flags_override_the_defaults() {
        let config = Config::try_parse_from([
            "shipping-svc",
            "--listen",
            "0.0.0.0:9000",
            "--database-url",
            "postgres://shipping@db/shipping",
            "--write-token",
            "w",
        ])
        .expect("flags parse");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.database_url, "postgres://shipping@db/shipping");
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        <Config as clap::CommandFactory>::command().debug_assert();
    }
}
