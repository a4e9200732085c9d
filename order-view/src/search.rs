//! The parts of a search answer both designs share, so a hit and its facets have one JSON
//! shape whichever design answered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::OrderHistory;

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
    fn markup_is_escaped_and_text_kept() {
        let mut highlight = String::from("<em>Tom</em>");
        push_html_escaped(&mut highlight, " <b>&</b> 'Jerry\" Zoë");
        assert_eq!(highlight, "<em>Tom</em> &lt;b&gt;&amp;&lt;/b&gt; &#x27;Jerry&quot; Zoë");
    }
}
