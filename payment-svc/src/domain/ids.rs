//! Identifiers: UUIDs in their canonical, hyphenated text form.

use source_platform::values::{EntityId, EntityIdKind, InvalidEntityId};

/// A payment's id: a UUID v7 when this service makes it, so ids sort by creation time.
pub type PaymentId = EntityId<PaymentIdKind>;

/// The id of the order a payment is for. Owned by order-svc; this service never checks that
/// the order exists (see `docs/payment-svc.md`, "No foreign keys across services").
pub type OrderId = EntityId<OrderIdKind>;

/// Marks a [`PaymentId`], so that it cannot be passed where an [`OrderId`] belongs.
pub enum PaymentIdKind {}

/// Marks an [`OrderId`].
pub enum OrderIdKind {}

impl EntityIdKind for PaymentIdKind {
    fn invalid_id_message(raw: &str, invalid: InvalidEntityId) -> String {
        invalid_id_message(raw, invalid)
    }
}

impl EntityIdKind for OrderIdKind {
    fn invalid_id_message(raw: &str, invalid: InvalidEntityId) -> String {
        invalid_id_message(raw, invalid)
    }
}

/// Why `raw` is not an id, worded as `docs/payment-svc.md` documents it.
fn invalid_id_message(raw: &str, invalid: InvalidEntityId) -> String {
    match invalid {
        InvalidEntityId::NotHyphenatedUuid => {
            format!("must be a uuid such as 0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a, got {raw:?}")
        }
        InvalidEntityId::NilUuid => "must not be the nil uuid".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uuids_parse_and_print_back_lowercase() {
        let id = PaymentId::parse("0190B0A4-7C9E-7D3C-9A40-2F5D8C1E6B7A").expect("valid");
        assert_eq!(id.to_string(), "0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a");
        let order = OrderId::parse("0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a").expect("valid");
        assert_eq!(order.to_string(), "0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a");
    }

    #[test]
    fn other_spellings_and_garbage_are_refused() {
        for raw in [
            "",
            "42",
            "not-a-uuid",
            "0190b0a47c9e7d3c9a402f5d8c1e6b7a",
            "{0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a}",
            "urn:uuid:0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a",
            "0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7z",
            " 0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7",
        ] {
            assert!(PaymentId::parse(raw).is_err(), "{raw:?} must be refused");
            assert!(OrderId::parse(raw).is_err(), "{raw:?} must be refused");
        }
    }

    #[test]
    fn the_nil_uuid_is_refused() {
        let error = OrderId::parse("00000000-0000-0000-0000-000000000000").unwrap_err();
        assert_eq!(error, "must not be the nil uuid");
    }

    #[test]
    fn generated_ids_round_trip_and_sort_by_creation() {
        let first = PaymentId::generate();
        let second = PaymentId::generate();
        assert_eq!(PaymentId::parse(&first.to_string()), Ok(first));
        assert!(first < second);
    }
}
