//! The statistics store: hourly rollups, each order's merged state and the checkpoint, in one
//! relational database (SQLite by default, PostgreSQL for a `postgres://` URL).
//!
//! [`StatsStore::apply`] writes a batch's rollup changes and the positions it covers in one
//! transaction, so a crash replays a batch whole or not at all. The checkpoint is also a
//! guard: records below a partition's stored position are skipped, and the position is
//! advanced only from the value read (compare-and-set), so two processes feeding one database
//! cannot count a record twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use anyhow::Context;
use chrono::{DateTime, Utc};
use order_view::stats::{
    Cell, CellKey, CellValue, Contribution, GroupBy, ProductCell, Rollup, StatsAnswer, StatsQuery, trim_for_statistics,
};
use order_view::{Applied, OrderHistory, SourceEvent};
use sql_store::{Backend, Store};
use sqlx::{Any, AnyPool, Row, Transaction};
use uuid::Uuid;

use crate::index::Checkpoint;

/// An event and where it was read: the position decides whether a batch already covered it.
#[derive(Clone, Debug)]
pub struct PositionedEvent {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub event: SourceEvent,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Events that changed an order's merged state.
    pub applied: usize,
    /// Events the order's state already reflected (version rules).
    pub stale: usize,
    /// Events below the stored checkpoint, skipped unread.
    pub covered: usize,
    /// Orders whose contribution changed.
    pub orders_moved: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StatsStoreError {
    /// Another writer advanced the checkpoint since it was read; apply the batch again.
    #[error("the statistics checkpoint moved under this writer")]
    CheckpointMoved,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StatsStoreError {
    fn from(error: sqlx::Error) -> Self {
        StatsStoreError::Unexpected(anyhow::Error::new(error).context("statistics store query failed"))
    }
}

/// A connection to the statistics store. Clones share it, and see the same store again after
/// a snapshot's file replaced the SQLite file under it (`dump`).
#[derive(Clone, Debug)]
pub struct StatsStore {
    store: Arc<RwLock<Store>>,
    /// For the connection a snapshot's consistent read gets of its own (`dump`).
    pub(super) url: String,
}

impl StatsStore {
    /// Connects to `url` and creates the statistics tables when missing.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let store = open(url).await?;
        Ok(StatsStore { store: Arc::new(RwLock::new(store)), url: url.to_string() })
    }

    /// SQLite or PostgreSQL: the url's, which reopening keeps.
    pub(super) fn backend(&self) -> Backend {
        self.store.read().unwrap_or_else(PoisonError::into_inner).backend
    }

    /// The pool of the store as it is now.
    pub(super) fn pool(&self) -> AnyPool {
        self.store.read().unwrap_or_else(PoisonError::into_inner).pool.clone()
    }

    /// Closes the store, lets `replace` change its files, and opens it again; every clone then
    /// uses the store opened again. Only while no projection writes to it.
    pub(super) async fn reopen_after<F>(&self, replace: F) -> anyhow::Result<()>
    where
        F: AsyncFnOnce() -> anyhow::Result<()>,
    {
        self.pool().close().await;
        let replaced = replace().await;
        // opened again even when the replacement failed, so the store stays usable
        let reopened = open(&self.url).await?;
        *self.store.write().unwrap_or_else(PoisonError::into_inner) = reopened;
        replaced
    }

    pub async fn ping(&self) -> Result<(), String> {
        let store = self.store.read().unwrap_or_else(PoisonError::into_inner).clone();
        store.ping().await
    }

    /// The positions the rollups cover.
    pub async fn checkpoint(&self) -> anyhow::Result<Checkpoint> {
        read_checkpoint(&self.pool()).await
    }

    /// The newest event time the rollups cover.
    pub async fn as_of(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let row = sqlx::query("select as_of_ms from stats_meta where id = 1")
            .fetch_optional(&self.pool())
            .await
            .context("cannot read the statistics freshness")?;
        let Some(row) = row else { return Ok(None) };
        let as_of_ms: i64 = row.try_get("as_of_ms")?;
        Ok(DateTime::from_timestamp_millis(as_of_ms))
    }

    /// Applies `events` (in the order read) and advances the checkpoint to `covers`, in one
    /// transaction. Each order's old contribution is retracted and its new one added.
    pub async fn apply(
        &self,
        events: &[PositionedEvent],
        covers: &Checkpoint,
    ) -> Result<ApplyOutcome, StatsStoreError> {
        let mut tx = self.pool().begin().await?;
        let stored = read_checkpoint(&mut *tx).await?;
        let mut outcome = ApplyOutcome::default();
        let mut per_order: HashMap<Uuid, Vec<&SourceEvent>> = HashMap::new();
        let mut order_ids = Vec::new();
        let mut newest_ms: Option<i64> = None;
        for positioned in events {
            let already_covered = stored
                .next_offset(&positioned.topic, positioned.partition)
                .is_some_and(|next_offset| positioned.offset < next_offset);
            if already_covered {
                outcome.covered += 1;
                continue;
            }
            let order_id = positioned.event.order_id();
            let order_events = per_order.entry(order_id).or_default();
            if order_events.is_empty() {
                order_ids.push(order_id);
            }
            order_events.push(&positioned.event);
            let occurred_ms = positioned.event.occurred_at().timestamp_millis();
            newest_ms = Some(newest_ms.map_or(occurred_ms, |newest| newest.max(occurred_ms)));
        }

        // one statement per chunk of orders or cells rather than one per row: with a batch of
        // thousands of events the round trips, not the rows, were the cost
        let mut stored_documents = load_documents(&mut tx, &order_ids).await?;
        // the net change of the whole batch, so a cell touched by many orders is written once
        let mut delta = Rollup::default();
        let mut changed_documents = Vec::with_capacity(order_ids.len());
        for order_id in &order_ids {
            let mut document = stored_documents.remove(order_id).unwrap_or_else(|| OrderHistory::empty(*order_id));
            let before = Contribution::of(&document);
            let mut changed = false;
            for event in &per_order[order_id] {
                match document.apply(event) {
                    Applied::Changed => {
                        outcome.applied += 1;
                        changed = true;
                    }
                    Applied::Stale { .. } => outcome.stale += 1,
                }
            }
            if !changed {
                continue;
            }
            let after = Contribution::of(&document);
            if before != after {
                outcome.orders_moved += 1;
                if let Some(before) = &before {
                    delta.apply(before, -1);
                }
                if let Some(after) = &after {
                    delta.apply(after, 1);
                }
            }
            trim_for_statistics(&mut document);
            changed_documents.push(document);
        }
        store_documents(&mut tx, &changed_documents).await?;
        add_to_cells(&mut tx, &delta.cells).await?;
        add_to_products(&mut tx, &delta.products).await?;
        advance_checkpoint(&mut tx, &stored, covers).await?;
        if let Some(newest_ms) = newest_ms {
            advance_as_of(&mut tx, newest_ms).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// The answer to `query` from the stored rollups.
    pub async fn answer(&self, query: &StatsQuery) -> anyhow::Result<StatsAnswer> {
        let dimension = query.dimension();
        let rows = sqlx::query(
            "select hour_ms, key, currency, orders, revenue_minor from stats_rollup \
             where dimension = $1 and hour_ms >= $2 and hour_ms < $3",
        )
        .bind(dimension.name())
        .bind(query.from_ms())
        .bind(query.to_ms())
        .fetch_all(&self.pool())
        .await
        .context("cannot read the rollups")?;
        let mut cells = Vec::with_capacity(rows.len());
        for row in rows {
            let at = CellKey {
                hour_ms: row.try_get("hour_ms")?,
                dimension,
                key: row.try_get("key")?,
                currency: row.try_get("currency")?,
            };
            let value = CellValue { orders: row.try_get("orders")?, revenue_minor: row.try_get("revenue_minor")? };
            cells.push(Cell { at, value });
        }
        // summed per SKU here: the range may span thousands of hours
        let rows = sqlx::query(
            "select sku, cast(sum(quantity) as bigint) as quantity from stats_products \
             where hour_ms >= $1 and hour_ms < $2 group by sku",
        )
        .bind(query.from_ms())
        .bind(query.to_ms())
        .fetch_all(&self.pool())
        .await
        .context("cannot read the product rollups")?;
        let mut products = Vec::with_capacity(rows.len());
        for row in rows {
            products.push(ProductCell {
                hour_ms: query.from_ms(),
                sku: row.try_get("sku")?,
                quantity: row.try_get("quantity")?,
            });
        }
        Ok(order_view::stats::answer(query, cells, products))
    }

    /// Every stored rollup cell and product count, for comparing with a recount.
    pub async fn rollup(&self) -> anyhow::Result<Rollup> {
        let mut rollup = Rollup::default();
        let rows = sqlx::query("select hour_ms, dimension, key, currency, orders, revenue_minor from stats_rollup")
            .fetch_all(&self.pool())
            .await?;
        for row in rows {
            let dimension_name: String = row.try_get("dimension")?;
            let dimension = GroupBy::parse(&dimension_name)
                .with_context(|| format!("unknown stored dimension {dimension_name:?}"))?;
            let value = CellValue { orders: row.try_get("orders")?, revenue_minor: row.try_get("revenue_minor")? };
            // cells that went back to zero stay as rows; they count nothing
            if value == CellValue::default() {
                continue;
            }
            let at = CellKey {
                hour_ms: row.try_get("hour_ms")?,
                dimension,
                key: row.try_get("key")?,
                currency: row.try_get("currency")?,
            };
            rollup.cells.insert(at, value);
        }
        let rows = sqlx::query("select hour_ms, sku, quantity from stats_products").fetch_all(&self.pool()).await?;
        for row in rows {
            let quantity: i64 = row.try_get("quantity")?;
            if quantity != 0 {
                rollup.products.insert((row.try_get("hour_ms")?, row.try_get("sku")?), quantity);
            }
        }
        Ok(rollup)
    }
}

async fn open(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url).await.context("cannot open the statistics store")?;
    store.migrate(sqlx::migrate!("./stats-migrations")).await.context("statistics migrations failed")?;
    Ok(store)
}

/// The stored positions, from the pool or inside a transaction.
pub(super) async fn read_checkpoint<'e, E>(executor: E) -> anyhow::Result<Checkpoint>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query("select topic, partition_id, next_offset from stats_checkpoint")
        .fetch_all(executor)
        .await
        .context("cannot read the statistics checkpoint")?;
    let mut checkpoint = Checkpoint::default();
    for row in rows {
        let topic: String = row.try_get("topic")?;
        let partition: i64 = row.try_get("partition_id")?;
        let partition = i32::try_from(partition).context("stored partition out of range")?;
        checkpoint.advance(&topic, partition, row.try_get("next_offset")?);
    }
    Ok(checkpoint)
}

/// Rows per multi-row statement: a round trip per row to SQLite's worker thread was most of a
/// replay's time. Not more: sqlx binds each parameter by looking its name up, and SQLite finds
/// a name by walking the statement's list of them, so binding grows with the square of the
/// parameters (200 rows of six columns spent more on names than on the rows).
pub(super) const ROWS_PER_STATEMENT: usize = 64;

/// `$first, …` for `count` parameters.
fn parameter_list(first: usize, count: usize) -> String {
    let parameters: Vec<String> = (first..first + count).map(|parameter| format!("${parameter}")).collect();
    parameters.join(", ")
}

/// `($1, $2), ($3, $4)` for two rows of two columns: the values of a multi-row statement.
pub(super) fn row_placeholders(rows: usize, columns: usize) -> String {
    let rows: Vec<String> = (0..rows).map(|row| format!("({})", parameter_list(row * columns + 1, columns))).collect();
    rows.join(", ")
}

/// The stored state of those of `order_ids` the store knows.
async fn load_documents(
    tx: &mut Transaction<'_, Any>,
    order_ids: &[Uuid],
) -> Result<HashMap<Uuid, OrderHistory>, StatsStoreError> {
    let mut documents = HashMap::with_capacity(order_ids.len());
    for chunk in order_ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "select order_id, document from stats_orders where order_id in ({})",
            parameter_list(1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for order_id in chunk {
            query = query.bind(order_id.to_string());
        }
        for row in query.fetch_all(&mut **tx).await? {
            let stored_id: String = row.try_get("order_id")?;
            let order_id: Uuid =
                stored_id.parse().with_context(|| format!("stored order id {stored_id:?} is not a uuid"))?;
            let json: String = row.try_get("document")?;
            let document = serde_json::from_str(&json)
                .with_context(|| format!("stored state of order {order_id} is not a document"))?;
            documents.insert(order_id, document);
        }
    }
    Ok(documents)
}

/// Inserts or replaces the state of every order in `documents`.
async fn store_documents(tx: &mut Transaction<'_, Any>, documents: &[OrderHistory]) -> Result<(), StatsStoreError> {
    for chunk in documents.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "insert into stats_orders (order_id, document) values {} \
             on conflict (order_id) do update set document = excluded.document",
            row_placeholders(chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for document in chunk {
            let json = serde_json::to_string(document).context("cannot encode an order's state")?;
            query = query.bind(document.order_id.to_string()).bind(json);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Adds each change to its rollup cell, creating the cells not yet there.
async fn add_to_cells(
    tx: &mut Transaction<'_, Any>,
    changes: &BTreeMap<CellKey, CellValue>,
) -> Result<(), StatsStoreError> {
    let changes: Vec<(&CellKey, &CellValue)> = changes.iter().collect();
    for chunk in changes.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "insert into stats_rollup (hour_ms, dimension, key, currency, orders, revenue_minor) values {} \
             on conflict (hour_ms, dimension, key, currency) do update set \
             orders = stats_rollup.orders + excluded.orders, \
             revenue_minor = stats_rollup.revenue_minor + excluded.revenue_minor",
            row_placeholders(chunk.len(), 6)
        );
        let mut query = sqlx::query(&sql);
        for (at, value) in chunk {
            query = query
                .bind(at.hour_ms)
                .bind(at.dimension.name())
                .bind(at.key.as_str())
                .bind(at.currency.as_str())
                .bind(value.orders)
                .bind(value.revenue_minor);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Adds each change to its product count, creating the counts not yet there.
async fn add_to_products(
    tx: &mut Transaction<'_, Any>,
    changes: &BTreeMap<(i64, String), i64>,
) -> Result<(), StatsStoreError> {
    let changes: Vec<(&(i64, String), &i64)> = changes.iter().collect();
    for chunk in changes.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "insert into stats_products (hour_ms, sku, quantity) values {} \
             on conflict (hour_ms, sku) do update set quantity = stats_products.quantity + excluded.quantity",
            row_placeholders(chunk.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for ((hour_ms, sku), quantity) in chunk {
            query = query.bind(*hour_ms).bind(sku.as_str()).bind(**quantity);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Moves each partition's position from the value read at the start of the transaction to the
/// batch's; a position that moved in between means another writer applied these records.
async fn advance_checkpoint(
    tx: &mut Transaction<'_, Any>,
    stored: &Checkpoint,
    covers: &Checkpoint,
) -> Result<(), StatsStoreError> {
    for (topic, partitions) in &covers.offsets {
        for (partition, next_offset) in partitions {
            let moved = match stored.next_offset(topic, *partition) {
                Some(read) if read >= *next_offset => continue,
                Some(read) => {
                    sqlx::query(
                        "update stats_checkpoint set next_offset = $3 \
                         where topic = $1 and partition_id = $2 and next_offset = $4",
                    )
                    .bind(topic.as_str())
                    .bind(i64::from(*partition))
                    .bind(*next_offset)
                    .bind(read)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
                        != 1
                }
                None => {
                    sqlx::query(
                        "insert into stats_checkpoint (topic, partition_id, next_offset) values ($1, $2, $3) \
                         on conflict (topic, partition_id) do nothing",
                    )
                    .bind(topic.as_str())
                    .bind(i64::from(*partition))
                    .bind(*next_offset)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
                        != 1
                }
            };
            if moved {
                return Err(StatsStoreError::CheckpointMoved);
            }
        }
    }
    Ok(())
}

/// Moves `as_of` forward to `newest_ms`, never back, in one statement both databases accept.
async fn advance_as_of(tx: &mut Transaction<'_, Any>, newest_ms: i64) -> Result<(), StatsStoreError> {
    sqlx::query(
        "insert into stats_meta (id, as_of_ms) values (1, $1) \
         on conflict (id) do update set as_of_ms = excluded.as_of_ms \
         where excluded.as_of_ms > stats_meta.as_of_ms",
    )
    .bind(newest_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_the_parameters_row_by_row() {
        assert_eq!(parameter_list(3, 2), "$3, $4");
        assert_eq!(row_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(row_placeholders(1, 1), "($1)");
    }
}
