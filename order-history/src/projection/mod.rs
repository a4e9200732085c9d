//! The projection pipeline, in stages with one-way hand-offs:
//!
//! ```text
//! source (kafka, batches) ─▶ decode (registry; rejects ─▶ dead letters)
//!        ─▶ fold (load, apply, store) ─▶ commit (index, with checkpoint) ─▶ commit offsets
//! ```
//!
//! Reading and decoding run in one task and the rest in another, so the next batch is decoded
//! while the last is indexed. Offsets are committed only after the index commit that covers
//! them returns, so a crash at any point replays records instead of skipping them, and the
//! version rules make the replay harmless.

pub mod dead_letter;
pub mod decode;
pub mod fold;
pub mod source;
pub mod telemetry;
pub mod view;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use events::EventCodec;
use order_view::SourceEvent;
use rdkafka::ClientConfig;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::index::{Checkpoint, HistoryIndex, IndexError};
use dead_letter::DeadLetters;
use decode::{DeadLetter, Decoded, Decoder};
use source::Source;
pub use source::{Assignment, BatchLimits, RawRecord};
pub use view::LiveView;

/// A batch after decoding: what to apply, what to reject, and the position it all ends at.
pub struct DecodedBatch {
    pub events: Vec<SourceEvent>,
    pub dead_letters: Vec<DeadLetter>,
    pub checkpoint: Checkpoint,
    pub records: usize,
    /// The oldest record's timestamp and when the batch was closed and decoded, to break a
    /// record's delay down by stage in the debug log.
    pub timing: BatchTiming,
}

impl DecodedBatch {
    /// Appends a later batch: its events follow, its positions win.
    pub fn absorb(&mut self, later: DecodedBatch) {
        self.events.extend(later.events);
        self.dead_letters.extend(later.dead_letters);
        self.checkpoint.merge(&later.checkpoint);
        self.records += later.records;
        self.timing.oldest_record_ms = match (self.timing.oldest_record_ms, later.timing.oldest_record_ms) {
            (Some(mine), Some(theirs)) => Some(mine.min(theirs)),
            (mine, theirs) => mine.or(theirs),
        };
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct BatchTiming {
    pub oldest_record_ms: Option<i64>,
    pub closed_at: Option<Instant>,
    pub decoded_at: Option<Instant>,
}

/// What the projection needs from the outside.
pub struct ProjectionSetup {
    pub consumer: ClientConfig,
    pub producer: ClientConfig,
    pub codec: Arc<EventCodec>,
    pub assignment: Assignment,
    pub limits: BatchLimits,
}

/// Runs until `shutdown`; returns an error only for failures retrying cannot fix.
pub async fn run(setup: ProjectionSetup, view: LiveView, shutdown: CancellationToken) -> anyhow::Result<()> {
    let source =
        Arc::new(Source::start(setup.consumer, &events::topics::SOURCE_TOPICS, setup.assignment, setup.limits).await?);
    let dead_letters = DeadLetters::new(&setup.producer)?;
    let (decoded_tx, mut decoded_rx) = mpsc::channel::<DecodedBatch>(2);
    let reader = tokio::spawn(read_and_decode(source.clone(), Decoder::new(setup.codec), decoded_tx, shutdown.clone()));
    tracing::info!(backend = view.index().backend(), "projection started");

    while let Some(mut batch) = decoded_rx.recv().await {
        // batches that queued up while the last commit ran go into this one commit: under
        // load a commit, not a batch, is the unit of cost, so a record waits for one at most
        while let Ok(next) = decoded_rx.try_recv() {
            batch.absorb(next);
        }
        if !dead_letters.deliver(&batch.dead_letters, &shutdown).await {
            break;
        }
        let started = Instant::now();
        let guard = view.lock_writes().await;
        let index = view.index();
        let Some((outcome, committing)) = write_with_retry(index.as_ref(), &batch, &shutdown).await? else {
            break;
        };
        drop(guard);
        view.committed();
        source.commit(&batch.checkpoint);

        telemetry::batch_applied(batch.records, outcome.applied, started.elapsed());
        telemetry::stale_events_ignored(outcome.stale);
        let now = Utc::now();
        for event in &batch.events {
            telemetry::projection_delay((now - event.occurred_at()).to_std().unwrap_or_default());
        }
        let since = |at: Option<Instant>| at.map(|at| started.saturating_duration_since(at).as_millis());
        tracing::debug!(
            records = batch.records,
            applied = outcome.applied,
            stale = outcome.stale,
            oldest_record_age_at_close_ms = ?batch.timing.oldest_record_ms.zip(batch.timing.closed_at).map(
                |(oldest, closed_at)| now.timestamp_millis() - oldest - closed_at.elapsed().as_millis() as i64
            ),
            decode_ms = ?batch.timing.closed_at.zip(batch.timing.decoded_at).map(|(closed, decoded)| (decoded - closed).as_millis()),
            queued_ms = ?since(batch.timing.decoded_at),
            fold_ms = (committing - started).as_millis(),
            commit_ms = committing.elapsed().as_millis(),
            "batch projected"
        );
    }
    shutdown.cancel();
    reader.await.context("projection reader panicked")??;
    tracing::info!("projection stopped");
    Ok(())
}

/// Folds and commits one batch, retrying while the index is unavailable. `None` if shutdown
/// came first; nothing of the batch is then acknowledged.
async fn write_with_retry(
    index: &dyn HistoryIndex,
    batch: &DecodedBatch,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<(fold::FoldOutcome, Instant)>> {
    let mut backoff = Duration::from_millis(100);
    loop {
        let attempt = async {
            let outcome = fold::fold_into(index, &batch.events).await?;
            let committing = Instant::now();
            index.commit(&batch.checkpoint).await?;
            Ok::<_, IndexError>((outcome, committing))
        };
        match attempt.await {
            Ok(outcome) => return Ok(Some(outcome)),
            Err(error) if error.is_retryable() => {
                telemetry::index_retry();
                tracing::warn!(%error, backend = index.backend(), "index unavailable, retrying the batch");
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(None),
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error).context("projection cannot write to the index"),
        }
    }
}

async fn read_and_decode(
    source: Arc<Source>,
    mut decoder: Decoder,
    decoded: mpsc::Sender<DecodedBatch>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    while let Some(batch) = source.next_batch(&shutdown).await? {
        let Some(batch) = decode_batch(&mut decoder, batch, &shutdown).await else {
            break;
        };
        if decoded.send(batch).await.is_err() {
            break;
        }
    }
    Ok(())
}

/// Decodes every record of a batch; `None` if shutdown came while waiting on the registry.
pub async fn decode_batch(
    decoder: &mut Decoder,
    batch: source::RecordBatch,
    shutdown: &CancellationToken,
) -> Option<DecodedBatch> {
    let records = batch.records.len();
    let oldest_record_ms = batch.records.iter().filter_map(|record| record.timestamp_ms).min();
    let mut events = Vec::with_capacity(records);
    let mut dead_letters = Vec::new();
    for record in batch.records {
        match decoder.decode(record, shutdown).await? {
            Decoded::Event(event) => events.push(event),
            Decoded::Rejected(letter) => dead_letters.push(letter),
        }
    }
    let timing = BatchTiming { oldest_record_ms, closed_at: batch.closed_at, decoded_at: Some(Instant::now()) };
    Some(DecodedBatch { events, dead_letters, checkpoint: batch.checkpoint, records, timing })
}
