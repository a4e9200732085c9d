//! Stage 3: fold a batch of events into the documents they touch and store them.
//!
//! One code path for live projection and rebuild, so a rebuild yields exactly the documents
//! live projection did.

use std::collections::HashMap;

use order_view::{Applied, OrderHistory, SourceEvent};
use uuid::Uuid;

use crate::index::{HistoryIndex, IndexError, Versioned, WriteToken};

use super::telemetry;

/// A conflict means another writer changed the document between our load and store; each
/// retry reloads and reapplies, and a tie-breaker this many times in a row means something is
/// wrong rather than busy.
const MAX_CONFLICT_ROUNDS: usize = 16;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct FoldOutcome {
    pub applied: usize,
    pub stale: usize,
    pub documents_written: usize,
}

/// Applies `events` (in the order read) to their documents and stores those that changed.
pub async fn fold_into(index: &dyn HistoryIndex, events: &[SourceEvent]) -> Result<FoldOutcome, IndexError> {
    let mut per_order: HashMap<Uuid, Vec<&SourceEvent>> = HashMap::new();
    for event in events {
        per_order.entry(event.order_id()).or_default().push(event);
    }
    let mut pending: Vec<Uuid> = per_order.keys().copied().collect();
    let mut outcome = FoldOutcome::default();
    for _ in 0..MAX_CONFLICT_ROUNDS {
        let mut loaded = index.load(&pending).await?;
        let mut changed = Vec::new();
        let mut counts: HashMap<Uuid, (usize, usize)> = HashMap::new();
        for order_id in &pending {
            let mut versioned = loaded
                .remove(order_id)
                .unwrap_or_else(|| Versioned { document: OrderHistory::empty(*order_id), token: WriteToken::Absent });
            let (mut applied, mut stale) = (0, 0);
            for event in &per_order[order_id] {
                match versioned.document.apply(event) {
                    Applied::Changed => applied += 1,
                    Applied::Stale { .. } => stale += 1,
                }
            }
            counts.insert(*order_id, (applied, stale));
            if applied > 0 {
                changed.push(versioned);
            }
        }
        let written = changed.len();
        let stored = index.store(changed).await?;
        // documents that did not conflict are written; only the conflicting ones go again
        for (order_id, (applied, stale)) in &counts {
            if !stored.conflicts.contains(order_id) {
                outcome.applied += applied;
                outcome.stale += stale;
            }
        }
        outcome.documents_written += written - stored.conflicts.len();
        if stored.conflicts.is_empty() {
            return Ok(outcome);
        }
        telemetry::write_conflicts(stored.conflicts.len());
        tracing::debug!(conflicts = stored.conflicts.len(), "documents changed by another writer, reapplying");
        pending = stored.conflicts;
    }
    Err(IndexError::Unavailable(format!("documents kept conflicting after {MAX_CONFLICT_ROUNDS} rounds")))
}
