//! A search as both backends take it, and its results.
//!
//! The parameters, the query text and the sort orders are the search contract both designs keep
//! ([`order_view::search`]); what is order-history's own is here: the query the backends run,
//! with `customer_id` optional and incomplete documents on request, the typo tolerance of a
//! word, and the flat view of a document both backends index.

use order_view::OrderHistory;
pub use order_view::search::{Cursor, CursorKey, SearchText, SortOrder, TextClause};
use order_view::search::{DEFAULT_LIMIT, SearchFilters, StatusSymbols, TEXT_FIELDS, text_values};
pub use order_view::{Facets, SearchHit};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, PartialEq)]
pub struct SearchQuery {
    pub text: Option<SearchText>,
    pub customer_id: Option<String>,
    pub filters: SearchFilters,
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
            filters: SearchFilters::default(),
            sort: SortOrder::Relevance,
            limit: DEFAULT_LIMIT,
            after: None,
            include_incomplete: false,
        }
    }
}

/// The edit distance a word of this length is matched with, like Elasticsearch's `AUTO:4,8`:
/// none up to 3 characters, 1 from 4, 2 from 8.
pub fn fuzziness(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
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
    /// The values of each text field, as [`text_values`] reads them.
    pub text: [(&'static str, Vec<String>); TEXT_FIELDS.len()],
    pub statuses: StatusSymbols,
    /// Epoch millis; absent until the order is known.
    pub placed_at_ms: Option<i64>,
    pub total_minor: Option<i64>,
}

impl IndexedFields {
    pub fn of(document: &OrderHistory) -> IndexedFields {
        IndexedFields {
            order_id: document.order_id.to_string(),
            incomplete: document.incomplete,
            customer_id: document.customer.as_ref().map(|customer| customer.customer_id.clone()),
            text: text_values(document),
            statuses: StatusSymbols::of(document),
            placed_at_ms: document.placed_at.map(|placed_at| placed_at.timestamp_millis()),
            total_minor: document.total.as_ref().map(|total| total.amount_minor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_tolerates_more_typos_the_longer_it_is() {
        assert_eq!(fuzziness("tea"), 0);
        assert_eq!(fuzziness("zoë"), 0);
        assert_eq!(fuzziness("amra"), 1);
        assert_eq!(fuzziness("keyboard"), 2);
    }
}
