//! Encoding and decoding events in the Confluent wire format, through a schema registry.
//!
//! A record value is: magic byte `0`, the writer schema's id as a 4-byte big-endian integer,
//! then the Avro binary datum. `schema_registry_converter` handles the registry calls and
//! caches schemas by subject and by id. Decoding resolves the writer's schema (looked up by the
//! id in the record) against this build's reader schema with apache-avro's resolution rules,
//! which the converter does not do on its own: that is what lets an old reader read records
//! written with a newer, compatible schema, and the other way round.

use std::time::Duration;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as AvroValue;
use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::{SrSettings, post_schema};
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{SchemaType, SubjectNameStrategy, SuppliedSchema};

use crate::Event;

const MAGIC_BYTE: u8 = 0;
const HEADER_LEN: usize = 5;

/// The schema registry of the local profile (`stack up`), the default of every client of it.
pub const DEFAULT_SCHEMA_REGISTRY_URL: &str = "http://127.0.0.1:8081";

/// Where the schema registry is.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    pub url: String,
    pub timeout: Duration,
}

impl RegistryConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), timeout: Duration::from_secs(5) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("schema registry unavailable: {0}")]
    RegistryUnavailable(String),
    #[error("schema registry rejected the schema for subject {subject}: {reason}")]
    SchemaRejected { subject: String, reason: String },
    #[error("event does not match its schema: {0}")]
    Serialization(String),
}

impl EncodeError {
    /// Whether trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RegistryUnavailable(_))
    }
}

/// Why a record value could not be decoded. Only [`DecodeError::RegistryUnavailable`] is worth
/// retrying; every other case is a property of the record itself.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record has no value")]
    MissingValue,
    #[error("record value is {0} bytes, shorter than the 5-byte wire-format header")]
    TooShort(usize),
    #[error("bad magic byte {0:#04x}, expected 0x00")]
    BadMagicByte(u8),
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u32),
    #[error("schema registry unavailable: {0}")]
    RegistryUnavailable(String),
    #[error("schema id {schema_id} is not usable: {reason}")]
    UnusableSchema { schema_id: u32, reason: String },
    #[error("writer schema {writer} (id {schema_id}) is not a {reader}")]
    WrongRecordType { schema_id: u32, writer: String, reader: String },
    #[error("datum does not match writer schema id {schema_id}: {reason}")]
    MalformedDatum { schema_id: u32, reason: String },
    #[error("{trailing} unread bytes after the datum of schema id {schema_id}")]
    TrailingBytes { schema_id: u32, trailing: usize },
}

impl DecodeError {
    /// Whether trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RegistryUnavailable(_))
    }
}

/// Encodes and decodes the system's events through a schema registry. Cheap to share: the
/// schema caches are concurrent maps inside.
pub struct EventCodec {
    encoder: AvroEncoder,
    decoder: AvroDecoder,
    /// For registering a given schema text: the encoder caches one schema per subject, so it
    /// would answer a second version of a subject with the first one's id.
    settings: SrSettings,
}

impl EventCodec {
    pub fn new(config: &RegistryConfig) -> Result<Self, EncodeError> {
        let settings = SrSettings::new_builder(config.url.clone())
            .set_timeout(config.timeout)
            .no_proxy()
            .build()
            .map_err(|error| EncodeError::RegistryUnavailable(describe(&error)))?;
        Ok(Self { encoder: AvroEncoder::new(settings.clone()), decoder: AvroDecoder::new(settings.clone()), settings })
    }

    /// Encodes `event` with its compiled-in schema, registering the schema under the topic's
    /// value subject on first use (the registry answers with the existing id when it is known).
    pub async fn encode<E: Event>(&self, event: &E) -> Result<Vec<u8>, EncodeError> {
        let strategy =
            SubjectNameStrategy::TopicNameStrategyWithSchema(E::TOPIC.to_string(), false, supplied_schema::<E>());
        let subject = crate::topics::value_subject(E::TOPIC);
        self.encoder.encode_struct(event, &strategy).await.map_err(|error| classify_encode_error(&subject, &error))
    }

    /// Registers `E`'s schema under its topic's value subject and returns the schema id.
    pub async fn register<E: Event>(&self) -> Result<u32, EncodeError> {
        self.register_topic_schema(E::TOPIC).await
    }

    /// Registers the compiled-in schema of a source topic and returns its id. The registry
    /// answers with the existing id when the schema is known.
    pub async fn register_topic_schema(&self, topic: &str) -> Result<u32, EncodeError> {
        let Some(schema_text) = crate::schema_text_for_topic(topic) else {
            return Err(EncodeError::SchemaRejected {
                subject: crate::topics::value_subject(topic),
                reason: "no compiled-in schema for this topic".to_string(),
            });
        };
        self.register_schema_text(topic, schema_text).await
    }

    /// Registers `schema_text` under `topic`'s value subject and returns its id; the registry
    /// checks it against the subject's compatibility level and refuses it (409, here
    /// [`EncodeError::SchemaRejected`]) when it breaks it. Every call asks the registry: the
    /// caller caches by version (the encoder's cache, one schema per subject, would give a v2 the
    /// id of v1, and every v2 record would then be framed with the wrong writer schema).
    pub async fn register_schema_text(&self, topic: &str, schema_text: &str) -> Result<u32, EncodeError> {
        let subject = crate::topics::value_subject(topic);
        let name = Schema::parse_str(schema_text).ok().map(|schema| record_name(&schema));
        let supplied = SuppliedSchema::new(name, SchemaType::Avro, schema_text.to_string());
        let registered = post_schema(&self.settings, subject.clone(), supplied)
            .await
            .map_err(|error| classify_encode_error(&subject, &error))?;
        Ok(registered.id)
    }

    /// Decodes a record value written in the Confluent wire format into `E`.
    pub async fn decode<E: Event>(&self, value: Option<&[u8]>) -> Result<E, DecodeError> {
        let value = value.ok_or(DecodeError::MissingValue)?;
        let (schema_id, datum) = split_wire_format(value)?;
        let writer_schema = self.writer_schema(schema_id).await?;
        decode_datum(schema_id, &writer_schema, datum, E::schema())
    }

    /// Decodes a record value into a generic Avro value shaped by `reader_schema`, for tools
    /// that read with a schema other than this build's, such as a newer version.
    pub async fn decode_value(&self, value: &[u8], reader_schema: &Schema) -> Result<AvroValue, DecodeError> {
        let (schema_id, datum) = split_wire_format(value)?;
        let writer_schema = self.writer_schema(schema_id).await?;
        resolve_datum(schema_id, &writer_schema, datum, reader_schema)
    }

    /// The writer schema registered under `schema_id`, from the cache or the registry. A
    /// consumer decoding at high rates keeps its own copy per id and calls [`decode_datum`].
    pub async fn writer_schema(&self, schema_id: u32) -> Result<Schema, DecodeError> {
        match self.decoder.get_schema(schema_id).await {
            Ok(schema) => Ok(schema.parsed.clone()),
            Err(error) => Err(self.classify_lookup_error(schema_id, &error)),
        }
    }

    fn classify_lookup_error(&self, schema_id: u32, error: &SRCError) -> DecodeError {
        let description = describe(error);
        // the converter reports the HTTP status only in its message text
        if description.contains("status 404") || description.contains("40403") {
            return DecodeError::UnknownSchemaId(schema_id);
        }
        let server_side = description.contains("status 5");
        if error.retriable || server_side {
            // the converter caches non-retriable failures, a 500 included; a registry that is
            // down for a moment must not make an id unreadable for the life of the process
            self.decoder.remove_errors_from_cache();
            return DecodeError::RegistryUnavailable(description);
        }
        DecodeError::UnusableSchema { schema_id, reason: description }
    }
}

/// Encodes `event` as a bare Avro datum with its compiled-in schema, without a registry.
///
/// The transactional outbox stores this, so that a write never waits on the registry; the
/// relay adds the wire-format header with [`frame`] when it publishes.
pub fn encode_datum<E: Event>(event: &E) -> Result<Vec<u8>, EncodeError> {
    apache_avro::writer::datum::GenericDatumWriter::builder(E::schema())
        .build()
        .and_then(|writer| writer.write_ser_to_vec(event))
        .map_err(|error| EncodeError::Serialization(error.to_string()))
}

/// Prefixes a datum with the wire-format header for `schema_id`.
pub fn frame(schema_id: u32, datum: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(HEADER_LEN + datum.len());
    record.push(MAGIC_BYTE);
    record.extend_from_slice(&schema_id.to_be_bytes());
    record.extend_from_slice(datum);
    record
}

/// Splits a wire-format value into the schema id and the Avro datum.
pub fn split_wire_format(value: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    if value.len() < HEADER_LEN {
        return Err(DecodeError::TooShort(value.len()));
    }
    if value[0] != MAGIC_BYTE {
        return Err(DecodeError::BadMagicByte(value[0]));
    }
    let schema_id = u32::from_be_bytes([value[1], value[2], value[3], value[4]]);
    Ok((schema_id, &value[HEADER_LEN..]))
}

/// Decodes one datum written with `writer_schema` into `E`, resolving it against
/// `reader_schema` with Avro's schema resolution rules.
pub fn decode_datum<E: Event>(
    schema_id: u32,
    writer_schema: &Schema,
    datum: &[u8],
    reader_schema: &Schema,
) -> Result<E, DecodeError> {
    let value = resolve_datum(schema_id, writer_schema, datum, reader_schema)?;
    apache_avro::from_value::<E>(&value)
        .map_err(|error| DecodeError::MalformedDatum { schema_id, reason: error.to_string() })
}

/// Reads one datum written with `writer_schema` and resolves it against `reader_schema`.
fn resolve_datum(
    schema_id: u32,
    writer_schema: &Schema,
    datum: &[u8],
    reader_schema: &Schema,
) -> Result<AvroValue, DecodeError> {
    let writer_name = record_name(writer_schema);
    let reader_name = record_name(reader_schema);
    if writer_name != reader_name {
        return Err(DecodeError::WrongRecordType { schema_id, writer: writer_name, reader: reader_name });
    }
    let mut remaining = datum;
    let value = GenericDatumReader::builder(writer_schema)
        .reader_schema(reader_schema)
        .build()
        .and_then(|reader| reader.read_value(&mut remaining))
        .map_err(|error| DecodeError::MalformedDatum { schema_id, reason: error.to_string() })?;
    if !remaining.is_empty() {
        return Err(DecodeError::TrailingBytes { schema_id, trailing: remaining.len() });
    }
    Ok(value)
}

fn record_name(schema: &Schema) -> String {
    match schema {
        Schema::Record(record) => record.name.fullname(None),
        other => format!("{:?}", apache_avro::schema::SchemaKind::from(other)).to_lowercase(),
    }
}

fn supplied_schema<E: Event>() -> SuppliedSchema {
    // register the .avsc text verbatim, docs included, rather than a re-serialisation
    SuppliedSchema::new(Some(record_name(E::schema())), SchemaType::Avro, E::SCHEMA_TEXT.to_string())
}

fn classify_encode_error(subject: &str, error: &SRCError) -> EncodeError {
    let description = describe(error);
    if error.retriable || description.contains("status 5") {
        return EncodeError::RegistryUnavailable(description);
    }
    if description.contains("Could not get Avro bytes") {
        return EncodeError::Serialization(description);
    }
    EncodeError::SchemaRejected { subject: subject.to_string(), reason: description }
}

fn describe(error: &SRCError) -> String {
    match &error.cause {
        Some(cause) => format!("{}: {}", error.error.to_lowercase(), cause),
        None => error.error.to_lowercase(),
    }
}
