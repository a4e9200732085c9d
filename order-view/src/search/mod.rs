//! The search contract both designs keep, so that `GET /orders` means the same whichever
//! answers:
//! - the parameters both designs take, their limits and their checks ([`SearchFilters`],
//!   [`parse_text`], [`parse_limit`], [`parse_cursor`]), with the query text `q`
//!   ([`SearchText`]) and the sort orders ([`SortOrder`]);
//! - what of a document is searchable ([`TEXT_FIELDS`], [`text_values`], [`StatusSymbols`]);
//! - the parts of the answer: a hit, its highlights and the facets, and the `cursor` of the
//!   next page.
//!
//! How a design matches and ranks is its own: order-history's backends tolerate typos and
//! score relevance, composer matches exact words in memory.

mod cursor;
mod fields;
mod params;
mod text;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::OrderHistory;

pub use cursor::{Cursor, CursorKey, MalformedCursor};
pub use fields::{IDENTIFIER_FIELDS, StatusSymbols, TEXT_FIELDS, text_values};
pub use params::{SearchFilters, SearchParamError, parse_cursor, parse_limit, parse_text};
pub use text::{MAX_TEXT_CHARS, MAX_TEXT_CLAUSES, MAX_WORD_CHARS, SearchText, TextClause, TextError};

/// Hits per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;
/// The most hits one page holds.
pub const MAX_LIMIT: usize = 100;

/// How hits are ordered; the order id, ascending, breaks ties in every order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Best match first; without `q`, the same as `newest`. Only order-history ranks.
    Relevance,
    /// Most recently placed first.
    Newest,
    /// Largest total first.
    Total,
}

impl SortOrder {
    /// The value of `sort` that asks for this order.
    pub fn name(self) -> &'static str {
        match self {
            SortOrder::Relevance => "relevance",
            SortOrder::Newest => "newest",
            SortOrder::Total => "total",
        }
    }

    /// The order a value of `sort` names, if any.
    pub fn from_name(name: &str) -> Option<SortOrder> {
        [SortOrder::Relevance, SortOrder::Newest, SortOrder::Total].into_iter().find(|sort| sort.name() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    pub document: OrderHistory,
    /// Matched fragments per text field, with matches in `<em>…</em>`.
    pub highlights: BTreeMap<String, Vec<String>>,
    /// The relevance score when sorting by relevance, only comparable within one response;
    /// null otherwise, and always null from composer, which has no ranking.
    pub score: Option<f32>,
}

/// Counts of matching documents per status symbol (e.g. `"CAPTURED": 12`). A document with
/// two payments in different states counts once under each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Facets {
    pub status: BTreeMap<String, u64>,
    pub payment_status: BTreeMap<String, u64>,
    pub shipment_status: BTreeMap<String, u64>,
}

/// Appends `text` to a highlight, HTML-escaped, so that only the `<em>` tags around matches are
/// markup: a customer's name or an item's can never inject any.
pub fn push_html_escaped(highlight: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '&' => highlight.push_str("&amp;"),
            '<' => highlight.push_str("&lt;"),
            '>' => highlight.push_str("&gt;"),
            '"' => highlight.push_str("&quot;"),
            '\'' => highlight.push_str("&#x27;"),
            other => highlight.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sort_name_is_its_json_name() {
        for sort in [SortOrder::Relevance, SortOrder::Newest, SortOrder::Total] {
            assert_eq!(serde_json::json!(sort), sort.name());
            assert_eq!(SortOrder::from_name(sort.name()), Some(sort));
        }
        assert_eq!(SortOrder::from_name("Newest"), None);
    }

    #[test]
    fn markup_is_escaped_and_text_kept() {
        let mut highlight = String::from("<em>Tom</em>");
        push_html_escaped(&mut highlight, " <b>&</b> 'Jerry\" Zoë");
        assert_eq!(highlight, "<em>Tom</em> &lt;b&gt;&amp;&lt;/b&gt; &#x27;Jerry&quot; Zoë");
    }
}
