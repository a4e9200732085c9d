//! Identifiers. Both are UUIDs kept in their canonical lowercase hyphenated form, which is how
//! they are stored, put on the wire and used as the Kafka record key.

use source_platform::values::{EntityId, EntityIdKind, InvalidEntityId};

/// A shipment's id: a UUID v7 chosen by this service, so ids sort in creation order.
pub type ShipmentId = EntityId<ShipmentIdKind>;

/// The id of the order a shipment delivers. It is owned by order-svc and never checked against
/// it: the services are autonomous and hold no references across their databases.
pub type OrderId = EntityId<OrderIdKind>;

/// Marks a [`ShipmentId`], so that it cannot be passed where an [`OrderId`] belongs.
pub enum ShipmentIdKind {}

/// Marks an [`OrderId`].
pub enum OrderIdKind {}

impl EntityIdKind for ShipmentIdKind {
    fn invalid_id_message(_raw: &str, invalid: InvalidEntityId) -> String {
        invalid_id_message(invalid)
    }
}

impl EntityIdKind for OrderIdKind {
    fn invalid_id_message(_raw: &str, invalid: InvalidEntityId) -> String {
        invalid_id_message(invalid)
    }
}

/// Why a text is not an id, worded as `docs/shipping-svc.md` documents it (without the text).
fn invalid_id_message(invalid: InvalidEntityId) -> String {
    match invalid {
        InvalidEntityId::NotHyphenatedUuid => "must be a uuid such as 0190163d-8694-739b-aea5-966c26f8ad91".to_string(),
        InvalidEntityId::NilUuid => "must not be the nil uuid".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_hyphenated_uuids_and_print_them_lowercase() {
        let id = ShipmentId::parse("0190163D-8694-739B-AEA5-966C26F8AD91").expect("valid");
        assert_eq!(id.to_string(), "0190163d-8694-739b-aea5-966c26f8ad91");
        let order = OrderId::parse("0190163d-8694-739b-aea5-966c26f8ad91").expect("valid");
        assert_eq!(order.to_string(), "0190163d-8694-739b-aea5-966c26f8ad91");
    }

    #[test]
    fn anything_but_a_hyphenated_non_nil_uuid_is_rejected() {
        for raw in [
            "",
            "42",
            "not-a-uuid",
            "0190163d8694739baea5966c26f8ad91",
            "{0190163d-8694-739b-aea5-966c26f8ad91}",
            "urn:uuid:0190163d-8694-739b-aea5-966c26f8ad91",
            " 0190163d-8694-739b-aea5-966c26f8ad91",
            "0190163d-8694-739b-aea5-966c26f8ad9g",
            "00000000-0000-0000-0000-000000000000",
        ] {
            assert!(ShipmentId::parse(raw).is_err(), "{raw:?}");
            assert!(OrderId::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn generated_shipment_ids_are_v7_and_round_trip() {
        let id = ShipmentId::generate();
        assert_eq!(id.as_uuid().get_version_num(), 7);
        assert_eq!(ShipmentId::parse(&id.to_string()), Ok(id));
    }
}
