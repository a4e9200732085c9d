//! The transactional outbox and its relay, shared by every source service.
//!
//! A service writes its state change and one [`OutboxMessage`] in the same database
//! transaction ([`enqueue`]), so a change is published if and only if it committed. The
//! [`OutboxRelay`] then publishes pending rows to Kafka and marks a row published only after
//! the broker acknowledged it. A crash anywhere loses nothing: at worst a row is published
//! twice, with the same `event_id`, which consumers de-duplicate by aggregate version.
//!
//! The relay wakes promptly after a commit: an in-process signal from the writer, PostgreSQL
//! `LISTEN/NOTIFY` for commits made by other instances, and a poll interval as the fallback.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use events::{EncodeError, Event, EventCodec, encode_datum, frame, headers};
use kafka_config::DeliveryProducer;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::{Backend, Store, now_ms};

/// The PostgreSQL notification channel the writers signal on.
const NOTIFY_CHANNEL: &str = "outbox";
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One event waiting in the outbox.
#[derive(Clone, Debug)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub topic: &'static str,
    pub key: String,
    pub event_id: Uuid,
    pub event_type: &'static str,
    pub aggregate_id: Uuid,
    pub aggregate_version: i64,
    /// The Avro datum, written with this build's schema for `topic`, or with the version
    /// `schema_version` names.
    pub payload: Vec<u8>,
    pub traceparent: Option<String>,
    /// The schema version the datum was written with (`events::evolution`); `None` for the
    /// compiled-in schema. Kept with the row, so that a switch between the write and the
    /// publish cannot frame a datum with the wrong schema id.
    pub schema_version: Option<&'static str>,
}

impl OutboxMessage {
    pub fn for_event<E: Event>(event: &E, traceparent: Option<String>) -> Result<Self, EncodeError> {
        Ok(Self::with_payload(event, encode_datum(event)?, None, traceparent))
    }

    /// `event` with a datum written with another version of its topic's schema.
    pub fn for_event_with_datum<E: Event>(
        event: &E,
        datum: Vec<u8>,
        schema_version: &'static str,
        traceparent: Option<String>,
    ) -> Result<Self, EncodeError> {
        Ok(Self::with_payload(event, datum, Some(schema_version), traceparent))
    }

    fn with_payload<E: Event>(
        event: &E,
        payload: Vec<u8>,
        schema_version: Option<&'static str>,
        traceparent: Option<String>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            topic: E::TOPIC,
            key: event.order_id().to_string(),
            event_id: event.event_id(),
            event_type: event.event_type_name(),
            aggregate_id: event.aggregate_id(),
            aggregate_version: event.aggregate_version(),
            payload,
            traceparent,
            schema_version,
        }
    }
}

/// Writes `message` inside the caller's transaction. On PostgreSQL the notification is queued
/// in the same transaction, so listeners hear of it exactly when it commits.
pub async fn enqueue(transaction: &mut AnyConnection, backend: Backend, message: &OutboxMessage) -> sqlx::Result<()> {
    sqlx::query(
        "insert into outbox (id, topic, message_key, event_id, event_type, aggregate_id, aggregate_version, \
         payload, traceparent, created_at_ms, schema_version) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(message.id.to_string())
    .bind(message.topic)
    .bind(&message.key)
    .bind(message.event_id.to_string())
    .bind(message.event_type)
    .bind(message.aggregate_id.to_string())
    .bind(message.aggregate_version)
    .bind(message.payload.as_slice())
    .bind(message.traceparent.as_deref())
    .bind(now_ms())
    .bind(message.schema_version)
    .execute(&mut *transaction)
    .await?;
    if backend == Backend::Postgres {
        sqlx::query("select pg_notify($1, '')").bind(NOTIFY_CHANNEL).execute(&mut *transaction).await?;
    }
    Ok(())
}

/// Wakes the relay after a commit in this process.
#[derive(Clone, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    /// Call after the transaction that enqueued a message has committed.
    pub fn committed(&self) {
        self.0.notify_one();
    }
}

/// How the relay runs, with production defaults.
#[derive(Clone, Debug, clap::Args)]
pub struct RelayArgs {
    /// The most rows published per round trip to the broker.
    #[arg(long = "outbox-batch-size", env = "OUTBOX_BATCH_SIZE", default_value_t = 500)]
    pub batch_size: i64,
    /// The fallback poll interval, for commits no signal reported.
    #[arg(long = "outbox-poll-interval-ms", env = "OUTBOX_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,
    /// How long published rows are kept before they are pruned.
    #[arg(long = "outbox-retention-secs", env = "OUTBOX_RETENTION_SECS", default_value_t = 86_400)]
    pub retention_secs: i64,
    /// How often published rows past their retention are deleted.
    #[arg(long = "outbox-prune-interval-secs", env = "OUTBOX_PRUNE_INTERVAL_SECS", default_value_t = 60)]
    pub prune_interval_secs: u64,
    /// Whether this process publishes its outbox. Turning it off is a test hook: rows then
    /// stay pending until a process with the relay on starts.
    #[arg(long = "outbox-relay-enabled", env = "OUTBOX_RELAY_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub enabled: bool,
    /// Test hook: abort the process after the broker acknowledged a batch and before the rows
    /// are marked published, to prove that a crash there only causes duplicates.
    #[arg(long = "outbox-crash-after-publish", env = "OUTBOX_CRASH_AFTER_PUBLISH", default_value_t = false, action = clap::ArgAction::Set, hide = true)]
    pub crash_after_publish: bool,
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("outbox query failed: {0}")]
    Store(#[from] sqlx::Error),
    #[error("cannot register the schema of {topic}: {source}")]
    Schema { topic: String, source: EncodeError },
    #[error("outbox row of {topic} names schema version {version}, which this build does not know")]
    UnknownSchemaVersion { topic: String, version: String },
}

/// Publishes the outbox of one database to Kafka.
pub struct OutboxRelay {
    store: Store,
    database_url: String,
    producer: DeliveryProducer,
    codec: Arc<EventCodec>,
    signal: OutboxSignal,
    args: RelayArgs,
    /// By topic and schema version (`None`: the compiled-in schema).
    schema_ids: HashMap<(String, Option<String>), u32>,
}

struct PendingRow {
    id: String,
    topic: String,
    key: String,
    event_id: String,
    event_type: String,
    aggregate_id: String,
    payload: Vec<u8>,
    traceparent: Option<String>,
    created_at_ms: i64,
    schema_version: Option<String>,
}

impl PendingRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            topic: row.try_get("topic")?,
            key: row.try_get("message_key")?,
            event_id: row.try_get("event_id")?,
            event_type: row.try_get("event_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            payload: row.try_get("payload")?,
            traceparent: row.try_get("traceparent")?,
            created_at_ms: row.try_get("created_at_ms")?,
            schema_version: row.try_get("schema_version")?,
        })
    }
}

impl OutboxRelay {
    pub fn new(
        store: Store,
        database_url: String,
        producer: DeliveryProducer,
        codec: Arc<EventCodec>,
        signal: OutboxSignal,
        args: RelayArgs,
    ) -> Self {
        Self { store, database_url, producer, codec, signal, args, schema_ids: HashMap::new() }
    }

    /// Publishes until `shutdown` is cancelled, then flushes the producer.
    pub async fn run(mut self, shutdown: CancellationToken) {
        if self.store.backend == Backend::Postgres {
            tokio::spawn(forward_notifications(self.database_url.clone(), self.signal.clone(), shutdown.clone()));
        }
        let mut backoff = Duration::from_millis(100);
        let mut last_prune = std::time::Instant::now();
        loop {
            let batch_was_full = match self.publish_pending_batch().await {
                Ok(published) => {
                    backoff = Duration::from_millis(100);
                    published >= self.args.batch_size as usize
                }
                Err(error) => {
                    tracing::warn!(%error, backoff_ms = backoff.as_millis() as u64, "outbox relay round failed, retrying");
                    metrics::counter!("outbox_relay_errors_total").increment(1);
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            if last_prune.elapsed() >= Duration::from_secs(self.args.prune_interval_secs) {
                last_prune = std::time::Instant::now();
                if let Err(error) = self.prune_published().await {
                    tracing::warn!(%error, "cannot prune published outbox rows");
                }
            }
            if batch_was_full {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.signal.0.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(self.args.poll_interval_ms)) => {}
            }
        }
        let producer = self.producer.clone();
        let flushed = tokio::task::spawn_blocking(move || producer.flush(FLUSH_TIMEOUT)).await;
        tracing::info!(flushed = ?flushed.map(|result| result.is_ok()), "outbox relay stopped");
    }

    /// Publishes one batch of pending rows in id order and marks the acknowledged ones.
    ///
    /// Per aggregate, rows are marked only up to the first one the broker did not acknowledge:
    /// the rest go again in the next round, so the last copy of each event a consumer sees is
    /// in commit order.
    async fn publish_pending_batch(&mut self) -> Result<usize, RelayError> {
        let rows = sqlx::query(
            "select id, topic, message_key, event_id, event_type, aggregate_id, payload, traceparent, created_at_ms, \
             schema_version from outbox where published_at_ms is null order by id limit $1",
        )
        .bind(self.args.batch_size)
        .fetch_all(&self.store.pool)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            pending.push(PendingRow::from_row(row)?);
        }

        let mut deliveries = Vec::with_capacity(pending.len());
        for row in &pending {
            let schema_id = self.schema_id(&row.topic, row.schema_version.as_deref()).await?;
            let value = frame(schema_id, &row.payload);
            let mut record_headers = OwnedHeaders::new()
                .insert(Header { key: headers::EVENT_ID, value: Some(&row.event_id) })
                .insert(Header { key: headers::EVENT_TYPE, value: Some(&row.event_type) });
            if let Some(traceparent) = &row.traceparent {
                record_headers = record_headers.insert(Header { key: headers::TRACEPARENT, value: Some(traceparent) });
            }
            let record = FutureRecord::to(&row.topic).key(&row.key).payload(&value).headers(record_headers);
            deliveries.push(self.producer.send(record));
        }
        let mut acknowledged = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let outcome = match delivery {
                Ok(delivery) => delivery.await.is_ok(),
                Err(error) => {
                    tracing::warn!(%error, "producer queue refused a record");
                    false
                }
            };
            acknowledged.push(outcome);
        }

        let mut failed_aggregates: HashSet<&str> = HashSet::new();
        let mut publishable: Vec<&PendingRow> = Vec::with_capacity(pending.len());
        let acked_at_ms = now_ms();
        for (row, acked) in pending.iter().zip(acknowledged) {
            if acked && !failed_aggregates.contains(row.aggregate_id.as_str()) {
                publishable.push(row);
                continue;
            }
            failed_aggregates.insert(row.aggregate_id.as_str());
        }
        if !failed_aggregates.is_empty() {
            metrics::counter!("outbox_publish_failures_total").increment((pending.len() - publishable.len()) as u64);
            tracing::warn!(
                unacknowledged = pending.len() - publishable.len(),
                "some outbox rows were not acknowledged"
            );
        }
        if self.args.crash_after_publish && !publishable.is_empty() {
            tracing::error!(
                rows = publishable.len(),
                "test hook: aborting after publish, before marking rows published"
            );
            std::process::abort();
        }
        self.mark_published(&publishable, acked_at_ms).await?;
        for row in &publishable {
            let latency_seconds = (acked_at_ms - row.created_at_ms).max(0) as f64 / 1000.0;
            metrics::histogram!("outbox_publish_latency_seconds").record(latency_seconds);
            metrics::counter!("outbox_events_published_total", "topic" => row.topic.clone()).increment(1);
        }
        Ok(pending.len())
    }

    async fn schema_id(&mut self, topic: &str, schema_version: Option<&str>) -> Result<u32, RelayError> {
        let cache_key = (topic.to_string(), schema_version.map(str::to_string));
        if let Some(id) = self.schema_ids.get(&cache_key) {
            return Ok(*id);
        }
        let schema_text = events::evolution::schema_text_for(topic, schema_version).ok_or_else(|| {
            RelayError::UnknownSchemaVersion {
                topic: topic.to_string(),
                version: schema_version.unwrap_or("compiled-in").to_string(),
            }
        })?;
        let id = self
            .codec
            .register_schema_text(topic, schema_text)
            .await
            .map_err(|source| RelayError::Schema { topic: topic.to_string(), source })?;
        self.schema_ids.insert(cache_key, id);
        Ok(id)
    }

    async fn mark_published(&self, rows: &[&PendingRow], published_at_ms: i64) -> Result<(), RelayError> {
        for chunk in rows.chunks(500) {
            let placeholders: Vec<String> = (0..chunk.len()).map(|index| format!("${}", index + 2)).collect();
            let statement = format!("update outbox set published_at_ms = $1 where id in ({})", placeholders.join(", "));
            let mut query = sqlx::query(&statement).bind(published_at_ms);
            for row in chunk {
                query = query.bind(row.id.as_str());
            }
            query.execute(&self.store.pool).await?;
        }
        Ok(())
    }

    async fn prune_published(&self) -> Result<(), RelayError> {
        let cutoff_ms = now_ms() - self.args.retention_secs * 1000;
        let pruned = sqlx::query("delete from outbox where published_at_ms is not null and published_at_ms < $1")
            .bind(cutoff_ms)
            .execute(&self.store.pool)
            .await?;
        if pruned.rows_affected() > 0 {
            tracing::info!(rows = pruned.rows_affected(), "pruned published outbox rows");
        }
        Ok(())
    }
}

/// Turns PostgreSQL notifications on the outbox channel into relay wake-ups, reconnecting
/// when the connection drops.
async fn forward_notifications(database_url: String, signal: OutboxSignal, shutdown: CancellationToken) {
    loop {
        let listened = async {
            let mut listener = sqlx::postgres::PgListener::connect(&database_url).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            loop {
                listener.recv().await?;
                signal.committed();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = listened => {
                if let Err(error) = outcome {
                    tracing::warn!(%error, "outbox listener disconnected, reconnecting");
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
