//! The payment aggregate and its state machine.
//!
//! ```text
//!   create ──► AUTHORIZED ──capture──► CAPTURED ──refund──► REFUNDED
//!        └───► DECLINED
//! ```
//! DECLINED and REFUNDED are final. Every change raises the version by exactly one, and each
//! status is reached by exactly one kind of event, so the event type follows from the status.

use chrono::{DateTime, Utc};
use events::PaymentEventType;
use source_platform::values::Currency;
use uuid::Uuid;

use crate::domain::{Amount, Authorization, OrderId, PaymentId, PaymentMethod, PaymentRules};

/// Where a payment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Authorized,
    Declined,
    Captured,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [Self; 4] = [Self::Authorized, Self::Declined, Self::Captured, Self::Refunded];

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| format!("unknown payment status {raw:?}"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorized => "AUTHORIZED",
            Self::Declined => "DECLINED",
            Self::Captured => "CAPTURED",
            Self::Refunded => "REFUNDED",
        }
    }

    pub fn to_event(self) -> events::PaymentStatus {
        match self {
            Self::Authorized => events::PaymentStatus::Authorized,
            Self::Declined => events::PaymentStatus::Declined,
            Self::Captured => events::PaymentStatus::Captured,
            Self::Refunded => events::PaymentStatus::Refunded,
        }
    }

    /// The event that announces a change into this status.
    pub fn announced_by(self) -> PaymentEventType {
        match self {
            Self::Authorized => PaymentEventType::PaymentAuthorized,
            Self::Declined => PaymentEventType::PaymentDeclined,
            Self::Captured => PaymentEventType::PaymentCaptured,
            Self::Refunded => PaymentEventType::PaymentRefunded,
        }
    }
}

/// A change a client asks for on an existing payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentAction {
    Capture,
    Refund,
}

impl PaymentAction {
    pub const ALL: [Self; 2] = [Self::Capture, Self::Refund];

    pub fn verb(self) -> &'static str {
        match self {
            Self::Capture => "capture",
            Self::Refund => "refund",
        }
    }

    /// The status this action leads to from `current`, or `None` when it is not allowed there.
    ///
    /// Every pair is spelled out, without a wildcard, so that a new status or action cannot
    /// compile until someone decides what it means here.
    pub fn next_status(self, current: PaymentStatus) -> Option<PaymentStatus> {
        match (self, current) {
            (Self::Capture, PaymentStatus::Authorized) => Some(PaymentStatus::Captured),
            (Self::Capture, PaymentStatus::Declined) => None,
            (Self::Capture, PaymentStatus::Captured) => None,
            (Self::Capture, PaymentStatus::Refunded) => None,
            (Self::Refund, PaymentStatus::Authorized) => None,
            (Self::Refund, PaymentStatus::Declined) => None,
            (Self::Refund, PaymentStatus::Captured) => Some(PaymentStatus::Refunded),
            (Self::Refund, PaymentStatus::Refunded) => None,
        }
    }
}

/// An action that the payment's current status does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a payment that is {}", .action.verb(), .current.as_str())]
pub struct TransitionRefused {
    pub action: PaymentAction,
    pub current: PaymentStatus,
}

/// A validated request for a new payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewPayment {
    pub order_id: OrderId,
    pub amount: Amount,
    pub currency: Currency,
    pub method: PaymentMethod,
}

/// A payment as this service owns it.
///
/// Invariants: `decline_reason` is set exactly when the status is DECLINED; `version` starts
/// at 1 and grows by one per change; `created_at <= updated_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub amount: Amount,
    pub currency: Currency,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub decline_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    /// A new payment, authorized or declined by `rules`, at version 1.
    pub fn open(id: PaymentId, request: NewPayment, rules: PaymentRules, now: DateTime<Utc>) -> Self {
        let (status, decline_reason) = match rules.authorize(request.amount) {
            Authorization::Authorized => (PaymentStatus::Authorized, None),
            Authorization::Declined { reason } => (PaymentStatus::Declined, Some(reason.to_string())),
        };
        Self {
            id,
            order_id: request.order_id,
            amount: request.amount,
            currency: request.currency,
            method: request.method,
            status,
            decline_reason,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The payment after `action`, one version later, or why the current status forbids it.
    pub fn apply(&self, action: PaymentAction, now: DateTime<Utc>) -> Result<Self, TransitionRefused> {
        let Some(next_status) = action.next_status(self.status) else {
            return Err(TransitionRefused { action, current: self.status });
        };
        debug_assert!(self.version >= 1, "a stored payment starts at version 1");
        Ok(Self {
            status: next_status,
            version: self.version + 1,
            // a wall clock that stepped back must not make a change look older than the last one
            updated_at: now.max(self.updated_at),
            ..self.clone()
        })
    }

    /// The event announcing this payment's current state, for the `payments` topic.
    pub fn to_event(&self, event_id: Uuid) -> events::PaymentEvent {
        events::PaymentEvent {
            event_id,
            event_type: self.status.announced_by(),
            occurred_at: self.updated_at,
            order_id: self.order_id.as_uuid(),
            aggregate_id: self.id.as_uuid(),
            aggregate_version: self.version,
            payment: events::Payment {
                payment_id: self.id.as_uuid(),
                order_id: self.order_id.as_uuid(),
                amount: events::Money {
                    amount_minor: self.amount.minor_units(),
                    currency: self.currency.code().to_string(),
                },
                method: self.method.to_event(),
                status: self.status.to_event(),
                decline_reason: self.decline_reason.clone(),
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::AMOUNT_ABOVE_LIMIT_REASON;

    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).expect("valid timestamp")
    }

    fn new_payment(minor_units: i64) -> NewPayment {
        NewPayment {
            order_id: OrderId::parse("0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a").expect("valid"),
            amount: Amount::parse(minor_units).expect("valid"),
            currency: Currency::parse("EUR").expect("valid"),
            method: PaymentMethod::Card,
        }
    }

    fn payment_in(status: PaymentStatus) -> Payment {
        let mut payment = Payment::open(PaymentId::generate(), new_payment(4_200), PaymentRules::default(), at(1_000));
        payment.status = status;
        payment.decline_reason = (status == PaymentStatus::Declined).then(|| AMOUNT_ABOVE_LIMIT_REASON.to_string());
        payment.version = 3;
        payment
    }

    #[test]
    fn a_payment_within_the_limit_opens_authorized_at_version_one() {
        let id = PaymentId::generate();
        let payment = Payment::open(id, new_payment(100_000), PaymentRules::default(), at(1_000));
        assert_eq!(payment.id, id);
        assert_eq!(payment.status, PaymentStatus::Authorized);
        assert_eq!(payment.decline_reason, None);
        assert_eq!(payment.version, 1);
        assert_eq!((payment.created_at, payment.updated_at), (at(1_000), at(1_000)));
    }

    #[test]
    fn a_payment_above_the_limit_opens_declined_with_the_reason() {
        let payment = Payment::open(PaymentId::generate(), new_payment(100_001), PaymentRules::default(), at(1_000));
        assert_eq!(payment.status, PaymentStatus::Declined);
        assert_eq!(payment.decline_reason.as_deref(), Some("amount above the authorization limit"));
        assert_eq!(payment.version, 1);
    }

    /// Every (action, status) pair, with the one outcome each must have.
    #[test]
    fn every_transition_pair_has_its_expected_outcome() {
        use PaymentAction::{Capture, Refund};
        use PaymentStatus::{Authorized, Captured, Declined, Refunded};
        let table = [
            (Capture, Authorized, Some(Captured)),
            (Capture, Declined, None),
            (Capture, Captured, None),
            (Capture, Refunded, None),
            (Refund, Authorized, None),
            (Refund, Declined, None),
            (Refund, Captured, Some(Refunded)),
            (Refund, Refunded, None),
        ];
        assert_eq!(table.len(), PaymentAction::ALL.len() * PaymentStatus::ALL.len(), "the table covers every pair");
        for (action, current, expected) in table {
            assert_eq!(action.next_status(current), expected, "{action:?} from {current:?}");
            let before = payment_in(current);
            let outcome = before.apply(action, at(2_000));
            match expected {
                Some(next_status) => {
                    let after = outcome.expect("allowed");
                    assert_eq!(after.status, next_status);
                    assert_eq!(after.version, before.version + 1);
                    assert_eq!(after.updated_at, at(2_000));
                    assert_eq!(after.created_at, before.created_at);
                    let unchanged = Payment {
                        status: before.status,
                        version: before.version,
                        updated_at: before.updated_at,
                        ..after.clone()
                    };
                    assert_eq!(unchanged, before, "only status, version and updated_at change");
                }
                None => {
                    assert_eq!(outcome, Err(TransitionRefused { action, current }));
                }
            }
        }
    }

    #[test]
    fn a_refusal_names_the_action_and_the_current_status() {
        let refused = payment_in(PaymentStatus::Declined).apply(PaymentAction::Capture, at(2_000)).unwrap_err();
        assert_eq!(refused.to_string(), "cannot capture a payment that is DECLINED");
        let refused = payment_in(PaymentStatus::Authorized).apply(PaymentAction::Refund, at(2_000)).unwrap_err();
        assert_eq!(refused.to_string(), "cannot refund a payment that is AUTHORIZED");
    }

    #[test]
    fn updated_at_never_goes_back_when_the_clock_does() {
        let before = payment_in(PaymentStatus::Authorized);
        let after = before.apply(PaymentAction::Capture, before.updated_at - TimeDelta::seconds(5)).expect("allowed");
        assert_eq!(after.updated_at, before.updated_at);
    }

    #[test]
    fn each_status_is_announced_by_its_own_event_type() {
        let event_types: std::collections::HashSet<_> =
            PaymentStatus::ALL.into_iter().map(PaymentStatus::announced_by).collect();
        assert_eq!(event_types.len(), PaymentStatus::ALL.len());
        for status in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(status.as_str()), Ok(status));
            let api = serde_json::to_value(status).expect("serializes");
            assert_eq!(api, serde_json::to_value(status.to_event()).expect("serializes"));
        }
        assert!(PaymentStatus::parse("authorized").is_err());
    }

    #[test]
    fn the_event_carries_the_full_state_after_the_change() {
        let opened = Payment::open(PaymentId::generate(), new_payment(4_200), PaymentRules::default(), at(1_000));
        let captured = opened.apply(PaymentAction::Capture, at(2_000)).expect("allowed");
        let event_id = Uuid::now_v7();
        let event = captured.to_event(event_id);
        assert_eq!(event.event_id, event_id);
        assert_eq!(event.event_type, PaymentEventType::PaymentCaptured);
        assert_eq!(event.occurred_at, at(2_000));
        assert_eq!(event.order_id, captured.order_id.as_uuid());
        assert_eq!(event.aggregate_id, captured.id.as_uuid());
        assert_eq!(event.aggregate_version, 2);
        assert_eq!(event.payment.payment_id, captured.id.as_uuid());
        assert_eq!(event.payment.order_id, captured.order_id.as_uuid());
        assert_eq!(event.payment.amount, events::Money { amount_minor: 4_200, currency: "EUR".to_string() });
        assert_eq!(event.payment.method, events::PaymentMethod::Card);
        assert_eq!(event.payment.status, events::PaymentStatus::Captured);
        assert_eq!(event.payment.decline_reason, None);
        assert_eq!((event.payment.created_at, event.payment.updated_at), (at(1_000), at(2_000)));

        let declined = Payment::open(PaymentId::generate(), new_payment(100_001), PaymentRules::default(), at(1_000));
        let event = declined.to_event(Uuid::now_v7());
        assert_eq!(event.event_type, PaymentEventType::PaymentDeclined);
        assert_eq!(event.payment.decline_reason.as_deref(), Some(AMOUNT_ABOVE_LIMIT_REASON));
    }

    fn any_action() -> impl Strategy<Value = PaymentAction> {
        prop_oneof![Just(PaymentAction::Capture), Just(PaymentAction::Refund)]
    }

    proptest! {
        /// Whatever clients ask for, in whatever order: the version counts the accepted
        /// changes, final statuses stay final, and the invariants of `Payment` hold.
        #[test]
        fn any_sequence_of_actions_keeps_the_invariants(
            minor_units in 1..=200_000i64,
            actions in proptest::collection::vec(any_action(), 0..8),
        ) {
            let mut payment = Payment::open(PaymentId::generate(), new_payment(minor_units), PaymentRules::default(), at(1_000));
            let mut accepted = 0;
            for (step, action) in actions.into_iter().enumerate() {
                let before = payment.status;
                match payment.apply(action, at(2_000 + step as i64)) {
                    Ok(after) => {
                        accepted += 1;
                        prop_assert!(!matches!(before, PaymentStatus::Declined | PaymentStatus::Refunded), "left a final status");
                        payment = after;
                    }
                    Err(refused) => prop_assert_eq!(refused.current, before),
                }
                prop_assert_eq!(payment.version, 1 + accepted);
                prop_assert_eq!(payment.decline_reason.is_some(), payment.status == PaymentStatus::Declined);
                prop_assert!(payment.created_at <= payment.updated_at);
            }
        }
    }
}
