//! Search: the tantivy query built from a [`SearchQuery`], one pass over the matching documents
//! that collects the page, the total and the facets together, then the page's documents loaded
//! from the store and highlighted.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap};
use std::ops::RangeInclusive;
use std::sync::Arc;

use ::tantivy::collector::{Collector, SegmentCollector};
use ::tantivy::columnar::{Cardinality, ColumnValues};
use ::tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, DfaWrapper, DisjunctionMaxQuery, EmptyQuery, FuzzyTermQuery, Occur,
    PhraseQuery, Query, TermQuery,
};
use ::tantivy::schema::{Field, IndexRecordOption, Value};
use ::tantivy::tokenizer::TextAnalyzer;
use ::tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyDocument, Term};
use anyhow::{Context, anyhow};
use order_view::OrderHistory;
use order_view::search::text_values;
use uuid::Uuid;

use super::highlight::{Highlighter, edit_distance};
use super::schema::{
    FacetKind, Fields, INCOMPLETE_BIT, MISSING_VALUE, ORDER_KEY_HIGH, ORDER_KEY_LOW, PLACED_AT,
    STATUS_BIT_COMBINATIONS, STATUS_BIT_SYMBOLS, STATUS_BITS, TOTAL, from_sortable_u64, status_bit,
};
use crate::index::query::{
    Cursor, CursorKey, Facets, SearchHit, SearchQuery, SearchResults, SortOrder, TextClause, fuzziness,
};
use crate::index::{DocumentJson, IndexError, SearchText};

/// What a fuzzy match of a word adds to the score, whatever the field. An exact match of the
/// word also matches fuzzily and adds its BM25 score on top, so it always ranks higher.
const FUZZY_MATCH_SCORE: Score = 0.1;

/// The most terms a word expands to per field, closest first: Elasticsearch's default
/// `max_expansions`, which also keeps a short word from expanding to half the dictionary.
const MAX_FUZZY_EXPANSIONS: usize = 50;

pub(super) fn search(
    searcher: &Searcher,
    fields: &Fields,
    words_analyzer: &TextAnalyzer,
    query: &SearchQuery,
) -> Result<SearchResults, IndexError> {
    let ranking = Ranking::of(query);
    let after = match &query.after {
        Some(cursor) => Some(cursor_position(ranking, query.sort, cursor)?),
        None => None,
    };
    let Some(filter) = DocumentFilter::of(query) else {
        return Ok(SearchResults { total: 0, hits: Vec::new(), facets: Facets::default(), next_cursor: None });
    };
    let tantivy_query = build_query(searcher, fields, words_analyzer, query)?;
    let collector = PageCollector { ranking, limit: query.limit, after, filter };
    let page = searcher.search(tantivy_query.as_ref(), &collector).context("cannot run the search")?;

    let mut highlighter = query.text.as_ref().map(|text| Highlighter::new(text, words_analyzer));
    let mut hits = Vec::with_capacity(page.top.len());
    for candidate in &page.top {
        let document = stored_document(searcher, fields, candidate.address)?;
        let highlights = match highlighter.as_mut() {
            Some(highlighter) => highlighter.highlight(&text_values(&document)),
            None => Default::default(),
        };
        let score = (ranking == Ranking::Score).then_some(candidate.score);
        hits.push(SearchHit { document, highlights, score });
    }
    let more_follow = page.after_cursor > page.top.len() as u64;
    let next_cursor = match page.top.last() {
        Some(last) if more_follow => Some(cursor_after(ranking, query.sort, last).encode()),
        _ => None,
    };
    Ok(SearchResults { total: page.matched, hits, facets: facets_of(&page.status_bit_counts), next_cursor })
}

/// The document stored with the tantivy document at `address`.
pub(super) fn stored_document(
    searcher: &Searcher,
    fields: &Fields,
    address: DocAddress,
) -> Result<OrderHistory, IndexError> {
    stored_json(searcher, fields, address)?.decode()
}

/// The document stored with the tantivy document at `address`, as the JSON it was stored as.
pub(super) fn stored_json(
    searcher: &Searcher,
    fields: &Fields,
    address: DocAddress,
) -> Result<DocumentJson, IndexError> {
    let stored: TantivyDocument = searcher.doc(address).context("cannot read a stored document")?;
    let json = stored
        .get_first(fields.document)
        .and_then(|value| value.as_str())
        .ok_or_else(|| anyhow!("a stored document has no json"))?;
    Ok(DocumentJson::stored(json.to_string()))
}

/// What the documents are ordered by before the order id breaks ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ranking {
    Score,
    PlacedAt,
    Total,
}

impl Ranking {
    fn of(query: &SearchQuery) -> Ranking {
        match query.sort {
            SortOrder::Relevance if query.text.is_some() => Ranking::Score,
            // without text every document scores the same, and newest first is the useful order
            SortOrder::Relevance | SortOrder::Newest => Ranking::PlacedAt,
            SortOrder::Total => Ranking::Total,
        }
    }
}

/// A document's place in the results: higher `rank` first, then lower order id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    /// The sort value; scores mapped to integers in the same order (see [`score_rank`]).
    rank: i64,
    order_key: u128,
}

impl Position {
    /// `Less` when `self` comes before `other` in the results.
    fn results_order(&self, other: &Position) -> Ordering {
        other.rank.cmp(&self.rank).then(self.order_key.cmp(&other.order_key))
    }
}

/// Maps a score to an integer with the same order, so every ranking compares the same way.
fn score_rank(score: Score) -> i64 {
    let bits = score.to_bits() as i32;
    // flips the magnitude bits of negative scores, as `f32::total_cmp` does
    i64::from(bits ^ ((((bits >> 31) as u32) >> 1) as i32))
}

fn cursor_position(ranking: Ranking, sort: SortOrder, cursor: &Cursor) -> Result<Position, IndexError> {
    if cursor.sort != sort {
        return Err(IndexError::BadQuery("cursor belongs to a search with another sort order".to_string()));
    }
    let rank = match (ranking, cursor.key) {
        (Ranking::Score, CursorKey::Score(score)) => score_rank(score),
        (Ranking::PlacedAt | Ranking::Total, CursorKey::Integer(value)) => value,
        _ => return Err(IndexError::BadQuery("cursor belongs to a search with or without q".to_string())),
    };
    Ok(Position { rank, order_key: cursor.order_id.as_u128() })
}

fn cursor_after(ranking: Ranking, sort: SortOrder, last: &Candidate) -> Cursor {
    let key = match ranking {
        Ranking::Score => CursorKey::Score(last.score),
        Ranking::PlacedAt | Ranking::Total => CursorKey::Integer(last.position.rank),
    };
    Cursor { sort, key, order_id: Uuid::from_u128(last.position.order_key) }
}

fn facets_of(status_bit_counts: &[u64]) -> Facets {
    let mut facets = Facets::default();
    for (bits, count) in status_bit_counts.iter().enumerate() {
        if *count == 0 {
            continue;
        }
        for (bit, (kind, symbol)) in STATUS_BIT_SYMBOLS.iter().enumerate() {
            if bits & (1 << bit) == 0 {
                continue;
            }
            let counts = match kind {
                FacetKind::Status => &mut facets.status,
                FacetKind::PaymentStatus => &mut facets.payment_status,
                FacetKind::ShipmentStatus => &mut facets.shipment_status,
            };
            *counts.entry(symbol.to_string()).or_default() += count;
        }
    }
    facets
}

fn build_query(
    searcher: &Searcher,
    fields: &Fields,
    words_analyzer: &TextAnalyzer,
    query: &SearchQuery,
) -> Result<Box<dyn Query>, IndexError> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let Some(text) = &query.text {
        for clause in text_clause_queries(searcher, fields, words_analyzer, text)? {
            clauses.push((Occur::Must, clause));
        }
    }
    // the only filter that is a query (see `DocumentFilter`); it narrows, it must not score
    if let Some(customer_id) = &query.customer_id {
        let customer = TermQuery::new(Term::from_field_text(fields.customer_id, customer_id), IndexRecordOption::Basic);
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(customer), 0.0))));
    }
    if clauses.is_empty() {
        return Ok(Box::new(AllQuery));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

fn text_clause_queries(
    searcher: &Searcher,
    fields: &Fields,
    words_analyzer: &TextAnalyzer,
    text: &SearchText,
) -> Result<Vec<Box<dyn Query>>, IndexError> {
    let mut analyzer = words_analyzer.clone();
    let mut queries = Vec::with_capacity(text.clauses.len());
    for clause in &text.clauses {
        let query = match clause {
            TextClause::Word(word) => {
                let tokens = analyze(&mut analyzer, word);
                let mut token_queries = Vec::with_capacity(tokens.len());
                for token in &tokens {
                    token_queries.push(word_query(searcher, fields, token, fuzziness(word))?);
                }
                all_of(token_queries)
            }
            TextClause::Phrase(words) => {
                let tokens: Vec<String> = words.iter().flat_map(|word| analyze(&mut analyzer, word)).collect();
                phrase_query(fields, &tokens)
            }
        };
        queries.push(query);
    }
    Ok(queries)
}

/// The tokens `text` is indexed as, so a query word meets the index in the same form.
pub(super) fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        tokens.push(token.text.clone());
    }
    tokens
}

/// All of `queries`; a word the analyzer drops entirely can match nothing.
fn all_of(mut queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    match queries.len() {
        0 => Box::new(EmptyQuery),
        1 => queries.remove(0),
        _ => Box::new(BooleanQuery::intersection(queries)),
    }
}

/// One word in any word field: exactly, scored by its best field, or within `distance` edits,
/// for a small constant score.
///
/// The fuzzy matches are expanded to the terms of the index up front, rather than run as
/// automaton queries: those collect every matching document of every field into bit sets,
/// which costs a millisecond per word on a few hundred thousand orders where the expanded
/// terms cost tens of microseconds.
fn word_query(searcher: &Searcher, fields: &Fields, token: &str, distance: u8) -> Result<Box<dyn Query>, IndexError> {
    let exact_per_field: Vec<Box<dyn Query>> = fields
        .word_fields()
        .map(|field| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, token), IndexRecordOption::WithFreqs))
        })
        .collect();
    let best_exact_field = Box::new(DisjunctionMaxQuery::new(exact_per_field));
    if distance == 0 {
        return Ok(best_exact_field);
    }
    let any_field = fields.text[0];
    let automaton = FuzzyTermQuery::new(Term::from_field_text(any_field, token), distance, true)
        .automaton()
        .context("cannot build the fuzzy automaton")?;
    let mut fuzzy_terms = Vec::new();
    for field in fields.word_fields() {
        fuzzy_terms.push(Term::from_field_text(field, token));
        for expansion in fuzzy_expansions(searcher, field, &automaton, token)? {
            fuzzy_terms.push(Term::from_field_text(field, &expansion));
        }
    }
    let any_fuzzy_match =
        ConstScoreQuery::new(Box::new(BooleanQuery::new_multiterms_query(fuzzy_terms)), FUZZY_MATCH_SCORE);
    Ok(Box::new(BooleanQuery::union(vec![best_exact_field, Box::new(any_fuzzy_match)])))
}

/// The terms of `field` other than `token` that `automaton` accepts, at most
/// [`MAX_FUZZY_EXPANSIONS`] of them, closest to `token` first.
fn fuzzy_expansions(
    searcher: &Searcher,
    field: Field,
    automaton: &DfaWrapper,
    token: &str,
) -> Result<Vec<String>, IndexError> {
    let mut expansions = BTreeSet::new();
    for segment in searcher.segment_readers() {
        let inverted_index = segment.inverted_index(field).context("cannot open a term dictionary")?;
        let mut terms =
            inverted_index.terms().search(automaton).into_stream().context("cannot walk a term dictionary")?;
        while terms.advance() {
            // text fields hold utf-8 terms only
            if let Ok(term) = std::str::from_utf8(terms.key())
                && term != token
            {
                expansions.insert(term.to_string());
            }
        }
    }
    let mut expansions: Vec<String> = expansions.into_iter().collect();
    if expansions.len() > MAX_FUZZY_EXPANSIONS {
        // stable: among equally close terms, the first in dictionary order stay
        expansions.sort_by_cached_key(|expansion| edit_distance(expansion, token));
        expansions.truncate(MAX_FUZZY_EXPANSIONS);
    }
    Ok(expansions)
}

/// The tokens next to each other, in order, within one value of one text field.
fn phrase_query(fields: &Fields, tokens: &[String]) -> Box<dyn Query> {
    let mut per_field: Vec<Box<dyn Query>> = Vec::new();
    for field in fields.text {
        let terms: Vec<Term> = tokens.iter().map(|token| Term::from_field_text(field, token)).collect();
        match terms.len() {
            0 => return Box::new(EmptyQuery),
            1 => per_field.push(Box::new(TermQuery::new(terms[0].clone(), IndexRecordOption::WithFreqs))),
            _ => per_field.push(Box::new(PhraseQuery::new(terms))),
        }
    }
    Box::new(DisjunctionMaxQuery::new(per_field))
}

/// The filters other than the customer: checked per document in the collector, on the fast
/// columns it reads anyway, rather than as queries whose posting lists would have to be
/// intersected with the text's, some of them as long as the index.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DocumentFilter {
    /// Bits of [`STATUS_BITS`] a document must all have: one per status filter. A payment or
    /// shipment status bit is set when any payment or shipment is in that status.
    required_bits: u64,
    forbidden_bits: u64,
    placed_at: Option<RangeInclusive<i64>>,
    total: Option<RangeInclusive<i64>>,
}

impl DocumentFilter {
    /// `None` when a range is empty, so that nothing can match: rejecting an inverted range is
    /// the HTTP layer's job, here it just matches nothing.
    fn of(query: &SearchQuery) -> Option<DocumentFilter> {
        let filters = &query.filters;
        let mut required_bits = 0;
        if let Some(status) = filters.status {
            required_bits |= status_bit(FacetKind::Status, status.symbol());
        }
        if let Some(status) = filters.payment_status {
            required_bits |= status_bit(FacetKind::PaymentStatus, status.symbol());
        }
        if let Some(status) = filters.shipment_status {
            required_bits |= status_bit(FacetKind::ShipmentStatus, status.symbol());
        }
        let forbidden_bits = if query.include_incomplete { 0 } else { INCOMPLETE_BIT };
        let placed_from = filters.placed_from.map(|from| from.timestamp_millis());
        // exclusive: up to the last millisecond before it
        let placed_until = filters.placed_to.map(|to| to.timestamp_millis().saturating_sub(1));
        Some(DocumentFilter {
            required_bits,
            forbidden_bits,
            placed_at: value_range(placed_from, placed_until)?,
            total: value_range(filters.min_total, filters.max_total)?,
        })
    }

    fn accepts_status_bits(&self, status_bits: u64) -> bool {
        status_bits & self.required_bits == self.required_bits && status_bits & self.forbidden_bits == 0
    }

    /// Whether a document passes; `placed_at` and `total` are only looked at when filtered on.
    fn accepts(&self, status_bits: u64, placed_at: i64, total: i64) -> bool {
        self.accepts_status_bits(status_bits)
            && self.placed_at.as_ref().is_none_or(|range| range.contains(&placed_at))
            && self.total.as_ref().is_none_or(|range| range.contains(&total))
    }
}

/// The values from `lower` to `upper`, both inclusive: `Some(None)` when neither is given,
/// `None` when the range is empty. [`MISSING_VALUE`] is never in a range.
fn value_range(lower: Option<i64>, upper: Option<i64>) -> Option<Option<RangeInclusive<i64>>> {
    if lower.is_none() && upper.is_none() {
        return Some(None);
    }
    let lower = lower.unwrap_or(i64::MIN).max(MISSING_VALUE + 1);
    let upper = upper.unwrap_or(i64::MAX);
    (lower <= upper).then_some(Some(lower..=upper))
}

/// Collects, in one pass over the matching documents: how many match, the status facets, and
/// the top `limit` of those after the cursor.
struct PageCollector {
    ranking: Ranking,
    limit: usize,
    after: Option<Position>,
    filter: DocumentFilter,
}

struct PageFruit {
    matched: u64,
    /// Matching documents after the cursor: whether another page follows this one.
    after_cursor: u64,
    /// Matching documents per value of the status bit set.
    status_bit_counts: Vec<u64>,
    /// Best first.
    top: Vec<Candidate>,
}

#[derive(Clone, Copy, Debug)]
struct Candidate {
    position: Position,
    score: Score,
    address: DocAddress,
}

// ordered by place in the results, so the top of a max-heap is the candidate to drop first
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.position.results_order(&other.position)
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.position == other.position
    }
}

impl Eq for Candidate {}

impl Collector for PageCollector {
    type Fruit = PageFruit;
    type Child = PageSegmentCollector;

    fn for_segment(&self, segment_ord: SegmentOrdinal, segment: &SegmentReader) -> ::tantivy::Result<Self::Child> {
        Ok(PageSegmentCollector {
            ranking: self.ranking,
            limit: self.limit,
            after: self.after,
            filter: self.filter.clone(),
            segment_ord,
            placed_at: dense_column(segment, PLACED_AT)?,
            total: dense_column(segment, TOTAL)?,
            order_key_high: dense_column(segment, ORDER_KEY_HIGH)?,
            order_key_low: dense_column(segment, ORDER_KEY_LOW)?,
            status_bits: dense_column(segment, STATUS_BITS)?,
            waiting_docs: Vec::with_capacity(BLOCK_DOCS),
            waiting_scores: Vec::with_capacity(BLOCK_DOCS),
            matched: 0,
            after_cursor: 0,
            status_bit_counts: vec![0; STATUS_BIT_COMBINATIONS],
            top: BinaryHeap::with_capacity(self.limit + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.ranking == Ranking::Score
    }

    fn merge_fruits(&self, segment_fruits: Vec<PageFruit>) -> ::tantivy::Result<PageFruit> {
        let mut merged = PageFruit {
            matched: 0,
            after_cursor: 0,
            status_bit_counts: vec![0; STATUS_BIT_COMBINATIONS],
            top: Vec::new(),
        };
        for fruit in segment_fruits {
            merged.matched += fruit.matched;
            merged.after_cursor += fruit.after_cursor;
            for (total, count) in merged.status_bit_counts.iter_mut().zip(&fruit.status_bit_counts) {
                *total += count;
            }
            merged.top.extend(fruit.top);
        }
        merged.top.sort_unstable();
        merged.top.truncate(self.limit);
        Ok(merged)
    }
}

/// How many documents the segment collector reads fast fields for at once: one dynamic call
/// per column and block instead of one per column and document.
const BLOCK_DOCS: usize = 64;

struct PageSegmentCollector {
    ranking: Ranking,
    limit: usize,
    after: Option<Position>,
    filter: DocumentFilter,
    segment_ord: SegmentOrdinal,
    /// Dense columns, indexed by doc id: see [`dense_column`].
    placed_at: Arc<dyn ColumnValues<u64>>,
    total: Arc<dyn ColumnValues<u64>>,
    order_key_high: Arc<dyn ColumnValues<u64>>,
    order_key_low: Arc<dyn ColumnValues<u64>>,
    status_bits: Arc<dyn ColumnValues<u64>>,
    /// Documents passed one at a time (with scores, or where some are deleted), waiting to be
    /// handled as a block.
    waiting_docs: Vec<DocId>,
    waiting_scores: Vec<Score>,
    matched: u64,
    after_cursor: u64,
    status_bit_counts: Vec<u64>,
    top: BinaryHeap<Candidate>,
}

/// The values of a fast field every document has exactly one of. Such a column's rows are the
/// doc ids, so its values are read directly: tantivy's `first_or_default_col` would add two
/// dynamic calls and an index lookup to every read.
fn dense_column(segment: &SegmentReader, name: &str) -> ::tantivy::Result<Arc<dyn ColumnValues<u64>>> {
    let column = segment.fast_fields().u64(name)?;
    if column.get_cardinality() == Cardinality::Full {
        return Ok(column.values);
    }
    debug_assert!(false, "every document has a value of {name}");
    Ok(column.first_or_default_col(0))
}

impl PageSegmentCollector {
    fn order_key(&self, doc: DocId) -> u128 {
        (u128::from(self.order_key_high.get_val(doc)) << 64) | u128::from(self.order_key_low.get_val(doc))
    }

    fn handle_waiting(&mut self) {
        let docs = std::mem::take(&mut self.waiting_docs);
        let scores = std::mem::take(&mut self.waiting_scores);
        self.handle_block(&docs, &scores);
        self.waiting_docs = docs;
        self.waiting_docs.clear();
        self.waiting_scores = scores;
        self.waiting_scores.clear();
    }

    /// Filters, counts and ranks up to [`BLOCK_DOCS`] matching documents; `scores` is empty
    /// when the ranking needs none.
    fn handle_block(&mut self, docs: &[DocId], scores: &[Score]) {
        debug_assert!(docs.len() <= BLOCK_DOCS);
        let count = docs.len();
        let mut status_bits = [0_u64; BLOCK_DOCS];
        self.status_bits.get_vals(docs, &mut status_bits[..count]);
        let mut placed_at = [0_u64; BLOCK_DOCS];
        if self.filter.placed_at.is_some() || self.ranking == Ranking::PlacedAt {
            self.placed_at.get_vals(docs, &mut placed_at[..count]);
        }
        let mut total = [0_u64; BLOCK_DOCS];
        if self.filter.total.is_some() || self.ranking == Ranking::Total {
            self.total.get_vals(docs, &mut total[..count]);
        }
        for index in 0..count {
            let placed_at = from_sortable_u64(placed_at[index]);
            let total = from_sortable_u64(total[index]);
            if !self.filter.accepts(status_bits[index], placed_at, total) {
                continue;
            }
            self.matched += 1;
            if let Some(documents) = self.status_bit_counts.get_mut(status_bits[index] as usize) {
                *documents += 1;
            }
            let score = scores.get(index).copied().unwrap_or_default();
            let rank = match self.ranking {
                Ranking::Score => score_rank(score),
                Ranking::PlacedAt => placed_at,
                Ranking::Total => total,
            };
            self.consider(docs[index], rank, score);
        }
    }

    /// Keeps the document if it is after the cursor and among the best `limit` so far. The
    /// order id is read only when the rank alone cannot decide.
    fn consider(&mut self, doc: DocId, rank: i64, score: Score) {
        if let Some(cursor) = self.after
            && (rank > cursor.rank || (rank == cursor.rank && self.order_key(doc) <= cursor.order_key))
        {
            return;
        }
        self.after_cursor += 1;
        if self.limit == 0 {
            return;
        }
        if self.top.len() == self.limit
            && let Some(worst) = self.top.peek()
            && rank < worst.position.rank
        {
            return;
        }
        let candidate = Candidate {
            position: Position { rank, order_key: self.order_key(doc) },
            score,
            address: DocAddress::new(self.segment_ord, doc),
        };
        if self.top.len() < self.limit {
            self.top.push(candidate);
            return;
        }
        if let Some(mut worst) = self.top.peek_mut()
            && candidate < *worst
        {
            *worst = candidate;
        }
    }
}

impl SegmentCollector for PageSegmentCollector {
    type Fruit = PageFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.waiting_docs.push(doc);
        if self.ranking == Ranking::Score {
            self.waiting_scores.push(score);
        }
        if self.waiting_docs.len() == BLOCK_DOCS {
            self.handle_waiting();
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.handle_waiting();
        for block in docs.chunks(BLOCK_DOCS) {
            self.handle_block(block, &[]);
        }
    }

    fn harvest(mut self) -> PageFruit {
        self.handle_waiting();
        PageFruit {
            matched: self.matched,
            after_cursor: self.after_cursor,
            status_bit_counts: self.status_bit_counts,
            top: self.top.into_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use order_view::search::SearchFilters;

    use super::*;

    fn filtered(filters: SearchFilters) -> SearchQuery {
        SearchQuery { filters, ..SearchQuery::default() }
    }

    #[test]
    fn score_rank_keeps_the_order_of_scores() {
        let scores = [-3.5_f32, -1.0, -0.0, 0.0, 1e-30, 0.1, 1.0, 1.5, 2.0, 1e30];
        for pair in scores.windows(2) {
            assert!(score_rank(pair[0]) <= score_rank(pair[1]), "{} then {}", pair[0], pair[1]);
        }
        assert!(score_rank(0.1) < score_rank(0.100_001));
    }

    #[test]
    fn a_position_comes_first_with_a_higher_rank_then_a_lower_order_id() {
        let first = Position { rank: 10, order_key: 5 };
        assert_eq!(first.results_order(&Position { rank: 9, order_key: 1 }), Ordering::Less);
        assert_eq!(first.results_order(&Position { rank: 10, order_key: 6 }), Ordering::Less);
        assert_eq!(first.results_order(&Position { rank: 10, order_key: 4 }), Ordering::Greater);
    }

    #[test]
    fn a_cursor_from_another_sort_is_a_bad_query() {
        let cursor = Cursor { sort: SortOrder::Total, key: CursorKey::Integer(1), order_id: Uuid::nil() };
        let result = cursor_position(Ranking::PlacedAt, SortOrder::Newest, &cursor);
        assert!(matches!(result, Err(IndexError::BadQuery(_))));
        let score_cursor = Cursor { sort: SortOrder::Relevance, key: CursorKey::Score(1.5), order_id: Uuid::nil() };
        let result = cursor_position(Ranking::PlacedAt, SortOrder::Relevance, &score_cursor);
        assert!(matches!(result, Err(IndexError::BadQuery(_))));
    }

    #[test]
    fn facets_count_every_bit_of_a_document() {
        let mut counts = vec![0; STATUS_BIT_COMBINATIONS];
        // PLACED with CAPTURED and REFUNDED payments, twice; CANCELLED alone, once
        counts[0b1 | 0b1_0000 | 0b10_0000] = 2;
        counts[0b10] = 1;
        let facets = facets_of(&counts);
        assert_eq!(facets.status, [("CANCELLED".to_string(), 1), ("PLACED".to_string(), 2)].into());
        assert_eq!(facets.payment_status, [("CAPTURED".to_string(), 2), ("REFUNDED".to_string(), 2)].into());
        assert!(facets.shipment_status.is_empty());
    }

    fn at(millis: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(millis).expect("a time")
    }

    #[test]
    fn inverted_and_empty_ranges_match_nothing() {
        let window = |from, to| {
            filtered(SearchFilters { placed_from: Some(at(from)), placed_to: Some(at(to)), ..Default::default() })
        };
        assert_eq!(DocumentFilter::of(&window(5, 5)), None);
        assert_eq!(DocumentFilter::of(&window(6, 5)), None);
        let totals =
            |min, max| filtered(SearchFilters { min_total: Some(min), max_total: Some(max), ..Default::default() });
        assert_eq!(DocumentFilter::of(&totals(6, 5)), None);
        assert_eq!(DocumentFilter::of(&totals(5, 5)).and_then(|filter| filter.total), Some(5..=5));
    }

    #[test]
    fn placed_to_is_exclusive_and_a_missing_value_is_in_no_range() {
        let query =
            filtered(SearchFilters { placed_to: Some(at(100)), min_total: Some(i64::MIN), ..Default::default() });
        let filter = DocumentFilter::of(&query).expect("not empty");
        let placed_at = filter.placed_at.expect("a range");
        assert!(placed_at.contains(&99) && !placed_at.contains(&100) && !placed_at.contains(&MISSING_VALUE));
        assert!(!filter.total.expect("a range").contains(&MISSING_VALUE));
        assert_eq!(DocumentFilter::of(&SearchQuery::default()).map(|filter| filter.placed_at), Some(None));
    }

    #[test]
    fn status_filters_need_their_bit_and_incomplete_documents_are_left_out_by_default() {
        let captured = status_bit(FacetKind::PaymentStatus, "CAPTURED");
        let refunded = status_bit(FacetKind::PaymentStatus, "REFUNDED");
        let query =
            filtered(SearchFilters { payment_status: Some(order_view::PaymentStatus::Captured), ..Default::default() });
        let filter = DocumentFilter::of(&query).expect("not empty");
        assert!(filter.accepts_status_bits(captured | refunded));
        assert!(!filter.accepts_status_bits(refunded));
        assert!(!filter.accepts_status_bits(captured | INCOMPLETE_BIT));
        let including = DocumentFilter::of(&SearchQuery { include_incomplete: true, ..query }).expect("not empty");
        assert!(including.accepts_status_bits(captured | INCOMPLETE_BIT));
    }
}
