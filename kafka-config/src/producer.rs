//! A producer whose sends resolve to their delivery reports, polled so that it rests when there is
//! nothing to send.
//!
//! rust-rdkafka's `FutureProducer` (0.39) polls librdkafka on a thread of its own in 100 ms waits,
//! and its `BaseProducer::poll` spins through the sub-millisecond rest of every wait: librdkafka
//! waits in whole milliseconds, so the last fraction of a millisecond is a wait of zero, asked for
//! again and again until the deadline. That was about 0.009 cores per idle producer here
//! (docs/benchmarks.md, "The local stack at rest"). This producer polls in one-second waits:
//! delivery reports still arrive the moment librdkafka has them, and the spin at the end of a
//! wait happens once a second instead of ten times.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{DeliveryResult, Message, ToBytes};
use rdkafka::producer::{BaseProducer, BaseRecord, FutureRecord, Producer, ProducerContext};
use tokio::sync::oneshot;

/// How long one poll of the delivery reports waits for the next one.
const POLL_WAIT: Duration = Duration::from_secs(1);

/// Where a record was stored: its partition and offset.
pub type Delivered = (i32, i64);

/// A Kafka producer; clones share it. Sends return a future of the delivery report.
#[derive(Clone)]
pub struct DeliveryProducer {
    shared: Arc<Shared>,
}

/// Owned by every clone; when the last is dropped the polling thread stops within a wait and
/// drops the client (purging what was never delivered, as rust-rdkafka's producers do).
struct Shared {
    producer: Arc<BaseProducer<DeliveryContext>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl DeliveryProducer {
    /// Creates the client and starts the thread that polls its delivery reports.
    pub fn new(config: &ClientConfig) -> KafkaResult<Self> {
        let producer = Arc::new(BaseProducer::from_config_and_context(config, DeliveryContext)?);
        let stop = Arc::new(AtomicBool::new(false));
        let polled = (producer.clone(), stop.clone());
        std::thread::Builder::new()
            .name("kafka delivery reports".to_string())
            .spawn(move || {
                let (producer, stop) = polled;
                while !stop.load(Ordering::Relaxed) {
                    producer.poll(POLL_WAIT);
                }
            })
            .map_err(|error| KafkaError::ClientCreation(format!("cannot start the polling thread: {error}")))?;
        Ok(DeliveryProducer { shared: Arc::new(Shared { producer, stop }) })
    }

    /// Queues `record`; the future resolves once the broker acknowledged it or delivery failed
    /// for good (`delivery.timeout.ms`). An error at once if librdkafka's queue refused it.
    pub fn send<K, P>(
        &self,
        record: FutureRecord<'_, K, P>,
    ) -> KafkaResult<impl Future<Output = KafkaResult<Delivered>> + Send + 'static>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        let (reported, report) = oneshot::channel();
        let mut base = BaseRecord::with_opaque_to(record.topic, Box::new(reported));
        if let Some(partition) = record.partition {
            base = base.partition(partition);
        }
        if let Some(key) = record.key {
            base = base.key(key);
        }
        if let Some(payload) = record.payload {
            base = base.payload(payload);
        }
        if let Some(timestamp) = record.timestamp {
            base = base.timestamp(timestamp);
        }
        if let Some(headers) = record.headers {
            base = base.headers(headers);
        }
        self.shared.producer.send(base).map_err(|(error, _)| error)?;
        // the report's sender is dropped without a report only when the client is destroyed
        Ok(async move { report.await.unwrap_or(Err(KafkaError::Canceled)) })
    }

    /// Waits until everything queued was delivered or failed, up to `timeout`. Blocks.
    pub fn flush(&self, timeout: Duration) -> KafkaResult<()> {
        self.shared.producer.flush(timeout)
    }
}

/// Sends each delivery report to the future of the record it belongs to.
struct DeliveryContext;

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<oneshot::Sender<KafkaResult<Delivered>>>;

    fn delivery(&self, result: &DeliveryResult<'_>, reported: Self::DeliveryOpaque) {
        let report = match result {
            Ok(message) => Ok((message.partition(), message.offset())),
            Err((error, _)) => Err(error.clone()),
        };
        // the sender of the record may have stopped waiting; the record is delivered all the same
        let _ = reported.send(report);
    }
}
