//! Starting the broker: tansu on loopback with SQLite storage, its fetch index, and the topics
//! of the system.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use events::topics;
use kafka_config::{KafkaArgs, TopicSpec};
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use crate::process::{ProcessSpec, Supervised, wait_ready};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// The broker's SQLite file, relative to its working directory.
const BROKER_DB: &str = "tansu.db";

/// Starts the broker with its data in `broker_dir`, waits until it answers metadata requests,
/// and adds its fetch index.
pub async fn start_broker(
    tansu: &Path,
    broker_dir: &Path,
    listen: SocketAddr,
    log_dir: &Path,
) -> anyhow::Result<Supervised> {
    std::fs::create_dir_all(broker_dir)?;
    let mut broker = Supervised::spawn("broker", broker_command(tansu, broker_dir, listen), log_dir)?;
    let kafka = KafkaArgs::new(listen.to_string());
    let ready = async {
        wait_ready(Some(&mut broker), kafka.wait_until_reachable(STARTUP_TIMEOUT)).await?;
        add_broker_fetch_index(&broker_dir.join(BROKER_DB)).await
    };
    match ready.await {
        Ok(()) => Ok(broker),
        Err(error) => {
            broker.stop().await;
            Err(error)
        }
    }
}

/// Runs tansu on loopback with SQLite storage in its own directory. The listener flags are
/// always passed: tansu's default listener is 0.0.0.0.
fn broker_command(tansu: &Path, broker_dir: &Path, listen: SocketAddr) -> ProcessSpec {
    let url = format!("tcp://{listen}");
    ProcessSpec::new(tansu)
        .current_dir(broker_dir)
        .arg("broker")
        .arg("--listener-url")
        .arg(&url)
        .arg("--advertised-listener-url")
        .arg(&url)
        .arg("--storage-engine")
        .arg(format!("sqlite://{BROKER_DB}"))
        // tansu also reads these from the environment; the flags above must win
        .env_remove("LISTENER_URL")
        .env_remove("ADVERTISED_LISTENER_URL")
        .env_remove("STORAGE_ENGINE")
        .env_remove("SCHEMA_REGISTRY")
}

/// Without this index tansu's fetches scan the whole header table, and the broker locks up on
/// a backlog of about 40k messages. It is safe to create while the broker runs.
async fn add_broker_fetch_index(db: &Path) -> anyhow::Result<()> {
    let mut connection = SqliteConnectOptions::new()
        .filename(db)
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .with_context(|| format!("cannot open the broker database {}", db.display()))?;
    sqlx::query("create index if not exists header_topition_offset on header (topition, offset_id)")
        .execute(&mut connection)
        .await
        .context("cannot add the fetch index to the broker database")?;
    Ok(())
}

/// A retention of 100 years: in effect forever.
///
/// Kafka's own "forever", `retention.ms=-1`, is not used: tansu 0.6 reads it as "expire
/// everything" and empties the topic when its cleaner runs at the next broker start. This
/// value means the same on every Kafka-protocol broker.
const RETENTION_FOREVER_MS: &str = "3153600000000";

/// The source topics keep every event forever: order-history rebuilds its view by replaying
/// them from offset 0. They must not be compacted either, because one key (the order id)
/// carries the events of several aggregates.
pub fn topic_specs(partitions: i32) -> Vec<TopicSpec> {
    let keep_forever = vec![
        ("cleanup.policy".to_string(), "delete".to_string()),
        ("retention.ms".to_string(), RETENTION_FOREVER_MS.to_string()),
    ];
    let source_topics = topics::SOURCE_TOPICS.iter().map(|name| TopicSpec {
        name: name.to_string(),
        partitions,
        replication: 1,
        config: keep_forever.clone(),
    });
    let dead_letters = TopicSpec {
        name: topics::ORDER_HISTORY_DLQ.to_string(),
        partitions: 1,
        replication: 1,
        config: keep_forever.clone(),
    };
    source_topics.chain([dead_letters]).collect()
}
