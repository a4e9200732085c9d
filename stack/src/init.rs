//! `stack init`: the one-shot set-up of a broker and a schema registry that someone else runs,
//! such as the compose stack's Apache Kafka and Confluent Schema Registry. It creates the topics
//! and registers the value schemas exactly as `stack up` does for the local profile, then exits.

use std::time::{Duration, Instant};

use anyhow::bail;
use events::DEFAULT_SCHEMA_REGISTRY_URL;
use kafka_config::{KafkaArgs, ensure_topics};

use broker::topic_specs;

use crate::up::register_schemas;

/// How long the broker and the registry may take to answer.
const WAIT: Duration = Duration::from_secs(120);

#[derive(Clone, Debug, clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// The Confluent-compatible schema registry.
    #[arg(long, env = "SCHEMA_REGISTRY_URL", default_value = DEFAULT_SCHEMA_REGISTRY_URL)]
    pub schema_registry_url: String,
    /// Partitions of each source topic; only applies when a topic is created.
    #[arg(long, env = "STACK_PARTITIONS", default_value_t = 3)]
    pub partitions: i32,
}

pub async fn run(args: InitArgs) -> anyhow::Result<()> {
    args.kafka.wait_until_reachable(WAIT).await?;
    ensure_topics(&args.kafka, &topic_specs(args.partitions)).await?;
    println!("topics ready on {}", args.kafka.bootstrap_servers);
    // the registry may still be reading its own topic when the broker is up: retry a while
    let started = Instant::now();
    loop {
        match register_schemas(&args.schema_registry_url).await {
            Ok(()) => break,
            Err(error) if started.elapsed() < WAIT => {
                tracing::info!(error = %format!("{error:#}"), "schema registry not ready; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => bail!("cannot register the schemas at {}: {error:#}", args.schema_registry_url),
        }
    }
    println!("schemas registered at {}", args.schema_registry_url);
    Ok(())
}
