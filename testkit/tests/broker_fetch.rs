//! The local broker answers a waiting fetch as soon as a record arrives, as Apache Kafka does.
//! Every consumer relies on it: they wait up to `fetch.wait.max.ms` (500 ms) for data, and
//! freshness must not be that wait. Unpatched tansu 0.6.0 holds every fetch until its wait runs
//! out (docs/local-broker.md).

use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use testkit::TestInfra;
use uuid::Uuid;

/// Far longer than the test may take: a fetch answered only when this runs out fails it.
const FETCH_WAIT_MS: u64 = 120_000;
/// The patched broker answers a woken fetch in milliseconds. A partition it wrongly skipped is
/// read only once something else ends the fetch: about 15 s a record against a broker built
/// without the patch's produce hook (`docs/local-broker.md`).
const AT_ONCE: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_waiting_fetch_answers_when_a_record_arrives() {
    let infra = TestInfra::start().await;
    let topic = events::topics::ORDERS;
    let consumer = waiting_at_the_end(&infra, "fetch-wakeup", topic, &[0]);
    let waiting = tokio::spawn(async move {
        let message = consumer.recv().await.expect("a record");
        message.payload().map(<[u8]>::to_vec)
    });

    let producer: FutureProducer = infra.kafka.producer_config("fetch-wakeup").create().expect("producer");
    let started = Instant::now();
    producer
        .send(FutureRecord::to(topic).partition(0).key("k").payload("woken"), Duration::from_secs(10))
        .await
        .map_err(|(error, _)| error)
        .expect("delivered");
    // generous: the patched broker answers in milliseconds, the unpatched one after the wait
    let received = tokio::time::timeout(Duration::from_secs(FETCH_WAIT_MS / 4000), waiting)
        .await
        .unwrap_or_else(|_| {
            panic!("no record within {}s of its produce: the fetch was not woken", FETCH_WAIT_MS / 4000)
        })
        .expect("consumer task");
    assert_eq!(received.as_deref(), Some(b"woken".as_slice()));
    assert!(started.elapsed() < Duration::from_millis(FETCH_WAIT_MS), "answered before the fetch wait ran out");
}

/// The broker skips a partition it knows holds nothing past the fetch offset; a produce to any
/// one of a fetch's partitions must still end the wait and be read, whichever partition it is.
#[tokio::test]
async fn a_fetch_over_several_partitions_reads_each_one_that_receives_a_record() {
    let infra = TestInfra::start().await;
    let topic = events::topics::SHIPMENTS;
    let consumer = waiting_at_the_end(&infra, "fetch-known", topic, &[0, 1, 2]);
    let producer: FutureProducer = infra.kafka.producer_config("fetch-known").create().expect("producer");

    // twice round, so the second produce to each partition meets what the broker learnt of it
    for round in 0..2 {
        for partition in [2, 0, 1] {
            let payload = format!("round {round} partition {partition}");
            producer
                .send(FutureRecord::to(topic).partition(partition).key("k").payload(&payload), Duration::from_secs(10))
                .await
                .map_err(|(error, _)| error)
                .expect("delivered");
            let message = tokio::time::timeout(AT_ONCE, consumer.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("{payload}: not received within {AT_ONCE:?}; the fetch skipped its partition")
                })
                .expect("a record");
            assert_eq!((message.partition(), message.payload()), (partition, Some(payload.as_bytes())));
        }
    }
}

/// A consumer with the long fetch wait, assigned `partitions` of `topic` at their high
/// watermarks: a fixed position, so a record produced next is read wherever the first fetch
/// starts.
fn waiting_at_the_end(infra: &TestInfra, client_id: &str, topic: &str, partitions: &[i32]) -> StreamConsumer {
    let consumer: StreamConsumer = infra
        .kafka
        .consumer_config(client_id, &format!("{client_id}-{}", Uuid::now_v7()))
        .set("fetch.wait.max.ms", FETCH_WAIT_MS.to_string())
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for &partition in partitions {
        let (_, high_watermark) =
            consumer.fetch_watermarks(topic, partition, Duration::from_secs(10)).expect("watermarks");
        assignment.add_partition_offset(topic, partition, Offset::Offset(high_watermark)).expect("partition");
    }
    consumer.assign(&assignment).expect("assigned");
    consumer
}
