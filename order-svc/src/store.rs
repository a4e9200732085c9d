//! Every SQL statement of order-svc.
//!
//! Each state change is one transaction holding the order row, exactly one outbox row with the
//! event that announces the change, and, for an idempotent create, the idempotency record. So
//! a change is published if and only if it committed, and a replayed request finds the
//! response of the change it repeats. The SQL is the portable subset that both SQLite and
//! PostgreSQL run through sqlx's `Any` driver.

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use platform::http::FieldError;
use serde::{Deserialize, Serialize};
use source_platform::idempotency::{self, IdempotencyKey, Recorded};
use source_platform::outbox::{OutboxMessage, OutboxSignal, enqueue};
use source_platform::source_service::SourceServiceContext;
use source_platform::store::Store;
use source_platform::values::{AddressInput, Currency};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::domain::{
    CancellationReason, Customer, CustomerId, CustomerName, Email, ItemName, LineItem, LineItems, NewOrder, Order,
    OrderCursor, OrderId, OrderState, OrderVersion, PageLimit, Quantity, ShippingAddress, Sku, UnitPrice,
};

/// The idempotency scope of `POST /orders`.
pub const CREATE_ORDER_SCOPE: &str = "create-order";

const STATUS_PLACED: &str = "PLACED";
const STATUS_CANCELLED: &str = "CANCELLED";

const ORDER_COLUMNS: &str = "id, customer_id, customer_name, customer_email, currency, items, total_minor, \
     shipping_line1, shipping_line2, shipping_city, shipping_postal_code, shipping_country, status, version, \
     created_at_ms, cancelled_at_ms, cancellation_reason";

/// What `POST /orders` saves under an idempotency key, to answer a retry with.
#[derive(Clone, Debug)]
pub struct IdempotencyRecord {
    pub key: IdempotencyKey,
    pub request_fingerprint: String,
    pub response_status: u16,
    pub response_body: String,
}

/// How an idempotent create ended.
#[derive(Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The order, its event and the idempotency record (if any) were committed.
    Created,
    /// The key was used before for the same request: nothing was written, answer this again.
    Replayed { status: u16, body: String },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    /// The optimistic check failed: another request changed the order since it was read.
    #[error("order {0} was changed by a concurrent request")]
    ConcurrentChange(OrderId),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// One page of orders, newest first, and the cursor of the next page when there is one.
#[derive(Debug)]
pub struct OrdersPage {
    pub orders: Vec<Order>,
    pub next: Option<OrderCursor>,
}

/// The line items column holds this JSON array: the items are always read and written with
/// their order, so a child table would add joins and nothing else.
#[derive(Serialize, Deserialize)]
struct StoredLineItem {
    sku: String,
    name: String,
    quantity: i64,
    unit_price_minor: i64,
}

/// The orders table and the outbox it publishes through.
#[derive(Clone)]
pub struct OrderStore {
    store: Store,
    outbox: OutboxSignal,
}

impl OrderStore {
    pub fn new(context: SourceServiceContext) -> Self {
        Self { store: context.store, outbox: context.outbox }
    }

    /// Saves a newly placed order with its ORDER_PLACED event, or, when `idempotency` names a
    /// key used before, returns the response recorded then and writes nothing.
    pub async fn insert_placed_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyRecord>,
        traceparent: &str,
    ) -> Result<CreateOutcome, StoreError> {
        debug_assert_eq!(order.version(), OrderVersion::FIRST, "a placed order starts at version 1");
        let message = outbox_message(order, traceparent)?;
        let items_json = items_json(order)?;
        let mut transaction = self.store.pool.begin().await.context("cannot begin a transaction")?;
        if let Some(record) = idempotency {
            let recorded =
                idempotency::find(&mut transaction, CREATE_ORDER_SCOPE, &record.key, &record.request_fingerprint)
                    .await
                    .context("cannot look up the idempotency key")?;
            // an early return drops the transaction, which rolls it back: a replay writes nothing
            match recorded {
                Some(Recorded::Response { status, body }) => return Ok(CreateOutcome::Replayed { status, body }),
                Some(Recorded::DifferentRequest) => return Err(StoreError::IdempotencyKeyReused),
                None => {}
            }
            // recorded before the order, so that a concurrent request with the same key blocks
            // here on the primary key, fails once this transaction commits, and replays it
            let saved = idempotency::record(
                &mut transaction,
                CREATE_ORDER_SCOPE,
                &record.key,
                &record.request_fingerprint,
                record.response_status,
                &record.response_body,
            )
            .await;
            if let Err(error) = saved {
                if idempotency::is_unique_violation(&error) {
                    // roll back first: on SQLite the pool's only connection is this one
                    drop(transaction);
                    return self.replay_concurrent_winner(record).await;
                }
                return Err(anyhow::Error::new(error).context("cannot record the idempotency key").into());
            }
        }
        let (cancelled_at_millis, cancellation_reason) = cancellation_columns(order.state());
        let address = order.shipping_address().as_address();
        sqlx::query(
            "insert into orders (id, customer_id, customer_name, customer_email, currency, items, total_minor, \
             shipping_line1, shipping_line2, shipping_city, shipping_postal_code, shipping_country, status, version, \
             created_at_ms, cancelled_at_ms, cancellation_reason) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(order.id().to_string())
        .bind(order.customer().id.as_str())
        .bind(order.customer().name.as_str())
        .bind(order.customer().email.as_str())
        .bind(order.currency().code())
        .bind(items_json)
        .bind(order.total().minor_units())
        .bind(address.line1.as_str())
        .bind(address.line2.as_deref())
        .bind(address.city.as_str())
        .bind(address.postal_code.as_str())
        .bind(address.country.as_str())
        .bind(status_name(order.state()))
        .bind(order.version().get())
        .bind(order.created_at().timestamp_millis())
        .bind(cancelled_at_millis)
        .bind(cancellation_reason)
        .execute(&mut *transaction)
        .await
        .context("cannot insert the order")?;
        enqueue(&mut transaction, self.store.backend, &message).await.context("cannot enqueue the order event")?;
        transaction.commit().await.context("cannot commit the new order")?;
        self.outbox.committed();
        Ok(CreateOutcome::Created)
    }

    /// Saves `changed` with the event announcing the change, if the stored order is still at
    /// `expected_version`; otherwise another request changed it first and nothing is written.
    pub async fn update_order(
        &self,
        changed: &Order,
        expected_version: OrderVersion,
        traceparent: &str,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(changed.version(), expected_version.next(), "one change is one version");
        let message = outbox_message(changed, traceparent)?;
        let (cancelled_at_millis, cancellation_reason) = cancellation_columns(changed.state());
        let mut transaction = self.store.pool.begin().await.context("cannot begin a transaction")?;
        let updated = sqlx::query(
            "update orders set status = $1, version = $2, cancelled_at_ms = $3, cancellation_reason = $4 \
             where id = $5 and version = $6",
        )
        .bind(status_name(changed.state()))
        .bind(changed.version().get())
        .bind(cancelled_at_millis)
        .bind(cancellation_reason)
        .bind(changed.id().to_string())
        .bind(expected_version.get())
        .execute(&mut *transaction)
        .await
        .context("cannot update the order")?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::ConcurrentChange(changed.id()));
        }
        enqueue(&mut transaction, self.store.backend, &message).await.context("cannot enqueue the order event")?;
        transaction.commit().await.context("cannot commit the order change")?;
        self.outbox.committed();
        Ok(())
    }

    pub async fn find_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let statement = format!("select {ORDER_COLUMNS} from orders where id = $1");
        let row = sqlx::query(&statement)
            .bind(id.to_string())
            .fetch_optional(&mut *self.store.read_connection().await?)
            .await
            .context("cannot read the order")?;
        match row {
            Some(row) => Ok(Some(order_from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// Up to `limit` orders after `after`, newest first, of one customer or of all.
    pub async fn list_orders(
        &self,
        customer: Option<&CustomerId>,
        after: Option<&OrderCursor>,
        limit: PageLimit,
    ) -> Result<OrdersPage, StoreError> {
        let newest_first = "order by created_at_ms desc, id desc";
        let statement = match (customer, after) {
            (None, None) => format!("select {ORDER_COLUMNS} from orders {newest_first} limit $1"),
            (Some(_), None) => {
                format!("select {ORDER_COLUMNS} from orders where customer_id = $1 {newest_first} limit $2")
            }
            (None, Some(_)) => format!(
                "select {ORDER_COLUMNS} from orders where (created_at_ms, id) < ($1, $2) {newest_first} limit $3"
            ),
            (Some(_), Some(_)) => format!(
                "select {ORDER_COLUMNS} from orders where customer_id = $1 and (created_at_ms, id) < ($2, $3) \
                 {newest_first} limit $4"
            ),
        };
        let mut query = sqlx::query(&statement);
        if let Some(customer) = customer {
            query = query.bind(customer.as_str());
        }
        if let Some(cursor) = after {
            query = query.bind(cursor.created_at_millis()).bind(cursor.id().to_string());
        }
        let mut connection = self.store.read_connection().await?;
        // one row more than the page tells whether a next page exists
        let rows =
            query.bind(i64::from(limit.get()) + 1).fetch_all(&mut *connection).await.context("cannot list orders")?;
        let page_size = limit.get() as usize;
        let mut orders = Vec::with_capacity(rows.len().min(page_size));
        for row in rows.iter().take(page_size) {
            orders.push(order_from_row(row)?);
        }
        let next = match orders.last() {
            Some(last) if rows.len() > page_size => Some(OrderCursor::after(last)),
            _ => None,
        };
        Ok(OrdersPage { orders, next })
    }

    async fn replay_concurrent_winner(&self, record: &IdempotencyRecord) -> Result<CreateOutcome, StoreError> {
        let recorded = idempotency::find_outside_transaction(
            &self.store,
            CREATE_ORDER_SCOPE,
            &record.key,
            &record.request_fingerprint,
        )
        .await?;
        match recorded {
            Some(Recorded::Response { status, body }) => Ok(CreateOutcome::Replayed { status, body }),
            Some(Recorded::DifferentRequest) => Err(StoreError::IdempotencyKeyReused),
            None => Err(anyhow!("idempotency key conflicted but no record exists").into()),
        }
    }
}

/// The outbox row announcing `order`'s latest change, with a fresh event id.
fn outbox_message(order: &Order, traceparent: &str) -> anyhow::Result<OutboxMessage> {
    let event = order.to_event(Uuid::now_v7());
    OutboxMessage::for_event(&event, Some(traceparent.to_string())).context("cannot encode the order event")
}

fn items_json(order: &Order) -> anyhow::Result<String> {
    let mut stored = Vec::with_capacity(order.items().as_slice().len());
    for item in order.items().as_slice() {
        stored.push(StoredLineItem {
            sku: item.sku.as_str().to_string(),
            name: item.name.as_str().to_string(),
            quantity: i64::from(item.quantity.get()),
            unit_price_minor: item.unit_price.minor_units(),
        });
    }
    serde_json::to_string(&stored).context("cannot serialize line items")
}

fn status_name(state: &OrderState) -> &'static str {
    match state {
        OrderState::Placed => STATUS_PLACED,
        OrderState::Cancelled { .. } => STATUS_CANCELLED,
    }
}

/// `cancelled_at_ms` and `cancellation_reason`: set only on a cancelled order.
fn cancellation_columns(state: &OrderState) -> (Option<i64>, Option<&str>) {
    match state {
        OrderState::Placed => (None, None),
        OrderState::Cancelled { cancelled_at, reason } => {
            (Some(cancelled_at.timestamp_millis()), reason.as_ref().map(CancellationReason::as_str))
        }
    }
}

/// Rebuilds an order through the same parsers the API uses. A row they reject was not written
/// by this code, or a rule was tightened without migrating the data; either way it must be
/// seen, not served.
fn order_from_row(row: &AnyRow) -> anyhow::Result<Order> {
    let id_text: String = row.try_get("id")?;
    let id: OrderId = id_text.parse().with_context(|| format!("stored order id {id_text:?} is not a uuid"))?;
    let corrupt = |error: FieldError| anyhow!("stored order {id} has an invalid {}: {}", error.field, error.message);

    let customer = Customer {
        id: CustomerId::parse("customer_id", &row.try_get::<String, _>("customer_id")?).map_err(corrupt)?,
        name: CustomerName::parse("customer_name", &row.try_get::<String, _>("customer_name")?).map_err(corrupt)?,
        email: Email::parse("customer_email", &row.try_get::<String, _>("customer_email")?).map_err(corrupt)?,
    };
    let currency_code: String = row.try_get("currency")?;
    let currency = Currency::parse(&currency_code).map_err(|message| anyhow!("stored order {id}: {message}"))?;

    let items_text: String = row.try_get("items")?;
    let stored_items: Vec<StoredLineItem> =
        serde_json::from_str(&items_text).with_context(|| format!("stored order {id} has malformed items"))?;
    let mut items = Vec::with_capacity(stored_items.len());
    for (index, stored) in stored_items.iter().enumerate() {
        items.push(LineItem {
            sku: Sku::parse(&format!("items[{index}].sku"), &stored.sku).map_err(corrupt)?,
            name: ItemName::parse(&format!("items[{index}].name"), &stored.name).map_err(corrupt)?,
            quantity: Quantity::parse(&format!("items[{index}].quantity"), stored.quantity).map_err(corrupt)?,
            unit_price: UnitPrice::parse(&format!("items[{index}].unit_price"), stored.unit_price_minor)
                .map_err(corrupt)?,
        });
    }
    let items = LineItems::parse("items", items).map_err(corrupt)?;

    let address = AddressInput {
        line1: row.try_get("shipping_line1")?,
        line2: row.try_get("shipping_line2")?,
        city: row.try_get("shipping_city")?,
        postal_code: row.try_get("shipping_postal_code")?,
        country: row.try_get("shipping_country")?,
    };
    let shipping_address = ShippingAddress::parse("shipping_address", &address).map_err(corrupt)?;
    let details = NewOrder::new(customer, currency, items, shipping_address)
        .with_context(|| format!("stored order {id} has an invalid total"))?;

    let created_at = timestamp(row.try_get("created_at_ms")?)?;
    let version_number: i64 = row.try_get("version")?;
    let version = OrderVersion::from_stored(version_number)
        .with_context(|| format!("stored order {id} has version {version_number}"))?;
    let status: String = row.try_get("status")?;
    let state = match status.as_str() {
        STATUS_PLACED => OrderState::Placed,
        STATUS_CANCELLED => {
            let cancelled_at_millis: Option<i64> = row.try_get("cancelled_at_ms")?;
            let cancelled_at_millis =
                cancelled_at_millis.with_context(|| format!("stored order {id} is cancelled without a time"))?;
            let reason_text: Option<String> = row.try_get("cancellation_reason")?;
            let reason =
                CancellationReason::parse_optional("cancellation_reason", reason_text.as_deref()).map_err(corrupt)?;
            OrderState::Cancelled { cancelled_at: timestamp(cancelled_at_millis)?, reason }
        }
        other => anyhow::bail!("stored order {id} has unknown status {other:?}"),
    };
    let order = Order::restore(id, details, created_at, version, state);

    let stored_total: i64 = row.try_get("total_minor")?;
    anyhow::ensure!(
        stored_total == order.total().minor_units(),
        "stored order {id} has total {stored_total} but its items sum to {}",
        order.total().minor_units()
    );
    Ok(order)
}

fn timestamp(epoch_millis: i64) -> anyhow::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(epoch_millis).with_context(|| format!("{epoch_millis} ms is not a valid time"))
}
