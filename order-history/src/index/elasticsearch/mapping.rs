//! The index definition (settings, analyzers, mapping) and the source each document is stored as.
//!
//! Fields are the [`IndexedFields`] both backends index, under the same names, plus the whole
//! [`OrderHistory`] under [`DOCUMENT_FIELD`], kept in `_source` but not indexed.

use order_view::OrderHistory;
use order_view::search::{IDENTIFIER_FIELDS, TEXT_FIELDS};
use serde_json::{Map, Value, json};

use crate::index::query::IndexedFields;

/// Where the full document lives in `_source`.
pub const DOCUMENT_FIELD: &str = "document";
/// Keyword field with the order id: the tie-breaker of every sort.
pub const ORDER_ID_FIELD: &str = "order_id";
pub const INCOMPLETE_FIELD: &str = "incomplete";
pub const CUSTOMER_ID_FIELD: &str = "customer_id";
pub const STATUS_FIELD: &str = "status";
pub const PAYMENT_STATUSES_FIELD: &str = "payment_statuses";
pub const SHIPMENT_STATUSES_FIELD: &str = "shipment_statuses";
/// Epoch millis, a `long`: sort values and cursors stay plain integers.
pub const PLACED_AT_FIELD: &str = "placed_at_ms";
pub const TOTAL_FIELD: &str = "total_minor";

/// The subfield of each of [`IDENTIFIER_FIELDS`] with its parts, so `3SPOST123456789` is found
/// by `123456789` too.
pub const PARTS_SUBFIELD: &str = "parts";

/// Splits on every character that is not a letter or digit, exactly as
/// [`SearchText::parse`](crate::index::SearchText::parse) splits user text, so an indexed
/// token is always something a user can type as one word: `zoe@example.com` is `zoe`,
/// `example`, `com`, where the standard tokenizer alone would keep `example.com` whole.
const WORDS_ANALYZER: &str = "folded_words";
/// [`WORDS_ANALYZER`], then identifiers split where letters meet digits: `3SPOST123456789` is
/// `3`, `spost`, `123456789`.
const PARTS_ANALYZER: &str = "identifier_parts";
/// A query word is already one word; searched against parts as a whole, never split again.
const WORD_ANALYZER: &str = "folded_word";

/// The body of the create-index request: settings with the analyzers, and a strict mapping.
pub fn index_definition(number_of_replicas: u32) -> Value {
    json!({
        "settings": {
            // one shard: the view of a few million orders fits one easily, and a single shard
            // keeps scores (and so relevance order) the same whichever node answers
            "number_of_shards": 1,
            "number_of_replicas": number_of_replicas,
            "analysis": {
                "char_filter": {
                    "non_alphanumeric_to_space": {
                        "type": "pattern_replace",
                        "pattern": "[^\\p{L}\\p{N}]+",
                        "replacement": " "
                    }
                },
                "filter": {
                    "letters_digits_split": {
                        "type": "word_delimiter_graph",
                        "split_on_numerics": true,
                        "split_on_case_change": false,
                        "generate_word_parts": true,
                        "generate_number_parts": true,
                        "preserve_original": false
                    }
                },
                "analyzer": {
                    // asciifolding after lowercase so `Zoë` and `zoe` are the same token
                    WORDS_ANALYZER: {
                        "type": "custom",
                        "char_filter": ["non_alphanumeric_to_space"],
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding"]
                    },
                    PARTS_ANALYZER: {
                        "type": "custom",
                        "char_filter": ["non_alphanumeric_to_space"],
                        "tokenizer": "standard",
                        "filter": ["letters_digits_split", "lowercase", "asciifolding"]
                    },
                    WORD_ANALYZER: {
                        "type": "custom",
                        "tokenizer": "keyword",
                        "filter": ["lowercase", "asciifolding"]
                    }
                }
            }
        },
        "mappings": mappings()
    })
}

fn mappings() -> Value {
    let mut properties = Map::new();
    for field in TEXT_FIELDS {
        properties.insert(field.to_string(), text_field_mapping(field));
    }
    let keyword = json!({ "type": "keyword" });
    let long = json!({ "type": "long" });
    properties.insert(ORDER_ID_FIELD.to_string(), keyword.clone());
    properties.insert(INCOMPLETE_FIELD.to_string(), json!({ "type": "boolean" }));
    properties.insert(CUSTOMER_ID_FIELD.to_string(), keyword.clone());
    properties.insert(STATUS_FIELD.to_string(), keyword.clone());
    properties.insert(PAYMENT_STATUSES_FIELD.to_string(), keyword.clone());
    properties.insert(SHIPMENT_STATUSES_FIELD.to_string(), keyword);
    properties.insert(PLACED_AT_FIELD.to_string(), long.clone());
    properties.insert(TOTAL_FIELD.to_string(), long);
    // kept whole for load, get and search hits; never searched, so not indexed at all
    properties.insert(DOCUMENT_FIELD.to_string(), json!({ "type": "object", "enabled": false }));
    // strict: a field written under a misspelt name fails the write instead of being guessed
    json!({ "dynamic": "strict", "properties": properties })
}

fn text_field_mapping(field: &str) -> Value {
    if !IDENTIFIER_FIELDS.contains(&field) {
        return json!({ "type": "text", "analyzer": WORDS_ANALYZER });
    }
    json!({
        "type": "text",
        "analyzer": WORDS_ANALYZER,
        "fields": {
            PARTS_SUBFIELD: { "type": "text", "analyzer": PARTS_ANALYZER, "search_analyzer": WORD_ANALYZER }
        }
    })
}

/// The fields a word is searched in: every text field, and the parts of identifier fields.
pub fn word_search_fields() -> Vec<String> {
    let mut fields: Vec<String> = TEXT_FIELDS.iter().map(|field| field.to_string()).collect();
    for field in IDENTIFIER_FIELDS {
        fields.push(parts_field(field));
    }
    fields
}

pub fn parts_field(field: &str) -> String {
    format!("{field}.{PARTS_SUBFIELD}")
}

/// The `_source` of `document`: its [`IndexedFields`] and the document itself. Each text field
/// holds the list of its values.
pub fn source_of(document: &OrderHistory) -> Result<Value, serde_json::Error> {
    let fields = IndexedFields::of(document);
    let mut source = json!({
        ORDER_ID_FIELD: fields.order_id,
        INCOMPLETE_FIELD: fields.incomplete,
        CUSTOMER_ID_FIELD: fields.customer_id,
        STATUS_FIELD: fields.statuses.status,
        PAYMENT_STATUSES_FIELD: fields.statuses.payment_statuses,
        SHIPMENT_STATUSES_FIELD: fields.statuses.shipment_statuses,
        PLACED_AT_FIELD: fields.placed_at_ms,
        TOTAL_FIELD: fields.total_minor,
        DOCUMENT_FIELD: serde_json::to_value(document)?,
    });
    for (name, values) in fields.text {
        source[name] = json!(values);
    }
    Ok(source)
}
