//! Highlights: the values of the text fields a hit matched in, with each matching word wrapped
//! in `<em>`…`</em>`.
//!
//! Cut from the hit's own fields with the analyzers the index uses, rather than with tantivy's
//! snippet generator, which knows only exact terms and so would miss every fuzzy match.

use std::collections::BTreeMap;
use std::ops::Range;

use ::tantivy::tokenizer::TextAnalyzer;
use order_view::push_html_escaped;
use order_view::search::IDENTIFIER_FIELDS;

use super::schema::parts_analyzer;
use crate::index::query::{SearchText, TextClause, fuzziness};

/// At most this many highlighted values per field, like Elasticsearch's default fragments.
const MAX_SNIPPETS_PER_FIELD: usize = 5;
/// A longer value is cut to a window of about this many bytes around its first match.
const MAX_SNIPPET_BYTES: usize = 200;
/// How much of the value before its first match the window keeps.
const CONTEXT_BEFORE_MATCH_BYTES: usize = 40;

pub(super) struct Highlighter {
    words: Vec<QueryWord>,
    phrases: Vec<Vec<String>>,
    words_analyzer: TextAnalyzer,
    parts_analyzer: TextAnalyzer,
}

struct QueryWord {
    token: String,
    distance: u8,
}

struct AnalyzedToken {
    text: String,
    bytes: Range<usize>,
    position: usize,
}

impl Highlighter {
    pub fn new(text: &SearchText, words_analyzer: &TextAnalyzer) -> Highlighter {
        let mut analyzer = words_analyzer.clone();
        let mut words = Vec::new();
        let mut phrases = Vec::new();
        for clause in &text.clauses {
            match clause {
                TextClause::Word(word) => {
                    for token in super::search::analyze(&mut analyzer, word) {
                        words.push(QueryWord { token, distance: fuzziness(word) });
                    }
                }
                TextClause::Phrase(phrase_words) => {
                    let tokens: Vec<String> =
                        phrase_words.iter().flat_map(|word| super::search::analyze(&mut analyzer, word)).collect();
                    phrases.push(tokens);
                }
            }
        }
        Highlighter { words, phrases, words_analyzer: analyzer, parts_analyzer: parts_analyzer() }
    }

    /// The highlighted values of every text field that the text matches, from the values of
    /// each field ([`order_view::search::text_values`] of the hit).
    pub fn highlight(&mut self, text_values: &[(&'static str, Vec<String>)]) -> BTreeMap<String, Vec<String>> {
        let mut highlights = BTreeMap::new();
        for (name, values) in text_values {
            let identifier = IDENTIFIER_FIELDS.contains(name);
            let mut snippets = Vec::new();
            for value in values {
                let words_tokens = tokens(&mut self.words_analyzer, value);
                let mut matches = self.word_matches(&words_tokens);
                matches.extend(self.phrase_matches(&words_tokens));
                if identifier {
                    let parts_tokens = tokens(&mut self.parts_analyzer, value);
                    matches.extend(self.word_matches(&parts_tokens));
                }
                if matches.is_empty() {
                    continue;
                }
                snippets.push(snippet(value, matches));
                if snippets.len() == MAX_SNIPPETS_PER_FIELD {
                    break;
                }
            }
            if !snippets.is_empty() {
                highlights.insert(name.to_string(), snippets);
            }
        }
        highlights
    }

    fn word_matches(&self, tokens: &[AnalyzedToken]) -> Vec<Range<usize>> {
        let mut matches = Vec::new();
        for token in tokens {
            let matched = self.words.iter().any(|word| {
                token.text == word.token
                    || (word.distance > 0 && within_edit_distance(&token.text, &word.token, word.distance))
            });
            if matched {
                matches.push(token.bytes.clone());
            }
        }
        matches
    }

    fn phrase_matches(&self, tokens: &[AnalyzedToken]) -> Vec<Range<usize>> {
        let mut matches = Vec::new();
        for phrase in &self.phrases {
            if phrase.is_empty() || phrase.len() > tokens.len() {
                continue;
            }
            for window in tokens.windows(phrase.len()) {
                let first_position = window[0].position;
                let is_phrase = window.iter().zip(phrase).enumerate().all(|(offset, (token, phrase_token))| {
                    token.text == *phrase_token && token.position == first_position + offset
                });
                if is_phrase {
                    matches.extend(window.iter().map(|token| token.bytes.clone()));
                }
            }
        }
        matches
    }
}

fn tokens(analyzer: &mut TextAnalyzer, value: &str) -> Vec<AnalyzedToken> {
    let mut tokens = Vec::new();
    let mut stream = analyzer.token_stream(value);
    while let Some(token) = stream.next() {
        tokens.push(AnalyzedToken {
            text: token.text.clone(),
            bytes: token.offset_from..token.offset_to,
            position: token.position,
        });
    }
    tokens
}

/// `value`, HTML-escaped, with every match in `<em>`…`</em>`; cut around the first match when
/// it is long.
fn snippet(value: &str, mut matches: Vec<Range<usize>>) -> String {
    matches.sort_by_key(|range| (range.start, range.end));
    let merged = merge_overlapping(matches);
    let first_match = merged.first().map_or(0, |range| range.start);
    let (window_start, window_end) = if value.len() <= MAX_SNIPPET_BYTES {
        (0, value.len())
    } else {
        let start = floor_char_boundary(value, first_match.saturating_sub(CONTEXT_BEFORE_MATCH_BYTES));
        (start, floor_char_boundary(value, (start + MAX_SNIPPET_BYTES).min(value.len())))
    };
    let mut snippet = String::with_capacity(window_end - window_start + 16 * merged.len());
    if window_start > 0 {
        snippet.push('…');
    }
    let mut cursor = window_start;
    for range in merged {
        let start = range.start.clamp(window_start, window_end);
        let end = range.end.clamp(window_start, window_end);
        if start >= end || start < cursor {
            continue;
        }
        push_html_escaped(&mut snippet, &value[cursor..start]);
        snippet.push_str("<em>");
        push_html_escaped(&mut snippet, &value[start..end]);
        snippet.push_str("</em>");
        cursor = end;
    }
    push_html_escaped(&mut snippet, &value[cursor..window_end]);
    if window_end < value.len() {
        snippet.push('…');
    }
    snippet
}

/// Joins ranges that overlap, e.g. a whole tracking number and one of its parts; `sorted` is
/// ordered by start.
fn merge_overlapping(sorted: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

fn floor_char_boundary(value: &str, mut index: usize) -> usize {
    while !value.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Whether `left` becomes `right` with at most `max_edits` insertions, deletions, substitutions
/// or swaps of neighbours: the distance tantivy's fuzzy automaton matches with.
fn within_edit_distance(left: &str, right: &str, max_edits: u8) -> bool {
    let max_edits = usize::from(max_edits);
    // a cheap bound first: most tokens are far longer or shorter than a query word
    if left.chars().count().abs_diff(right.chars().count()) > max_edits {
        return false;
    }
    edit_distance(left, right) <= max_edits
}

/// The optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours, each one edit.
pub(super) fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    // three rolling rows of the distance matrix
    let width = right.len() + 1;
    let mut before_previous = vec![0; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current = vec![0; width];
    for (i, left_char) in left.iter().enumerate() {
        current[0] = i + 1;
        for (j, right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != right_char);
            let mut best = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            if i > 0 && j > 0 && *left_char == right[j - 1] && left[i - 1] == *right_char {
                best = best.min(before_previous[j - 1] + 1);
            }
            current[j + 1] = best;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use order_view::search::TEXT_FIELDS;

    use super::*;
    use crate::index::tantivy::schema::words_analyzer;

    fn highlighter(raw: &str) -> Highlighter {
        let text = SearchText::parse(raw).expect("parses").expect("some text");
        Highlighter::new(&text, &words_analyzer())
    }

    fn fields_with(
        customer_name: &str,
        item_names: &[&str],
        tracking_numbers: &[&str],
    ) -> [(&'static str, Vec<String>); TEXT_FIELDS.len()] {
        let strings = |values: &[&str]| values.iter().map(|value| value.to_string()).collect();
        TEXT_FIELDS.map(|name| match name {
            "customer_name" => (name, strings(&[customer_name])),
            "item_names" => (name, strings(item_names)),
            "tracking_numbers" => (name, strings(tracking_numbers)),
            _ => (name, Vec::new()),
        })
    }

    #[test]
    fn edit_distance_counts_a_swap_of_neighbours_as_one_edit() {
        assert!(within_edit_distance("kettle", "kettle", 0));
        assert!(within_edit_distance("ketle", "kettle", 1));
        assert!(within_edit_distance("kettel", "kettle", 1));
        assert!(!within_edit_distance("ktetel", "kettle", 1));
        assert!(within_edit_distance("ktetel", "kettle", 2));
        assert!(!within_edit_distance("mug", "kettle", 2));
        assert!(within_edit_distance("zoee", "zoe", 1));
    }

    #[test]
    fn fuzzy_and_folded_matches_are_highlighted_in_the_original_text() {
        let highlights = highlighter("zoee").highlight(&fields_with("Zoë Ørsted", &[], &[]));
        assert_eq!(highlights["customer_name"], vec!["<em>Zoë</em> Ørsted".to_string()]);
    }

    #[test]
    fn a_phrase_is_highlighted_only_where_its_words_are_in_order() {
        let fields = fields_with("Ann", &["Copper tea kettle", "Kettle tea cosy"], &[]);
        let highlights = highlighter("\"tea kettle\"").highlight(&fields);
        assert_eq!(highlights["item_names"], vec!["Copper <em>tea</em> <em>kettle</em>".to_string()]);
    }

    #[test]
    fn a_part_of_an_identifier_is_highlighted_inside_it() {
        let highlights = highlighter("123456789").highlight(&fields_with("Ann", &[], &["3SPOST123456789"]));
        assert_eq!(highlights["tracking_numbers"], vec!["3SPOST<em>123456789</em>".to_string()]);
        let highlights = highlighter("3spost123456789").highlight(&fields_with("Ann", &[], &["3SPOST123456789"]));
        assert_eq!(highlights["tracking_numbers"], vec!["<em>3SPOST123456789</em>".to_string()]);
    }

    #[test]
    fn markup_in_values_is_escaped() {
        let highlights = highlighter("tom").highlight(&fields_with("Tom <b>&</b> Jerry", &[], &[]));
        assert_eq!(highlights["customer_name"], vec!["<em>Tom</em> &lt;b&gt;&amp;&lt;/b&gt; Jerry".to_string()]);
    }

    #[test]
    fn a_long_value_is_cut_around_its_first_match() {
        let long_name = format!("{} kettle {}", "a".repeat(300), "b".repeat(300));
        let highlights = highlighter("kettle").highlight(&fields_with("Ann", &[long_name.as_str()], &[]));
        let snippet = &highlights["item_names"][0];
        assert!(snippet.starts_with('…') && snippet.ends_with('…'), "{snippet}");
        assert!(snippet.contains("<em>kettle</em>"), "{snippet}");
        assert!(snippet.len() < 260, "{snippet}");
    }

    #[test]
    fn fields_without_a_match_have_no_highlights() {
        let highlights = highlighter("kettle").highlight(&fields_with("Ann", &["Stoneware mug"], &[]));
        assert!(highlights.is_empty());
    }
}
