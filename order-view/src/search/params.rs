//! The query parameters of `GET /orders` that both designs take with one meaning, parsed and
//! checked here so that either design refuses a request the same way, with the same message.
//!
//! Each design splits the query string and parses what is its own (`customer_id`, `sort`,
//! `include_incomplete`), and calls these, in the order of its parameters, for the rest.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;

use super::{Cursor, DEFAULT_LIMIT, MAX_LIMIT, SearchText, SortOrder};
use crate::{OrderStatus, PaymentStatus, ShipmentStatus};

/// A search parameter that cannot be used, and why: a 400 naming `field`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SearchParamError {
    pub field: &'static str,
    pub message: String,
}

impl SearchParamError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        SearchParamError { field, message: message.into() }
    }
}

/// The filters both designs apply: on the order's status, any payment's or shipment's status,
/// when it was placed and its total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchFilters {
    pub status: Option<OrderStatus>,
    /// Any payment of the order.
    pub payment_status: Option<PaymentStatus>,
    /// Any shipment of the order.
    pub shipment_status: Option<ShipmentStatus>,
    /// Inclusive.
    pub placed_from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub placed_to: Option<DateTime<Utc>>,
    /// Minor units, inclusive.
    pub min_total: Option<i64>,
    /// Minor units, inclusive.
    pub max_total: Option<i64>,
}

impl SearchFilters {
    /// `status`, `payment_status`, `shipment_status`, `placed_from`, `placed_to`, `min_total`
    /// and `max_total`, checked in that order; a range that is empty is refused.
    pub fn parse(params: &HashMap<String, String>) -> Result<SearchFilters, SearchParamError> {
        let status = parse_status::<OrderStatus>(params, "status")?;
        let payment_status = parse_status::<PaymentStatus>(params, "payment_status")?;
        let shipment_status = parse_status::<ShipmentStatus>(params, "shipment_status")?;
        let placed_from = parse_instant(params, "placed_from")?;
        let placed_to = parse_instant(params, "placed_to")?;
        if let (Some(from), Some(to)) = (placed_from, placed_to)
            && from >= to
        {
            return Err(SearchParamError::new("placed_to", "placed_to must be later than placed_from"));
        }
        let min_total = parse_amount(params, "min_total")?;
        let max_total = parse_amount(params, "max_total")?;
        if let (Some(min), Some(max)) = (min_total, max_total)
            && min > max
        {
            return Err(SearchParamError::new("max_total", "max_total must not be less than min_total"));
        }
        Ok(SearchFilters { status, payment_status, shipment_status, placed_from, placed_to, min_total, max_total })
    }
}

/// `q`; `None` when absent or when nothing searchable is left.
pub fn parse_text(params: &HashMap<String, String>) -> Result<Option<SearchText>, SearchParamError> {
    match params.get("q") {
        Some(raw) => SearchText::parse(raw).map_err(|error| SearchParamError::new("q", error.to_string())),
        None => Ok(None),
    }
}

/// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub fn parse_limit(params: &HashMap<String, String>) -> Result<usize, SearchParamError> {
    let Some(raw) = params.get("limit") else {
        return Ok(DEFAULT_LIMIT);
    };
    raw.parse::<usize>()
        .ok()
        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
        .ok_or_else(|| SearchParamError::new("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}")))
}

/// `cursor`, which must come from a search with the same `sort`.
pub fn parse_cursor(params: &HashMap<String, String>, sort: SortOrder) -> Result<Option<Cursor>, SearchParamError> {
    let Some(raw) = params.get("cursor") else {
        return Ok(None);
    };
    let cursor = Cursor::decode(raw).map_err(|error| SearchParamError::new("cursor", error.to_string()))?;
    if cursor.sort != sort {
        return Err(SearchParamError::new("cursor", "cursor belongs to a search with another sort order"));
    }
    Ok(Some(cursor))
}

/// A status symbol such as `CAPTURED`, in any case.
fn parse_status<T: DeserializeOwned>(
    params: &HashMap<String, String>,
    field: &'static str,
) -> Result<Option<T>, SearchParamError> {
    let Some(raw) = params.get(field) else {
        return Ok(None);
    };
    serde_json::from_value(serde_json::Value::String(raw.to_ascii_uppercase()))
        .map(Some)
        .map_err(|_| SearchParamError::new(field, format!("{field} {raw:?} is not a known status")))
}

/// An RFC 3339 time, or a `YYYY-MM-DD` date meaning its midnight UTC.
fn parse_instant(
    params: &HashMap<String, String>,
    field: &'static str,
) -> Result<Option<DateTime<Utc>>, SearchParamError> {
    let Some(raw) = params.get(field) else {
        return Ok(None);
    };
    if let Ok(instant) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(instant.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|midnight| Some(midnight.and_utc()))
        .ok_or_else(|| SearchParamError::new(field, format!("{field} must be an RFC 3339 time or a YYYY-MM-DD date")))
}

/// An amount in minor units, 0 or more.
fn parse_amount(params: &HashMap<String, String>, field: &'static str) -> Result<Option<i64>, SearchParamError> {
    let Some(raw) = params.get(field) else {
        return Ok(None);
    };
    raw.parse::<i64>().ok().filter(|amount| *amount >= 0).map(Some).ok_or_else(|| {
        SearchParamError::new(field, format!("{field} must be a whole number of minor units, 0 or more"))
    })
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::search::CursorKey;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    fn field_of<T: std::fmt::Debug>(parsed: Result<T, SearchParamError>) -> &'static str {
        match parsed {
            Err(error) => error.field,
            Ok(value) => panic!("expected a refusal, got {value:?}"),
        }
    }

    #[test]
    fn every_filter_parses() {
        let filters = SearchFilters::parse(&params(&[
            ("status", "placed"),
            ("payment_status", "CAPTURED"),
            ("shipment_status", "in_transit"),
            ("placed_from", "2026-01-01"),
            ("placed_to", "2026-02-01T00:00:00Z"),
            ("min_total", "0"),
            ("max_total", "900"),
        ]))
        .expect("parses");
        assert_eq!(filters.status, Some(OrderStatus::Placed));
        assert_eq!(filters.payment_status, Some(PaymentStatus::Captured));
        assert_eq!(filters.shipment_status, Some(ShipmentStatus::InTransit));
        assert_eq!(filters.placed_from.map(|from| from.to_rfc3339()).as_deref(), Some("2026-01-01T00:00:00+00:00"));
        assert_eq!((filters.min_total, filters.max_total), (Some(0), Some(900)));
        assert_eq!(SearchFilters::parse(&params(&[])), Ok(SearchFilters::default()));
    }

    #[test]
    fn a_bad_filter_names_its_parameter() {
        assert_eq!(field_of(SearchFilters::parse(&params(&[("status", "SHIPPED")]))), "status");
        assert_eq!(field_of(SearchFilters::parse(&params(&[("payment_status", "PLACED")]))), "payment_status");
        assert_eq!(field_of(SearchFilters::parse(&params(&[("placed_from", "yesterday")]))), "placed_from");
        let empty_range = params(&[("placed_from", "2026-02-01"), ("placed_to", "2026-02-01")]);
        assert_eq!(field_of(SearchFilters::parse(&empty_range)), "placed_to");
        assert_eq!(field_of(SearchFilters::parse(&params(&[("min_total", "-1")]))), "min_total");
        let inverted = params(&[("min_total", "500"), ("max_total", "100")]);
        assert_eq!(field_of(SearchFilters::parse(&inverted)), "max_total");
        assert_eq!(field_of(parse_text(&params(&[("q", "\"open")]))), "q");
    }

    #[test]
    fn limit_is_one_to_the_maximum_and_defaults() {
        assert_eq!(parse_limit(&params(&[])), Ok(DEFAULT_LIMIT));
        assert_eq!(parse_limit(&params(&[("limit", "1")])), Ok(1));
        assert_eq!(parse_limit(&params(&[("limit", &MAX_LIMIT.to_string())])), Ok(MAX_LIMIT));
        for refused in ["0", "101", "-1", "ten"] {
            assert_eq!(field_of(parse_limit(&params(&[("limit", refused)]))), "limit", "{refused}");
        }
    }

    #[test]
    fn a_cursor_must_decode_and_name_the_same_sort() {
        let cursor = Cursor { sort: SortOrder::Total, key: CursorKey::Integer(1), order_id: Uuid::nil() };
        let given = params(&[("cursor", &cursor.encode())]);
        assert_eq!(parse_cursor(&given, SortOrder::Total), Ok(Some(cursor)));
        assert_eq!(field_of(parse_cursor(&given, SortOrder::Newest)), "cursor");
        assert_eq!(field_of(parse_cursor(&params(&[("cursor", "%%%")]), SortOrder::Total)), "cursor");
        assert_eq!(parse_cursor(&params(&[]), SortOrder::Total), Ok(None));
    }
}
