//! The binary's configuration, from flags or the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

/// A Confluent-compatible Schema Registry (Avro only) backed by a local SQLite file.
#[derive(Clone, Debug, clap::Parser)]
#[command(name = "schema-registry", version)]
pub struct Config {
    /// Address to serve the REST API on. 8081 is Confluent's default port.
    #[arg(long, env = "SCHEMA_REGISTRY_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,

    /// Directory holding the store, `schemas.db`; created if missing.
    #[arg(long, env = "SCHEMA_REGISTRY_DATA_DIR", default_value = ".data/schema-registry")]
    pub data_dir: PathBuf,
}
