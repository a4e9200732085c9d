//! Repair: re-project a few orders from the topics and replace their documents with the result.
//!
//! `order-history reconcile --repair` asks for it (through `POST /admin/repair`) for the orders
//! it found drifting from the source services. For those ids only:
//! 1. read every source topic from offset 0 up to the current end offsets, through the same
//!    reader and decoder as a rebuild ([`TopicReader`]), skipping records keyed by other ids
//!    before decoding them;
//! 2. fold their events into fresh documents, starting from nothing, with the same rules as
//!    projection ([`OrderHistory::apply`]), so a document is exactly what live projection
//!    would have built had it missed nothing;
//! 3. hold live projection between two batches, catch up to the end offsets of that moment
//!    (events written during the scan that projection may already have applied), replace
//!    the current documents with the rebuilt ones and delete the documents of ids without a
//!    single event, then commit.
//!
//! A replacement is written with the token of the document loaded under the lock, so it wins
//! whatever versions the document held. With Elasticsearch another instance may still write in
//! between (it does not share the lock); its conditional write or ours then conflicts, and the
//! loser reloads: ours catches up with the topics again and writes once more.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::Utc;
use order_view::OrderHistory;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::index::{Checkpoint, Versioned, WriteToken};
use crate::projection::LiveView;
use crate::rebuild::{RebuildSetup, TopicReader, watermarks};
pub use reconcile::repair_api::{MAX_REPAIR_IDS, RepairState, RepairStatus};

/// A conflict means another instance wrote one of the documents in between (Elasticsearch);
/// this many in a row means something is wrong rather than busy.
const MAX_STORE_ROUNDS: usize = 8;

/// Shared between a running repair and whoever reports on it; one repair runs at a time, as
/// each reads the whole topics.
#[derive(Clone, Default)]
pub struct RepairTracker {
    status: Arc<Mutex<RepairStatus>>,
}

impl RepairTracker {
    pub fn status(&self) -> RepairStatus {
        self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Marks a repair of `order_ids` ids as started unless one is running; `false` if one is.
    pub fn try_start(&self, order_ids: usize) -> bool {
        let mut status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if status.state == RepairState::Running {
            return false;
        }
        *status = RepairStatus {
            state: RepairState::Running,
            order_ids,
            started_at: Some(Utc::now()),
            ..RepairStatus::default()
        };
        true
    }

    fn update(&self, change: impl FnOnce(&mut RepairStatus)) {
        change(&mut self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    fn finish(&self, result: &anyhow::Result<()>) {
        self.update(|status| {
            status.finished_at = Some(Utc::now());
            match result {
                Ok(()) => status.state = RepairState::Done,
                Err(error) => {
                    status.state = RepairState::Failed;
                    status.error = Some(format!("{error:#}"));
                }
            }
        });
    }
}

/// Repairs the documents of `order_ids` (already marked started on `tracker`) in the live view.
pub async fn run(
    setup: &RebuildSetup,
    view: &LiveView,
    order_ids: Vec<Uuid>,
    tracker: &RepairTracker,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    debug_assert!(order_ids.len() <= MAX_REPAIR_IDS, "the caller bounds the ids");
    let result = reproject(setup, view, &order_ids, tracker, shutdown).await;
    tracker.finish(&result);
    match &result {
        Ok(()) => tracing::info!(status = ?tracker.status(), "repair done"),
        Err(error) => tracing::error!(error = %format!("{error:#}"), "repair failed"),
    }
    result
}

async fn reproject(
    setup: &RebuildSetup,
    view: &LiveView,
    order_ids: &[Uuid],
    tracker: &RepairTracker,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    // record keys are the order id as text, the form every source service writes
    let keys: HashSet<Vec<u8>> = order_ids.iter().map(|order_id| order_id.to_string().into_bytes()).collect();
    let group_id = format!("order-history-repair-{}", Uuid::now_v7());
    let (mut reader, ends) = TopicReader::from_the_beginning(setup, &group_id, Some(keys)).await?;
    tracker.update(|status| status.records_total = reader.records_before(&ends));
    tracing::info!(order_ids = order_ids.len(), records = reader.records_before(&ends), "repair scanning the topics");
    let mut documents: HashMap<Uuid, OrderHistory> = HashMap::new();
    fold_until(&mut reader, &ends, &mut documents, tracker, shutdown).await?;

    // between two batches of live projection, so that none interleaves with the replacement
    let _writes = view.lock_writes().await;
    let index = view.index();
    let mut pending: Vec<Uuid> = order_ids.to_vec();
    for _ in 0..MAX_STORE_ROUNDS {
        // projection may have applied events written during the scan: catch up with them, so
        // that no stored document is older than the one it replaces
        let (_, ends) = watermarks(&setup.kafka).await?;
        fold_until(&mut reader, &ends, &mut documents, tracker, shutdown).await?;
        let loaded = index.load(&pending).await.context("cannot load the documents to repair")?;
        let mut replacements = Vec::new();
        let mut without_events = Vec::new();
        for order_id in &pending {
            match documents.get(order_id) {
                Some(document) => {
                    let token = loaded.get(order_id).map_or(WriteToken::Absent, |current| current.token);
                    replacements.push(Versioned { document: document.clone(), token });
                }
                None if loaded.contains_key(order_id) => without_events.push(*order_id),
                // no event and no document: nothing to repair
                None => {}
            }
        }
        index.delete(&without_events).await.context("cannot delete documents without events")?;
        let stored = replacements.len();
        let outcome = index.store(replacements).await.context("cannot store the repaired documents")?;
        tracker.update(|status| {
            status.deleted += without_events.len();
            status.reprojected += stored.saturating_sub(outcome.conflicts.len());
        });
        if outcome.conflicts.is_empty() {
            // a repair moves no partition: the commit keeps the checkpoint projection left
            index.commit(&Checkpoint::default()).await.context("cannot commit the repaired documents")?;
            view.changed();
            return Ok(());
        }
        tracing::debug!(conflicts = outcome.conflicts.len(), "repaired documents changed by another writer, again");
        pending = outcome.conflicts;
    }
    anyhow::bail!("repaired documents kept conflicting after {MAX_STORE_ROUNDS} rounds")
}

/// Reads on until `ends`, applying the events of the wanted orders to their documents.
async fn fold_until(
    reader: &mut TopicReader,
    ends: &Checkpoint,
    documents: &mut HashMap<Uuid, OrderHistory>,
    tracker: &RepairTracker,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    while let Some(read) = reader.next_batch_before(ends, shutdown).await? {
        let mut applied = 0_u64;
        for event in &read.decoded.events {
            let order_id = event.order_id();
            let document = documents.entry(order_id).or_insert_with(|| OrderHistory::empty(order_id));
            if document.apply(event) == order_view::Applied::Changed {
                applied += 1;
            }
        }
        tracker.update(|status| {
            status.records_scanned += read.scanned as u64;
            status.events_applied += applied;
        });
    }
    Ok(())
}
