//! Helpers both test binaries share: a valid order, polling with a deadline, and counting
//! what the database and the broker hold.

use std::future::Future;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::{Value, json};
use source_platform::store::Store;
use testkit::TestInfra;
use uuid::Uuid;

/// A valid `POST /orders` body for `customer_id`: two lines, total 9599 EUR cents.
pub fn order_body(customer_id: &str) -> Value {
    json!({
        "customer_id": customer_id,
        "customer_name": "Zoë Ørsted-Nakamura",
        "customer_email": "zoe@example.com",
        "currency": "EUR",
        "items": [
            {"sku": "SKU-KETTLE-01", "name": "Copper tea kettle", "quantity": 1, "unit_price": 4599},
            {"sku": "SKU-MUG-07", "name": "Stoneware mug", "quantity": 4, "unit_price": 1250}
        ],
        "shipping_address": {
            "line1": "Keizersgracht 123",
            "line2": "3rd floor",
            "city": "Amsterdam",
            "postal_code": "1015 CJ",
            "country": "NL"
        }
    })
}

/// Calls `check` until it yields a value, failing the test after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The single number a `select count(*) ...` returns.
pub async fn count(store: &Store, statement: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(statement).fetch_one(&store.pool).await.expect(statement)
}

/// Waits until the relay has published every outbox row.
pub async fn wait_until_outbox_is_published(store: &Store) {
    eventually("the outbox to be published", Duration::from_secs(60), || async {
        let unpublished = count(store, "select count(*) from outbox where published_at_ms is null").await;
        (unpublished == 0).then_some(())
    })
    .await;
}

/// How many records `topic` holds, from its partitions' watermarks: an exact count that does
/// not depend on how long a consumer waits.
pub async fn topic_record_count(infra: &TestInfra, topic: &str) -> i64 {
    let config = infra.kafka.consumer_config("watermarks", &format!("watermarks-{}", Uuid::now_v7()));
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config.create().expect("consumer");
        let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)).expect("metadata");
        let partitions = metadata.topics().first().map(|topic| topic.partitions().len()).unwrap_or_default();
        assert!(partitions > 0, "topic {topic} exists");
        let mut records = 0;
        for partition in 0..partitions {
            let partition = i32::try_from(partition).expect("partition number");
            let (low, high) =
                consumer.fetch_watermarks(&topic, partition, Duration::from_secs(10)).expect("watermarks");
            records += high - low;
        }
        records
    })
    .await
    .expect("watermark task")
}
