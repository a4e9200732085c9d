//! The statistics read model: a second projection of the same three topics, with its own
//! consumer group, its own store and its own checkpoint (docs/statistics.md).
//!
//! ```text
//! source (kafka, every partition, from the store's checkpoint) ─▶ decode (registry)
//!        ─▶ apply (merge per order, retract old contribution, add new; rollups and
//!           checkpoint in one transaction) ─▶ commit group offsets (for lag monitoring only)
//! ```
//!
//! It reuses the order view's source and decode stages and its merge rules, so a record means
//! the same to both read models. Rejected records are counted and skipped: the order view's
//! projection sends them to the dead-letter topic, and sending them twice would double the
//! dead letters.

mod dump;
pub mod rebuild;
pub mod store;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use events::EventCodec;
use rdkafka::ClientConfig;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::index::Checkpoint;
use crate::projection::decode::{Decoded, Decoder};
use crate::projection::source::Source;
use crate::projection::{Assignment, BatchLimits};
pub use dump::{Exported, schema_fingerprint};
pub use store::{ApplyOutcome, PositionedEvent, StatsStore, StatsStoreError};

/// The statistics projection's consumer group, unless configured otherwise.
pub const DEFAULT_STATS_GROUP_ID: &str = "order-history-stats";
/// The SQLite file under the data dir that holds the statistics by default.
pub const DEFAULT_STATS_FILE: &str = "stats.sqlite";

/// How far the statistics are behind the topics, as the projection last measured it.
#[derive(Clone)]
pub struct StatsStatus {
    /// Records in the topics not yet in the rollups; `None` until first measured.
    behind: watch::Sender<Option<i64>>,
}

impl Default for StatsStatus {
    fn default() -> Self {
        StatsStatus { behind: watch::channel(None).0 }
    }
}

impl StatsStatus {
    /// Whether the rollups may miss records already in the topics.
    pub fn stale(&self) -> bool {
        self.behind.borrow().is_none_or(|behind| behind > 0)
    }

    pub fn records_behind(&self) -> Option<i64> {
        *self.behind.borrow()
    }

    fn measured(&self, behind: Option<i64>) {
        self.behind.send_replace(behind);
        if let Some(behind) = behind {
            metrics::gauge!("order_history_stats_records_behind").set(behind as f64);
        }
    }
}

/// What the statistics projection needs from the outside.
pub struct StatsSetup {
    pub consumer: ClientConfig,
    pub codec: Arc<EventCodec>,
    pub limits: BatchLimits,
}

/// How long the source waits for a record before the projection measures its lag again.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// While records keep coming, the lag is measured at most this often.
const LAG_INTERVAL: Duration = Duration::from_secs(1);
/// While records keep coming, the group's offsets are committed at most this often. They only
/// mirror the store's checkpoint for monitoring; a commit per live batch was a broker request
/// every 10 ms.
const OFFSET_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// Runs until `shutdown`; returns an error only for failures retrying cannot fix.
pub async fn run(
    setup: StatsSetup,
    store: StatsStore,
    status: StatsStatus,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    project(setup, &store, &status, None, &shutdown).await.map(|_| ())
}

/// Reads from the store's checkpoint until it covers `ends` (every partition's end offset,
/// measured by the caller), then stops: a rebuild, or a restore's tail. The records it read.
pub async fn catch_up(
    setup: StatsSetup,
    store: &StatsStore,
    ends: &Checkpoint,
    shutdown: &CancellationToken,
) -> anyhow::Result<u64> {
    // a backlog fills batches at once: larger ones fold more of an order's events into one
    // load and store of its state, as the order view's replay does
    let setup = StatsSetup { limits: crate::rebuild::replay_limits(setup.limits), ..setup };
    project(setup, store, &StatsStatus::default(), Some(ends), shutdown).await
}

/// The statistics projection, following the topics (`until: None`) or stopping once its
/// checkpoint covers `until`. The records it read.
async fn project(
    setup: StatsSetup,
    store: &StatsStore,
    status: &StatsStatus,
    until: Option<&Checkpoint>,
    shutdown: &CancellationToken,
) -> anyhow::Result<u64> {
    let mut covered = store.checkpoint().await?;
    let mut records_read = 0u64;
    if until.is_some_and(|ends| covered.covers(ends)) {
        return Ok(records_read);
    }
    let Some(source) = start_source(&setup, &covered, shutdown).await else {
        return Ok(records_read);
    };
    let mut decoder = Decoder::new(setup.codec);
    tracing::info!(until = ?until.map(Checkpoint::records), "statistics projection started");
    let mut last_measured: Option<Instant> = None;
    let mut applied_since_measured = true;
    let mut offsets = OffsetMirror::default();
    while let Some(batch) = source.next_batch_within(shutdown, Some(IDLE_POLL)).await? {
        // a catch-up stops at the ends it was given and nobody reads its lag: measuring it
        // (a broker round trip per partition, seconds in all on the local broker) held up
        // every replay; following the topics, when the records stop at once, else once per
        // interval
        let caught_up_maybe = batch.records.is_empty() && applied_since_measured;
        let measurement_due = caught_up_maybe || last_measured.is_none_or(|at| at.elapsed() >= LAG_INTERVAL);
        if until.is_none() && measurement_due {
            status.measured(records_behind(&source, &covered).await);
            last_measured = Some(Instant::now());
            applied_since_measured = false;
        }
        if batch.records.is_empty() {
            offsets.commit_pending(&source, &covered);
            continue;
        }
        applied_since_measured = true;
        let records = batch.records.len();
        let mut events = Vec::with_capacity(records);
        let mut rejected = 0;
        for record in batch.records {
            let (topic, partition, offset) = (record.topic.clone(), record.partition, record.offset);
            match decoder.decode(record, shutdown).await {
                None => return Ok(records_read),
                Some(Decoded::Event(event)) => events.push(PositionedEvent { topic, partition, offset, event }),
                Some(Decoded::Rejected(letter)) => {
                    rejected += 1;
                    tracing::debug!(%topic, partition, offset, reason = %letter.reason, "statistics skip a rejected record");
                }
            }
        }
        let started = Instant::now();
        let Some(outcome) = apply_with_retry(store, &events, &batch.checkpoint, shutdown).await? else {
            return Ok(records_read);
        };
        covered.merge(&batch.checkpoint);
        records_read += records as u64;
        offsets.applied(&source, &covered);
        metrics::counter!("order_history_stats_events_applied_total").increment(outcome.applied as u64);
        metrics::counter!("order_history_stats_events_stale_total").increment(outcome.stale as u64);
        metrics::counter!("order_history_stats_records_rejected_total").increment(rejected);
        tracing::debug!(
            records,
            applied = outcome.applied,
            stale = outcome.stale,
            covered = outcome.covered,
            orders_moved = outcome.orders_moved,
            apply_ms = started.elapsed().as_millis(),
            "statistics batch applied"
        );
        if until.is_some_and(|ends| covered.covers(ends)) {
            break;
        }
    }
    offsets.commit_pending(&source, &covered);
    tracing::info!(records_read, "statistics projection stopped");
    Ok(records_read)
}

/// Copies the store's checkpoint to the consumer group's offsets, at most once per
/// [`OFFSET_COMMIT_INTERVAL`] while batches are applied, and whenever the records pause.
#[derive(Default)]
struct OffsetMirror {
    last_commit: Option<Instant>,
    pending: bool,
}

impl OffsetMirror {
    fn applied(&mut self, source: &Source, covered: &Checkpoint) {
        self.pending = true;
        if self.last_commit.is_none_or(|at| at.elapsed() >= OFFSET_COMMIT_INTERVAL) {
            self.commit_pending(source, covered);
        }
    }

    fn commit_pending(&mut self, source: &Source, covered: &Checkpoint) {
        if self.pending {
            source.commit(covered);
            self.pending = false;
            self.last_commit = Some(Instant::now());
        }
    }
}

/// Starts the source, retrying while the topics or the broker are not there yet (the order
/// view does not depend on the statistics, so they wait instead of failing the process).
/// `None` if shutdown came first.
async fn start_source(setup: &StatsSetup, resume_from: &Checkpoint, shutdown: &CancellationToken) -> Option<Source> {
    let mut backoff = Duration::from_millis(250);
    loop {
        // every partition, from the position stored with the rollups: the group's committed
        // offsets are only a copy for monitoring, the store's checkpoint is the truth
        let assignment = Assignment::AllPartitions { resume_from: resume_from.clone() };
        match Source::start(setup.consumer.clone(), &events::topics::SOURCE_TOPICS, assignment, setup.limits).await {
            Ok(source) => return Some(source),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "statistics cannot start reading yet, retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Applies a batch, retrying while the store is unavailable or another writer moved the
/// checkpoint (the retry then skips what that writer applied). `None` if shutdown came first.
async fn apply_with_retry(
    store: &StatsStore,
    events: &[PositionedEvent],
    covers: &Checkpoint,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<ApplyOutcome>> {
    let mut backoff = Duration::from_millis(100);
    loop {
        match store.apply(events, covers).await {
            Ok(outcome) => return Ok(Some(outcome)),
            Err(StatsStoreError::CheckpointMoved) => {
                tracing::info!("statistics checkpoint moved by another writer, applying the batch again");
                continue;
            }
            Err(StatsStoreError::Unexpected(error)) => {
                metrics::counter!("order_history_stats_store_retries_total").increment(1);
                tracing::warn!(error = format!("{error:#}"), "statistics store unavailable, retrying");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Records in the assigned partitions beyond what the rollups cover; `None` when the broker
/// cannot say.
async fn records_behind(source: &Source, covered: &Checkpoint) -> Option<i64> {
    let highs = match source.high_watermarks().await.context("cannot measure the statistics lag") {
        Ok(highs) => highs,
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "statistics lag unknown");
            return None;
        }
    };
    let mut behind = 0;
    for (topic, partitions) in &highs.offsets {
        for (partition, high) in partitions {
            let next = covered.next_offset(topic, *partition).unwrap_or(0);
            behind += (high - next).max(0);
        }
    }
    Some(behind)
}
