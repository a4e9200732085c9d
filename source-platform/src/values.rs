//! Value objects the source services share, parsed once at the edge so that the domain only
//! ever sees valid values.

use std::fmt;
use std::marker::PhantomData;

use platform::http::FieldError;
use serde::Deserialize;
use uuid::Uuid;

/// ISO 4217 codes this system accepts, with their minor units (decimal places).
const CURRENCIES: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("MXN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PLN", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("USD", 2),
    ("ZAR", 2),
];

/// An ISO 4217 currency code known to this system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency(&'static str);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, String> {
        CURRENCIES
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(known, _)| Currency(known))
            .ok_or_else(|| format!("unknown currency {code:?}; use an iso 4217 code such as EUR"))
    }

    pub fn code(self) -> &'static str {
        self.0
    }
}

/// ISO 3166-1 alpha-2 codes this system ships to.
const COUNTRIES: &[&str] = &[
    "AT", "AU", "BE", "BR", "CA", "CH", "CN", "CZ", "DE", "DK", "ES", "FI", "FR", "GB", "GR", "HU", "IE", "IN", "IT",
    "JP", "KR", "LU", "MX", "NL", "NO", "NZ", "PL", "PT", "SE", "SG", "TR", "US", "ZA",
];

/// An ISO 3166-1 alpha-2 country code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountryCode(&'static str);

impl CountryCode {
    pub fn parse(code: &str) -> Result<Self, String> {
        COUNTRIES
            .iter()
            .find(|known| **known == code)
            .map(|known| CountryCode(known))
            .ok_or_else(|| format!("unknown country {code:?}; use an iso 3166-1 alpha-2 code such as NL"))
    }

    pub fn code(self) -> &'static str {
        self.0
    }
}

/// Text that is not blank after trimming and at most `max_chars` characters long.
pub fn bounded_text(field: &str, raw: &str, max_chars: usize) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "must not be blank"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(FieldError::new(field, format!("must be at most {max_chars} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(trimmed.to_string())
}

/// A postal address as clients send it.
#[derive(Clone, Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `NL`.
    pub country: String,
}

impl AddressInput {
    /// Validates every part; `field` is the address's own field name, e.g. `shipping_address`.
    pub fn parse(&self, field: &str) -> Result<events::Address, FieldError> {
        let line2 = match self.line2.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(line2) => Some(bounded_text(&format!("{field}.line2"), line2, 200)?),
        };
        let country = CountryCode::parse(self.country.trim())
            .map_err(|message| FieldError::new(format!("{field}.country"), message))?;
        Ok(events::Address {
            line1: bounded_text(&format!("{field}.line1"), &self.line1, 200)?,
            line2,
            city: bounded_text(&format!("{field}.city"), &self.city, 100)?,
            postal_code: bounded_text(&format!("{field}.postal_code"), &self.postal_code, 20)?,
            country: country.code().to_string(),
        })
    }
}

/// The length of a UUID's canonical hyphenated text form.
const HYPHENATED_UUID_LEN: usize = 36;

/// Why a text is not an entity id. Each service words the message for its own API docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidEntityId {
    /// Not a UUID in its hyphenated form (simple, braced and urn forms are refused too).
    NotHyphenatedUuid,
    /// The nil UUID, which is never a real id.
    NilUuid,
}

/// Parses an entity id: a non-nil UUID in its hyphenated form, in either case.
///
/// Other spellings `uuid` accepts (simple, braced, urn) are refused so that an id has exactly
/// one spelling in URLs, rows, events and Kafka record keys.
pub fn parse_entity_id(raw: &str) -> Result<Uuid, InvalidEntityId> {
    if raw.len() != HYPHENATED_UUID_LEN {
        return Err(InvalidEntityId::NotHyphenatedUuid);
    }
    let uuid = Uuid::try_parse(raw).map_err(|_| InvalidEntityId::NotHyphenatedUuid)?;
    if uuid.is_nil() {
        return Err(InvalidEntityId::NilUuid);
    }
    Ok(uuid)
}

/// What distinguishes one kind of entity id from another: its own type, so that a payment id
/// cannot be passed where an order id belongs, and the wording of a refusal, which each service
/// documents for its API.
pub trait EntityIdKind {
    /// The message for `raw`, which is not an id for the reason `invalid`.
    fn invalid_id_message(raw: &str, invalid: InvalidEntityId) -> String;
}

/// An entity's id: a non-nil UUID, v7 when this system makes it, so ids sort by creation time.
/// It prints in the canonical lowercase hyphenated form, which is how it is stored, put on the
/// wire and used as the Kafka record key.
pub struct EntityId<Kind> {
    uuid: Uuid,
    kind: PhantomData<Kind>,
}

impl<Kind: EntityIdKind> EntityId<Kind> {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self::from_uuid(Uuid::now_v7())
    }

    /// Parses the one spelling of an id (see [`parse_entity_id`]), refusing in `Kind`'s words.
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_entity_id(raw).map(Self::from_uuid).map_err(|invalid| Kind::invalid_id_message(raw, invalid))
    }
}

impl<Kind> EntityId<Kind> {
    fn from_uuid(uuid: Uuid) -> Self {
        Self { uuid, kind: PhantomData }
    }

    pub fn as_uuid(self) -> Uuid {
        self.uuid
    }
}

// Written out rather than derived: a derive would demand the same traits of `Kind`, a marker
// type that never exists as a value.
impl<Kind> Clone for EntityId<Kind> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Kind> Copy for EntityId<Kind> {}

impl<Kind> PartialEq for EntityId<Kind> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}

impl<Kind> Eq for EntityId<Kind> {}

impl<Kind> std::hash::Hash for EntityId<Kind> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.uuid.hash(state);
    }
}

impl<Kind> PartialOrd for EntityId<Kind> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<Kind> Ord for EntityId<Kind> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.uuid.cmp(&other.uuid)
    }
}

impl<Kind> fmt::Debug for EntityId<Kind> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

impl<Kind> fmt::Display for EntityId<Kind> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uuid.hyphenated().fmt(formatter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_ids_are_non_nil_hyphenated_uuids_in_either_case() {
        let lowercase = parse_entity_id("0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a").expect("valid");
        assert_eq!(parse_entity_id("0190B0A4-7C9E-7D3C-9A40-2F5D8C1E6B7A"), Ok(lowercase));
        for raw in [
            "",
            "0190b0a47c9e7d3c9a402f5d8c1e6b7a",
            "{0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a}",
            "urn:uuid:0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7a",
            " 0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7",
            "0190b0a4-7c9e-7d3c-9a40-2f5d8c1e6b7z",
        ] {
            assert_eq!(parse_entity_id(raw), Err(InvalidEntityId::NotHyphenatedUuid), "{raw:?}");
        }
        assert_eq!(parse_entity_id("00000000-0000-0000-0000-000000000000"), Err(InvalidEntityId::NilUuid));
    }

    #[test]
    fn currencies_are_known_iso_codes() {
        assert_eq!(Currency::parse("EUR").map(Currency::code), Ok("EUR"));
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("XXX").is_err());
    }

    #[test]
    fn addresses_name_the_bad_part() {
        let mut address = AddressInput {
            line1: " Keizersgracht 1 ".to_string(),
            line2: Some("  ".to_string()),
            city: "Amsterdam".to_string(),
            postal_code: "1015 CJ".to_string(),
            country: "NL".to_string(),
        };
        let parsed = address.parse("shipping_address").expect("valid");
        assert_eq!(parsed.line1, "Keizersgracht 1");
        assert_eq!(parsed.line2, None);
        address.country = "Netherlands".to_string();
        assert_eq!(address.parse("shipping_address").unwrap_err().field, "shipping_address.country");
        address.country = "NL".to_string();
        address.city = " ".to_string();
        assert_eq!(address.parse("shipping_address").unwrap_err().field, "shipping_address.city");
    }
}
