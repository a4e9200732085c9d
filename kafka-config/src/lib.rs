//! Kafka client configuration, built in one place so that every producer and consumer in the
//! system, and the docker-compose profile, run with the same settings.
//!
//! Nothing here depends on the broker being tansu or Apache Kafka: both speak the same
//! protocol, and these are the settings a production deployment would use.

mod producer;

use std::time::Duration;

pub use producer::{Delivered, DeliveryProducer};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

/// The default bootstrap address of the local profile.
pub const DEFAULT_BOOTSTRAP_SERVERS: &str = "127.0.0.1:9092";

/// Where the brokers are and who is asking.
#[derive(Clone, Debug, clap::Args)]
pub struct KafkaArgs {
    /// Comma-separated Kafka bootstrap servers.
    #[arg(long = "kafka-bootstrap-servers", env = "KAFKA_BOOTSTRAP_SERVERS", default_value = DEFAULT_BOOTSTRAP_SERVERS)]
    pub bootstrap_servers: String,
}

impl KafkaArgs {
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self { bootstrap_servers: bootstrap_servers.into() }
    }

    fn base(&self, client_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", client_id)
            // fail a request in seconds, not minutes, so callers see a clear error quickly
            .set("socket.timeout.ms", "10000")
            .set("socket.keepalive.enable", "true");
        config
    }

    /// A producer that never loses or reorders an acknowledged record: idempotence on,
    /// `acks=all`, and retries left to librdkafka within `delivery.timeout.ms`.
    pub fn producer_config(&self, client_id: &str) -> ClientConfig {
        let mut config = self.base(client_id);
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "5")
            .set("delivery.timeout.ms", "30000")
            .set("message.timeout.ms", "30000")
            // a short linger batches bursts without adding visible latency
            .set("linger.ms", "2")
            .set("compression.type", "none");
        config
    }

    /// A group consumer that commits only what the application says is durable.
    ///
    /// The classic group protocol is chosen explicitly: it is what every Kafka-protocol broker
    /// supports (KIP-848 is not universal yet).
    pub fn consumer_config(&self, client_id: &str, group_id: &str) -> ClientConfig {
        let mut config = self.base(client_id);
        config
            .set("group.id", group_id)
            .set("group.protocol", "classic")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            // Kafka's default. A broker answers a fetch as soon as records arrive (tansu with
            // the patch `stack install-broker` applies, see docs/local-broker.md), so this
            // bounds only how often an idle consumer asks: twice a second, not a hundred times
            .set("fetch.wait.max.ms", "500")
            .set("isolation.level", "read_committed");
        config
    }

    pub fn admin_client(&self, client_id: &str) -> anyhow::Result<AdminClient<DefaultClientContext>> {
        Ok(self.base(client_id).create()?)
    }

    /// Waits until the cluster answers a metadata request, or `deadline` passes.
    pub async fn wait_until_reachable(&self, deadline: Duration) -> anyhow::Result<()> {
        let config = self.base("readiness");
        let started = std::time::Instant::now();
        loop {
            let attempt = {
                let config = config.clone();
                tokio::task::spawn_blocking(move || fetch_metadata(&config)).await?
            };
            match attempt {
                Ok(()) => return Ok(()),
                Err(error) if started.elapsed() >= deadline => {
                    anyhow::bail!("kafka at {} not reachable after {deadline:?}: {error}", self.bootstrap_servers)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Checks once whether the cluster answers a metadata request; for readiness probes.
    pub async fn probe(&self) -> Result<(), String> {
        let config = self.base("readiness");
        tokio::task::spawn_blocking(move || fetch_metadata(&config))
            .await
            .map_err(|error| error.to_string())?
            .map_err(|error| format!("kafka unreachable: {error}"))
    }
}

fn fetch_metadata(config: &ClientConfig) -> Result<(), rdkafka::error::KafkaError> {
    let consumer: BaseConsumer = config.create()?;
    consumer.fetch_metadata(None, Duration::from_secs(2))?;
    Ok(())
}

/// A topic the system needs, with its partition count and cleanup settings.
#[derive(Clone, Debug)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
    pub config: Vec<(String, String)>,
}

/// Creates each topic that does not exist yet; existing topics are left as they are.
pub async fn ensure_topics(kafka: &KafkaArgs, topics: &[TopicSpec]) -> anyhow::Result<()> {
    let admin = kafka.admin_client("topic-admin")?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|topic| {
            let mut new_topic =
                NewTopic::new(&topic.name, topic.partitions, TopicReplication::Fixed(topic.replication));
            for (key, value) in &topic.config {
                new_topic = new_topic.set(key, value);
            }
            new_topic
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin.create_topics(&new_topics, &options).await?;
    for result in results {
        match result {
            Ok(name) => tracing::info!(topic = %name, "topic created"),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic = %name, "topic already exists")
            }
            Err((name, code)) => anyhow::bail!("cannot create topic {name}: {code}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod config_tests {
    use super::*;

    /// The guarantees the outbox and the projection rely on, on every broker: the compose
    /// profile's Apache Kafka gets exactly these, with its bootstrap servers from
    /// `KAFKA_BOOTSTRAP_SERVERS` (`kafka:29092`, the internal listener).
    #[test]
    fn clients_are_idempotent_acks_all_and_classic_group_consumers() {
        let kafka = KafkaArgs::new("kafka:29092");
        let producer = kafka.producer_config("relay");
        assert_eq!(producer.get("bootstrap.servers"), Some("kafka:29092"));
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        assert_eq!(producer.get("acks"), Some("all"));
        let consumer = kafka.consumer_config("projection", "order-history");
        assert_eq!(consumer.get("bootstrap.servers"), Some("kafka:29092"));
        assert_eq!(consumer.get("group.protocol"), Some("classic"));
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(consumer.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(consumer.get("isolation.level"), Some("read_committed"));
    }
}
