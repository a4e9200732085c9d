//! Strict query-string parameters for read APIs: every parameter is known and given once, and
//! each malformed value becomes an error that names its parameter. Both read designs parse the
//! same search parameters with these, so a request is refused the same way by either.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};

/// A parameter that cannot be used, and why; becomes a 400 naming `field`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// The parameter at fault, or `query` for the query string as a whole.
    pub field: &'static str,
    pub message: String,
}

impl ParamError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        ParamError { field, message: message.into() }
    }
}

/// Decodes a query string into single values, refusing unknown and repeated parameters.
pub fn parse_query(raw: Option<&str>, known: &[&'static str]) -> Result<HashMap<String, String>, ParamError> {
    let mut params = HashMap::new();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| ParamError::new("query", "query string is malformed"))?;
    for (name, value) in pairs {
        let Some(known_name) = known.iter().find(|known| **known == name) else {
            return Err(ParamError::new("query", format!("unknown parameter {name:?}; known: {}", known.join(", "))));
        };
        if params.insert(name, value).is_some() {
            return Err(ParamError::new(known_name, format!("{known_name} is given more than once")));
        }
    }
    Ok(params)
}

/// A status symbol such as `CAPTURED`, in any case.
pub fn parse_symbol<T: serde::de::DeserializeOwned>(field: &'static str, raw: &str) -> Result<T, ParamError> {
    serde_json::from_value(serde_json::Value::String(raw.to_ascii_uppercase()))
        .map_err(|_| ParamError::new(field, format!("{field} {raw:?} is not a known status")))
}

/// A customer id, requested in `customer_id` or held by a customer token: one order-svc could
/// have placed an order under, so that both designs refuse the same ids with the same 400.
pub fn parse_customer_id(raw: &str) -> Result<String, ParamError> {
    crate::values::CustomerId::parse("customer_id", raw)
        .map(|id| id.as_str().to_string())
        .map_err(|error| ParamError::new("customer_id", format!("customer_id {}", error.message)))
}

/// An RFC 3339 time, or a `YYYY-MM-DD` date meaning its midnight UTC.
pub fn parse_instant(field: &'static str, raw: &str) -> Result<DateTime<Utc>, ParamError> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(raw) {
        return Ok(instant.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
        .ok_or_else(|| ParamError::new(field, format!("{field} must be an RFC 3339 time or a YYYY-MM-DD date")))
}

/// A cursor that cannot be decoded; it was not passed back unchanged.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("cursor is malformed; pass back the next_cursor of a previous page unchanged")]
pub struct MalformedCursor;

/// An opaque pagination cursor: base64url (no padding) of the position's JSON.
pub fn encode_cursor<T: serde::Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

pub fn decode_cursor<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, MalformedCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| MalformedCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| MalformedCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_repeated_and_malformed_parameters_name_the_field() {
        assert_eq!(parse_query(Some("a=1&b=2"), &["a", "b"]).expect("parses").len(), 2);
        assert_eq!(parse_query(Some("color=red"), &["a"]).unwrap_err().field, "query");
        assert_eq!(parse_query(Some("a=1&a=2"), &["a"]).unwrap_err().field, "a");
        assert_eq!(parse_symbol::<String>("status", "placed").expect("any string"), "PLACED");
        assert_eq!(parse_instant("from", "2026-01-02").expect("a date").to_rfc3339(), "2026-01-02T00:00:00+00:00");
        assert_eq!(parse_instant("from", "yesterday").unwrap_err().field, "from");
    }
}
