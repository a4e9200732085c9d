//! The versions of the `payments-value` contract beyond the compiled-in one, for the contract
//! drill: payment-svc can be switched at run time to publish one of them, and `compare`
//! measures what each read design sees.
//!
//! - `v1` is `payments.avsc`, the schema every reader of this build has.
//! - `v2` adds `payment.authorization_limit_minor`, optional with a default (null): BACKWARD
//!   compatible, so the registry accepts it, a v1 reader skips the field by Avro's resolution
//!   rules, and a v2 reader reads it.
//! - `v3-incompatible` changes `payment.amount.amount_minor` from long to string: a reader of
//!   v3 cannot read v2 data, so a registry checking BACKWARD refuses it with 409 before a single
//!   record is written with it.

use std::sync::LazyLock;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as AvroValue;

use crate::codec::{EncodeError, encode_datum};
use crate::{Event, PaymentEvent};

/// The text of `payments-v2.avsc`.
pub const PAYMENTS_V2_SCHEMA_TEXT: &str = include_str!("../schemas/payments-v2.avsc");
/// The text of `payments-v3-incompatible.avsc`.
pub const PAYMENTS_V3_INCOMPATIBLE_SCHEMA_TEXT: &str = include_str!("../schemas/payments-v3-incompatible.avsc");

/// The field `v2` adds to the `Payment` record.
pub const AUTHORIZATION_LIMIT_FIELD: &str = "authorization_limit_minor";

/// A version of the `payments-value` schema payment-svc can publish with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentSchemaVersion {
    #[default]
    V1,
    V2,
    V3Incompatible,
}

impl PaymentSchemaVersion {
    /// The name in the outbox, in logs and in the admin API.
    pub fn label(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
            Self::V3Incompatible => "v3-incompatible",
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        [Self::V1, Self::V2, Self::V3Incompatible].into_iter().find(|version| version.label() == label)
    }

    pub fn schema_text(self) -> &'static str {
        match self {
            Self::V1 => PaymentEvent::SCHEMA_TEXT,
            Self::V2 => PAYMENTS_V2_SCHEMA_TEXT,
            Self::V3Incompatible => PAYMENTS_V3_INCOMPATIBLE_SCHEMA_TEXT,
        }
    }
}

/// The schema text an outbox row was written with: the compiled-in one for `topic` without a
/// label, else the labelled version of the payments schema.
pub fn schema_text_for(topic: &str, label: Option<&str>) -> Option<&'static str> {
    let Some(label) = label else {
        return crate::schema_text_for_topic(topic);
    };
    if topic != crate::topics::PAYMENTS {
        return None;
    }
    PaymentSchemaVersion::from_label(label).map(PaymentSchemaVersion::schema_text)
}

/// `payments-v2.avsc`, parsed: the reader schema of an upgraded reader.
pub fn payments_v2_schema() -> &'static Schema {
    static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
        // compiled in and covered by this module's tests
        Schema::parse_str(PAYMENTS_V2_SCHEMA_TEXT).expect("payments-v2.avsc is a valid avro schema")
    });
    &SCHEMA
}

/// Encodes `event` as a bare datum of `version`. v2 carries `authorization_limit_minor`; v3 is
/// never written, since no registry that checks compatibility accepts it.
pub fn encode_payment_datum(
    event: &PaymentEvent,
    version: PaymentSchemaVersion,
    authorization_limit_minor: i64,
) -> Result<Vec<u8>, EncodeError> {
    let datum_v1 = encode_datum(event)?;
    match version {
        PaymentSchemaVersion::V1 => Ok(datum_v1),
        PaymentSchemaVersion::V2 => {
            // v1 resolved into v2 has every field, the new one at its default; then set it
            let serialization = |error: apache_avro::Error| EncodeError::Serialization(error.to_string());
            let mut remaining = datum_v1.as_slice();
            let mut value = GenericDatumReader::builder(PaymentEvent::schema())
                .reader_schema(payments_v2_schema())
                .build()
                .and_then(|reader| reader.read_value(&mut remaining))
                .map_err(serialization)?;
            set_authorization_limit(&mut value, authorization_limit_minor)?;
            apache_avro::writer::datum::GenericDatumWriter::builder(payments_v2_schema())
                .build()
                .and_then(|writer| writer.write_value_to_vec(value))
                .map_err(serialization)
        }
        PaymentSchemaVersion::V3Incompatible => {
            Err(EncodeError::Serialization("v3-incompatible is never written".to_string()))
        }
    }
}

fn set_authorization_limit(event: &mut AvroValue, limit: i64) -> Result<(), EncodeError> {
    let missing = || EncodeError::Serialization("a v2 payment event has no payment record".to_string());
    let AvroValue::Record(fields) = event else {
        return Err(missing());
    };
    let Some((_, AvroValue::Record(payment_fields))) = fields.iter_mut().find(|(name, _)| name == "payment") else {
        return Err(missing());
    };
    let Some((_, field)) = payment_fields.iter_mut().find(|(name, _)| name == AUTHORIZATION_LIMIT_FIELD) else {
        return Err(missing());
    };
    // branch 1 of ["null", "long"]
    *field = AvroValue::Union(1, Box::new(AvroValue::Long(limit)));
    Ok(())
}

/// Reads `payment.authorization_limit_minor` from an event decoded with the v2 reader schema.
pub fn authorization_limit_of(event: &AvroValue) -> Option<i64> {
    let AvroValue::Record(fields) = event else {
        return None;
    };
    let (_, AvroValue::Record(payment_fields)) = fields.iter().find(|(name, _)| name == "payment")? else {
        return None;
    };
    match payment_fields.iter().find(|(name, _)| name == AUTHORIZATION_LIMIT_FIELD)? {
        (_, AvroValue::Union(_, inner)) => match inner.as_ref() {
            AvroValue::Long(limit) => Some(*limit),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::schema_compatibility::SchemaCompatibility;

    use super::*;
    use crate::codec::decode_datum;

    #[test]
    fn v2_is_backward_compatible_and_v3_is_not() {
        let v1 = PaymentEvent::schema();
        let v2 = payments_v2_schema();
        let v3 = Schema::parse_str(PAYMENTS_V3_INCOMPATIBLE_SCHEMA_TEXT).expect("v3 parses");
        assert!(SchemaCompatibility::can_read(v1, v2).is_ok(), "a v2 reader reads v1 data");
        assert!(SchemaCompatibility::can_read(v2, v1).is_ok(), "a v1 reader reads v2 data");
        assert!(SchemaCompatibility::can_read(v2, &v3).is_err(), "a v3 reader cannot read v2 data");
    }

    #[test]
    fn a_v2_datum_is_read_in_full_by_a_v1_reader_and_with_the_new_field_by_a_v2_reader() {
        let event = crate::samples::payment_event(
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            crate::PaymentEventType::PaymentAuthorized,
            1,
        );
        let datum = encode_payment_datum(&event, PaymentSchemaVersion::V2, 100_000).expect("encodes");
        let v2 = payments_v2_schema();
        let by_v1_reader: PaymentEvent = decode_datum(7, v2, &datum, PaymentEvent::schema()).expect("v1 reads v2");
        assert_eq!(by_v1_reader, event, "the v1 reader loses nothing it knows");
        let mut remaining = datum.as_slice();
        let by_v2_reader = GenericDatumReader::builder(v2)
            .reader_schema(v2)
            .build()
            .and_then(|reader| reader.read_value(&mut remaining))
            .expect("v2 reads v2");
        assert_eq!(authorization_limit_of(&by_v2_reader), Some(100_000));
    }

    #[test]
    fn labels_name_every_version_and_only_payments_has_versions() {
        for version in [PaymentSchemaVersion::V1, PaymentSchemaVersion::V2, PaymentSchemaVersion::V3Incompatible] {
            assert_eq!(PaymentSchemaVersion::from_label(version.label()), Some(version));
            assert!(Schema::parse_str(version.schema_text()).is_ok());
        }
        assert_eq!(schema_text_for("payments", Some("v2")), Some(PAYMENTS_V2_SCHEMA_TEXT));
        assert_eq!(schema_text_for("orders", Some("v2")), None);
        assert_eq!(schema_text_for("orders", None), crate::schema_text_for_topic("orders"));
    }
}
