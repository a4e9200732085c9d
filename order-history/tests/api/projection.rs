//! The projection's correctness rules, each on the real broker and registry, on both backends.

use std::time::Duration;

use events::{PaymentEventType, ShipmentStatus, headers, topics};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, Backend, TestWorld, hit_ids};
use crate::on_both_backends;
use crate::stories::Story;

fn without_as_of(mut document: Value) -> Value {
    document.as_object_mut().expect("object").remove("as_of");
    document
}

async fn a_redelivered_event_changes_nothing(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let story = Story::new();
    let placed = story.placed("Ada Lovelace", "Analytical engine", 10_000);
    let authorized = story.payment(PaymentEventType::PaymentAuthorized, 1);
    world.publish(&placed).await;
    world.publish(&authorized).await;
    let before = world
        .wait_for_order(&app, story.order_id, |doc| doc["payments"].as_array().is_some_and(|p| p.len() == 1))
        .await;

    // the same records again, as after a crash before the offset commit
    world.publish(&placed).await;
    world.publish(&authorized).await;
    // a marker after them on the same partitions proves they were read
    let captured = story.payment(PaymentEventType::PaymentCaptured, 2);
    world.publish(&captured).await;
    let after = world.wait_for_order(&app, story.order_id, |doc| doc["payments"][0]["status"] == "CAPTURED").await;
    assert_eq!(after["timeline"].as_array().map(Vec::len), Some(3), "redelivered events add no timeline entries");
    assert_eq!(after["customer"], before["customer"]);
    assert_eq!(after["order_version"], 1);
    app.stop().await;
}
on_both_backends!(a_redelivered_event_changes_nothing);

async fn payments_and_shipments_before_their_order_wait_for_it(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let story = Story::new();
    world.publish(&story.payment(PaymentEventType::PaymentAuthorized, 1)).await;
    world.publish(&story.shipment(ShipmentStatus::Created, 1, "TRACKEARLY1")).await;
    let early = world
        .wait_for_order(&app, story.order_id, |doc| {
            doc["payments"].as_array().is_some_and(|p| p.len() == 1)
                && doc["shipments"].as_array().is_some_and(|s| s.len() == 1)
        })
        .await;
    assert_eq!(early["incomplete"], true);
    assert_eq!(early["customer"], Value::Null);
    let (_, hidden) = world.get(&app, "/orders?q=TRACKEARLY1").await;
    assert_eq!(hidden["total"], 0, "incomplete documents are not searchable by default: {hidden}");
    let (_, shown) = world.get(&app, "/orders?q=TRACKEARLY1&include_incomplete=true").await;
    assert_eq!(hit_ids(&shown), vec![story.order_id.to_string()]);

    world.publish(&story.placed("Grace Hopper", "Compiler manual", 4_200)).await;
    let complete = world.wait_for_order(&app, story.order_id, |doc| doc["incomplete"] == false).await;
    assert_eq!(complete["customer"]["name"], "Grace Hopper");
    assert_eq!(complete["payments"].as_array().map(Vec::len), Some(1), "the early payment is kept");
    assert_eq!(complete["shipments"].as_array().map(Vec::len), Some(1), "the early shipment is kept");
    world.wait_for_search(&app, "q=TRACKEARLY1", |body| hit_ids(body) == vec![story.order_id.to_string()]).await;
    app.stop().await;
}
on_both_backends!(payments_and_shipments_before_their_order_wait_for_it);

async fn a_stale_event_loses_and_a_newer_one_replaces(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let story = Story::new();
    world.publish(&story.placed("Alan Turing", "Bombe rotor", 7_700)).await;
    world.publish(&story.payment(PaymentEventType::PaymentCaptured, 2)).await;
    world.wait_for_order(&app, story.order_id, |doc| doc["payments"][0]["status"] == "CAPTURED").await;
    // version 1 arrives late: it must not overwrite version 2
    world.publish(&story.payment(PaymentEventType::PaymentAuthorized, 1)).await;
    world.publish(&story.shipment(ShipmentStatus::Created, 1, "TRACKSTALE1")).await;
    let document = world
        .wait_for_order(&app, story.order_id, |doc| doc["shipments"].as_array().is_some_and(|s| s.len() == 1))
        .await;
    assert_eq!(document["payments"][0]["status"], "CAPTURED");
    assert_eq!(document["payments"][0]["version"], 2);
    world.publish(&story.payment(PaymentEventType::PaymentRefunded, 3)).await;
    let document = world.wait_for_order(&app, story.order_id, |doc| doc["payments"][0]["version"] == 3).await;
    assert_eq!(document["payments"][0]["status"], "REFUNDED");
    assert_eq!(document["payments"].as_array().map(Vec::len), Some(1));
    app.stop().await;
}
on_both_backends!(a_stale_event_loses_and_a_newer_one_replaces);

async fn bad_records_go_to_the_dead_letter_topic_and_projection_moves_on(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let story = Story::new();
    let key = story.order_id.to_string();
    world.publish_raw(topics::ORDERS, Some(key.as_bytes()), Some(b"not avro at all")).await;
    world.publish_raw(topics::PAYMENTS, Some(key.as_bytes()), Some(&[0, 0, 0, 0x7f, 0x7f, 1, 2])).await;
    // a valid event under the wrong key breaks the contract
    let wrong_key = Uuid::now_v7().to_string();
    let misplaced =
        world.codec.encode(&story.shipment(ShipmentStatus::Created, 1, "TRACKWRONG1")).await.expect("encodes");
    world.publish_raw(topics::SHIPMENTS, Some(wrong_key.as_bytes()), Some(&misplaced)).await;
    world.publish(&story.placed("Edsger Dijkstra", "Shortest path poster", 1_200)).await;
    world.wait_for_order(&app, story.order_id, |doc| doc["incomplete"] == false).await;

    let consumer: StreamConsumer =
        world.infra.kafka.consumer_config("dlq-reader", &format!("dlq-{}", Uuid::now_v7())).create().expect("consumer");
    consumer.subscribe(&[topics::ORDER_HISTORY_DLQ]).expect("subscribe");
    let mut letters = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while letters.len() < 3 && tokio::time::Instant::now() < deadline {
        let Ok(message) = tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await else { continue };
        let message = message.expect("consume");
        let header = |name: &str| {
            message.headers().and_then(|all| {
                all.iter()
                    .find(|header| header.key == name)
                    .and_then(|header| header.value)
                    .map(|value| String::from_utf8_lossy(value).into_owned())
            })
        };
        letters.push((
            header(headers::DLQ_ORIGINAL_TOPIC).expect("topic header"),
            header(headers::DLQ_ORIGINAL_PARTITION).expect("partition header"),
            header(headers::DLQ_ORIGINAL_OFFSET).expect("offset header"),
            header(headers::DLQ_ERROR).expect("error header"),
            header(headers::DLQ_FAILED_AT).expect("time header"),
            message.payload().map(<[u8]>::to_vec),
        ));
    }
    assert_eq!(letters.len(), 3, "every bad record is dead-lettered: {letters:?}");
    let by_topic = |topic: &str| letters.iter().find(|letter| letter.0 == topic).expect(topic);
    assert!(by_topic(topics::ORDERS).3.contains("magic byte"), "{:?}", by_topic(topics::ORDERS).3);
    assert_eq!(by_topic(topics::ORDERS).5.as_deref(), Some(&b"not avro at all"[..]), "the record goes unchanged");
    assert!(by_topic(topics::PAYMENTS).3.contains("schema id"), "{:?}", by_topic(topics::PAYMENTS).3);
    assert!(by_topic(topics::SHIPMENTS).3.contains("key"), "{:?}", by_topic(topics::SHIPMENTS).3);
    for letter in &letters {
        letter.1.parse::<i32>().expect("partition is a number");
        letter.2.parse::<i64>().expect("offset is a number");
        chrono::DateTime::parse_from_rfc3339(&letter.4).expect("time is rfc 3339");
    }
    let metrics = world.metrics(&app).await;
    // one series per topic and kind of rejection; the reasons, which name keys, are no labels.
    // The recorder is the process's, shared by the tests in it: the counts are not this test's.
    for series in [
        r#"order_history_dead_letters_total{topic="orders",kind="not_wire_format"} "#,
        r#"order_history_dead_letters_total{topic="payments",kind="unknown_schema"} "#,
        r#"order_history_dead_letters_total{topic="shipments",kind="contract"} "#,
    ] {
        assert!(metrics.lines().any(|line| line.starts_with(series)), "{series} in {metrics}");
    }
    assert!(!metrics.contains(&wrong_key), "no label holds a record key");
    app.stop().await;
}
on_both_backends!(bad_records_go_to_the_dead_letter_topic_and_projection_moves_on);

async fn read_your_writes_waits_for_the_version_or_says_stale(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let story = Story::new();
    world.publish(&story.placed("Barbara Liskov", "Substitution handbook", 3_300)).await;
    world.wait_for_order(&app, story.order_id, |doc| doc["incomplete"] == false).await;

    let path = format!("/orders/{}?min_version={}:1&wait_ms=2000", story.order_id, story.payment_id);
    let waiting = world.get(&app, &path);
    let publishing = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        world.publish(&story.payment(PaymentEventType::PaymentAuthorized, 1)).await;
    };
    let ((status, body), ()) = tokio::join!(waiting, publishing);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["payments"][0]["version"], 1, "the wait returned once the version was applied");
    assert!(body.get("stale").is_none());

    let (status, body) =
        world.get(&app, &format!("/orders/{}?min_version={}:9&wait_ms=200", story.order_id, story.payment_id)).await;
    assert_eq!(status, 200);
    assert_eq!(body["stale"], true, "a version never written times out as stale");

    let (status, body) = world.get(&app, &format!("/orders/{}?min_version=x:1", story.order_id)).await;
    assert_eq!((status.as_u16(), body["field"].as_str()), (400, Some("min_version")));
    let (status, body) = world.get(&app, &format!("/orders/{}?wait_ms=5000", story.order_id)).await;
    assert_eq!((status.as_u16(), body["field"].as_str()), (400, Some("wait_ms")));
    let (status, _) = world.get(&app, &format!("/orders/{}", Uuid::now_v7())).await;
    assert_eq!(status, 404);
    let (status, body) = world.get(&app, "/orders/not-a-uuid").await;
    assert_eq!((status.as_u16(), body["field"].as_str()), (400, Some("id")));
    app.stop().await;
}
on_both_backends!(read_your_writes_waits_for_the_version_or_says_stale);

/// Publishes `count` complete orders (placed, authorized, captured, shipment created and
/// dispatched) and returns their stories.
pub(crate) async fn publish_orders(world: &TestWorld, count: usize) -> Vec<Story> {
    let mut stories = Vec::new();
    for index in 0..count {
        let story = Story::new();
        world
            .publish(&story.placed(&format!("Customer {index}"), &format!("Item number {index}"), 1_000 + index as i64))
            .await;
        world.publish(&story.payment(PaymentEventType::PaymentAuthorized, 1)).await;
        world.publish(&story.payment(PaymentEventType::PaymentCaptured, 2)).await;
        world.publish(&story.shipment(ShipmentStatus::Created, 1, &format!("TRACK{index:06}"))).await;
        world.publish(&story.shipment(ShipmentStatus::Dispatched, 2, &format!("TRACK{index:06}"))).await;
        stories.push(story);
    }
    stories
}

pub(crate) fn is_fully_projected(document: &Value) -> bool {
    document["incomplete"] == false
        && document["payments"][0]["version"] == 2
        && document["shipments"][0]["version"] == 2
        && document["timeline"].as_array().map(Vec::len) == Some(5)
}

async fn a_restart_at_any_point_loses_nothing(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let stories = publish_orders(&world, 40).await;
    // batches of 10 of the 200 records, so that the first instance stops with most unread
    let mut config = world.config("main");
    config.batch_max_records = 10;
    let first = world.spawn_with(config).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while first.view.index().get(stories[0].order_id).await.expect("get").is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the first instance never stored a batch");
        tokio::task::yield_now().await;
    }
    {
        // between two batches (the lock is fair: projection waits behind it), it is mid-backlog
        let _between_batches = first.view.lock_writes().await;
        let last = stories.last().expect("stories").order_id;
        let seen = first.view.index().get(last).await.expect("get");
        assert!(seen.is_none_or(|document| document.timeline.len() < 5), "stopped mid-backlog");
    }
    first.stop().await;
    let second = world.spawn_app().await;
    for story in &stories {
        world.wait_for_order(&second, story.order_id, is_fully_projected).await;
    }
    second.stop().await;
}
on_both_backends!(a_restart_at_any_point_loses_nothing);

async fn a_rebuild_yields_the_same_documents_while_the_old_view_serves(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let stories = publish_orders(&world, 30).await;
    let mut live = Vec::new();
    for story in &stories {
        live.push(world.wait_for_order(&app, story.order_id, is_fully_projected).await);
    }

    let response = world
        .client
        .post(format!("http://{}/admin/rebuild", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 202);
    let unauthorized =
        world.client.post(format!("http://{}/admin/rebuild", app.address)).send().await.expect("request");
    assert_eq!(unauthorized.status(), 401);
    // the old view answers while the rebuild runs
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, document) = world.get(&app, &format!("/orders/{}", stories[0].order_id)).await;
        assert_eq!(status, 200, "reads are served during the rebuild: {document}");
        let status = world
            .client
            .get(format!("http://{}/admin/rebuild", app.address))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("status")
            .json::<Value>()
            .await
            .expect("json");
        match status["state"].as_str() {
            Some("done") => {
                assert_eq!(status["records_done"], 150, "{status}");
                break;
            }
            Some("running") => {}
            other => panic!("rebuild state {other:?}: {status}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "rebuild did not finish: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (story, before) in stories.iter().zip(live) {
        let (status, after) = world.get(&app, &format!("/orders/{}", story.order_id)).await;
        assert_eq!(status, 200);
        assert_eq!(without_as_of(after.clone()), without_as_of(before.clone()), "rebuild equals live projection");
        assert_eq!(after["as_of"]["event_id"], before["as_of"]["event_id"]);
    }
    // live projection goes on in the new view
    let late = Story::new();
    world.publish(&late.placed("Late Comer", "After the swap", 500)).await;
    world.wait_for_order(&app, late.order_id, |doc| doc["incomplete"] == false).await;
    app.stop().await;
}
on_both_backends!(a_rebuild_yields_the_same_documents_while_the_old_view_serves);

/// Two Elasticsearch instances in one group share the partitions and one index; one leaves in
/// the middle of the backlog and the other takes over its partitions.
#[tokio::test(flavor = "multi_thread")]
async fn two_elasticsearch_instances_survive_a_rebalance_mid_batch() {
    let world = TestWorld::start(Backend::Elasticsearch).await;
    let first = world.spawn_with(world.config("first")).await;
    let second = world.spawn_with(world.config("second")).await;
    // subscribed before anything is published, so its first batch cannot be missed
    let mut stored = second.view.changes();
    let stories = publish_orders(&world, 60).await;
    // the second leaves once it has projected a batch of its share
    tokio::time::timeout(Duration::from_secs(30), stored.changed())
        .await
        .expect("the second instance stored a batch")
        .expect("the view lives");
    second.stop().await;
    for story in &stories {
        world.wait_for_order(&first, story.order_id, is_fully_projected).await;
    }
    let body = world.wait_for_search(&first, "limit=100", |body| body["total"] == 60).await;
    assert_eq!(hit_ids(&body).len(), 60, "one document per order, no duplicates");
    first.stop().await;
}

/// A payment written with `payments-value` v2 (a new optional field, BACKWARD compatible) is
/// projected in full by this build's v1 reader, and nothing is dead-lettered.
async fn a_payment_written_with_schema_v2_is_projected_in_full(backend: Backend) {
    use events::evolution::{PaymentSchemaVersion, encode_payment_datum};
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let story = Story::new();
    world.publish(&story.placed("Barbara Liskov", "Substitution principle mug", 2_400)).await;
    world.publish(&story.payment(PaymentEventType::PaymentAuthorized, 1)).await;
    let mut captured = story.payment(PaymentEventType::PaymentCaptured, 2);
    captured.payment.amount.amount_minor = 4_321;

    // as payment-svc publishes after `PUT /admin/contract {"event_schema": "v2"}`
    let v2 = PaymentSchemaVersion::V2;
    let schema_id = world.codec.register_schema_text(topics::PAYMENTS, v2.schema_text()).await.expect("registers v2");
    let datum = encode_payment_datum(&captured, v2, 100_000).expect("encodes as v2");
    let key = story.order_id.to_string();
    world.publish_raw(topics::PAYMENTS, Some(key.as_bytes()), Some(&events::codec::frame(schema_id, &datum))).await;

    let document = world.wait_for_order(&app, story.order_id, |doc| doc["payments"][0]["version"] == 2).await;
    let payment = &document["payments"][0];
    assert_eq!(payment["status"], "CAPTURED");
    assert_eq!(payment["amount"]["amount_minor"], 4_321, "{payment}");
    assert_eq!(payment["amount"]["currency"], captured.payment.amount.currency, "{payment}");
    assert_eq!(payment["payment_id"], captured.payment.payment_id.to_string(), "{payment}");
    assert_eq!(document["timeline"].as_array().map(Vec::len), Some(3), "{document}");

    // the v2 record was projected, so nothing reached the dead-letter topic
    let consumer: rdkafka::consumer::BaseConsumer =
        world.infra.kafka.consumer_config("dlq-reader", &format!("dlq-{}", Uuid::now_v7())).create().expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topics::ORDER_HISTORY_DLQ), Duration::from_secs(10)).expect("metadata");
    let dead_letters: i64 = metadata
        .topics()
        .iter()
        .flat_map(|topic| topic.partitions().iter().map(move |partition| (topic.name(), partition.id())))
        .map(|(topic, partition)| {
            let (low, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(10)).expect("watermarks");
            high - low
        })
        .sum();
    assert_eq!(dead_letters, 0, "no record was dead-lettered");
    app.stop().await;
}
on_both_backends!(a_payment_written_with_schema_v2_is_projected_in_full);
