//! The shipment aggregate and its state machine.
//!
//! | from \ to  | DISPATCHED | IN_TRANSIT              | DELIVERED | RETURNED |
//! |------------|------------|-------------------------|-----------|----------|
//! | CREATED    | yes        |                         |           |          |
//! | DISPATCHED |            | yes                     |           | yes      |
//! | IN_TRANSIT |            | yes (a location update) | yes       | yes      |
//! | DELIVERED  |            |                         |           | yes      |
//! | RETURNED   |            |                         |           |          |
//!
//! Nothing moves a shipment to CREATED, and RETURNED is final.

use std::fmt;

use chrono::{DateTime, Utc};
use events::{Address, ShipmentEvent, ShipmentEventType};
use uuid::Uuid;

use super::ids::{OrderId, ShipmentId};
use super::text::{Carrier, Location, Note};
use super::tracking_number::TrackingNumber;

/// Where a shipment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShipmentStatus {
    Created,
    Dispatched,
    InTransit,
    Delivered,
    Returned,
}

impl ShipmentStatus {
    pub const ALL: [Self; 5] = [Self::Created, Self::Dispatched, Self::InTransit, Self::Delivered, Self::Returned];

    /// The symbol used in the API, the database and the event schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Dispatched => "DISPATCHED",
            Self::InTransit => "IN_TRANSIT",
            Self::Delivered => "DELIVERED",
            Self::Returned => "RETURNED",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| format!("unknown shipment status {raw:?}"))
    }

    /// Whether the state machine allows moving from `self` to `next`.
    pub fn can_move_to(self, next: Self) -> bool {
        use ShipmentStatus::{Created, Delivered, Dispatched, InTransit, Returned};
        matches!(
            (self, next),
            (Created, Dispatched)
                | (Dispatched, InTransit)
                | (InTransit, InTransit)
                | (InTransit, Delivered)
                | (Dispatched | InTransit | Delivered, Returned)
        )
    }
}

impl fmt::Display for ShipmentStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl From<ShipmentStatus> for events::ShipmentStatus {
    fn from(status: ShipmentStatus) -> Self {
        match status {
            ShipmentStatus::Created => Self::Created,
            ShipmentStatus::Dispatched => Self::Dispatched,
            ShipmentStatus::InTransit => Self::InTransit,
            ShipmentStatus::Delivered => Self::Delivered,
            ShipmentStatus::Returned => Self::Returned,
        }
    }
}

/// A shipment's aggregate version: 1 when created, one more per change. It orders the events
/// of one shipment and guards updates against lost writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(i64);

impl Version {
    pub const INITIAL: Self = Self(1);

    /// A version read back from storage.
    pub fn parse(stored: i64) -> Result<Self, String> {
        if stored < Self::INITIAL.0 {
            return Err(format!("version must be at least 1, not {stored}"));
        }
        Ok(Self(stored))
    }

    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// What a client asks for when creating a shipment, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewShipment {
    pub order_id: OrderId,
    pub carrier: Carrier,
    /// Validated by `source_platform::values::AddressInput::parse`.
    pub address: Address,
}

/// A requested status change, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub to: ShipmentStatus,
    /// Replaces `last_location` when given; otherwise the last one is kept.
    pub location: Option<Location>,
    /// Replaces `note` when given; otherwise the last one is kept.
    pub note: Option<Note>,
}

/// A status change the state machine does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot move a shipment from {from} to {to}")]
pub struct TransitionError {
    pub from: ShipmentStatus,
    pub to: ShipmentStatus,
}

/// A shipment, the aggregate this service owns.
///
/// Invariants: `version` starts at 1 and grows by one per change; `updated_at` never falls
/// behind `created_at` or an earlier `updated_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub carrier: Carrier,
    pub tracking_number: TrackingNumber,
    pub address: Address,
    pub status: ShipmentStatus,
    pub last_location: Option<Location>,
    pub note: Option<Note>,
    pub version: Version,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Shipment {
    /// A shipment that has just been created: status CREATED, version 1.
    pub fn create(id: ShipmentId, new: NewShipment, tracking_number: TrackingNumber, now: DateTime<Utc>) -> Self {
        Self {
            id,
            order_id: new.order_id,
            carrier: new.carrier,
            tracking_number,
            address: new.address,
            status: ShipmentStatus::Created,
            last_location: None,
            note: None,
            version: Version::INITIAL,
            created_at: now,
            updated_at: now,
        }
    }

    /// The shipment after `change`, one version later, or why the state machine refuses it.
    pub fn change_status(&self, change: StatusChange, now: DateTime<Utc>) -> Result<Self, TransitionError> {
        if !self.status.can_move_to(change.to) {
            return Err(TransitionError { from: self.status, to: change.to });
        }
        // a clock that steps back must not make a later change look older than an earlier one
        let updated_at = now.max(self.updated_at);
        let changed = Self {
            status: change.to,
            last_location: change.location.or_else(|| self.last_location.clone()),
            note: change.note.or_else(|| self.note.clone()),
            version: self.version.next(),
            updated_at,
            ..self.clone()
        };
        debug_assert!(changed.updated_at >= changed.created_at);
        Ok(changed)
    }

    /// The event announcing this state, carrying all of it (event-carried state transfer).
    pub fn to_event(&self, event_type: ShipmentEventType, event_id: Uuid) -> ShipmentEvent {
        ShipmentEvent {
            event_id,
            event_type,
            occurred_at: self.updated_at,
            order_id: self.order_id.as_uuid(),
            aggregate_id: self.id.as_uuid(),
            aggregate_version: self.version.get(),
            shipment: events::Shipment {
                shipment_id: self.id.as_uuid(),
                order_id: self.order_id.as_uuid(),
                carrier: self.carrier.as_str().to_string(),
                tracking_number: self.tracking_number.as_str().to_string(),
                address: self.address.clone(),
                status: self.status.into(),
                last_location: self.last_location.as_ref().map(|location| location.as_str().to_string()),
                note: self.note.as_ref().map(|note| note.as_str().to_string()),
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    use super::ShipmentStatus::{Created, Delivered, Dispatched, InTransit, Returned};
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_767_225_600_000 + seconds * 1000).single().unwrap_or_default()
    }

    fn new_shipment() -> Shipment {
        let carrier = Carrier::parse("DHL Express").expect("valid carrier");
        let new = NewShipment {
            order_id: OrderId::parse("0190163d-8694-739b-aea5-966c26f8ad91").expect("valid order id"),
            carrier: carrier.clone(),
            address: Address {
                line1: "Keizersgracht 123".to_string(),
                line2: None,
                city: "Amsterdam".to_string(),
                postal_code: "1015 CJ".to_string(),
                country: "NL".to_string(),
            },
        };
        Shipment::create(ShipmentId::generate(), new, TrackingNumber::generate(&carrier, 7), at(0))
    }

    fn move_to(to: ShipmentStatus) -> StatusChange {
        StatusChange { to, location: None, note: None }
    }

    /// The shipment in `status`, reached through allowed transitions.
    fn shipment_in(status: ShipmentStatus) -> Shipment {
        let path: &[ShipmentStatus] = match status {
            Created => &[],
            Dispatched => &[Dispatched],
            InTransit => &[Dispatched, InTransit],
            Delivered => &[Dispatched, InTransit, Delivered],
            Returned => &[Dispatched, Returned],
        };
        let mut shipment = new_shipment();
        for (step, next) in path.iter().enumerate() {
            shipment = shipment.change_status(move_to(*next), at(step as i64 + 1)).expect("allowed path");
        }
        shipment
    }

    #[test]
    fn every_pair_of_statuses_follows_the_documented_table() {
        let allowed = [
            (Created, Dispatched),
            (Dispatched, InTransit),
            (InTransit, InTransit),
            (InTransit, Delivered),
            (Dispatched, Returned),
            (InTransit, Returned),
            (Delivered, Returned),
        ];
        for from in ShipmentStatus::ALL {
            for to in ShipmentStatus::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_move_to(to), expected, "{from} -> {to}");

                let shipment = shipment_in(from);
                let outcome = shipment.change_status(move_to(to), at(100));
                match outcome {
                    Ok(changed) => {
                        assert!(expected, "{from} -> {to} was accepted");
                        assert_eq!(changed.status, to);
                        assert_eq!(changed.version, shipment.version.next());
                    }
                    Err(error) => {
                        assert!(!expected, "{from} -> {to} was refused");
                        assert_eq!(error, TransitionError { from, to });
                        assert_eq!(error.to_string(), format!("cannot move a shipment from {from} to {to}"));
                    }
                }
            }
        }
    }

    #[test]
    fn the_conflict_message_names_both_statuses() {
        let error = shipment_in(Delivered).change_status(move_to(InTransit), at(9)).expect_err("refused");
        assert_eq!(error.to_string(), "cannot move a shipment from DELIVERED to IN_TRANSIT");
    }

    #[test]
    fn a_new_shipment_is_created_at_version_1_without_location_or_note() {
        let shipment = new_shipment();
        assert_eq!(shipment.status, Created);
        assert_eq!(shipment.version, Version::INITIAL);
        assert_eq!(shipment.last_location, None);
        assert_eq!(shipment.note, None);
        assert_eq!(shipment.created_at, shipment.updated_at);
    }

    #[test]
    fn location_and_note_replace_the_previous_ones_only_when_given() {
        let hub = Location::parse("Utrecht hub").expect("valid");
        let fragile = Note::parse("fragile").expect("valid");
        let dispatched = new_shipment()
            .change_status(
                StatusChange { to: Dispatched, location: Some(hub.clone()), note: Some(fragile.clone()) },
                at(1),
            )
            .expect("allowed");
        let in_transit = dispatched.change_status(move_to(InTransit), at(2)).expect("allowed");
        assert_eq!(in_transit.last_location, Some(hub));
        assert_eq!(in_transit.note, Some(fragile.clone()));

        let antwerp = Location::parse("Antwerp").expect("valid");
        let moved = in_transit
            .change_status(StatusChange { to: InTransit, location: Some(antwerp.clone()), note: None }, at(3))
            .expect("a location update");
        assert_eq!(moved.last_location, Some(antwerp));
        assert_eq!(moved.note, Some(fragile));
        assert_eq!(moved.version.get(), 4);
    }

    #[test]
    fn a_clock_stepping_back_does_not_move_updated_at_back() {
        let dispatched = new_shipment().change_status(move_to(Dispatched), at(10)).expect("allowed");
        let earlier = at(10) - Duration::seconds(5);
        let in_transit = dispatched.change_status(move_to(InTransit), earlier).expect("allowed");
        assert_eq!(in_transit.updated_at, at(10));
    }

    #[test]
    fn the_event_carries_the_full_state() {
        let shipment = shipment_in(InTransit);
        let event_id = Uuid::now_v7();
        let event = shipment.to_event(ShipmentEventType::ShipmentStatusChanged, event_id);
        assert_eq!(event.event_id, event_id);
        assert_eq!(event.event_type, ShipmentEventType::ShipmentStatusChanged);
        assert_eq!(event.order_id, shipment.order_id.as_uuid());
        assert_eq!(event.aggregate_id, shipment.id.as_uuid());
        assert_eq!(event.aggregate_version, 3);
        assert_eq!(event.occurred_at, shipment.updated_at);
        assert_eq!(event.shipment.shipment_id, shipment.id.as_uuid());
        assert_eq!(event.shipment.status, events::ShipmentStatus::InTransit);
        assert_eq!(event.shipment.tracking_number, shipment.tracking_number.as_str());
        assert_eq!(event.shipment.carrier, "DHL Express");
        assert_eq!(event.shipment.address, shipment.address);
        assert_eq!(event.shipment.created_at, shipment.created_at);
        assert_eq!(event.shipment.updated_at, shipment.updated_at);
    }

    #[test]
    fn statuses_round_trip_through_their_symbols() {
        for status in ShipmentStatus::ALL {
            assert_eq!(ShipmentStatus::parse(status.as_str()), Ok(status));
            let json = serde_json::to_string(&status).expect("serialises");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert!(ShipmentStatus::parse("in_transit").is_err());
    }

    #[test]
    fn stored_versions_start_at_1() {
        assert_eq!(Version::parse(1), Ok(Version::INITIAL));
        assert!(Version::parse(0).is_err());
        assert!(Version::parse(-3).is_err());
    }

    fn any_status() -> impl Strategy<Value = ShipmentStatus> {
        prop::sample::select(ShipmentStatus::ALL.to_vec())
    }

    proptest! {
        /// Any sequence of requests: accepted ones add exactly one version and follow the table,
        /// refused ones change nothing, and nothing leaves RETURNED.
        #[test]
        fn any_sequence_of_requests_keeps_the_invariants(
            requests in prop::collection::vec((any_status(), -5i64..20), 0..40)
        ) {
            let mut shipment = new_shipment();
            for (to, seconds) in requests {
                let before = shipment.clone();
                match shipment.change_status(move_to(to), at(seconds)) {
                    Ok(changed) => {
                        prop_assert!(before.status.can_move_to(to));
                        prop_assert_ne!(before.status, Returned);
                        prop_assert_eq!(changed.version.get(), before.version.get() + 1);
                        prop_assert!(changed.updated_at >= before.updated_at);
                        prop_assert_eq!(&changed.id, &before.id);
                        prop_assert_eq!(&changed.tracking_number, &before.tracking_number);
                        prop_assert_eq!(changed.created_at, before.created_at);
                        shipment = changed;
                    }
                    Err(error) => {
                        prop_assert!(!before.status.can_move_to(to));
                        prop_assert_eq!(error, TransitionError { from: before.status, to });
                    }
                }
            }
        }
    }
}
