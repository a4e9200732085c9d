//! Stage 1: the Kafka consumer, cutting the record stream into batches bounded in size and time.
//!
//! Two ways to own partitions, one per scaling topology:
//! - [`Assignment::Group`]: instances in one consumer group split the partitions and the group's
//!   committed offsets are the checkpoint (Elasticsearch, one shared index);
//! - [`Assignment::AllPartitions`]: the instance reads every partition and resumes from the
//!   checkpoint stored with its own view (tantivy, each instance a full replica).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{ClientConfig, ClientContext, Offset, Statistics, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::index::Checkpoint;

/// A record as read, owned so it can cross stages and go to the dead-letter topic unchanged.
#[derive(Clone, Debug)]
pub struct RawRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// The record's timestamp (the producer's create time), in Unix milliseconds.
    pub timestamp_ms: Option<i64>,
}

impl RawRecord {
    fn of(message: &BorrowedMessage<'_>) -> Self {
        RawRecord {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            timestamp_ms: message.timestamp().to_millis(),
        }
    }
}

/// Records read together, and the position after the last of them per partition.
#[derive(Debug, Default)]
pub struct RecordBatch {
    pub records: Vec<RawRecord>,
    /// When the batch closed: the hand-off from the source to the next stage.
    pub closed_at: Option<Instant>,
    pub checkpoint: Checkpoint,
}

#[derive(Clone, Copy, Debug)]
pub struct BatchLimits {
    pub max_records: usize,
    /// How long a batch stays open after its first record: the price in freshness paid for
    /// fewer, larger commits under light load.
    pub max_wait: Duration,
}

pub enum Assignment {
    Group,
    AllPartitions { resume_from: Checkpoint },
}

pub type ProjectionConsumer = StreamConsumer<ProjectionContext>;

pub struct Source {
    consumer: Arc<ProjectionConsumer>,
    limits: BatchLimits,
}

impl Source {
    pub async fn start(
        config: ClientConfig,
        topics: &[&str],
        assignment: Assignment,
        limits: BatchLimits,
    ) -> anyhow::Result<Self> {
        let mut config = config;
        // consumer lag per partition arrives in the statistics callback
        config.set("statistics.interval.ms", "5000");
        let consumer: ProjectionConsumer =
            config.create_with_context(ProjectionContext).context("cannot create the kafka consumer")?;
        let consumer = Arc::new(consumer);
        match assignment {
            Assignment::Group => consumer.subscribe(topics).context("cannot subscribe to the source topics")?,
            Assignment::AllPartitions { resume_from } => {
                let assignment = all_partitions(consumer.clone(), topics, &resume_from).await?;
                consumer.assign(&assignment).context("cannot assign the source partitions")?;
            }
        }
        Ok(Source { consumer, limits })
    }

    /// The next batch: waits for a first record, then takes what follows until the batch is
    /// full or `max_wait` has passed. `None` once `shutdown` is cancelled.
    pub async fn next_batch(&self, shutdown: &CancellationToken) -> anyhow::Result<Option<RecordBatch>> {
        self.next_batch_within(shutdown, None).await
    }

    /// Like [`Source::next_batch`], but gives up waiting for a first record after `idle` and
    /// returns an empty batch. Only the wait for the first record is ever cut short, so no
    /// record read is dropped.
    pub async fn next_batch_within(
        &self,
        shutdown: &CancellationToken,
        idle: Option<Duration>,
    ) -> anyhow::Result<Option<RecordBatch>> {
        let mut batch = RecordBatch::default();
        let idle = async {
            match idle {
                Some(idle) => tokio::time::sleep(idle).await,
                None => std::future::pending().await,
            }
        };
        let first = tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = idle => return Ok(Some(batch)),
            message = self.consumer.recv() => message.context("kafka consumer failed")?,
        };
        self.add(&mut batch, &first);
        drop(first);
        let closes_at = Instant::now() + self.limits.max_wait;
        while batch.records.len() < self.limits.max_records {
            let remaining = closes_at.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            match tokio::time::timeout(remaining, self.consumer.recv()).await {
                Ok(message) => {
                    let message = message.context("kafka consumer failed")?;
                    self.add(&mut batch, &message);
                }
                Err(_) => break,
            }
        }
        batch.closed_at = Some(Instant::now());
        Ok(Some(batch))
    }

    fn add(&self, batch: &mut RecordBatch, message: &BorrowedMessage<'_>) {
        batch.checkpoint.advance(message.topic(), message.partition(), message.offset() + 1);
        batch.records.push(RawRecord::of(message));
    }

    /// The consumer's position in every assigned partition: the next offset it will read.
    pub fn positions(&self) -> anyhow::Result<Checkpoint> {
        let mut positions = Checkpoint::default();
        for element in self.consumer.position().context("cannot read the consumer position")?.elements() {
            if let Offset::Offset(next) = element.offset() {
                positions.advance(element.topic(), element.partition(), next);
            }
        }
        Ok(positions)
    }

    /// The high watermark (the offset after the last record) of every assigned partition: with
    /// the positions a view covers, how far behind the view is.
    ///
    /// As of the consumer's last fetch response for the partition, which carries the partition's
    /// high watermark, so it lags the broker by at most one fetch wait. Only a partition with no
    /// fetch response yet is asked of the broker: a query per partition, once a second while
    /// records flowed, took seconds in all on the local broker and held up the other fetches.
    pub async fn high_watermarks(&self) -> anyhow::Result<Checkpoint> {
        let consumer = self.consumer.clone();
        // the broker query for a partition not fetched yet blocks on a round trip
        tokio::task::spawn_blocking(move || -> anyhow::Result<Checkpoint> {
            let assignment = consumer.assignment().context("cannot read the assignment")?;
            let mut highs = Checkpoint::default();
            for element in assignment.elements() {
                let (topic, partition) = (element.topic(), element.partition());
                let high = match last_fetched_high_watermark(&consumer, topic, partition) {
                    Some(high) => high,
                    None => {
                        consumer
                            .fetch_watermarks(topic, partition, Duration::from_secs(5))
                            .with_context(|| format!("cannot read the watermarks of {topic}/{partition}"))?
                            .1
                    }
                };
                highs.advance(topic, partition, high);
            }
            Ok(highs)
        })
        .await
        .context("watermark query panicked")?
    }

    /// Commits the group's offsets up to `checkpoint`. Call only once the data it covers is
    /// durable. After a rebalance the commit for a partition this instance lost is refused;
    /// that is safe, as the new owner re-reads from the last commit and the version rules
    /// make the repeats harmless.
    pub fn commit(&self, checkpoint: &Checkpoint) {
        let mut offsets = TopicPartitionList::new();
        for (topic, partitions) in &checkpoint.offsets {
            for (partition, next_offset) in partitions {
                if let Err(error) = offsets.add_partition_offset(topic, *partition, Offset::Offset(*next_offset)) {
                    tracing::warn!(%topic, partition, %error, "cannot add an offset to commit");
                }
            }
        }
        if offsets.count() == 0 {
            return;
        }
        if let Err(error) = self.consumer.commit(&offsets, CommitMode::Async) {
            tracing::warn!(%error, "offset commit refused; the records will be read again");
        }
    }
}

/// The high watermark librdkafka took from its last fetch response for the partition; `None`
/// before it has one. The rust client does not wrap this call (only the broker query).
fn last_fetched_high_watermark(consumer: &ProjectionConsumer, topic: &str, partition: i32) -> Option<i64> {
    use rdkafka::bindings::{rd_kafka_get_watermark_offsets, rd_kafka_resp_err_t};

    let topic = std::ffi::CString::new(topic).ok()?;
    let (mut low, mut high) = (-1_i64, -1_i64);
    // SAFETY: the client handle lives as long as `consumer`, which is borrowed for the call;
    // librdkafka only reads the NUL-terminated topic name and writes the two offsets, under its
    // own lock, without blocking
    let error = unsafe {
        rd_kafka_get_watermark_offsets(consumer.client().native_ptr(), topic.as_ptr(), partition, &mut low, &mut high)
    };
    // an offset below zero (RD_KAFKA_OFFSET_INVALID) until a fetch response carried one
    (error == rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0).then_some(high)
}

/// Every partition of `topics`, each starting at the checkpoint when it has one, else at the
/// beginning: the checkpoint is the truth, not the group's committed offsets.
async fn all_partitions(
    consumer: Arc<ProjectionConsumer>,
    topics: &[&str],
    resume_from: &Checkpoint,
) -> anyhow::Result<TopicPartitionList> {
    let topics: Vec<String> = topics.iter().map(ToString::to_string).collect();
    let partitions = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(String, i32)>> {
        let mut partitions = Vec::new();
        for topic in &topics {
            let metadata = consumer
                .fetch_metadata(Some(topic), Duration::from_secs(10))
                .with_context(|| format!("cannot read the metadata of topic {topic}"))?;
            for found in metadata.topics() {
                anyhow::ensure!(
                    found.error().is_none() && !found.partitions().is_empty(),
                    "topic {topic} does not exist; create it first (stack up does)"
                );
                partitions.extend(found.partitions().iter().map(|partition| (topic.clone(), partition.id())));
            }
        }
        Ok(partitions)
    })
    .await??;
    let mut assignment = TopicPartitionList::new();
    for (topic, partition) in partitions {
        // the checkpoint is the truth: a partition it does not name was never read into this
        // read model, whatever the group committed (a new replica or an emptied store shares
        // the group of an instance that read on)
        let offset = resume_from.next_offset(&topic, partition).map_or(Offset::Beginning, Offset::Offset);
        assignment.add_partition_offset(&topic, partition, offset)?;
    }
    Ok(assignment)
}

/// Logs rebalances and turns librdkafka's statistics into lag gauges.
pub struct ProjectionContext;

impl ClientContext for ProjectionContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, topic_stats) in &statistics.topics {
            for (partition, partition_stats) in &topic_stats.partitions {
                // librdkafka reports the internal UA partition as -1 and lag -1 when unknown
                if *partition < 0 || partition_stats.consumer_lag < 0 {
                    continue;
                }
                // the client id tells the order view's consumer from the statistics' (and a
                // rebuild's), which read the same partitions at their own pace
                metrics::gauge!(
                    "order_history_consumer_lag",
                    "client" => statistics.client_id.clone(),
                    "topic" => topic.clone(),
                    "partition" => partition.to_string()
                )
                .set(partition_stats.consumer_lag as f64);
            }
        }
    }
}

impl ConsumerContext for ProjectionContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => tracing::info!(partitions = partitions.count(), "partitions revoked"),
            Rebalance::Assign(partitions) => tracing::info!(partitions = partitions.count(), "partitions assigned"),
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(error) = result {
            tracing::warn!(%error, "offset commit failed; the records will be read again");
        }
    }
}
