//! The query text `q`: user input split into words and quoted phrases, each bounded.
//!
//! User text never reaches a search engine's query language: it is split here, and each design
//! matches the pieces its own way (order-history with typo tolerance and ranking, composer
//! exactly).

/// The longest `q`, in characters.
pub const MAX_TEXT_CHARS: usize = 256;
/// The most words and phrases in one `q`.
pub const MAX_TEXT_CLAUSES: usize = 16;
/// The longest word, in characters.
pub const MAX_WORD_CHARS: usize = 64;

/// Free text, split into clauses that must all match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchText {
    pub clauses: Vec<TextClause>,
}

/// One clause of [`SearchText`], lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextClause {
    /// One word, matched in any text field.
    Word(String),
    /// Quoted words that must appear next to each other, in order, in one value of one field.
    Phrase(Vec<String>),
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
            if quoted && words.len() > 1 {
                clauses.push(TextClause::Phrase(words));
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

/// The lowercased words of `text`: its maximal runs of letters and digits.
fn words_of(text: &str) -> Result<Vec<String>, TextError> {
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect();
    if words.iter().any(|word| word.chars().count() > MAX_WORD_CHARS) {
        return Err(TextError::WordTooLong);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_phrases_are_split_and_lowercased() {
        let text = SearchText::parse(r#"Zoë "copper TEA kettle" sku-mug "one""#).expect("parses").expect("text");
        assert_eq!(
            text.clauses,
            vec![
                TextClause::Word("zoë".into()),
                TextClause::Phrase(vec!["copper".into(), "tea".into(), "kettle".into()]),
                TextClause::Word("sku".into()),
                TextClause::Word("mug".into()),
                TextClause::Word("one".into()),
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
}
