//! The dead-letter topic: where rejected records go, unchanged, with why and where from.
//!
//! A dead letter is delivered before the offsets past it are committed, so a rejected record
//! is never lost: it is either in `order-history.dlq` or will be read again.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use events::{headers, topics};
use kafka_config::DeliveryProducer;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use tokio_util::sync::CancellationToken;

use super::decode::DeadLetter;
use super::telemetry;

pub struct DeadLetters {
    producer: DeliveryProducer,
}

impl DeadLetters {
    pub fn new(producer_config: &ClientConfig) -> anyhow::Result<Self> {
        Ok(DeadLetters {
            producer: DeliveryProducer::new(producer_config).context("cannot create the dead-letter producer")?,
        })
    }

    /// Delivers every letter, retrying while the broker refuses. Returns `false` only if
    /// `shutdown` came first, in which case nothing past these records may be committed.
    pub async fn deliver(&self, letters: &[DeadLetter], shutdown: &CancellationToken) -> bool {
        for letter in letters {
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.send(letter).await {
                    Ok(()) => {
                        telemetry::dead_lettered(&letter.record.topic, letter.kind);
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(%error, topic = %letter.record.topic, offset = letter.record.offset, "cannot deliver a dead letter, retrying");
                        tokio::select! {
                            () = shutdown.cancelled() => return false,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
        true
    }

    async fn send(&self, letter: &DeadLetter) -> anyhow::Result<()> {
        let record = &letter.record;
        tracing::warn!(
            topic = %record.topic,
            partition = record.partition,
            offset = record.offset,
            reason = %letter.reason,
            "record rejected, sending it to the dead-letter topic"
        );
        let partition = record.partition.to_string();
        let offset = record.offset.to_string();
        let failed_at = Utc::now().to_rfc3339();
        let letter_headers = OwnedHeaders::new()
            .insert(Header { key: headers::DLQ_ORIGINAL_TOPIC, value: Some(record.topic.as_str()) })
            .insert(Header { key: headers::DLQ_ORIGINAL_PARTITION, value: Some(partition.as_str()) })
            .insert(Header { key: headers::DLQ_ORIGINAL_OFFSET, value: Some(offset.as_str()) })
            .insert(Header { key: headers::DLQ_ERROR, value: Some(letter.reason.as_str()) })
            .insert(Header { key: headers::DLQ_FAILED_AT, value: Some(failed_at.as_str()) });
        let mut out: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topics::ORDER_HISTORY_DLQ).headers(letter_headers);
        if let Some(key) = &record.key {
            out = out.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            out = out.payload(value.as_slice());
        }
        let delivery = self.producer.send(out).context("the producer queue refused the dead letter")?;
        delivery.await.map(|_| ()).context("dead-letter delivery failed")
    }
}
