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
    /// The longest stored documents wait to become searchable while records keep coming.
    pub commit_interval: Duration,
}

/// Runs until `shutdown`; returns an error only for failures retrying cannot fix.
///
/// Each batch is folded and stored at once, so `GET /orders/{id}` sees it (as Elasticsearch's
/// real-time GET does). The index commit, which makes the documents searchable and durable with
/// their checkpoint, runs at most once per `commit_interval` while records keep coming, and as
/// soon as they stop: under load its cost is shared by every event of the interval.
pub async fn run(setup: ProjectionSetup, view: LiveView, shutdown: CancellationToken) -> anyhow::Result<()> {
    let source =
        Arc::new(Source::start(setup.consumer, &events::topics::SOURCE_TOPICS, setup.assignment, setup.limits).await?);
    let dead_letters = DeadLetters::new(&setup.producer)?;
    let (decoded_tx, mut decoded_rx) = mpsc::channel::<DecodedBatch>(2);
    let reader = tokio::spawn(read_and_decode(source.clone(), Decoder::new(setup.codec), decoded_tx, shutdown.clone()));
    tracing::info!(backend = view.index().backend(), "projection started");

    let mut uncommitted: Option<Uncommitted> = None;
    let mut last_commit = Instant::now();
    loop {
        let next = match &uncommitted {
            None => decoded_rx.recv().await,
            Some(pending) => {
                // the interval bounds how long a steady stream waits to be searchable; a source
                // gone quiet (no batch for a few batch windows) is committed at once
                let quiet_at = pending.last_stored_at + (setup.limits.max_wait * 3).max(MIN_QUIET);
                let due = tokio::time::Instant::from_std((last_commit + setup.commit_interval).min(quiet_at));
                tokio::select! {
                    batch = decoded_rx.recv() => batch,
                    () = tokio::time::sleep_until(due) => {
                        let Some(pending) = uncommitted.take() else { continue };
                        if !commit(&source, &view, pending, &shutdown).await? {
                            break;
                        }
                        last_commit = Instant::now();
                        continue;
                    }
                }
            }
        };
        let Some(mut batch) = next else { break };
        // batches that queued up while the last one was folded join it
        while let Ok(next) = decoded_rx.try_recv() {
            batch.absorb(next);
        }
        if !dead_letters.deliver(&batch.dead_letters, &shutdown).await {
            break;
        }
        let started = Instant::now();
        let guard = view.lock_writes().await;
        let index = view.index();
        // a rebuild swapped the view: what was stored in the old one is committed there, and
        // the new view already holds it (it caught up while projection was held)
        if let Some(pending) = uncommitted.take_if(|pending| !Arc::ptr_eq(&pending.index, &index))
            && !commit(&source, &view, pending, &shutdown).await?
        {
            break;
        }
        view.storing();
        let stored = with_retry(index.as_ref(), "store", &shutdown, || fold::fold_into(index.as_ref(), &batch.events));
        let Some(outcome) = stored.await.context("projection cannot write to the index")? else {
            break;
        };
        view.changed();
        let pending = uncommitted.get_or_insert_with(|| Uncommitted::new(index.clone()));
        pending.checkpoint.merge(&batch.checkpoint);
        pending.records += batch.records;
        pending.last_stored_at = Instant::now();

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
            fold_ms = started.elapsed().as_millis(),
            "batch stored"
        );
        drop(guard);
        if last_commit.elapsed() >= setup.commit_interval
            && let Some(pending) = uncommitted.take()
        {
            if !commit(&source, &view, pending, &shutdown).await? {
                break;
            }
            last_commit = Instant::now();
        }
    }
    // what was stored is committed before stopping, so a restart does not read it again
    if let Some(pending) = uncommitted.take() {
        commit(&source, &view, pending, &CancellationToken::new()).await?;
    }
    shutdown.cancel();
    reader.await.context("projection reader panicked")??;
    tracing::info!("projection stopped");
    Ok(())
}

/// What was stored since the last commit: where, and the position it covers.
struct Uncommitted {
    index: Arc<dyn HistoryIndex>,
    checkpoint: Checkpoint,
    records: usize,
    last_stored_at: Instant,
}

impl Uncommitted {
    fn new(index: Arc<dyn HistoryIndex>) -> Self {
        Uncommitted { index, checkpoint: Checkpoint::default(), records: 0, last_stored_at: Instant::now() }
    }
}

/// The shortest quiet spell after which stored documents are committed without waiting for the
/// interval. Under a steady stream a batch is stored every batch window or so, and each commit
/// the quiet rule makes early costs as much as one the interval makes.
const MIN_QUIET: Duration = Duration::from_millis(25);

/// Commits the index the documents were stored in, then the consumer offsets it covers.
/// `false` if shutdown came first; nothing is then acknowledged.
async fn commit(
    source: &Source,
    view: &LiveView,
    pending: Uncommitted,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    let started = Instant::now();
    let index = pending.index.as_ref();
    let committed = with_retry(index, "commit", shutdown, || index.commit(&pending.checkpoint))
        .await
        .context("projection cannot commit the index")?;
    if committed.is_none() {
        return Ok(false);
    }
    view.all_searchable();
    source.commit(&pending.checkpoint);
    tracing::debug!(records = pending.records, commit_ms = started.elapsed().as_millis(), "batches committed");
    Ok(true)
}

/// Runs `attempt` until it succeeds or fails for good, backing off while the index is
/// unavailable. `None` if shutdown came first; the caller then acknowledges nothing.
async fn with_retry<T, F, Fut>(
    index: &dyn HistoryIndex,
    what: &'static str,
    shutdown: &CancellationToken,
    mut attempt: F,
) -> Result<Option<T>, IndexError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, IndexError>>,
{
    let mut backoff = Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(done) => return Ok(Some(done)),
            Err(error) if error.is_retryable() => {
                telemetry::index_retry();
                tracing::warn!(%error, backend = index.backend(), what, "index unavailable, retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(None),
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error),
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
