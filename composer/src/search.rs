//! Search by composition: filters and text applied in memory to composed documents, then
//! sorted, counted and paged. Pure, so every rule is unit-tested.
//!
//! The parameters, the query text, the text fields and their values, and the status names are
//! the search contract both designs keep ([`order_view::search`]); the matching is composer's.
//! The answer has order-history's search shape (`total`, `hits`, `facets`, `next_cursor`), so a
//! client can call either design. What composition cannot do is stated, not approximated:
//! - only one customer's orders can be searched: order-svc lists orders by customer, and there
//!   is no index over all of them;
//! - words match exactly (case and accents aside): there is no typo tolerance and no relevance
//!   score, so `score` is null and results come newest first (or by total).

use std::collections::BTreeMap;

use order_view::search::{
    Cursor, CursorKey, IDENTIFIER_FIELDS, MalformedCursor, SearchFilters, SearchText, SortOrder, StatusSymbols,
    TextClause, text_values,
};
pub use order_view::{Facets, SearchHit};
use order_view::{OrderHistory, push_html_escaped};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::compose::DegradedPart;
use order_view::source_api::OrderRecord;

/// [`SearchText`] with every word [`fold`]ed: the form composer matches in, as order-history's
/// analyzers fold both the text they index and the words they search for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoldedText {
    pub clauses: Vec<TextClause>,
}

impl FoldedText {
    pub fn of(text: SearchText) -> FoldedText {
        let mut clauses = Vec::with_capacity(text.clauses.len());
        for clause in text.clauses {
            clauses.push(match clause {
                TextClause::Word(word) => TextClause::Word(fold(&word)),
                TextClause::Phrase(words) => TextClause::Phrase(words.iter().map(|word| fold(word)).collect()),
            });
        }
        FoldedText { clauses }
    }
}

/// The words of `text` with their byte ranges: maximal runs of letters and digits.
fn words_of(text: &str) -> impl Iterator<Item = (String, std::ops::Range<usize>)> + '_ {
    runs(text, |character| character.is_alphanumeric(), |_, _| false)
}

/// The letter runs and digit runs of `text`: `3SPOST123` is `3`, `SPOST`, `123`.
fn identifier_parts_of(text: &str) -> impl Iterator<Item = (String, std::ops::Range<usize>)> + '_ {
    runs(text, |character| character.is_alphanumeric(), |previous, next| previous.is_numeric() != next.is_numeric())
}

/// Maximal runs of characters that are `inside`, split where `breaks_between` says so.
fn runs<'a>(
    text: &'a str,
    inside: impl Fn(char) -> bool + 'a,
    breaks_between: impl Fn(char, char) -> bool + 'a,
) -> impl Iterator<Item = (String, std::ops::Range<usize>)> + 'a {
    let mut characters = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, first) = characters.by_ref().find(|(_, character)| inside(*character))?;
        let mut end = start + first.len_utf8();
        let mut previous = first;
        while let Some(&(offset, next)) = characters.peek() {
            if !inside(next) || breaks_between(previous, next) {
                break;
            }
            characters.next();
            end = offset + next.len_utf8();
            previous = next;
        }
        Some((text[start..end].to_string(), start..end))
    })
}

/// Lowercases and folds accents, so `Zoë` and `zoe` are one word: by Unicode decomposition,
/// plus the Latin letters that have none (ø, æ, ß, …), as order-history's analyzers fold them.
pub fn fold(word: &str) -> String {
    let mut folded = String::with_capacity(word.len());
    for character in word.to_lowercase().nfkd() {
        if is_combining_mark(character) {
            continue;
        }
        match character {
            'ø' => folded.push('o'),
            'æ' => folded.push_str("ae"),
            'œ' => folded.push_str("oe"),
            'ß' => folded.push_str("ss"),
            'ł' => folded.push('l'),
            'đ' | 'ð' => folded.push('d'),
            'þ' => folded.push_str("th"),
            'ı' => folded.push('i'),
            other => folded.push(other),
        }
    }
    folded
}

/// Every filter of one search; `customer_id` is what makes it answerable by composition.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchFilter {
    pub customer_id: String,
    pub text: Option<FoldedText>,
    pub filters: SearchFilters,
}

impl SearchFilter {
    pub fn for_customer(customer_id: impl Into<String>) -> Self {
        SearchFilter { customer_id: customer_id.into(), text: None, filters: SearchFilters::default() }
    }

    /// Whether the order alone can still match: the filters on the order's own fields, checked
    /// before calling payment-svc and shipping-svc for it, so that an order a filter rules out
    /// costs no fan-out.
    pub fn admits_order(&self, order: &OrderRecord) -> bool {
        let filters = &self.filters;
        if order.customer_id != self.customer_id {
            return false;
        }
        if filters.status.is_some_and(|status| status != order.status) {
            return false;
        }
        if filters.placed_from.is_some_and(|from| order.created_at < from) {
            return false;
        }
        if filters.placed_to.is_some_and(|to| order.created_at >= to) {
            return false;
        }
        if filters.min_total.is_some_and(|min| order.total < min) {
            return false;
        }
        if filters.max_total.is_some_and(|max| order.total > max) {
            return false;
        }
        true
    }

    /// The highlights of `document` when it matches every filter and every text clause.
    pub fn matches(&self, document: &OrderHistory) -> Option<BTreeMap<String, Vec<String>>> {
        let filters = &self.filters;
        let customer_matches =
            document.customer.as_ref().is_some_and(|customer| customer.customer_id == self.customer_id);
        if !customer_matches || document.incomplete {
            return None;
        }
        if filters.status.is_some_and(|status| document.status != Some(status)) {
            return None;
        }
        let any_payment_is = |status| document.payments.iter().any(|payment| payment.status == status);
        if filters.payment_status.is_some_and(|status| !any_payment_is(status)) {
            return None;
        }
        let any_shipment_is = |status| document.shipments.iter().any(|shipment| shipment.status == status);
        if filters.shipment_status.is_some_and(|status| !any_shipment_is(status)) {
            return None;
        }
        let placed_at = document.placed_at?;
        if filters.placed_from.is_some_and(|from| placed_at < from)
            || filters.placed_to.is_some_and(|to| placed_at >= to)
        {
            return None;
        }
        let total = document.total.as_ref()?.amount_minor;
        if filters.min_total.is_some_and(|min| total < min) || filters.max_total.is_some_and(|max| total > max) {
            return None;
        }
        let Some(text) = &self.text else {
            return Some(BTreeMap::new());
        };
        text_matches(text, document)
    }
}

/// One value of a text field, tokenized: its words and, for identifiers, its parts.
struct AnalyzedValue<'a> {
    value: &'a str,
    words: Vec<(String, std::ops::Range<usize>)>,
    parts: Vec<(String, std::ops::Range<usize>)>,
}

impl<'a> AnalyzedValue<'a> {
    fn new(value: &'a str, identifier: bool) -> Self {
        let words = words_of(value).map(|(word, range)| (fold(&word), range)).collect();
        let parts = if identifier {
            identifier_parts_of(value).map(|(part, range)| (fold(&part), range)).collect()
        } else {
            Vec::new()
        };
        AnalyzedValue { value, words, parts }
    }

    /// The byte ranges `clause` matches in this value; empty when it does not match.
    fn matches_of(&self, clause: &TextClause) -> Vec<std::ops::Range<usize>> {
        match clause {
            TextClause::Word(word) => self
                .words
                .iter()
                .chain(self.parts.iter())
                .filter(|(token, _)| token == word)
                .map(|(_, range)| range.clone())
                .collect(),
            TextClause::Phrase(phrase) => {
                let mut ranges = Vec::new();
                for window in self.words.windows(phrase.len()) {
                    let is_phrase = window.iter().zip(phrase).all(|((token, _), word)| token == word);
                    if is_phrase {
                        ranges.extend(window.iter().map(|(_, range)| range.clone()));
                    }
                }
                ranges
            }
        }
    }
}

/// Every clause must match some value of some field; the matched values are highlighted.
fn text_matches(text: &FoldedText, document: &OrderHistory) -> Option<BTreeMap<String, Vec<String>>> {
    let fields = text_values(document);
    let analyzed: Vec<(&str, Vec<AnalyzedValue<'_>>)> = fields
        .iter()
        .map(|(name, values)| {
            let identifier = IDENTIFIER_FIELDS.contains(name);
            (*name, values.iter().map(|value| AnalyzedValue::new(value, identifier)).collect())
        })
        .collect();
    // per field and value, the ranges any clause matched
    let mut matched: BTreeMap<(usize, usize), Vec<std::ops::Range<usize>>> = BTreeMap::new();
    for clause in &text.clauses {
        let mut clause_matched = false;
        for (field_index, (_, values)) in analyzed.iter().enumerate() {
            for (value_index, value) in values.iter().enumerate() {
                let ranges = value.matches_of(clause);
                if !ranges.is_empty() {
                    clause_matched = true;
                    matched.entry((field_index, value_index)).or_default().extend(ranges);
                }
            }
        }
        if !clause_matched {
            return None;
        }
    }
    let mut highlights: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((field_index, value_index), ranges) in matched {
        let (name, values) = &analyzed[field_index];
        highlights.entry(name.to_string()).or_default().push(highlight(values[value_index].value, ranges));
    }
    Some(highlights)
}

/// `value`, HTML-escaped, with every match in `<em>`…`</em>`.
fn highlight(value: &str, mut ranges: Vec<std::ops::Range<usize>>) -> String {
    ranges.sort_by_key(|range| (range.start, range.end));
    let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut output = String::with_capacity(value.len() + 9 * merged.len());
    let mut cursor = 0;
    for range in merged {
        push_html_escaped(&mut output, &value[cursor..range.start]);
        output.push_str("<em>");
        push_html_escaped(&mut output, &value[range.clone()]);
        output.push_str("</em>");
        cursor = range.end;
    }
    push_html_escaped(&mut output, &value[cursor..]);
    output
}

/// Where the previous page ended in composer's ranking: the rank of its last hit (epoch millis
/// or minor units) and the order id that breaks ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct After {
    pub rank: i64,
    pub order_id: Uuid,
}

impl After {
    /// Where `cursor` says the previous page ended. Composer ranks by integers only, so a
    /// cursor with a relevance score is not one of its own.
    pub fn of(cursor: &Cursor) -> Result<After, MalformedCursor> {
        match cursor.key {
            CursorKey::Integer(rank) => Ok(After { rank, order_id: cursor.order_id }),
            CursorKey::Score(_) => Err(MalformedCursor),
        }
    }
}

/// order-history's search answer, field for field, plus `degraded` when a part was missing
/// from some composed document (absent otherwise).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    /// All documents matching the query and filters, not just this page.
    pub total: u64,
    pub hits: Vec<SearchHit>,
    /// Counts over all matching documents.
    pub facets: Facets,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Parts that could not be fetched for at least one scanned order: those orders were
    /// filtered and counted without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<DegradedPart>,
}

/// A composed document that matched, with its highlights.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub document: OrderHistory,
    pub highlights: BTreeMap<String, Vec<String>>,
}

/// Counts, sorts and cuts out the page after `after`, which the caller took from a cursor of
/// the same `sort`.
pub fn page_of(matches: Vec<Match>, sort: SortOrder, after: Option<After>, limit: usize) -> SearchResults {
    let facets = facets_of(matches.iter().map(|found| &found.document));
    let total = matches.len() as u64;
    let mut ranked: Vec<(i64, Match)> =
        matches.into_iter().map(|found| (rank_of(&found.document, sort), found)).collect();
    // higher rank first, then lower order id
    ranked.sort_by(|(left_rank, left), (right_rank, right)| {
        right_rank.cmp(left_rank).then(left.document.order_id.cmp(&right.document.order_id))
    });
    let after_cursor = |(rank, found): &(i64, Match)| match after {
        None => true,
        Some(after) => *rank < after.rank || (*rank == after.rank && found.document.order_id > after.order_id),
    };
    let mut remaining = ranked.into_iter().filter(after_cursor);
    let mut hits = Vec::with_capacity(limit);
    let mut last: Option<(i64, Uuid)> = None;
    for (rank, found) in remaining.by_ref().take(limit) {
        last = Some((rank, found.document.order_id));
        hits.push(SearchHit { document: found.document, highlights: found.highlights, score: None });
    }
    let more_follow = remaining.next().is_some();
    let next_cursor = match last {
        Some((rank, order_id)) if more_follow => {
            Some(Cursor { sort, key: CursorKey::Integer(rank), order_id }.encode())
        }
        _ => None,
    };
    SearchResults { total, hits, facets, next_cursor, degraded: Vec::new() }
}

/// The rank `document` is sorted by, higher first. Composer scores no relevance: the search
/// refuses `sort=relevance`, and were it asked for, relevance would be newest first, as
/// order-history orders a search without text.
fn rank_of(document: &OrderHistory, sort: SortOrder) -> i64 {
    match sort {
        SortOrder::Newest | SortOrder::Relevance => {
            document.placed_at.map_or(i64::MIN, |placed_at| placed_at.timestamp_millis())
        }
        SortOrder::Total => document.total.as_ref().map_or(i64::MIN, |total| total.amount_minor),
    }
}

pub fn facets_of<'a>(documents: impl Iterator<Item = &'a OrderHistory>) -> Facets {
    let mut facets = Facets::default();
    for document in documents {
        let symbols = StatusSymbols::of(document);
        if let Some(symbol) = symbols.status {
            *facets.status.entry(symbol.to_string()).or_default() += 1;
        }
        for symbol in symbols.payment_statuses {
            *facets.payment_status.entry(symbol.to_string()).or_default() += 1;
        }
        for symbol in symbols.shipment_statuses {
            *facets.shipment_status.entry(symbol.to_string()).or_default() += 1;
        }
    }
    facets
}

#[cfg(test)]
mod tests {
    use order_view::{OrderStatus, PaymentStatus, ShipmentStatus};
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::compose::compose;
    use crate::compose::tests::{at, order_record, payment_record, shipment_record};

    fn document() -> OrderHistory {
        let order_id = Uuid::now_v7();
        let mut order = order_record(order_id);
        order.customer_name = "Tom <b>&</b> Zoë Ørsted".to_string();
        let payments = vec![
            payment_record(order_id, 1, PaymentStatus::Declined),
            payment_record(order_id, 2, PaymentStatus::Captured),
        ];
        let mut shipment = shipment_record(order_id, 3, ShipmentStatus::InTransit);
        shipment.tracking_number = "3SPOST123456789".to_string();
        compose(order, Some(payments), Some(vec![shipment])).document
    }

    fn text(raw: &str) -> SearchFilter {
        let mut filter = SearchFilter::for_customer("cust-0042");
        filter.text = SearchText::parse(raw).expect("parses").map(FoldedText::of);
        filter
    }

    #[test]
    fn every_word_of_a_phrase_and_alone_is_folded() {
        let parsed = SearchText::parse(r#"ZOË "Ørsted Straße" sku-mug"#).expect("parses").expect("text");
        assert_eq!(
            FoldedText::of(parsed).clauses,
            vec![
                TextClause::Word("zoe".into()),
                TextClause::Phrase(vec!["orsted".into(), "strasse".into()]),
                TextClause::Word("sku".into()),
                TextClause::Word("mug".into()),
            ]
        );
    }

    #[test]
    fn folding_makes_accents_and_case_irrelevant() {
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold("Ørsted"), "orsted");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("ÉCOLE"), "ecole");
    }

    #[test]
    fn a_word_matches_any_text_field_exactly_and_is_highlighted() {
        let document = document();
        let highlights = text("orsted").matches(&document).expect("customer name matches");
        assert_eq!(highlights["customer_name"], vec!["Tom &lt;b&gt;&amp;&lt;/b&gt; Zoë <em>Ørsted</em>".to_string()]);
        assert!(text("amsterdam kettle").matches(&document).is_some(), "address and item name");
        assert!(text("zoe@example.com").matches(&document).is_some(), "the email's words");
        assert!(text("orstedd").matches(&document).is_none(), "no typo tolerance");
        assert!(text("kettle teapot").matches(&document).is_none(), "every word must match");
    }

    #[test]
    fn identifiers_match_whole_or_by_their_letter_and_digit_parts() {
        let document = document();
        for query in ["3SPOST123456789", "spost", "123456789", "sku-mug-07"] {
            assert!(text(query).matches(&document).is_some(), "{query}");
        }
        let highlights = text("123456789").matches(&document).expect("matches");
        assert_eq!(highlights["tracking_numbers"], vec!["3SPOST<em>123456789</em>".to_string()]);
        assert!(text("12345").matches(&document).is_none(), "parts match whole, not as prefixes");
    }

    #[test]
    fn a_phrase_matches_consecutive_words_in_order_within_one_value() {
        let document = document();
        assert!(text(r#""copper tea""#).matches(&document).is_some());
        assert!(text(r#""tea copper""#).matches(&document).is_none());
        assert!(text(r#""kettle stoneware""#).matches(&document).is_none(), "not across two items");
    }

    #[test]
    fn status_filters_look_at_the_order_and_any_of_its_payments_and_shipments() {
        let document = document();
        let mut filter = SearchFilter::for_customer("cust-0042");
        filter.filters.payment_status = Some(PaymentStatus::Declined);
        assert!(filter.matches(&document).is_some(), "any payment");
        filter.filters.payment_status = Some(PaymentStatus::Refunded);
        assert!(filter.matches(&document).is_none());
        let mut filter = SearchFilter::for_customer("cust-0042");
        filter.filters.shipment_status = Some(ShipmentStatus::InTransit);
        filter.filters.status = Some(OrderStatus::Placed);
        assert!(filter.matches(&document).is_some());
        filter.filters.status = Some(OrderStatus::Cancelled);
        assert!(filter.matches(&document).is_none());
        assert!(SearchFilter::for_customer("someone-else").matches(&document).is_none());
    }

    #[test]
    fn order_level_filters_rule_orders_out_before_any_fan_out() {
        let order = order_record(Uuid::now_v7());
        let mut filter = SearchFilter::for_customer("cust-0042");
        assert!(filter.admits_order(&order));
        filter.filters.placed_from = Some(at(1));
        assert!(!filter.admits_order(&order));
        filter.filters.placed_from = Some(at(0));
        filter.filters.placed_to = Some(at(0));
        assert!(!filter.admits_order(&order), "placed_to is exclusive");
        filter.filters.placed_to = None;
        filter.filters.max_total = Some(9598);
        assert!(!filter.admits_order(&order));
        filter.filters.max_total = Some(9599);
        filter.filters.status = Some(OrderStatus::Cancelled);
        assert!(!filter.admits_order(&order));
    }

    #[test]
    fn facets_count_each_status_once_per_document() {
        let document = document();
        let facets = facets_of([&document, &document].into_iter());
        assert_eq!(facets.status["PLACED"], 2);
        assert_eq!(facets.payment_status["DECLINED"], 2);
        assert_eq!(facets.payment_status["CAPTURED"], 2);
        assert_eq!(facets.shipment_status["IN_TRANSIT"], 2);
    }

    fn match_at(placed_ms: i64, total: i64) -> Match {
        let order_id = Uuid::now_v7();
        let mut order = order_record(order_id);
        order.created_at = at(placed_ms);
        order.total = total;
        Match { document: compose(order, Some(vec![]), Some(vec![])).document, highlights: BTreeMap::new() }
    }

    proptest! {
        /// Following `next_cursor` from the first page visits every match exactly once, in the
        /// sort order, with `total` and facets the same on every page.
        #[test]
        fn paging_visits_every_match_once_in_order(
            keys in proptest::collection::vec((0i64..20, 0i64..5), 0..40),
            limit in 1usize..7,
            by_total in any::<bool>(),
        ) {
            let sort = if by_total { SortOrder::Total } else { SortOrder::Newest };
            let matches: Vec<Match> = keys.iter().map(|(placed, total)| match_at(*placed, *total)).collect();
            let mut expected: Vec<(i64, Uuid)> =
                matches.iter().map(|found| (rank_of(&found.document, sort), found.document.order_id)).collect();
            expected.sort_by(|left, right| right.0.cmp(&left.0).then(left.1.cmp(&right.1)));
            let mut seen = Vec::new();
            let mut after: Option<After> = None;
            loop {
                let page = page_of(matches.clone(), sort, after, limit);
                prop_assert_eq!(page.total as usize, matches.len());
                prop_assert!(page.hits.len() <= limit);
                seen.extend(page.hits.iter().map(|hit| (rank_of(&hit.document, sort), hit.document.order_id)));
                match page.next_cursor {
                    Some(next) => {
                        let cursor = Cursor::decode(&next).expect("our own cursor decodes");
                        prop_assert_eq!(cursor.sort, sort);
                        after = Some(After::of(&cursor).expect("an integer key"));
                    }
                    None => break,
                }
            }
            prop_assert_eq!(seen, expected);
        }
    }

    #[test]
    fn a_cursor_with_a_score_is_not_composers() {
        let order_id = Uuid::now_v7();
        let ranked = Cursor { sort: SortOrder::Total, key: CursorKey::Integer(4599), order_id };
        assert_eq!(After::of(&ranked), Ok(After { rank: 4599, order_id }));
        let scored = Cursor { sort: SortOrder::Newest, key: CursorKey::Score(1.5), order_id };
        assert_eq!(After::of(&scored), Err(MalformedCursor));
    }
}
