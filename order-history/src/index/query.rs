//! A search request parsed from user input, and its results; the same for both backends.
//!
//! User text never reaches a backend's query language: it is split here into words and quoted
//! phrases, each bounded, and each backend builds its own query from those pieces.

use chrono::{DateTime, Utc};
pub use order_view::{Facets, SearchHit};
use order_view::{OrderHistory, OrderStatus, PaymentStatus, ShipmentStatus};
use platform::query::MalformedCursor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const MAX_TEXT_CHARS: usize = 256;
pub const MAX_TEXT_CLAUSES: usize = 16;
pub const MAX_WORD_CHARS: usize = 64;
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// The fields `q` searches: customer name and email, item names and SKUs, the shipping and
/// delivery addresses, and tracking numbers.
pub const TEXT_FIELDS: [&str; 6] =
    ["customer_name", "customer_email", "item_names", "skus", "addresses", "tracking_numbers"];

#[derive(Clone, Debug, PartialEq)]
pub struct SearchQuery {
    pub text: Option<SearchText>,
    pub customer_id: Option<String>,
    pub status: Option<OrderStatus>,
    pub payment_status: Option<PaymentStatus>,
    pub shipment_status: Option<ShipmentStatus>,
    pub placed_from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub placed_to: Option<DateTime<Utc>>,
    pub min_total: Option<i64>,
    pub max_total: Option<i64>,
    pub sort: SortOrder,
    pub limit: usize,
    /// Where the previous page ended; must come from a search with the same sort order.
    pub after: Option<Cursor>,
    /// Incomplete documents (payment or shipment seen, order not yet) are left out unless asked.
    pub include_incomplete: bool,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            text: None,
            customer_id: None,
            status: None,
            payment_status: None,
            shipment_status: None,
            placed_from: None,
            placed_to: None,
            min_total: None,
            max_total: None,
            sort: SortOrder::Relevance,
            limit: DEFAULT_LIMIT,
            after: None,
            include_incomplete: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Best match first; without `q`, the same as `newest`.
    #[default]
    Relevance,
    /// Most recently placed first.
    Newest,
    /// Largest total first.
    Total,
}

/// Free text, split into what every clause must match (all clauses must match).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchText {
    pub clauses: Vec<TextClause>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextClause {
    /// One word; matched with typo tolerance (edit distance 1 from 4 characters up, 2 from 8).
    Word(String),
    /// Quoted words that must appear next to each other, in order, in one field.
    Phrase(Vec<String>),
}

impl TextClause {
    /// The edit distance a word of this length is matched with, like Elasticsearch's `AUTO:4,8`.
    pub fn fuzziness(word: &str) -> u8 {
        match word.chars().count() {
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("q is longer than {MAX_TEXT_CHARS} characters")]
    TooLong,
    #[error("q has more than {MAX_TEXT_CLAUSES} words and phrases")]
    TooManyClauses,
    #[error("q has a word longer than {MAX_WORD_CHARS} characters")]
    WordTooLong,
    #[error("q has an unterminated quote")]
    UnterminatedQuote,
}

impl SearchText {
    /// Parses user text: words, and phrases in double quotes. Everything that is not a letter
    /// or digit separates words, so no character has a meaning of its own. `None` when nothing
    /// searchable is left.
    pub fn parse(raw: &str) -> Result<Option<SearchText>, TextError> {
        if raw.chars().count() > MAX_TEXT_CHARS {
            return Err(TextError::TooLong);
        }
        let mut clauses = Vec::new();
        for (index, part) in raw.split('"').enumerate() {
            let quoted = index % 2 == 1;
            let words = words_of(part)?;
            if quoted {
                match words.len() {
                    0 => {}
                    1 => clauses.extend(words.into_iter().map(TextClause::Word)),
                    _ => clauses.push(TextClause::Phrase(words)),
                }
            } else {
                clauses.extend(words.into_iter().map(TextClause::Word));
            }
        }
        if raw.matches('"').count() % 2 == 1 {
            return Err(TextError::UnterminatedQuote);
        }
        if clauses.len() > MAX_TEXT_CLAUSES {
            return Err(TextError::TooManyClauses);
        }
        Ok((!clauses.is_empty()).then_some(SearchText { clauses }))
    }
}

fn words_of(text: &str) -> Result<Vec<String>, TextError> {
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect();
    if words.iter().any(|word| word.chars().count() > MAX_WORD_CHARS) {
        return Err(TextError::WordTooLong);
    }
    Ok(words)
}

/// Where a page ended: the sort key of its last hit and the order id that breaks ties.
///
/// Opaque to clients (base64url of JSON); it names its sort order so a cursor cannot be
/// replayed against another one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub sort: SortOrder,
    /// The score (relevance), epoch millis (newest) or minor units (total) of the last hit.
    pub key: CursorKey,
    pub order_id: Uuid,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorKey {
    Integer(i64),
    Score(f32),
}

impl Cursor {
    pub fn encode(&self) -> String {
        platform::query::encode_cursor(self)
    }

    pub fn decode(raw: &str) -> Result<Cursor, MalformedCursor> {
        platform::query::decode_cursor(raw)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    /// All documents matching the query and filters, not just this page.
    pub total: u64,
    pub hits: Vec<SearchHit>,
    /// Counts over all matching documents.
    pub facets: Facets,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The flat, indexable view of a document that both backends index: the text fields and the
/// filter and sort keys. Defined once so both backends index exactly the same things.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedFields {
    pub order_id: String,
    pub incomplete: bool,
    pub customer_id: Option<String>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub item_names: Vec<String>,
    pub skus: Vec<String>,
    pub addresses: Vec<String>,
    pub tracking_numbers: Vec<String>,
    pub status: Option<&'static str>,
    pub payment_statuses: Vec<&'static str>,
    pub shipment_statuses: Vec<&'static str>,
    /// Epoch millis; absent until the order is known.
    pub placed_at_ms: Option<i64>,
    pub total_minor: Option<i64>,
}

impl IndexedFields {
    pub fn of(document: &OrderHistory) -> IndexedFields {
        let address_text = |address: &order_view::Address| {
            [
                Some(address.line1.as_str()),
                address.line2.as_deref(),
                Some(&address.city),
                Some(&address.postal_code),
                Some(&address.country),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
        };
        let mut addresses: Vec<String> = document.shipping_address.iter().map(address_text).collect();
        for shipment in &document.shipments {
            let text = address_text(&shipment.address);
            if !addresses.contains(&text) {
                addresses.push(text);
            }
        }
        let mut payment_statuses: Vec<&'static str> =
            document.payments.iter().map(|payment| payment_status_symbol(payment.status)).collect();
        let mut shipment_statuses: Vec<&'static str> =
            document.shipments.iter().map(|shipment| shipment_status_symbol(shipment.status)).collect();
        shipment_statuses.sort_unstable();
        shipment_statuses.dedup();
        payment_statuses.sort_unstable();
        payment_statuses.dedup();
        IndexedFields {
            order_id: document.order_id.to_string(),
            incomplete: document.incomplete,
            customer_id: document.customer.as_ref().map(|customer| customer.customer_id.clone()),
            customer_name: document.customer.as_ref().map(|customer| customer.name.clone()),
            customer_email: document.customer.as_ref().map(|customer| customer.email.clone()),
            item_names: document.items.iter().map(|item| item.name.clone()).collect(),
            skus: document.items.iter().map(|item| item.sku.clone()).collect(),
            addresses,
            tracking_numbers: document.shipments.iter().map(|shipment| shipment.tracking_number.clone()).collect(),
            status: document.status.map(order_status_symbol),
            payment_statuses,
            shipment_statuses,
            placed_at_ms: document.placed_at.map(|placed_at| placed_at.timestamp_millis()),
            total_minor: document.total.as_ref().map(|total| total.amount_minor),
        }
    }
}

pub fn order_status_symbol(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Placed => "PLACED",
        OrderStatus::Cancelled => "CANCELLED",
    }
}

pub fn payment_status_symbol(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Authorized => "AUTHORIZED",
        PaymentStatus::Declined => "DECLINED",
        PaymentStatus::Captured => "CAPTURED",
        PaymentStatus::Refunded => "REFUNDED",
    }
}

pub fn shipment_status_symbol(status: ShipmentStatus) -> &'static str {
    match status {
        ShipmentStatus::Created => "CREATED",
        ShipmentStatus::Dispatched => "DISPATCHED",
        ShipmentStatus::InTransit => "IN_TRANSIT",
        ShipmentStatus::Delivered => "DELIVERED",
        ShipmentStatus::Returned => "RETURNED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_phrases_are_split_and_lowercased() {
        let text = SearchText::parse(r#"Zoe "copper TEA kettle" sku-mug"#).expect("parses").expect("text");
        assert_eq!(
            text.clauses,
            vec![
                TextClause::Word("zoe".into()),
                TextClause::Phrase(vec!["copper".into(), "tea".into(), "kettle".into()]),
                TextClause::Word("sku".into()),
                TextClause::Word("mug".into()),
            ]
        );
    }

    #[test]
    fn query_syntax_is_just_separators() {
        let text = SearchText::parse("name:* OR (a AND b)~2 ^9 \\").expect("parses").expect("text");
        let words: Vec<_> = text
            .clauses
            .iter()
            .map(|clause| match clause {
                TextClause::Word(word) => word.as_str(),
                TextClause::Phrase(_) => "phrase",
            })
            .collect();
        assert_eq!(words, vec!["name", "or", "a", "and", "b", "2", "9"]);
    }

    #[test]
    fn abusive_text_is_refused() {
        assert_eq!(SearchText::parse(&"a".repeat(MAX_TEXT_CHARS + 1)), Err(TextError::TooLong));
        assert_eq!(SearchText::parse(&"a ".repeat(MAX_TEXT_CLAUSES + 1)), Err(TextError::TooManyClauses));
        assert_eq!(SearchText::parse(&"a".repeat(MAX_WORD_CHARS + 1)), Err(TextError::WordTooLong));
        assert_eq!(SearchText::parse(r#"say "hello"#), Err(TextError::UnterminatedQuote));
        assert_eq!(SearchText::parse(" ... "), Ok(None));
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_malformed() {
        let cursor =
            Cursor { sort: SortOrder::Newest, key: CursorKey::Integer(1_767_225_600_123), order_id: Uuid::now_v7() };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        assert_eq!(Cursor::decode("not a cursor"), Err(MalformedCursor));
        let incomplete = platform::query::encode_cursor(&serde_json::json!({"sort": "newest"}));
        assert_eq!(Cursor::decode(&incomplete), Err(MalformedCursor));
    }
}
