//! A thousand poison records of six kinds, interleaved with valid events on all three topics:
//! every poison record ends up in the dead-letter topic with its reason, every valid event
//! around them is projected, and the consumer neither stalls nor crashes.

use std::collections::BTreeMap;
use std::time::Duration;

use events::{headers, topics};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};

use crate::helpers::{Backend, TestWorld};
use crate::stories::Story;

/// Kinds and how many of each: 1,002 in all.
const KINDS: [(&str, usize); 6] = [
    ("random bytes", 200),
    ("wrong magic byte", 200),
    ("unknown schema id", 200),
    ("valid avro of the wrong schema", 200),
    ("truncated datum", 152),
    ("oversized", 50),
];
const VALID_ORDERS: usize = 60;

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_poison_records_are_dead_lettered_and_every_valid_event_is_projected() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let mut rng = fastrand::Rng::with_seed(7);
    let stories: Vec<Story> = (0..VALID_ORDERS).map(|_| Story::new()).collect();
    let valid_order = world.codec.encode(&stories[0].placed("Grace Hopper", "Compiler manual", 4_200)).await.unwrap();

    let total: usize = KINDS.iter().map(|(_, count)| count).sum();
    let mut poison = Vec::with_capacity(total);
    for (kind, count) in KINDS {
        for _ in 0..count {
            let value: Vec<u8> = match kind {
                "random bytes" => (0..rng.usize(1..64)).map(|_| rng.u8(..)).collect(),
                // the magic byte must be 0; the rest is a well-formed record
                "wrong magic byte" => [&[1u8][..], &valid_order[1..]].concat(),
                "unknown schema id" => [&[0u8, 0x7f, 0x7f, 0x7f, 0x7f][..], &valid_order[5..]].concat(),
                // an order event, registered and valid, on a topic that carries payments
                "valid avro of the wrong schema" => valid_order.clone(),
                "truncated datum" => valid_order[..valid_order.len() - rng.usize(1..20)].to_vec(),
                // the registered schema id, then 256 KiB that no schema reads to the end
                _ => [&valid_order[..5], &vec![0x55u8; 256 * 1024][..]].concat(),
            };
            poison.push((kind, value));
        }
    }
    rng.shuffle(&mut poison);

    // valid events spread through the poison, on every topic
    let every = poison.len() / VALID_ORDERS;
    let mut stories_left = stories.iter();
    for (index, (kind, value)) in poison.iter().enumerate() {
        let topic = match *kind {
            "valid avro of the wrong schema" => topics::PAYMENTS,
            _ => [topics::ORDERS, topics::PAYMENTS, topics::SHIPMENTS][index % 3],
        };
        let key = uuid::Uuid::now_v7().to_string();
        world.publish_raw(topic, Some(key.as_bytes()), Some(value)).await;
        if index % every == 0
            && let Some(story) = stories_left.next()
        {
            world.publish(&story.placed("Grace Hopper", "Compiler manual", 4_200)).await;
            world.publish(&story.payment(events::PaymentEventType::PaymentAuthorized, 1)).await;
        }
    }
    for story in stories_left {
        world.publish(&story.placed("Grace Hopper", "Compiler manual", 4_200)).await;
        world.publish(&story.payment(events::PaymentEventType::PaymentAuthorized, 1)).await;
    }

    // every valid event is projected, so the consumer got past every poison record
    for story in &stories {
        world
            .wait_for_order(&app, story.order_id, |doc| {
                doc["incomplete"] == false && doc["payments"][0]["version"] == 1
            })
            .await;
    }

    // and every poison record is in the dead-letter topic, with a reason
    let consumer: StreamConsumer = world
        .infra
        .kafka
        .consumer_config("dlq-reader", &format!("dlq-{}", uuid::Uuid::now_v7()))
        .create()
        .expect("consumer");
    consumer.subscribe(&[topics::ORDER_HISTORY_DLQ]).expect("subscribe");
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut letters = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while letters < total && tokio::time::Instant::now() < deadline {
        let Ok(message) = tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await else { continue };
        let message = message.expect("consume");
        let reason = message
            .headers()
            .and_then(|all| all.iter().find(|header| header.key == headers::DLQ_ERROR).and_then(|header| header.value))
            .map(|value| String::from_utf8_lossy(value).into_owned())
            .expect("every dead letter has its reason");
        assert!(!reason.trim().is_empty());
        // the reason's first words name the kind of failure
        let kind: String = reason.split(':').next().unwrap_or_default().chars().take(40).collect();
        *reasons.entry(kind).or_insert(0) += 1;
        letters += 1;
    }
    eprintln!("dead letters by reason: {reasons:#?}");
    assert_eq!(letters, total, "every poison record is dead-lettered; reasons so far: {reasons:#?}");
    assert!(reasons.len() >= 4, "the reasons tell the kinds apart: {reasons:#?}");

    // the metric counts them by topic and kind of rejection: a few series, however many records
    // and whatever their keys (the process's recorder is shared by its tests: counts are totals)
    let metrics = world.metrics(&app).await;
    let kinds =
        ["not_wire_format", "unknown_schema", "incompatible_schema", "malformed_datum", "contract", "unknown_topic"];
    let series: Vec<&str> =
        metrics.lines().filter(|line| line.starts_with("order_history_dead_letters_total{")).collect();
    assert!(!series.is_empty() && series.len() <= 3 * kinds.len(), "{series:#?}");
    let mut counted = 0.0;
    for line in &series {
        let kind = line.split("kind=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a kind label");
        assert!(kinds.contains(&kind), "{kind} is not one of the fixed kinds: {line}");
        counted += line.rsplit(' ').next().and_then(|value| value.parse::<f64>().ok()).expect("a count");
    }
    assert!(counted >= total as f64, "every dead letter is counted: {series:#?}");

    // the consumer is still alive and projecting
    let late = Story::new();
    world.publish(&late.placed("Ada Lovelace", "Analytical engine notes", 1_000)).await;
    world.wait_for_order(&app, late.order_id, |doc| doc["incomplete"] == false).await;
    app.stop().await;
}
