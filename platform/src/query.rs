//! Strict query-string parameters for read APIs: every parameter is known and given once, and
//! each malformed value becomes an error that names its parameter. The search parameters both
//! read designs take are parsed by `order_view::search`.

use std::collections::HashMap;

use crate::http::FieldError;

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

/// A customer id, requested in `customer_id` or held by a customer token: one order-svc could
/// have placed an order under, so that both designs refuse the same ids with the same 400.
pub fn parse_customer_id(raw: &str) -> Result<String, ParamError> {
    CustomerId::parse("customer_id", raw)
        .map(|id| id.as_str().to_string())
        .map_err(|error| ParamError::new("customer_id", format!("customer_id {}", error.message)))
}

pub const MAX_CUSTOMER_ID_LEN: usize = 64;

/// The customer's id in the system that owns customers: 1 to 64 visible ASCII characters.
///
/// It is an id, not text: it is neither trimmed nor case-folded, because the composer and the
/// projection filter on it byte for byte. order-svc takes it when an order is placed; both read
/// designs refuse a search for one that cannot exist, the same way.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        if raw.len() > MAX_CUSTOMER_ID_LEN {
            return Err(FieldError::new(field, format!("must be at most {MAX_CUSTOMER_ID_LEN} characters")));
        }
        if !raw.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(FieldError::new(field, "must be visible ascii characters without spaces"));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_repeated_and_malformed_parameters_name_the_field() {
        assert_eq!(parse_query(Some("a=1&b=2"), &["a", "b"]).expect("parses").len(), 2);
        assert_eq!(parse_query(Some("color=red"), &["a"]).unwrap_err().field, "query");
        assert_eq!(parse_query(Some("a=1&a=2"), &["a"]).unwrap_err().field, "a");
    }
}
