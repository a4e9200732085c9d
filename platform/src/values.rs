//! Value objects the source services share, parsed once at the edge so that the domain only
//! ever sees valid values.

use serde::Deserialize;

/// A field that failed validation, with a lowercase message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
