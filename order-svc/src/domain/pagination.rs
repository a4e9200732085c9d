//! Keyset pagination over orders, newest first.
//!
//! Orders are listed by `(created_at, id)` descending; `id` breaks ties between orders placed in
//! the same millisecond, so the order is total. A cursor is the sort key of the last order of a
//! page, and the next page holds the orders strictly after it. An order placed while a client
//! pages sorts before every cursor it holds, so paging never skips or repeats an order.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform::http::FieldError;

use super::order::{Order, OrderId};

pub const DEFAULT_PAGE_LIMIT: u32 = 20;
pub const MAX_PAGE_LIMIT: u32 = 100;

/// How many orders one page holds: 1 to 100, 20 when not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    pub fn parse(field: &str, raw: Option<&str>) -> Result<Self, FieldError> {
        let Some(raw) = raw else {
            return Ok(Self(DEFAULT_PAGE_LIMIT));
        };
        match raw.parse::<u32>() {
            Ok(limit) if (1..=MAX_PAGE_LIMIT).contains(&limit) => Ok(Self(limit)),
            _ => Err(FieldError::new(field, format!("must be an integer between 1 and {MAX_PAGE_LIMIT}"))),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The sort key of the last order of a page; opaque to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderCursor {
    created_at_millis: i64,
    id: OrderId,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse cursor")]
pub struct InvalidCursor;

impl OrderCursor {
    /// The cursor for the page that follows `order`.
    pub fn after(order: &Order) -> Self {
        Self { created_at_millis: order.created_at().timestamp_millis(), id: order.id() }
    }

    pub fn created_at_millis(&self) -> i64 {
        self.created_at_millis
    }

    pub fn id(&self) -> OrderId {
        self.id
    }

    /// URL-safe base64, without padding, of `<created_at epoch millis>:<order id>`.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.created_at_millis, self.id))
    }

    pub fn decode(raw: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| InvalidCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| InvalidCursor)?;
        let (millis, id) = text.split_once(':').ok_or(InvalidCursor)?;
        let created_at_millis = millis.parse::<i64>().map_err(|_| InvalidCursor)?;
        let id = id.parse::<OrderId>().map_err(|_| InvalidCursor)?;
        Ok(Self { created_at_millis, id })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::domain::order::tests::placed_order;

    #[test]
    fn the_limit_defaults_to_twenty_and_accepts_one_to_a_hundred() {
        assert_eq!(PageLimit::parse("limit", None).map(PageLimit::get), Ok(DEFAULT_PAGE_LIMIT));
        assert_eq!(PageLimit::parse("limit", Some("1")).map(PageLimit::get), Ok(1));
        assert_eq!(PageLimit::parse("limit", Some("100")).map(PageLimit::get), Ok(100));
        for bad in ["", "0", "101", "-1", "1.5", "ten", " 5", "99999999999"] {
            assert_eq!(PageLimit::parse("limit", Some(bad)).expect_err(bad).field, "limit");
        }
    }

    #[test]
    fn a_cursor_points_after_its_order() {
        let order = placed_order(Uuid::now_v7(), 1_767_225_600_123);
        let cursor = OrderCursor::after(&order);
        assert_eq!(cursor.created_at_millis(), 1_767_225_600_123);
        assert_eq!(cursor.id(), order.id());
        assert_eq!(OrderCursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn cursors_are_url_safe_without_padding() {
        let cursor = OrderCursor::after(&placed_order(Uuid::now_v7(), 1_767_225_600_123));
        let encoded = cursor.encode();
        assert!(encoded.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'), "{encoded}");
    }

    #[test]
    fn malformed_cursors_are_rejected() {
        let encode = |text: &str| URL_SAFE_NO_PAD.encode(text);
        for bad in [
            String::new(),
            "!!!".to_string(),
            "a".to_string(),
            encode("1767225600123"),
            encode("1767225600123:"),
            encode(":0196f3a2-7b1c-7d4e-8f00-0123456789ab"),
            encode("soon:0196f3a2-7b1c-7d4e-8f00-0123456789ab"),
            encode("1767225600123:not-a-uuid"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, b':']),
        ] {
            assert_eq!(OrderCursor::decode(&bad), Err(InvalidCursor), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn cursors_round_trip(millis in any::<i64>(), id in any::<u128>()) {
            let cursor = OrderCursor { created_at_millis: millis, id: OrderId::from_uuid(Uuid::from_u128(id)) };
            prop_assert_eq!(OrderCursor::decode(&cursor.encode()), Ok(cursor));
        }

        #[test]
        fn decoding_arbitrary_text_never_panics(raw in "\\PC{0,120}") {
            let _ = OrderCursor::decode(&raw);
        }
    }
}
