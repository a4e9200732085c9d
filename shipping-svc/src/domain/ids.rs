//! Identifiers. Both are UUIDs kept in their canonical lowercase hyphenated form, which is how
//! they are stored, put on the wire and used as the Kafka record key.

use std::fmt;

use uuid::Uuid;

/// A shipment's id: a UUID v7 chosen by this service, so ids sort in creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShipmentId(Uuid);

impl ShipmentId {
    /// A fresh id for a new shipment.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_uuid(raw).map(Self)
    }

    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for ShipmentId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(formatter)
    }
}

/// The id of the order a shipment delivers. It is owned by order-svc and never checked against
/// it: the services are autonomous and hold no references across their databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderId(Uuid);

impl OrderId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_uuid(raw).map(Self)
    }

    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(formatter)
    }
}

/// Accepts the hyphenated form only, in either case: one spelling per id keeps URLs, keys and
/// log lines greppable. The nil UUID is never a real id.
fn parse_uuid(raw: &str) -> Result<Uuid, String> {
    let must_be_a_uuid = || "must be a uuid such as 0190163d-8694-739b-aea5-966c26f8ad91".to_string();
    if raw.len() != 36 {
        return Err(must_be_a_uuid());
    }
    let uuid = Uuid::try_parse(raw).map_err(|_| must_be_a_uuid())?;
    if uuid.is_nil() {
        return Err("must not be the nil uuid".to_string());
    }
    Ok(uuid)
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
