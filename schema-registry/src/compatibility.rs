//! Schema evolution rules: the compatibility levels and whether a new schema may follow the
//! earlier versions of a subject under one of them.
//!
//! The verdicts come from Avro's own schema resolution (`apache_avro`'s
//! [`SchemaCompatibility::can_read`]), so they agree with what a consumer will actually manage
//! to decode. Pure logic over parsed schemas: no I/O.

use std::fmt;
use std::iter::once;
use std::str::FromStr;

use apache_avro::Schema;
use apache_avro::error::CompatibilityError;
use apache_avro::schema::{
    ArraySchema, MapSchema, Name, NamesRef, RecordField, RecordSchema, ResolvedSchema, UnionSchema,
};
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};

/// A Confluent compatibility level, as set globally or per subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompatibilityLevel {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    /// The level Confluent applies when none has been configured.
    pub const DEFAULT: Self = Self::Backward;

    pub const ALL: [Self; 7] = [
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether a new schema is checked against every earlier version rather than the latest.
    pub fn is_transitive(self) -> bool {
        matches!(self, Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive)
    }

    /// Whether the new schema must read data written with earlier versions.
    fn requires_backward(self) -> bool {
        matches!(self, Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive)
    }

    /// Whether earlier versions must read data written with the new schema.
    fn requires_forward(self) -> bool {
        matches!(self, Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive)
    }

    /// The earlier versions (oldest first) that a new schema must be checked against.
    pub fn versions_to_check<T>(self, live_versions: &[T]) -> &[T] {
        if self.is_transitive() {
            live_versions
        } else {
            live_versions.last().map(std::slice::from_ref).unwrap_or_default()
        }
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown compatibility level '{0}'")]
pub struct UnknownCompatibilityLevel(pub String);

impl FromStr for CompatibilityLevel {
    type Err = UnknownCompatibilityLevel;

    /// Parses a level case-insensitively, as Confluent does.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownCompatibilityLevel(text.to_string()))
    }
}

/// One earlier version of a subject that a new schema is checked against.
pub struct EarlierVersion<'a> {
    pub version: i32,
    pub schema: &'a Schema,
}

/// Checks `candidate` against each of `earlier` under `level`, returning one message per
/// problem; an empty list means the candidate is compatible.
///
/// The caller chooses `earlier`: the latest version, every version
/// ([`CompatibilityLevel::versions_to_check`]), or one version the client named.
pub fn incompatibilities(level: CompatibilityLevel, candidate: &Schema, earlier: &[EarlierVersion<'_>]) -> Vec<String> {
    let candidate = inline_references(candidate);
    let mut messages = Vec::new();
    for earlier_version in earlier {
        let version = earlier_version.version;
        let earlier_schema = inline_references(earlier_version.schema);
        if level.requires_backward()
            && let Err(reason) = explain_can_read(&earlier_schema, &candidate)
        {
            messages.push(format!(
                "the new schema (reader) cannot read data written with version {version} (writer): {reason}"
            ));
        }
        if level.requires_forward()
            && let Err(reason) = explain_can_read(&candidate, &earlier_schema)
        {
            messages.push(format!(
                "version {version} (reader) cannot read data written with the new schema (writer): {reason}"
            ));
        }
    }
    messages
}

/// How many schema nodes inlining may produce. Reuse multiplies a schema's size (a type used
/// ten times inside a type used ten times, and so on), so a small body could otherwise expand
/// without bound.
const MAX_INLINED_NODES: usize = 50_000;

/// Copies `schema` with every reference to a named type replaced by the type's definition,
/// except a reference to a type that encloses it (recursion).
///
/// apache_avro compares a reference with another reference by name only, and reports a
/// reference against an inline definition as a type mismatch. Which field carries the
/// definition is an accident of how the JSON was written, though: remove the field that
/// defined `Address` and a later `Address` field becomes the definition. Java's Avro, and so
/// Confluent, accepts that; inlining lets apache_avro compare the two structurally too.
///
/// Past [`MAX_INLINED_NODES`] the schema is compared as written: still sound, only stricter
/// about where definitions sit.
fn inline_references(schema: &Schema) -> Schema {
    // a schema that parsed always resolves
    let Ok(resolved) = ResolvedSchema::new(schema) else {
        return schema.clone();
    };
    let mut budget = MAX_INLINED_NODES;
    inline(schema, resolved.get_names(), &mut Vec::new(), &mut budget).unwrap_or_else(|| schema.clone())
}

/// Inlines within `schema`, or returns `None` once `budget` nodes have been produced.
fn inline(
    schema: &Schema,
    definitions: &NamesRef<'_>,
    enclosing: &mut Vec<Name>,
    budget: &mut usize,
) -> Option<Schema> {
    *budget = budget.checked_sub(1)?;
    let inlined = match schema {
        Schema::Ref { name } => match definitions.get(name) {
            Some(definition) if !enclosing.contains(name) => inline(definition, definitions, enclosing, budget)?,
            _ => schema.clone(),
        },
        Schema::Record(record) => {
            enclosing.push(record.name.clone());
            let mut fields = Vec::with_capacity(record.fields.len());
            for field in &record.fields {
                let field_schema = inline(&field.schema, definitions, enclosing, budget)?;
                fields.push(RecordField { schema: field_schema, ..field.clone() });
            }
            enclosing.pop();
            Schema::Record(RecordSchema { fields, ..record.clone() })
        }
        Schema::Array(array) => Schema::Array(ArraySchema {
            items: Box::new(inline(&array.items, definitions, enclosing, budget)?),
            attributes: array.attributes.clone(),
        }),
        Schema::Map(map) => Schema::Map(MapSchema {
            types: Box::new(inline(&map.types, definitions, enclosing, budget)?),
            attributes: map.attributes.clone(),
        }),
        Schema::Union(union) => {
            let mut variants = Vec::with_capacity(union.variants().len());
            for variant in union.variants() {
                variants.push(inline(variant, definitions, enclosing, budget)?);
            }
            // every branch keeps its type and name, so the union stays valid
            Schema::Union(UnionSchema::new(variants).ok()?)
        }
        _ => schema.clone(),
    };
    Some(inlined)
}

/// Succeeds when `reader` can decode everything written with `writer`, else says why not.
fn explain_can_read(writer: &Schema, reader: &Schema) -> Result<(), String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => Ok(()),
        // Avro calls it partial when only some writer values resolve (a missing enum symbol or
        // union branch); Confluent, like Java's Avro, rejects that, and so do we
        Ok(Compatibility::Partial) => {
            let mut path = Vec::new();
            locate_partial_field(writer, reader, &mut path);
            let reason = "the reader cannot read every value of the writer's type \
                          (an enum symbol or a union branch is missing)";
            Err(at_field(&path, reason))
        }
        Err(error) => Err(describe_incompatibility(&error)),
    }
}

/// Turns apache_avro's error into a message that names the offending field by its path
/// (`customer.address.zip`) instead of dumping both schemas.
fn describe_incompatibility(error: &CompatibilityError) -> String {
    let mut path: Vec<&str> = Vec::new();
    let mut current = error;
    loop {
        let reason = match current {
            CompatibilityError::FieldTypeMismatch(field, cause) => {
                path.push(field);
                current = cause;
                continue;
            }
            CompatibilityError::MissingDefaultValue(field) => {
                path.push(field);
                "the writer's schema lacks it and the reader's gives it no default value".to_string()
            }
            CompatibilityError::WrongType { .. } | CompatibilityError::TypeExpected { .. } => {
                "the writer's type cannot be read as the reader's type".to_string()
            }
            CompatibilityError::NameMismatch { writer_name, reader_name } => {
                format!("the writer's type is named '{writer_name}' but the reader's is named '{reader_name}'")
            }
            CompatibilityError::MissingSymbols => "the reader's enum has none of the writer's symbols".to_string(),
            CompatibilityError::MissingUnionElements | CompatibilityError::SchemaMismatchAllUnionElements => {
                "no branch of one union matches the other side's type".to_string()
            }
            CompatibilityError::FixedMismatch => "the fixed sizes differ".to_string(),
            CompatibilityError::DecimalMismatch { r_precision, r_scale, w_precision, w_scale } => format!(
                "the decimal precision or scale differ (writer {w_precision},{w_scale}, reader {r_precision},{r_scale})"
            ),
            CompatibilityError::Inconclusive(type_name) => format!("cannot compare type '{type_name}'"),
        };
        return at_field(&path, &reason);
    }
}

fn at_field(path: &[impl AsRef<str>], reason: &str) -> String {
    if path.is_empty() {
        return reason.to_string();
    }
    let dotted: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
    format!("field '{}': {reason}", dotted.join("."))
}

/// Follows record fields down to the one whose type is only partly readable, pushing the
/// field names onto `path`; the reader's fields are matched to the writer's by name, then by
/// alias, as apache_avro's resolution does.
fn locate_partial_field(writer: &Schema, reader: &Schema, path: &mut Vec<String>) {
    let (Schema::Record(writer_record), Schema::Record(reader_record)) = (writer, reader) else {
        return;
    };
    for reader_field in &reader_record.fields {
        let writer_field = once(&reader_field.name)
            .chain(&reader_field.aliases)
            .find_map(|name| writer_record.fields.iter().find(|field| &field.name == name));
        let Some(writer_field) = writer_field else {
            continue;
        };
        if SchemaCompatibility::can_read(&writer_field.schema, &reader_field.schema) == Ok(Compatibility::Partial) {
            path.push(reader_field.name.clone());
            locate_partial_field(&writer_field.schema, &reader_field.schema, path);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CompatibilityLevel::{Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive};

    const NONE: CompatibilityLevel = CompatibilityLevel::None;

    fn record(fields: &str) -> Schema {
        let text = format!(r#"{{"type": "record", "name": "Payment", "fields": [{fields}]}}"#);
        match Schema::parse_str(&text) {
            Ok(schema) => schema,
            Err(error) => panic!("test schema {text} does not parse: {error}"),
        }
    }

    fn check(level: CompatibilityLevel, candidate: &Schema, earlier: &[&Schema]) -> Vec<String> {
        let earlier: Vec<EarlierVersion<'_>> =
            earlier.iter().zip(1..).map(|(schema, version)| EarlierVersion { version, schema }).collect();
        incompatibilities(level, candidate, level.versions_to_check(&earlier))
    }

    /// Asserts the verdict of every level for one evolution step from `old` to `new`.
    fn assert_verdicts(old: &Schema, new: &Schema, compatible_under: &[CompatibilityLevel], field: &str) {
        for level in CompatibilityLevel::ALL {
            let messages = check(level, new, &[old]);
            if compatible_under.contains(&level) {
                assert!(messages.is_empty(), "{level} should accept, got {messages:?}");
            } else {
                assert!(!messages.is_empty(), "{level} should reject");
                let names_field = messages.iter().all(|message| message.contains(&format!("field '{field}'")));
                assert!(names_field, "{level} messages should name field '{field}': {messages:?}");
            }
        }
    }

    const ID: &str = r#"{"name": "id", "type": "string"}"#;

    #[test]
    fn adding_an_optional_field_with_a_default_is_compatible_under_every_level() {
        let old = record(ID);
        let new = record(&format!(r#"{ID}, {{"name": "note", "type": ["null", "string"], "default": null}}"#));
        assert_verdicts(&old, &new, &CompatibilityLevel::ALL, "");
    }

    #[test]
    fn adding_a_field_without_a_default_breaks_backward_only() {
        let old = record(ID);
        let new = record(&format!(r#"{ID}, {{"name": "amount", "type": "long"}}"#));
        assert_verdicts(&old, &new, &[NONE, Forward, ForwardTransitive], "amount");
    }

    #[test]
    fn removing_a_field_without_a_default_breaks_forward_only() {
        let old = record(&format!(r#"{ID}, {{"name": "amount", "type": "long"}}"#));
        let new = record(ID);
        assert_verdicts(&old, &new, &[NONE, Backward, BackwardTransitive], "amount");
    }

    #[test]
    fn removing_a_field_with_a_default_is_compatible_under_every_level() {
        let old = record(&format!(r#"{ID}, {{"name": "amount", "type": "long", "default": 0}}"#));
        let new = record(ID);
        assert_verdicts(&old, &new, &CompatibilityLevel::ALL, "");
    }

    #[test]
    fn changing_a_field_to_an_unrelated_type_is_rejected_by_every_level_but_none() {
        let old = record(r#"{"name": "amount", "type": "string"}"#);
        let new = record(r#"{"name": "amount", "type": "int"}"#);
        assert_verdicts(&old, &new, &[NONE], "amount");
    }

    #[test]
    fn widening_int_to_long_is_backward_but_not_forward_compatible() {
        let old = record(r#"{"name": "amount", "type": "int"}"#);
        let new = record(r#"{"name": "amount", "type": "long"}"#);
        assert_verdicts(&old, &new, &[NONE, Backward, BackwardTransitive], "amount");
    }

    #[test]
    fn removing_an_enum_symbol_breaks_backward_and_names_the_field() {
        let enum_with = |symbols: &str| {
            record(&format!(
                r#"{{"name": "status", "type": {{"type": "enum", "name": "Status", "symbols": [{symbols}]}}}}"#
            ))
        };
        let old = enum_with(r#""PENDING", "PAID", "FAILED""#);
        let new = enum_with(r#""PENDING", "PAID""#);
        assert_verdicts(&old, &new, &[NONE, Forward, ForwardTransitive], "status");
    }

    #[test]
    fn a_change_inside_a_nested_record_names_the_full_field_path() {
        let with_customer_id = |id_type: &str| {
            record(&format!(
                r#"{{"name": "customer", "type": {{"type": "record", "name": "Customer",
                    "fields": [{{"name": "id", "type": "{id_type}"}}]}}}}"#
            ))
        };
        let messages = check(Backward, &with_customer_id("int"), &[&with_customer_id("string")]);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("field 'customer.id'"), "{messages:?}");
        assert!(messages[0].contains("version 1"), "{messages:?}");
    }

    #[test]
    fn renaming_the_record_is_rejected() {
        let old = record(ID);
        let new = match Schema::parse_str(&format!(r#"{{"type": "record", "name": "Refund", "fields": [{ID}]}}"#)) {
            Ok(schema) => schema,
            Err(error) => panic!("test schema does not parse: {error}"),
        };
        let messages = check(Backward, &new, &[&old]);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("'Payment'") && messages[0].contains("'Refund'"), "{messages:?}");
    }

    #[test]
    fn transitive_levels_check_every_earlier_version_and_plain_levels_only_the_latest() {
        // v2 added `currency` with a default; v3 drops the default, which only v1 data exposes
        let v1 = record(ID);
        let v2 = record(&format!(r#"{ID}, {{"name": "currency", "type": "string", "default": "EUR"}}"#));
        let v3 = record(&format!(r#"{ID}, {{"name": "currency", "type": "string"}}"#));

        assert!(check(Backward, &v3, &[&v1, &v2]).is_empty());
        let transitive = check(BackwardTransitive, &v3, &[&v1, &v2]);
        assert_eq!(transitive.len(), 1, "{transitive:?}");
        assert!(transitive[0].contains("version 1") && transitive[0].contains("field 'currency'"), "{transitive:?}");
        assert_eq!(check(FullTransitive, &v3, &[&v1, &v2]).len(), 1);
    }

    #[test]
    fn moving_a_named_type_definition_to_another_field_is_not_a_type_change() {
        // `billing` defines Address and `shipping` refers to it; removing `billing` makes
        // `shipping` the definition
        let address = r#"{"type": "record", "name": "Address", "fields": [{"name": "zip", "type": "string"}]}"#;
        let old = record(&format!(
            r#"{ID}, {{"name": "billing", "type": {address}}}, {{"name": "shipping", "type": "Address"}}"#
        ));
        let new = record(&format!(r#"{ID}, {{"name": "shipping", "type": {address}}}"#));
        assert_verdicts(&old, &new, &[NONE, Backward, BackwardTransitive], "billing");
    }

    #[test]
    fn recursive_types_are_compared_without_looping() {
        let list = |value_type: &str| match Schema::parse_str(&format!(
            r#"{{"type": "record", "name": "Node", "fields": [{{"name": "value", "type": "{value_type}"}},
                    {{"name": "next", "type": ["null", "Node"], "default": null}}]}}"#
        )) {
            Ok(schema) => schema,
            Err(error) => panic!("test schema does not parse: {error}"),
        };
        assert_verdicts(&list("int"), &list("long"), &[NONE, Backward, BackwardTransitive], "value");
    }

    #[test]
    fn a_schema_that_would_inline_to_millions_of_nodes_is_compared_as_written() {
        // each level defines the one below once and refers to it nine more times, so fully
        // inlined the schema would hold 10^6 copies of Level0
        let mut definition = r#"{"type": "record", "name": "Level0", "fields": []}"#.to_string();
        for level in 1..=6 {
            let mut fields = vec![format!(r#"{{"name": "first", "type": {definition}}}"#)];
            for use_index in 1..10 {
                fields.push(format!(r#"{{"name": "again{use_index}", "type": "Level{}"}}"#, level - 1));
            }
            definition = format!(r#"{{"type": "record", "name": "Level{level}", "fields": [{}]}}"#, fields.join(", "));
        }
        let schema = record(&format!(r#"{{"name": "root", "type": {definition}}}"#));
        assert!(check(BackwardTransitive, &schema, &[&schema]).is_empty());
    }

    #[test]
    fn none_accepts_even_a_different_type() {
        assert!(check(NONE, &Schema::String, &[&record(ID)]).is_empty());
    }

    #[test]
    fn a_subject_without_earlier_versions_accepts_anything() {
        for level in CompatibilityLevel::ALL {
            assert!(check(level, &record(ID), &[]).is_empty());
        }
    }

    #[test]
    fn versions_to_check_is_the_latest_or_all() {
        let live = [1, 2, 3];
        assert_eq!(Backward.versions_to_check(&live), &[3]);
        assert_eq!(Full.versions_to_check(&live), &[3]);
        assert_eq!(BackwardTransitive.versions_to_check(&live), &[1, 2, 3]);
        assert_eq!(Forward.versions_to_check::<i32>(&[]), &[] as &[i32]);
    }

    #[test]
    fn levels_parse_case_insensitively_and_print_in_upper_case() {
        for level in CompatibilityLevel::ALL {
            assert_eq!(level.as_str().parse::<CompatibilityLevel>().ok(), Some(level));
            assert_eq!(level.as_str().to_lowercase().parse::<CompatibilityLevel>().ok(), Some(level));
        }
        assert!("SIDEWAYS".parse::<CompatibilityLevel>().is_err());
        assert!("".parse::<CompatibilityLevel>().is_err());
    }
}
