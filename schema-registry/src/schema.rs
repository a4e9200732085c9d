//! Parsing submitted Avro schemas, and deciding when two texts are the same schema.

use apache_avro::Schema;
use serde_json::Value;

use platform::errors::error_chain;

/// A schema that parsed as Avro, with the text it came from and its fingerprint.
#[derive(Debug)]
pub struct ParsedSchema {
    pub text: String,
    pub schema: Schema,
    /// Equal for two texts exactly when they describe the same schema; see [`fingerprint`].
    pub fingerprint: String,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid avro schema: {0}")]
pub struct InvalidSchema(String);

/// Parses `text` as an Avro schema.
pub fn parse(text: String) -> Result<ParsedSchema, InvalidSchema> {
    if text.trim().is_empty() {
        return Err(InvalidSchema("empty schema".to_string()));
    }
    let schema = Schema::parse_str(&text).map_err(|error| InvalidSchema(error_chain(&error)))?;
    let fingerprint = fingerprint(&schema).map_err(|error| InvalidSchema(error.to_string()))?;
    Ok(ParsedSchema { text, schema, fingerprint })
}

/// The full normalized JSON form of a parsed schema, with object keys sorted.
///
/// Parsing first makes whitespace, key order and equivalent spellings (`{"type": "string"}`
/// and `"string"`) irrelevant, while defaults, docs, aliases and logical types still count,
/// which is what Confluent compares. The Parsing Canonical Form would be too coarse: it drops
/// defaults, so a schema that adds one would wrongly count as already registered.
fn fingerprint(schema: &Schema) -> Result<String, serde_json::Error> {
    let normalized = sort_object_keys(serde_json::to_value(schema)?);
    serde_json::to_string(&normalized)
}

/// Rebuilds every JSON object with its keys in sorted order, so that stored fingerprints do
/// not change if some crate in the build turns on serde_json's `preserve_order` feature.
fn sort_object_keys(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(String, Value)> = object.into_iter().collect();
            entries.sort_by(|left, right| left.0.cmp(&right.0));
            Value::Object(entries.into_iter().map(|(key, value)| (key, sort_object_keys(value))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_object_keys).collect()),
        scalar => scalar,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint_of(text: &str) -> String {
        match parse(text.to_string()) {
            Ok(parsed) => parsed.fingerprint,
            Err(error) => panic!("{text} should parse: {error}"),
        }
    }

    #[test]
    fn whitespace_and_key_order_do_not_change_the_fingerprint() {
        let compact = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}"#;
        let reordered = r#"{
            "fields": [ { "type": "string", "name": "id" } ],
            "name": "Order",
            "type": "record"
        }"#;
        assert_eq!(fingerprint_of(compact), fingerprint_of(reordered));
    }

    #[test]
    fn equivalent_spellings_of_a_primitive_share_a_fingerprint() {
        assert_eq!(fingerprint_of(r#"{"type": "string"}"#), fingerprint_of(r#""string""#));
    }

    #[test]
    fn defaults_and_logical_types_change_the_fingerprint() {
        let plain = r#"{"type":"record","name":"Order","fields":[{"name":"at","type":"long"}]}"#;
        let with_default = r#"{"type":"record","name":"Order","fields":[{"name":"at","type":"long","default":0}]}"#;
        let with_logical_type = r#"{"type":"record","name":"Order",
            "fields":[{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#;
        assert_ne!(fingerprint_of(plain), fingerprint_of(with_default));
        assert_ne!(fingerprint_of(plain), fingerprint_of(with_logical_type));
    }

    #[test]
    fn the_submitted_text_is_kept_verbatim() {
        let text = "{ \"type\" : \"string\" }";
        assert!(matches!(parse(text.to_string()), Ok(parsed) if parsed.text == text));
    }

    #[test]
    fn invalid_schemas_are_rejected_with_the_parsers_reason() {
        for text in ["", "   ", "{", "42", r#"{"type": "no-such-type"}"#, r#"{"type": "record", "name": "R"}"#] {
            let outcome = parse(text.to_string());
            assert!(outcome.is_err(), "{text:?} should be rejected");
        }
        let unknown_type = parse(r#"{"type":"record","name":"R","fields":[{"name":"x","type":"Missing"}]}"#.into());
        assert!(matches!(unknown_type, Err(InvalidSchema(reason)) if reason.contains("Missing")));
    }
}
