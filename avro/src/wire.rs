//! Serde and Avro-schema adapters for the logical types the contracts use.
//!
//! Each module serves both `#[serde(with = "...")]` and `#[avro(with)]`, so the Rust type and
//! the Avro schema it derives are declared in one place. The UUID and timestamp encodings are
//! explicit here rather than left to apache-avro's global human-readable switch.

pub mod uuid_string {
    use std::collections::HashSet;

    use apache_avro::Schema;
    use apache_avro::schema::{Name, NamespaceRef, UuidSchema};
    use serde::{Deserialize, Deserializer, Serializer};
    use uuid::Uuid;

    pub fn get_schema_in_ctxt(_: &mut HashSet<Name>, _: NamespaceRef) -> Schema {
        Schema::Uuid(UuidSchema::String)
    }

    pub fn serialize<S: Serializer>(value: &Uuid, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.hyphenated().to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
        let text = String::deserialize(deserializer)?;
        Uuid::parse_str(&text).map_err(|error| serde::de::Error::custom(format!("invalid uuid {text:?}: {error}")))
    }
}

pub mod timestamp_millis {
    use std::collections::HashSet;

    use apache_avro::Schema;
    use apache_avro::schema::{Name, NamespaceRef};
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn get_schema_in_ctxt(_: &mut HashSet<Name>, _: NamespaceRef) -> Schema {
        Schema::TimestampMillis
    }

    pub fn serialize<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.timestamp_millis())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let millis = i64::deserialize(deserializer)?;
        DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| serde::de::Error::custom(format!("timestamp {millis} ms is out of range")))
    }
}

pub mod optional_timestamp_millis {
    use std::collections::HashSet;

    use apache_avro::Schema;
    use apache_avro::schema::{Name, NamespaceRef, UnionSchema};
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn get_schema_in_ctxt(_: &mut HashSet<Name>, _: NamespaceRef) -> Schema {
        let variants = vec![Schema::Null, Schema::TimestampMillis];
        Schema::Union(UnionSchema::new(variants).expect("null and timestamp-millis form a valid union"))
    }

    pub fn serialize<S: Serializer>(value: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(time) => serializer.serialize_some(&time.timestamp_millis()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let Some(millis) = Option::<i64>::deserialize(deserializer)? else {
            return Ok(None);
        };
        DateTime::from_timestamp_millis(millis)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("timestamp {millis} ms is out of range")))
    }
}
