//! All SQL of the service. Each state change is one transaction: the shipment row (with an
//! optimistic version check on updates), exactly one outbox row carrying the resulting
//! `ShipmentEvent`, and the idempotency record when the client sent a key. The relay is woken
//! after the commit.

use anyhow::Context;
use chrono::{DateTime, Utc};
use events::ShipmentEventType;
use source_platform::idempotency::{self, IdempotencyKey, IdempotentResponse, Recorded, is_unique_violation};
use source_platform::outbox::{OutboxMessage, enqueue};
use source_platform::source_service::SourceServiceContext;
use source_platform::store::now_ms;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::domain::{Carrier, Location, Note, OrderId, Shipment, ShipmentId, ShipmentStatus, TrackingNumber, Version};

const SHIPMENT_COLUMNS: &str = "id, order_id, carrier, tracking_number, address_line1, address_line2, address_city, \
     address_postal_code, address_country, status, last_location, note, version, created_at_ms, updated_at_ms";

/// The current time at the store's precision (milliseconds), so that what a handler answers
/// equals what a later read returns and what the event carries.
pub fn current_time() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now_ms()).unwrap_or_default()
}

/// Why a write did not happen, for the cases a caller handles.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another shipment already has the tracking number; generate another one.
    #[error("tracking number {0} is already taken")]
    TrackingNumberTaken(TrackingNumber),
    /// A concurrent request with the same idempotency key committed first.
    #[error("idempotency key was claimed by a concurrent request")]
    IdempotencyKeyClaimed,
    /// The shipment changed since it was read.
    #[error("shipment {id} is no longer at version {expected}")]
    VersionConflict { id: ShipmentId, expected: i64 },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The idempotency scope of `POST /shipments`: a key names one create, whatever else it names.
pub const CREATE_SHIPMENT_SCOPE: &str = "create-shipment";

/// Shipments in the service's database.
#[derive(Clone)]
pub struct ShipmentStore {
    context: SourceServiceContext,
}

impl ShipmentStore {
    pub fn new(context: SourceServiceContext) -> Self {
        Self { context }
    }

    /// Inserts a new shipment with its SHIPMENT_CREATED event and, when given, the idempotency
    /// record, in one transaction.
    pub async fn insert_new_shipment(
        &self,
        shipment: &Shipment,
        traceparent: &str,
        idempotency: Option<IdempotentResponse<'_>>,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(shipment.version, Version::INITIAL);
        let store = &self.context.store;
        let mut transaction = store.pool.begin().await.context("cannot begin a transaction")?;
        let inserted = sqlx::query(&format!(
            "insert into shipments ({SHIPMENT_COLUMNS}) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(shipment.id.to_string())
        .bind(shipment.order_id.to_string())
        .bind(shipment.carrier.as_str())
        .bind(shipment.tracking_number.as_str())
        .bind(shipment.address.line1.as_str())
        .bind(shipment.address.line2.as_deref())
        .bind(shipment.address.city.as_str())
        .bind(shipment.address.postal_code.as_str())
        .bind(shipment.address.country.as_str())
        .bind(shipment.status.as_str())
        .bind(shipment.last_location.as_ref().map(Location::as_str))
        .bind(shipment.note.as_ref().map(Note::as_str))
        .bind(shipment.version.get())
        .bind(shipment.created_at.timestamp_millis())
        .bind(shipment.updated_at.timestamp_millis())
        .execute(&mut *transaction)
        .await;
        match inserted {
            Ok(_) => {}
            // the id is a fresh UUID v7, so the unique column that can clash is the tracking number
            Err(error) if is_unique_violation(&error) => {
                return Err(StoreError::TrackingNumberTaken(shipment.tracking_number.clone()));
            }
            Err(error) => return Err(anyhow::Error::new(error).context("cannot insert the shipment").into()),
        }

        let event = shipment.to_event(ShipmentEventType::ShipmentCreated, Uuid::now_v7());
        let message = OutboxMessage::for_event(&event, Some(traceparent.to_string()))
            .context("cannot encode the shipment created event")?;
        enqueue(&mut transaction, store.backend, &message).await.context("cannot enqueue the event")?;

        if let Some(response) = idempotency {
            let recorded = idempotency::record_response(&mut transaction, CREATE_SHIPMENT_SCOPE, &response).await;
            match recorded {
                Ok(()) => {}
                // dropping the transaction rolls back the shipment and its event as well
                Err(error) if is_unique_violation(&error) => return Err(StoreError::IdempotencyKeyClaimed),
                Err(error) => {
                    return Err(anyhow::Error::new(error).context("cannot record the idempotency key").into());
                }
            }
        }

        transaction.commit().await.context("cannot commit the new shipment")?;
        self.context.outbox.committed();
        Ok(())
    }

    /// Saves `changed`, which must be one version after the stored shipment, with its
    /// SHIPMENT_STATUS_CHANGED event, in one transaction.
    pub async fn save_status_change(&self, changed: &Shipment, traceparent: &str) -> Result<(), StoreError> {
        let expected_version = changed.version.get() - 1;
        let store = &self.context.store;
        let mut transaction = store.pool.begin().await.context("cannot begin a transaction")?;
        let updated = sqlx::query(
            "update shipments set status = $1, last_location = $2, note = $3, version = $4, updated_at_ms = $5 \
             where id = $6 and version = $7",
        )
        .bind(changed.status.as_str())
        .bind(changed.last_location.as_ref().map(Location::as_str))
        .bind(changed.note.as_ref().map(Note::as_str))
        .bind(changed.version.get())
        .bind(changed.updated_at.timestamp_millis())
        .bind(changed.id.to_string())
        .bind(expected_version)
        .execute(&mut *transaction)
        .await
        .context("cannot update the shipment")?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::VersionConflict { id: changed.id, expected: expected_version });
        }

        let event = changed.to_event(ShipmentEventType::ShipmentStatusChanged, Uuid::now_v7());
        let message = OutboxMessage::for_event(&event, Some(traceparent.to_string()))
            .context("cannot encode the shipment status changed event")?;
        enqueue(&mut transaction, store.backend, &message).await.context("cannot enqueue the event")?;

        transaction.commit().await.context("cannot commit the status change")?;
        self.context.outbox.committed();
        Ok(())
    }

    pub async fn find_shipment(&self, id: ShipmentId) -> anyhow::Result<Option<Shipment>> {
        let row = sqlx::query(&format!("select {SHIPMENT_COLUMNS} from shipments where id = $1"))
            .bind(id.to_string())
            .fetch_optional(&mut *self.context.store.read_connection().await?)
            .await
            .context("cannot read the shipment")?;
        row.as_ref().map(shipment_from_row).transpose()
    }

    /// The order's shipments, oldest first.
    pub async fn list_shipments_of_order(&self, order_id: OrderId) -> anyhow::Result<Vec<Shipment>> {
        let rows = sqlx::query(&format!(
            "select {SHIPMENT_COLUMNS} from shipments where order_id = $1 order by created_at_ms, id"
        ))
        .bind(order_id.to_string())
        .fetch_all(&mut *self.context.store.read_connection().await?)
        .await
        .context("cannot list the order's shipments")?;
        let mut shipments = Vec::with_capacity(rows.len());
        for row in &rows {
            shipments.push(shipment_from_row(row)?);
        }
        Ok(shipments)
    }

    /// What `key` already stands for in `scope`, if anything.
    pub async fn find_idempotent_response(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        request_fingerprint: &str,
    ) -> anyhow::Result<Option<Recorded>> {
        idempotency::find_outside_transaction(&self.context.store, scope, key, request_fingerprint).await
    }
}

/// Reads a row back through the domain's parsers: a row that does not parse is corrupt, and
/// failing loudly beats serving it.
fn shipment_from_row(row: &AnyRow) -> anyhow::Result<Shipment> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: &str, message: String| anyhow::anyhow!("shipment {id} has an invalid {what}: {message}");
    let order_id: String = row.try_get("order_id")?;
    let carrier: String = row.try_get("carrier")?;
    let tracking_number: String = row.try_get("tracking_number")?;
    let status: String = row.try_get("status")?;
    let last_location: Option<String> = row.try_get("last_location")?;
    let note: Option<String> = row.try_get("note")?;
    let version: i64 = row.try_get("version")?;
    let created_at_ms: i64 = row.try_get("created_at_ms")?;
    let updated_at_ms: i64 = row.try_get("updated_at_ms")?;
    let timestamp = |what: &str, millis: i64| {
        DateTime::from_timestamp_millis(millis).ok_or_else(|| corrupt(what, format!("{millis} is out of range")))
    };
    Ok(Shipment {
        id: ShipmentId::parse(&id).map_err(|message| corrupt("id", message))?,
        order_id: OrderId::parse(&order_id).map_err(|message| corrupt("order id", message))?,
        carrier: Carrier::parse(&carrier).map_err(|message| corrupt("carrier", message))?,
        tracking_number: TrackingNumber::parse(&tracking_number)
            .map_err(|message| corrupt("tracking number", message))?,
        address: events::Address {
            line1: row.try_get("address_line1")?,
            line2: row.try_get("address_line2")?,
            city: row.try_get("address_city")?,
            postal_code: row.try_get("address_postal_code")?,
            country: row.try_get("address_country")?,
        },
        status: ShipmentStatus::parse(&status).map_err(|message| corrupt("status", message))?,
        last_location: last_location
            .map(|location| Location::parse(&location))
            .transpose()
            .map_err(|message| corrupt("last location", message))?,
        note: note.map(|note| Note::parse(&note)).transpose().map_err(|message| corrupt("note", message))?,
        version: Version::parse(version).map_err(|message| corrupt("version", message))?,
        created_at: timestamp("created_at", created_at_ms)?,
        updated_at: timestamp("updated_at", updated_at_ms)?,
    })
}

#[cfg(test)]
mod tests {
    use source_platform::outbox::OutboxSignal;

    use super::*;
    use crate::domain::{NewShipment, StatusChange};

    /// A store on a fresh database: a SQLite file, or a PostgreSQL database of its own.
    async fn fresh_store(postgres: bool) -> (ShipmentStore, Option<tempfile::TempDir>) {
        let (url, dir) = if postgres {
            (testkit::fresh_postgres_url().await, None)
        } else {
            let dir = tempfile::tempdir().expect("temp dir");
            (format!("sqlite://{}", dir.path().join("shipping.db").display()), Some(dir))
        };
        let store = source_platform::store::connect_and_migrate(&url, sqlx::migrate!()).await.expect("store");
        // the store's tests publish nothing: the codec is never used
        let codec = events::EventCodec::new(&events::RegistryConfig::new("http://127.0.0.1:9")).expect("codec");
        let context =
            SourceServiceContext { store, outbox: OutboxSignal::default(), codec: std::sync::Arc::new(codec) };
        (ShipmentStore::new(context), dir)
    }

    fn new_shipment(tracking_serial: u64) -> Shipment {
        let carrier = Carrier::parse("DHL Express").expect("valid carrier");
        let new = NewShipment {
            order_id: OrderId::parse(&Uuid::now_v7().to_string()).expect("valid order id"),
            carrier: carrier.clone(),
            address: events::Address {
                line1: "Keizersgracht 123".to_string(),
                line2: None,
                city: "Amsterdam".to_string(),
                postal_code: "1015 CJ".to_string(),
                country: "NL".to_string(),
            },
        };
        let tracking_number = TrackingNumber::generate(&carrier, tracking_serial);
        Shipment::create(ShipmentId::generate(), new, tracking_number, current_time())
    }

    async fn outbox_rows(store: &ShipmentStore) -> i64 {
        sqlx::query_scalar("select count(*) from outbox")
            .fetch_one(&store.context.store.pool)
            .await
            .expect("count outbox rows")
    }

    async fn a_taken_tracking_number_is_reported_and_nothing_is_written(postgres: bool) {
        let (store, _dir) = fresh_store(postgres).await;
        let first = new_shipment(42);
        store.insert_new_shipment(&first, "", None).await.expect("first insert");

        let clash = new_shipment(42);
        let outcome = store.insert_new_shipment(&clash, "", None).await;

        assert!(matches!(outcome, Err(StoreError::TrackingNumberTaken(ref taken)) if *taken == first.tracking_number));
        assert_eq!(store.find_shipment(clash.id).await.expect("read"), None);
        assert_eq!(outbox_rows(&store).await, 1, "only the first shipment's event");
    }

    async fn a_claimed_idempotency_key_rolls_back_the_whole_create(postgres: bool) {
        let (store, _dir) = fresh_store(postgres).await;
        let key = IdempotencyKey::parse("create-1").expect("valid key");
        let record = || IdempotentResponse {
            key: &key,
            request_fingerprint: "fingerprint",
            response_status: 201,
            response_body: "{}",
        };
        let winner = new_shipment(1);
        store.insert_new_shipment(&winner, "", Some(record())).await.expect("winner");

        let loser = new_shipment(2);
        let outcome = store.insert_new_shipment(&loser, "", Some(record())).await;

        assert!(matches!(outcome, Err(StoreError::IdempotencyKeyClaimed)), "{outcome:?}");
        assert_eq!(store.find_shipment(loser.id).await.expect("read"), None, "the loser's shipment is rolled back");
        assert_eq!(outbox_rows(&store).await, 1, "and so is its event");
    }

    async fn a_stale_version_is_a_conflict_and_nothing_is_written(postgres: bool) {
        let (store, _dir) = fresh_store(postgres).await;
        let created = new_shipment(7);
        store.insert_new_shipment(&created, "", None).await.expect("insert");
        let dispatch = StatusChange { to: ShipmentStatus::Dispatched, location: None, note: None };
        let dispatched = created.change_status(dispatch.clone(), current_time()).expect("allowed");
        store.save_status_change(&dispatched, "").await.expect("first change");

        // a second writer that read version 1 as well
        let stale = created.change_status(dispatch, current_time()).expect("allowed");
        let outcome = store.save_status_change(&stale, "").await;

        assert!(matches!(outcome, Err(StoreError::VersionConflict { expected: 1, .. })), "{outcome:?}");
        assert_eq!(store.find_shipment(created.id).await.expect("read"), Some(dispatched));
        assert_eq!(outbox_rows(&store).await, 2, "one event per applied change");
    }

    async fn shipments_read_back_as_written(postgres: bool) {
        let (store, _dir) = fresh_store(postgres).await;
        let created = new_shipment(9);
        store.insert_new_shipment(&created, "", None).await.expect("insert");
        let change = StatusChange {
            to: ShipmentStatus::Dispatched,
            location: Some(Location::parse("Amsterdam depot").expect("valid")),
            note: Some(Note::parse("fragile").expect("valid")),
        };
        let dispatched = created.change_status(change, current_time()).expect("allowed");
        store.save_status_change(&dispatched, "").await.expect("change");

        assert_eq!(store.find_shipment(created.id).await.expect("read"), Some(dispatched.clone()));
        let listed = store.list_shipments_of_order(created.order_id).await.expect("list");
        assert_eq!(listed, vec![dispatched]);
    }

    macro_rules! on_both_databases {
        ($($scenario:ident),+ $(,)?) => {
            $(
                mod $scenario {
                    #[tokio::test]
                    async fn sqlite() {
                        super::$scenario(false).await;
                    }

                    #[tokio::test]
                    async fn postgres() {
                        super::$scenario(true).await;
                    }
                }
            )+
        };
    }

    on_both_databases!(
        a_taken_tracking_number_is_reported_and_nothing_is_written,
        a_claimed_idempotency_key_rolls_back_the_whole_create,
        a_stale_version_is_a_conflict_and_nothing_is_written,
        shipments_read_back_as_written,
    );
}
