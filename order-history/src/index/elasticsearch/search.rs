//! A [`SearchQuery`] as an Elasticsearch search request, and the answer as [`SearchResults`].
//!
//! User text only ever arrives as words and phrases ([`TextClause`]) and is only ever placed in
//! `match` and `match_phrase` queries, which analyze it as text: no query language (query_string,
//! simple_query_string) ever sees it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::mapping::{
    CUSTOMER_ID_FIELD, INCOMPLETE_FIELD, ORDER_ID_FIELD, PAYMENT_STATUSES_FIELD, PLACED_AT_FIELD,
    SHIPMENT_STATUSES_FIELD, STATUS_FIELD, TOTAL_FIELD, parts_field, word_search_fields,
};
use super::{DOCUMENT_FIELD_LIST, document_of};
use order_view::search::{IDENTIFIER_FIELDS, TEXT_FIELDS};

use crate::index::query::{CursorKey, fuzziness};
use crate::index::{Cursor, Facets, IndexError, SearchHit, SearchQuery, SearchResults, SortOrder, TextClause};

/// An exact match of a word scores this many times a fuzzy one, so typos rank below exact hits.
const EXACT_MATCH_BOOST: f64 = 2.0;
/// More buckets than any status field has symbols, so every count is returned.
const FACET_BUCKETS: usize = 16;
/// Aggregation names; also the [`Facets`] field each fills.
const STATUS_FACET: &str = "status";
const PAYMENT_STATUS_FACET: &str = "payment_status";
const SHIPMENT_STATUS_FACET: &str = "shipment_status";

/// What the hits are ordered by, before the order id that breaks ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    /// `_score` descending: relevance with text.
    Score,
    /// `placed_at_ms` descending: newest, and relevance without text.
    PlacedAt,
    /// `total_minor` descending.
    Total,
}

/// A validated search: the query and the sort it runs with.
pub(super) struct SearchPlan<'q> {
    query: &'q SearchQuery,
    sort_key: SortKey,
}

impl<'q> SearchPlan<'q> {
    /// Checks that the cursor, if any, came from a search with the same sort.
    pub(super) fn of(query: &'q SearchQuery) -> Result<Self, IndexError> {
        let sort_key = match query.sort {
            SortOrder::Relevance if query.text.is_some() => SortKey::Score,
            SortOrder::Relevance | SortOrder::Newest => SortKey::PlacedAt,
            SortOrder::Total => SortKey::Total,
        };
        if let Some(cursor) = &query.after {
            if cursor.sort != query.sort {
                return Err(IndexError::BadQuery("cursor belongs to a search with another sort order".to_string()));
            }
            let key_fits = match cursor.key {
                CursorKey::Score(_) => sort_key == SortKey::Score,
                CursorKey::Integer(_) => sort_key != SortKey::Score,
            };
            // e.g. a relevance cursor from a search with text, replayed without text
            if !key_fits {
                return Err(IndexError::BadQuery("cursor belongs to another search".to_string()));
            }
        }
        Ok(SearchPlan { query, sort_key })
    }

    pub(super) fn request_body(&self) -> Value {
        let query = self.query;
        let mut body = json!({
            "query": { "bool": { "must": self.text_clauses(), "filter": self.filters(), "must_not": self.exclusions() } },
            "sort": self.sort(),
            // one more than a page tells whether another page follows
            "size": query.limit + 1,
            "track_total_hits": true,
            "_source": DOCUMENT_FIELD_LIST,
            "aggs": {
                STATUS_FACET: { "terms": { "field": STATUS_FIELD, "size": FACET_BUCKETS } },
                PAYMENT_STATUS_FACET: { "terms": { "field": PAYMENT_STATUSES_FIELD, "size": FACET_BUCKETS } },
                SHIPMENT_STATUS_FACET: { "terms": { "field": SHIPMENT_STATUSES_FIELD, "size": FACET_BUCKETS } },
            },
        });
        if query.text.is_some() {
            body["highlight"] = highlight();
        }
        if let Some(cursor) = &query.after {
            body["search_after"] = search_after(cursor);
        }
        body
    }

    /// Every clause must match; see [`word_query`] and [`phrase_query`].
    fn text_clauses(&self) -> Vec<Value> {
        let Some(text) = &self.query.text else {
            return Vec::new();
        };
        let mut clauses = Vec::with_capacity(text.clauses.len());
        for clause in &text.clauses {
            clauses.push(match clause {
                TextClause::Word(word) => word_query(word),
                TextClause::Phrase(words) => phrase_query(words),
            });
        }
        clauses
    }

    fn filters(&self) -> Vec<Value> {
        let query = self.query;
        let mut filters = Vec::new();
        if let Some(customer_id) = &query.customer_id {
            filters.push(json!({ "term": { CUSTOMER_ID_FIELD: customer_id } }));
        }
        let wanted = &query.filters;
        if let Some(status) = wanted.status {
            filters.push(json!({ "term": { STATUS_FIELD: status.symbol() } }));
        }
        // a document matches when any of its payments (shipments) has the status
        if let Some(status) = wanted.payment_status {
            filters.push(json!({ "term": { PAYMENT_STATUSES_FIELD: status.symbol() } }));
        }
        if let Some(status) = wanted.shipment_status {
            filters.push(json!({ "term": { SHIPMENT_STATUSES_FIELD: status.symbol() } }));
        }
        let mut placed_at = Map::new();
        if let Some(from) = wanted.placed_from {
            placed_at.insert("gte".to_string(), json!(from.timestamp_millis()));
        }
        if let Some(to) = wanted.placed_to {
            placed_at.insert("lt".to_string(), json!(to.timestamp_millis()));
        }
        if !placed_at.is_empty() {
            filters.push(json!({ "range": { PLACED_AT_FIELD: placed_at } }));
        }
        let mut total = Map::new();
        if let Some(min_total) = wanted.min_total {
            total.insert("gte".to_string(), json!(min_total));
        }
        if let Some(max_total) = wanted.max_total {
            total.insert("lte".to_string(), json!(max_total));
        }
        if !total.is_empty() {
            filters.push(json!({ "range": { TOTAL_FIELD: total } }));
        }
        filters
    }

    fn exclusions(&self) -> Vec<Value> {
        if self.query.include_incomplete {
            return Vec::new();
        }
        vec![json!({ "term": { INCOMPLETE_FIELD: true } })]
    }

    fn sort(&self) -> Value {
        let tie_breaker = json!({ ORDER_ID_FIELD: { "order": "asc" } });
        let first = match self.sort_key {
            SortKey::Score => json!({ "_score": { "order": "desc" } }),
            // incomplete documents have neither field; they come last
            SortKey::PlacedAt => json!({ PLACED_AT_FIELD: { "order": "desc", "missing": "_last" } }),
            SortKey::Total => json!({ TOTAL_FIELD: { "order": "desc", "missing": "_last" } }),
        };
        json!([first, tie_breaker])
    }

    /// The page: at most `limit` hits, and a cursor when the search found one more.
    pub(super) fn results_of(&self, body: &Value) -> Result<SearchResults, String> {
        let limit = self.query.limit;
        let Some(total) = body.pointer("/hits/total/value").and_then(Value::as_u64) else {
            return Err("no hits.total.value".to_string());
        };
        let Some(raw_hits) = body.pointer("/hits/hits").and_then(Value::as_array) else {
            return Err("no hits.hits".to_string());
        };
        let mut hits = Vec::with_capacity(raw_hits.len().min(limit));
        let mut next_cursor = None;
        for (position, raw_hit) in raw_hits.iter().take(limit).enumerate() {
            let document = document_of(raw_hit)?;
            let is_last_of_page = position + 1 == limit;
            if is_last_of_page && raw_hits.len() > limit {
                next_cursor = Some(self.cursor_after(raw_hit, document.order_id)?.encode());
            }
            let score = match self.sort_key {
                SortKey::Score => raw_hit.get("_score").and_then(Value::as_f64).map(|score| score as f32),
                SortKey::PlacedAt | SortKey::Total => None,
            };
            hits.push(SearchHit { document, highlights: highlights_of(raw_hit), score });
        }
        let facets = Facets {
            status: facet_of(body, STATUS_FACET)?,
            payment_status: facet_of(body, PAYMENT_STATUS_FACET)?,
            shipment_status: facet_of(body, SHIPMENT_STATUS_FACET)?,
        };
        Ok(SearchResults { total, hits, facets, next_cursor })
    }

    /// A cursor at `raw_hit`, from its sort values.
    fn cursor_after(&self, raw_hit: &Value, order_id: Uuid) -> Result<Cursor, String> {
        let sort_value = raw_hit.pointer("/sort/0");
        let key = match self.sort_key {
            SortKey::Score => sort_value.and_then(Value::as_f64).map(|score| CursorKey::Score(score as f32)),
            // a missing placed_at or total sorts as i64::MIN, which Elasticsearch returns as is
            SortKey::PlacedAt | SortKey::Total => sort_value.and_then(Value::as_i64).map(CursorKey::Integer),
        };
        let Some(key) = key else {
            return Err(format!("a hit without a usable sort value: {sort_value:?}"));
        };
        Ok(Cursor { sort: self.query.sort, key, order_id })
    }
}

/// A word, matched in any text field (the best field counts, like `multi_match` best_fields):
/// exactly, or within [`fuzziness`] edits, the exact match scoring higher.
///
/// One `match` per field rather than one `multi_match`, so that every engine that speaks this
/// API highlights fuzzy matches too (noida-db does not highlight a fuzzy `multi_match`).
fn word_query(word: &str) -> Value {
    let edits = fuzziness(word);
    let mut alternatives = Vec::new();
    for field in word_search_fields() {
        let exact = json!({ "query": word, "operator": "and", "boost": EXACT_MATCH_BOOST });
        alternatives.push(json!({ "match": { field.as_str(): exact } }));
        if edits > 0 {
            let fuzzy = json!({ "query": word, "operator": "and", "fuzziness": edits });
            alternatives.push(json!({ "match": { field.as_str(): fuzzy } }));
        }
    }
    json!({ "dis_max": { "queries": alternatives } })
}

/// Words next to each other, in order, within one text field.
fn phrase_query(words: &[String]) -> Value {
    let phrase = words.join(" ");
    let mut alternatives = Vec::with_capacity(TEXT_FIELDS.len());
    for field in TEXT_FIELDS {
        alternatives.push(json!({ "match_phrase": { field: phrase } }));
    }
    json!({ "dis_max": { "queries": alternatives } })
}

fn highlight() -> Value {
    let mut fields = Map::new();
    for field in word_search_fields() {
        // 0: each matching value whole, not fragments; these fields are short
        fields.insert(field, json!({ "number_of_fragments": 0 }));
    }
    json!({
        "pre_tags": ["<em>"],
        "post_tags": ["</em>"],
        // the text around the tags is escaped, so a name like `<script>` cannot become markup
        "encoder": "html",
        "fields": fields,
    })
}

/// `search_after` for the hit the cursor names: strictly after it, in the same sort.
fn search_after(cursor: &Cursor) -> Value {
    let key = match cursor.key {
        // widened exactly: the engine compares it with the f32 score it returned
        CursorKey::Score(score) => json!(f64::from(score)),
        CursorKey::Integer(value) => json!(value),
    };
    json!([key, cursor.order_id.to_string()])
}

/// Highlights keyed by text field; a match in an identifier's parts counts for the identifier.
fn highlights_of(raw_hit: &Value) -> BTreeMap<String, Vec<String>> {
    let mut highlights = BTreeMap::new();
    let Some(raw) = raw_hit.get("highlight") else {
        return highlights;
    };
    let fragments_of = |field: &str| -> Vec<String> {
        let fragments = raw.get(field).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        fragments.iter().filter_map(Value::as_str).map(str::to_string).collect()
    };
    for field in TEXT_FIELDS {
        let mut fragments = fragments_of(field);
        if fragments.is_empty() && IDENTIFIER_FIELDS.contains(&field) {
            fragments = fragments_of(&parts_field(field));
        }
        if !fragments.is_empty() {
            highlights.insert(field.to_string(), fragments);
        }
    }
    highlights
}

fn facet_of(body: &Value, name: &str) -> Result<BTreeMap<String, u64>, String> {
    let Some(buckets) = body.pointer(&format!("/aggregations/{name}/buckets")).and_then(Value::as_array) else {
        return Err(format!("no aggregation {name}"));
    };
    let mut counts = BTreeMap::new();
    for bucket in buckets {
        let (Some(key), Some(count)) =
            (bucket.get("key").and_then(Value::as_str), bucket.get("doc_count").and_then(Value::as_u64))
        else {
            return Err(format!("a malformed bucket in aggregation {name}"));
        };
        counts.insert(key.to_string(), count);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::SearchText;

    fn text(raw: &str) -> Option<SearchText> {
        SearchText::parse(raw).expect("text parses")
    }

    #[test]
    fn user_text_only_reaches_match_queries() {
        let query = SearchQuery { text: text(r#"name:* OR "a b" (c)~2 ^9"#), ..SearchQuery::default() };
        let body = SearchPlan::of(&query).expect("plan").request_body().to_string();
        assert!(!body.contains("query_string"), "{body}");
        assert!(!body.contains("name:*"), "{body}");
        assert!(body.contains(r#""match_phrase":{"customer_name":"a b"}"#), "{body}");
    }

    #[test]
    fn short_words_are_matched_exactly_only() {
        let short = word_query("abc").to_string();
        assert!(!short.contains("fuzziness"), "{short}");
        let long = word_query("kettles").to_string();
        assert!(long.contains(r#""fuzziness":1"#), "{long}");
    }

    #[test]
    fn a_cursor_of_another_sort_is_a_bad_query() {
        let cursor = Cursor { sort: SortOrder::Total, key: CursorKey::Integer(5), order_id: Uuid::now_v7() };
        let query = SearchQuery { sort: SortOrder::Newest, after: Some(cursor), ..SearchQuery::default() };
        assert!(matches!(SearchPlan::of(&query), Err(IndexError::BadQuery(_))));
    }

    #[test]
    fn a_relevance_cursor_from_a_text_search_does_not_fit_one_without_text() {
        let cursor = Cursor { sort: SortOrder::Relevance, key: CursorKey::Score(1.5), order_id: Uuid::now_v7() };
        let query = SearchQuery { after: Some(cursor.clone()), ..SearchQuery::default() };
        assert!(matches!(SearchPlan::of(&query), Err(IndexError::BadQuery(_))));
        let with_text = SearchQuery { text: text("kettle"), after: Some(cursor), ..SearchQuery::default() };
        assert!(SearchPlan::of(&with_text).is_ok());
    }

    #[test]
    fn a_score_cursor_is_sent_back_exactly() {
        let score = 0.422_218_35_f32;
        let cursor = Cursor { sort: SortOrder::Relevance, key: CursorKey::Score(score), order_id: Uuid::nil() };
        let sent = search_after(&cursor);
        assert_eq!(sent[0].as_f64().map(|value| value as f32), Some(score));
        assert_eq!(sent[0].as_f64(), Some(f64::from(score)));
    }
}
