//! The Rust client the project's services use, end to end against the registry.

use apache_avro::types::Value;
use schema_registry_converter::async_impl::easy_avro::{EasyAvroDecoder, EasyAvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::{SchemaType, SubjectNameStrategy, SuppliedSchema};

use crate::support::{PAYMENT_V1, TestRegistry};

#[tokio::test]
async fn schema_registry_converter_encodes_and_decodes_even_after_a_soft_delete() {
    let registry = TestRegistry::start().await;
    let settings = SrSettings::new(registry.url());
    let schema = SuppliedSchema::new(None, SchemaType::Avro, PAYMENT_V1.to_string());
    let strategy = SubjectNameStrategy::TopicNameStrategyWithSchema("payments".to_string(), false, schema);
    let fields = vec![("id", Value::String("p-1".to_string())), ("amount", Value::Long(1250))];

    let encoded = EasyAvroEncoder::new(settings.clone()).encode(fields, strategy).await.expect("encoding failed");
    // Confluent's wire format: magic byte 0, then the schema id as a big-endian u32
    assert_eq!(encoded[..5], [0, 0, 0, 0, 1]);

    // records written before a soft delete must stay decodable
    registry.delete("/subjects/payments-value").await.ok();
    let decoded = EasyAvroDecoder::new(settings).decode(Some(&encoded)).await.expect("decoding failed");
    let expected = Value::Record(vec![
        ("id".to_string(), Value::String("p-1".to_string())),
        ("amount".to_string(), Value::Long(1250)),
    ]);
    assert_eq!(decoded.value, expected);
}
