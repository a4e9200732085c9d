//! All of payment-svc's SQL. Every state change is one transaction holding the payment row, the
//! one outbox row that announces it, and the idempotency record when the client sent a key.

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use events::evolution::{PaymentSchemaVersion, encode_payment_datum};
use source_platform::idempotency::{self, IdempotentResponse, Recorded};
use source_platform::outbox::{OutboxMessage, enqueue};
use source_platform::source_service::SourceServiceContext;
use source_platform::store::Store;
use source_platform::values::Currency;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::domain::{
    Amount, OrderId, Payment, PaymentAction, PaymentId, PaymentMethod, PaymentStatus, TransitionRefused,
};

/// The idempotency scope of `POST /payments`.
pub const CREATE_PAYMENT_SCOPE: &str = "create-payment";

const PAYMENT_COLUMNS: &str = "id, order_id, amount_minor, currency, method, status, decline_reason, version, \
                               created_at_ms, updated_at_ms";

/// Why a store operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no payment with id {0}")]
    NotFound(PaymentId),
    #[error(transparent)]
    Refused(#[from] TransitionRefused),
    #[error("payment {0} was changed by another request; read it again and retry")]
    ConcurrentChange(PaymentId),
    #[error("idempotency key was already used with a different request body")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What a create request amounted to.
#[derive(Debug)]
pub enum CreateOutcome {
    /// The payment, its event and the idempotency record were committed.
    Created,
    /// The key was seen before with the same request: nothing new was written, and this is
    /// the response the first request got.
    Replayed { status: u16, body: String },
}

/// Inserts `payment` with its event, unless `idempotent` names a key already used.
pub async fn create_payment(
    context: &SourceServiceContext,
    payment: &Payment,
    traceparent: &str,
    idempotent: Option<IdempotentResponse<'_>>,
    contract: EventContract,
) -> Result<CreateOutcome, StoreError> {
    debug_assert_eq!(payment.version, 1, "a new payment starts at version 1");
    let message = outbox_message(payment, traceparent, contract)?;
    let attempt = try_create_payment(&context.store, payment, &message, idempotent.as_ref()).await;
    let error = match attempt {
        Ok(CreateAttempt::Created) => {
            context.outbox.committed();
            return Ok(CreateOutcome::Created);
        }
        Ok(CreateAttempt::AlreadyRecorded(recorded)) => return replay(recorded),
        Err(error) => error,
    };
    let idempotent = match idempotent {
        Some(idempotent) if idempotency::is_unique_violation(&error) => idempotent,
        _ => return Err(anyhow::Error::new(error).context("cannot insert the payment").into()),
    };
    // A concurrent request with the same key committed first and our transaction rolled back
    // whole, so answer as the winner did.
    tracing::info!(payment_id = %payment.id, "a concurrent request with the same idempotency key won");
    let recorded = idempotency::find_outside_transaction(
        &context.store,
        CREATE_PAYMENT_SCOPE,
        idempotent.key,
        idempotent.request_fingerprint,
    )
    .await?
    .ok_or_else(|| anyhow!("unique violation without an idempotency record: {error}"))?;
    replay(recorded)
}

enum CreateAttempt {
    Created,
    AlreadyRecorded(Recorded),
}

async fn try_create_payment(
    store: &Store,
    payment: &Payment,
    message: &OutboxMessage,
    idempotent: Option<&IdempotentResponse<'_>>,
) -> sqlx::Result<CreateAttempt> {
    let mut transaction = store.pool.begin().await?;
    if let Some(idempotent) = idempotent {
        let recorded =
            idempotency::find(&mut transaction, CREATE_PAYMENT_SCOPE, idempotent.key, idempotent.request_fingerprint)
                .await?;
        if let Some(recorded) = recorded {
            return Ok(CreateAttempt::AlreadyRecorded(recorded));
        }
    }
    sqlx::query(&format!("insert into payments ({PAYMENT_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
        .bind(payment.id.to_string())
        .bind(payment.order_id.to_string())
        .bind(payment.amount.minor_units())
        .bind(payment.currency.code())
        .bind(payment.method.as_str())
        .bind(payment.status.as_str())
        .bind(payment.decline_reason.as_deref())
        .bind(payment.version)
        .bind(payment.created_at.timestamp_millis())
        .bind(payment.updated_at.timestamp_millis())
        .execute(&mut *transaction)
        .await?;
    enqueue(&mut transaction, store.backend, message).await?;
    if let Some(idempotent) = idempotent {
        idempotency::record_response(&mut transaction, CREATE_PAYMENT_SCOPE, idempotent).await?;
    }
    transaction.commit().await?;
    Ok(CreateAttempt::Created)
}

fn replay(recorded: Recorded) -> Result<CreateOutcome, StoreError> {
    match recorded {
        Recorded::Response { status, body } => Ok(CreateOutcome::Replayed { status, body }),
        Recorded::DifferentRequest => Err(StoreError::IdempotencyKeyReused),
    }
}

/// Applies `action` to the payment `id` and publishes the result, or says why not.
///
/// The row is read and written in one transaction, and the write only lands on the version
/// that was read: a concurrent change makes this one fail instead of silently overwriting it.
pub async fn change_payment(
    context: &SourceServiceContext,
    id: PaymentId,
    action: PaymentAction,
    now: DateTime<Utc>,
    traceparent: &str,
    contract: EventContract,
) -> Result<Payment, StoreError> {
    let mut transaction = context.store.pool.begin().await.context("cannot begin a transaction")?;
    let current = select_payment(&mut transaction, id).await?.ok_or(StoreError::NotFound(id))?;
    let changed = current.apply(action, now)?;
    let message = outbox_message(&changed, traceparent, contract)?;
    let updated =
        sqlx::query("update payments set status = $1, version = $2, updated_at_ms = $3 where id = $4 and version = $5")
            .bind(changed.status.as_str())
            .bind(changed.version)
            .bind(changed.updated_at.timestamp_millis())
            .bind(id.to_string())
            .bind(current.version)
            .execute(&mut *transaction)
            .await
            .context("cannot update the payment")?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::ConcurrentChange(id));
    }
    enqueue(&mut transaction, context.store.backend, &message).await.context("cannot enqueue the payment event")?;
    transaction.commit().await.context("cannot commit the payment change")?;
    context.outbox.committed();
    Ok(changed)
}

/// The payment `id`, if there is one.
pub async fn find_payment(store: &Store, id: PaymentId) -> anyhow::Result<Option<Payment>> {
    let mut connection = store.read_connection().await?;
    select_payment(&mut connection, id).await
}

/// The payments of one order, oldest first.
pub async fn list_payments_of_order(store: &Store, order_id: OrderId) -> anyhow::Result<Vec<Payment>> {
    let rows =
        sqlx::query(&format!("select {PAYMENT_COLUMNS} from payments where order_id = $1 order by created_at_ms, id"))
            .bind(order_id.to_string())
            .fetch_all(&mut *store.read_connection().await?)
            .await
            .context("cannot list the payments of an order")?;
    let mut payments = Vec::with_capacity(rows.len());
    for row in &rows {
        payments.push(payment_from_row(row)?);
    }
    Ok(payments)
}

async fn select_payment(connection: &mut AnyConnection, id: PaymentId) -> anyhow::Result<Option<Payment>> {
    let row = sqlx::query(&format!("select {PAYMENT_COLUMNS} from payments where id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *connection)
        .await
        .context("cannot read the payment")?;
    row.as_ref().map(payment_from_row).transpose()
}

/// The event announcing `payment`'s state, ready for the outbox.
/// The schema version new events are written with, and what v2 adds.
#[derive(Clone, Copy, Debug)]
pub struct EventContract {
    pub version: PaymentSchemaVersion,
    pub authorization_limit_minor: i64,
}

fn outbox_message(payment: &Payment, traceparent: &str, contract: EventContract) -> anyhow::Result<OutboxMessage> {
    let event = payment.to_event(Uuid::now_v7());
    let traceparent = Some(traceparent.to_string());
    if contract.version == PaymentSchemaVersion::V1 {
        return OutboxMessage::for_event(&event, traceparent).context("cannot encode the payment event");
    }
    let datum = encode_payment_datum(&event, contract.version, contract.authorization_limit_minor)
        .context("cannot encode the payment event")?;
    OutboxMessage::for_event_with_datum(&event, datum, contract.version.label(), traceparent)
        .context("cannot encode the payment event")
}

/// Parses a stored row with the same rules as the API, so a row that somehow breaks them
/// fails loudly instead of leaking out.
fn payment_from_row(row: &AnyRow) -> anyhow::Result<Payment> {
    let id_text: String = row.try_get("id")?;
    let order_id_text: String = row.try_get("order_id")?;
    let currency_text: String = row.try_get("currency")?;
    let method_text: String = row.try_get("method")?;
    let status_text: String = row.try_get("status")?;
    Ok(Payment {
        id: stored(&id_text, "id", PaymentId::parse(&id_text))?,
        order_id: stored(&id_text, "order_id", OrderId::parse(&order_id_text))?,
        amount: stored(&id_text, "amount_minor", Amount::parse(row.try_get("amount_minor")?))?,
        currency: stored(&id_text, "currency", Currency::parse(&currency_text))?,
        method: stored(&id_text, "method", PaymentMethod::parse(&method_text))?,
        status: stored(&id_text, "status", PaymentStatus::parse(&status_text))?,
        decline_reason: row.try_get("decline_reason")?,
        version: row.try_get("version")?,
        created_at: stored(&id_text, "created_at_ms", timestamp(row.try_get("created_at_ms")?))?,
        updated_at: stored(&id_text, "updated_at_ms", timestamp(row.try_get("updated_at_ms")?))?,
    })
}

fn stored<T>(id: &str, column: &str, parsed: Result<T, String>) -> anyhow::Result<T> {
    parsed.map_err(|message| anyhow!("stored payment {id} has an invalid {column}: {message}"))
}

fn timestamp(epoch_ms: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_millis(epoch_ms).ok_or_else(|| format!("{epoch_ms} is out of range"))
}
