//! The tantivy schema: one field per member of [`IndexedFields`], the whole document as stored
//! JSON, and the analyzers the text fields are indexed with.

use std::iter::Peekable;
use std::str::CharIndices;

use ::tantivy::TantivyDocument;
use ::tantivy::schema::{FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use ::tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token, TokenStream, Tokenizer,
    TokenizerManager,
};
use order_view::OrderHistory;
use order_view::search::{IDENTIFIER_FIELDS, MAX_WORD_CHARS, TEXT_FIELDS};

use crate::index::query::IndexedFields;
use crate::index::{DocumentJson, IndexError};

/// Names, addresses, product text: split on everything that is not a letter or digit, exactly as
/// [`SearchText::parse`](crate::index::SearchText::parse) splits user text, so every indexed
/// token is something a user can type as one word; lowercased and folded so `Zoe` finds `Zoë`.
pub(super) const WORDS_ANALYZER: &str = "folded_words";
/// [`WORDS_ANALYZER`], then identifiers split where letters meet digits, so `3SPOST123456789`
/// is also found by `123456789`.
pub(super) const PARTS_ANALYZER: &str = "identifier_parts";

/// Tokens longer than this (in bytes) are dropped; a query word of [`MAX_WORD_CHARS`] characters
/// in any script still fits, so nothing a user can type is lost.
const MAX_TOKEN_BYTES: usize = 4 * MAX_WORD_CHARS + 1;

pub(super) const ORDER_ID: &str = "order_id";
/// The order id as a `u128` in two halves: the tie-breaker of every sort, read as fast fields.
/// Ascending `u128` order is ascending order of the id's text form, which the Elasticsearch
/// backend sorts on, so both break ties the same way.
pub(super) const ORDER_KEY_HIGH: &str = "order_key_high";
pub(super) const ORDER_KEY_LOW: &str = "order_key_low";
pub const DOCUMENT: &str = "document";
pub(super) const CUSTOMER_ID: &str = "customer_id";
/// Every status symbol of the document, and whether it is incomplete, as one bit set: the
/// status filters and the facets cost one dense fast-field read per matching document, where
/// term filters would intersect posting lists as long as the index (`incomplete=false`
/// matches nearly everything) and facets would read three string columns, two multi-valued.
pub const STATUS_BITS: &str = "status_bits";
/// Epoch millis; dense, with [`MISSING_VALUE`] where the order is not known yet. Stored as
/// [`sortable_u64`]: a `u64` column is read without the mapping layer an `i64` column adds.
pub const PLACED_AT: &str = "placed_at_ms";
/// Minor units; dense and stored like [`PLACED_AT`].
pub const TOTAL: &str = "total_minor";

/// The value of [`PLACED_AT`] and [`TOTAL`] in a document that has none (an incomplete one):
/// dense columns read faster than optional ones, this value sorts such documents last in
/// every descending sort, and range filters never include it.
pub(super) const MISSING_VALUE: i64 = i64::MIN;

/// Which facet a bit of [`STATUS_BITS`] counts under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FacetKind {
    Status,
    PaymentStatus,
    ShipmentStatus,
}

/// The bit of each status symbol in [`STATUS_BITS`].
pub(super) const STATUS_BIT_SYMBOLS: [(FacetKind, &str); 11] = [
    (FacetKind::Status, "PLACED"),
    (FacetKind::Status, "CANCELLED"),
    (FacetKind::PaymentStatus, "AUTHORIZED"),
    (FacetKind::PaymentStatus, "DECLINED"),
    (FacetKind::PaymentStatus, "CAPTURED"),
    (FacetKind::PaymentStatus, "REFUNDED"),
    (FacetKind::ShipmentStatus, "CREATED"),
    (FacetKind::ShipmentStatus, "DISPATCHED"),
    (FacetKind::ShipmentStatus, "IN_TRANSIT"),
    (FacetKind::ShipmentStatus, "DELIVERED"),
    (FacetKind::ShipmentStatus, "RETURNED"),
];

/// The bit of [`STATUS_BITS`] set in incomplete documents, after the status symbols.
pub(super) const INCOMPLETE_BIT: u64 = 1 << STATUS_BIT_SYMBOLS.len();

/// How many distinct values [`STATUS_BITS`] can take.
pub(super) const STATUS_BIT_COMBINATIONS: usize = 1 << (STATUS_BIT_SYMBOLS.len() + 1);

pub(super) fn status_bit(kind: FacetKind, symbol: &str) -> u64 {
    let position =
        STATUS_BIT_SYMBOLS.iter().position(|(bit_kind, bit_symbol)| *bit_kind == kind && *bit_symbol == symbol);
    debug_assert!(position.is_some(), "every status symbol has a bit: {symbol}");
    position.map_or(0, |position| 1 << position)
}

/// `value` as a `u64` in the same order; [`from_sortable_u64`] undoes it.
pub fn sortable_u64(value: i64) -> u64 {
    ::tantivy::i64_to_u64(value)
}

pub(super) fn from_sortable_u64(value: u64) -> i64 {
    ::tantivy::u64_to_i64(value)
}

/// Handles of every field of the schema.
#[derive(Clone, Debug)]
pub(super) struct Fields {
    pub order_id: Field,
    pub order_key_high: Field,
    pub order_key_low: Field,
    pub document: Field,
    pub customer_id: Field,
    pub status_bits: Field,
    pub placed_at: Field,
    pub total: Field,
    /// In the order of [`TEXT_FIELDS`].
    pub text: [Field; TEXT_FIELDS.len()],
    /// In the order of [`IDENTIFIER_FIELDS`]: the parts of each, searched by words only. Each
    /// identifier field also gets a parts field.
    pub identifier_parts: [Field; IDENTIFIER_FIELDS.len()],
}

impl Fields {
    /// The text fields a word is searched in, each with the [`TEXT_FIELDS`] name its matches
    /// are highlighted under.
    pub fn word_fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.text.iter().chain(self.identifier_parts.iter()).copied()
    }
}

pub(super) fn parts_field_name(field: &str) -> String {
    format!("{field}.parts")
}

pub(super) fn build_schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text_options = |analyzer: &str, record: IndexRecordOption| {
        TextOptions::default()
            .set_indexing_options(TextFieldIndexing::default().set_tokenizer(analyzer).set_index_option(record))
    };
    let order_id = builder.add_text_field(ORDER_ID, STRING);
    let order_key_high = builder.add_u64_field(ORDER_KEY_HIGH, FAST);
    let order_key_low = builder.add_u64_field(ORDER_KEY_LOW, FAST);
    let document = builder.add_text_field(DOCUMENT, STORED);
    // a customer has few orders: a term query finds them without looking at the others
    let customer_id = builder.add_text_field(CUSTOMER_ID, STRING);
    // the other filters and the sorts read fast columns for the documents the text and the
    // customer matched, in the same pass that counts facets (see `search`)
    let status_bits = builder.add_u64_field(STATUS_BITS, FAST);
    let placed_at = builder.add_u64_field(PLACED_AT, FAST);
    let total = builder.add_u64_field(TOTAL, FAST);
    let text = TEXT_FIELDS.map(|name| {
        builder.add_text_field(name, text_options(WORDS_ANALYZER, IndexRecordOption::WithFreqsAndPositions))
    });
    // phrases are matched in the word fields only, so parts need no positions
    let identifier_parts = IDENTIFIER_FIELDS.map(|name| {
        builder.add_text_field(&parts_field_name(name), text_options(PARTS_ANALYZER, IndexRecordOption::WithFreqs))
    });
    let fields = Fields {
        order_id,
        order_key_high,
        order_key_low,
        document,
        customer_id,
        status_bits,
        placed_at,
        total,
        text,
        identifier_parts,
    };
    (builder.build(), fields)
}

pub(super) fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

pub(super) fn parts_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(IdentifierPartsTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

pub(super) fn tokenizers() -> TokenizerManager {
    let manager = TokenizerManager::default();
    manager.register(WORDS_ANALYZER, words_analyzer());
    manager.register(PARTS_ANALYZER, parts_analyzer());
    manager
}

/// The tantivy document of `document`: its [`IndexedFields`] and its JSON, as
/// [`DocumentJson::of`] writes it, so that GET by id can serve it as stored.
pub(super) fn to_tantivy_document(fields: &Fields, document: &OrderHistory) -> Result<TantivyDocument, IndexError> {
    let indexed = IndexedFields::of(document);
    let mut tantivy_document = TantivyDocument::default();
    tantivy_document.add_text(fields.order_id, &indexed.order_id);
    let order_key = document.order_id.as_u128();
    tantivy_document.add_u64(fields.order_key_high, (order_key >> 64) as u64);
    tantivy_document.add_u64(fields.order_key_low, order_key as u64);
    tantivy_document.add_text(fields.document, DocumentJson::of(document)?.into_string());
    if let Some(customer_id) = &indexed.customer_id {
        tantivy_document.add_text(fields.customer_id, customer_id);
    }
    let mut status_bits = if indexed.incomplete { INCOMPLETE_BIT } else { 0 };
    if let Some(status) = indexed.statuses.status {
        status_bits |= status_bit(FacetKind::Status, status);
    }
    for status in &indexed.statuses.payment_statuses {
        status_bits |= status_bit(FacetKind::PaymentStatus, status);
    }
    for status in &indexed.statuses.shipment_statuses {
        status_bits |= status_bit(FacetKind::ShipmentStatus, status);
    }
    tantivy_document.add_u64(fields.status_bits, status_bits);
    tantivy_document.add_u64(fields.placed_at, sortable_u64(indexed.placed_at_ms.unwrap_or(MISSING_VALUE)));
    tantivy_document.add_u64(fields.total, sortable_u64(indexed.total_minor.unwrap_or(MISSING_VALUE)));
    for (field, (name, values)) in fields.text.iter().zip(&indexed.text) {
        let parts_field = IDENTIFIER_FIELDS
            .iter()
            .position(|identifier| identifier == name)
            .map(|index| fields.identifier_parts[index]);
        for value in values {
            tantivy_document.add_text(*field, value);
            if let Some(parts_field) = parts_field {
                tantivy_document.add_text(parts_field, value);
            }
        }
    }
    Ok(tantivy_document)
}

/// Splits on everything that is not a letter or digit, like `SimpleTokenizer`, and also
/// where letters meet digits: `3SPOST123456789` is `3`, `SPOST`, `123456789`.
#[derive(Clone, Default)]
pub(super) struct IdentifierPartsTokenizer {
    token: Token,
}

pub(super) struct IdentifierPartsStream<'a> {
    text: &'a str,
    chars: Peekable<CharIndices<'a>>,
    token: &'a mut Token,
}

impl Tokenizer for IdentifierPartsTokenizer {
    type TokenStream<'a> = IdentifierPartsStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> IdentifierPartsStream<'a> {
        self.token.reset();
        IdentifierPartsStream { text, chars: text.char_indices().peekable(), token: &mut self.token }
    }
}

impl TokenStream for IdentifierPartsStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        while let Some((offset_from, first)) = self.chars.next() {
            if !first.is_alphanumeric() {
                continue;
            }
            let digits = first.is_numeric();
            let mut offset_to = self.text.len();
            while let Some(&(offset, next)) = self.chars.peek() {
                if !next.is_alphanumeric() || next.is_numeric() != digits {
                    offset_to = offset;
                    break;
                }
                self.chars.next();
            }
            self.token.offset_from = offset_from;
            self.token.offset_to = offset_to;
            self.token.text.push_str(&self.text[offset_from..offset_to]);
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}
