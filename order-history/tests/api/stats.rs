//! The statistics read model: its rollups equal a recount of the events, replays and
//! reordering change nothing, and an order that changes status moves between buckets.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use events::{Event, OrderEventType, PaymentEventType, ShipmentStatus, topics};
use order_history::index::Checkpoint;
use order_history::stats::{PositionedEvent, StatsStore};
use order_view::stats::{Contribution, Rollup, StatsAnswer, StatsQuery};
use order_view::{OrderHistory, SourceEvent};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{Backend, TestApp, TestWorld};
use crate::stories::Story;

const RANGE: &str = "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z";

/// A mixed workload: orders in three countries and two currencies, captured, refunded and
/// declined payments, cancellations, and shipments delivered and returned.
fn mixed_workload(orders: usize) -> Vec<SourceEvent> {
    let mut events = Vec::new();
    for n in 0..orders {
        let story = Story::new();
        let mut placed =
            story.placed(&format!("Customer {n}"), &format!("Item {}", n % 5), 1_000 + (n as i64 % 5) * 100);
        placed.order.shipping_address.country = ["NL", "DE", "FR"][n % 3].to_string();
        placed.order.placed_at += chrono::Duration::hours(n as i64 % 6);
        if n % 4 == 0 {
            placed.order.total.currency = "USD".to_string();
        }
        events.push(SourceEvent::Order(placed.clone()));
        if n % 5 == 0 {
            events.push(SourceEvent::Order(cancellation_of(&story, &placed)));
        }
        match n % 4 {
            0 => events.push(SourceEvent::Payment(story.payment(PaymentEventType::PaymentAuthorized, 1))),
            1 => {
                events.push(SourceEvent::Payment(story.payment(PaymentEventType::PaymentAuthorized, 1)));
                events.push(SourceEvent::Payment(story.payment(PaymentEventType::PaymentCaptured, 2)));
            }
            2 => {
                events.push(SourceEvent::Payment(story.payment(PaymentEventType::PaymentCaptured, 2)));
                events.push(SourceEvent::Payment(story.payment(PaymentEventType::PaymentRefunded, 3)));
            }
            _ => events.push(SourceEvent::Payment(story.payment(PaymentEventType::PaymentDeclined, 1))),
        }
        if n % 3 == 0 {
            events.push(SourceEvent::Shipment(story.shipment(ShipmentStatus::Created, 1, &format!("TRACK{n}"))));
            let last = if n % 2 == 0 { ShipmentStatus::Delivered } else { ShipmentStatus::Returned };
            events.push(SourceEvent::Shipment(story.shipment(last, 2, &format!("TRACK{n}"))));
        }
    }
    events
}

/// The cancellation of `placed`: the same order, now cancelled.
fn cancellation_of(story: &Story, placed: &events::OrderEvent) -> events::OrderEvent {
    let mut cancelled = story.cancelled(placed);
    cancelled.order.shipping_address = placed.order.shipping_address.clone();
    cancelled.order.placed_at = placed.order.placed_at;
    cancelled
}

/// The rollups counted from scratch: every order's events merged, then each contribution
/// added once.
fn recount(events: &[SourceEvent]) -> Rollup {
    let mut documents: BTreeMap<Uuid, OrderHistory> = BTreeMap::new();
    for event in events {
        documents.entry(event.order_id()).or_insert_with(|| OrderHistory::empty(event.order_id())).apply(event);
    }
    let mut rollup = Rollup::default();
    for document in documents.values() {
        if let Some(contribution) = Contribution::of(document) {
            rollup.apply(&contribution, 1);
        }
    }
    rollup
}

fn query(extra: &str) -> StatsQuery {
    let raw = format!("{RANGE}{extra}");
    let params: HashMap<String, String> = raw
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    StatsQuery::parse(&params).expect("a valid query")
}

fn topic_of(event: &SourceEvent) -> &'static str {
    match event {
        SourceEvent::Order(_) => topics::ORDERS,
        SourceEvent::Payment(_) => topics::PAYMENTS,
        SourceEvent::Shipment(_) => topics::SHIPMENTS,
    }
}

/// `events` at consecutive offsets of one partition per topic, from `first_offset`.
fn positioned(events: &[SourceEvent], first_offset: i64) -> (Vec<PositionedEvent>, Checkpoint) {
    let mut next: HashMap<&str, i64> = HashMap::new();
    let mut checkpoint = Checkpoint::default();
    let mut out = Vec::new();
    for event in events {
        let topic = topic_of(event);
        let offset = next.entry(topic).or_insert(first_offset);
        out.push(PositionedEvent { topic: topic.to_string(), partition: 0, offset: *offset, event: event.clone() });
        *offset += 1;
        checkpoint.advance(topic, 0, *offset);
    }
    (out, checkpoint)
}

async fn publish(world: &TestWorld, event: &SourceEvent) {
    match event {
        SourceEvent::Order(event) => world.publish(event).await,
        SourceEvent::Payment(event) => world.publish(event).await,
        SourceEvent::Shipment(event) => world.publish(event).await,
    }
}

/// Polls `GET /stats?{query}` until it is fresh and `until` holds, or fails after 60 s.
async fn wait_for_stats(world: &TestWorld, app: &TestApp, query: &str, until: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    loop {
        poll.tick().await;
        let (status, body) = world.get(app, &format!("/stats?{query}")).await;
        if status == StatusCode::OK && body["stale"] == false && until(&body) {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "stats never got there; last: {status} {body}");
    }
}

fn answer_of(body: &Value) -> StatsAnswer {
    serde_json::from_value(body.clone()).expect("a stats answer")
}

fn orders_in(answer: &StatsAnswer, key: &str) -> i64 {
    answer.buckets.iter().filter(|bucket| bucket.key == key).map(|bucket| bucket.orders).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollup_equals_a_recount_after_a_mixed_workload_and_a_cancellation_moves_the_order() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let mut events = mixed_workload(40);
    for event in &events {
        publish(&world, event).await;
    }
    // redelivered records, and a stale version arriving after a newer one
    for event in events.iter().take(10) {
        publish(&world, event).await;
    }
    let expected = recount(&events);
    for group_by in [
        "",
        "&group_by=status",
        "&group_by=payment_status",
        "&group_by=shipment_status",
        "&group_by=country",
        "&group_by=currency",
    ] {
        for granularity in ["&granularity=hour", "&granularity=day"] {
            let extra = format!("{granularity}{group_by}");
            let want = expected.answer(&query(&extra));
            let body = wait_for_stats(&world, &app, &format!("{RANGE}{extra}"), |body| answer_of(body) == want).await;
            assert!(body["as_of"].is_string(), "as_of names the newest event covered: {body}");
        }
    }

    // one placed order is cancelled: it leaves PLACED and enters CANCELLED, the total stays
    let by_status = format!("{RANGE}&group_by=status");
    let before = answer_of(&wait_for_stats(&world, &app, &by_status, |_| true).await);
    let cancelled_orders: Vec<Uuid> = events
        .iter()
        .filter(
            |event| matches!(event, SourceEvent::Order(order) if order.event_type == OrderEventType::OrderCancelled),
        )
        .map(SourceEvent::order_id)
        .collect();
    let placed = events
        .iter()
        .find_map(|event| match event {
            SourceEvent::Order(order) if !cancelled_orders.contains(&order.order_id()) => Some(order.clone()),
            _ => None,
        })
        .expect("the workload has orders never cancelled");
    let story = Story { order_id: placed.order_id(), payment_id: Uuid::now_v7(), shipment_id: Uuid::now_v7() };
    let cancellation = SourceEvent::Order(cancellation_of(&story, &placed));
    publish(&world, &cancellation).await;
    events.push(cancellation);
    let want = recount(&events).answer(&query("&group_by=status"));
    let after = answer_of(&wait_for_stats(&world, &app, &by_status, |body| answer_of(body) == want).await);
    assert_eq!(orders_in(&after, "PLACED"), orders_in(&before, "PLACED") - 1);
    assert_eq!(orders_in(&after, "CANCELLED"), orders_in(&before, "CANCELLED") + 1);
    let total = |answer: &StatsAnswer| answer.buckets.iter().map(|bucket| bucket.orders).sum::<i64>();
    assert_eq!(total(&after), total(&before), "the order moved, it was not counted twice");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_serve_services_only_and_name_the_bad_parameter() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let path = format!("/stats?{RANGE}");
    let (status, _) = world.get_as(&app, &path, Some(&testkit::customer_token("cust-ada"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a customer token reads no statistics");
    let (status, _) = world.get_as(&app, &path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = world.get(&app, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (query, field) in [
        ("to=2026-01-02T00:00:00Z", "from"),
        ("from=2026-01-03T00:00:00Z&to=2026-01-02T00:00:00Z", "from"),
        ("from=2026-01-01T00:00:00Z&to=tomorrow", "to"),
        ("from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&granularity=week", "granularity"),
        ("from=2025-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&granularity=hour", "granularity"),
        ("from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&group_by=customer", "group_by"),
        ("from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&limit=3", "query"),
    ] {
        let (status, body) = world.get(&app, &format!("/stats?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let (_, openapi) = world.get(&app, "/openapi.json").await;
    assert!(openapi["paths"]["/stats"]["get"].is_object(), "/stats is documented");
    app.stop().await;
}

async fn sqlite_store(world_dir: &std::path::Path, name: &str) -> StatsStore {
    let url = format!("sqlite://{}", world_dir.join(format!("{name}.sqlite")).display());
    StatsStore::connect(&url).await.expect("statistics store")
}

/// The apply step against the real store, on SQLite and PostgreSQL: the same records again,
/// the same events at new offsets (a producer's redelivery) and every event in reverse order
/// all leave the rollups as one ordered pass does.
#[tokio::test(flavor = "multi_thread")]
async fn redelivered_and_reordered_events_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let postgres = testkit::fresh_postgres_url().await;
    let events = mixed_workload(30);
    let expected = recount(&events);
    let (in_order, covers) = positioned(&events, 0);
    for (name, store) in [
        ("sqlite", sqlite_store(dir.path(), "in-order").await),
        ("postgres", StatsStore::connect(&postgres).await.expect("postgres statistics store")),
    ] {
        store.apply(&in_order, &covers).await.expect("applies");
        assert_eq!(store.rollup().await.expect("rollup"), expected, "{name}: one pass equals the recount");

        let replay = store.apply(&in_order, &covers).await.expect("applies again");
        assert_eq!(replay.covered, in_order.len(), "{name}: records below the checkpoint are skipped");
        let (redelivered, covers_more) = positioned(&events, 1000);
        let again = store.apply(&redelivered, &covers_more).await.expect("applies redelivered");
        assert_eq!((again.applied, again.stale), (0, events.len()), "{name}: the version rules catch redelivery");
        assert_eq!(store.rollup().await.expect("rollup"), expected, "{name}: nothing changed");
    }

    let reversed: Vec<SourceEvent> = events.iter().rev().cloned().collect();
    let (out_of_order, covers) = positioned(&reversed, 0);
    let store = sqlite_store(dir.path(), "reversed").await;
    // one event per batch, as if each arrived in a batch of its own
    for positioned_event in &out_of_order {
        let mut one = Checkpoint::default();
        one.advance(&positioned_event.topic, positioned_event.partition, positioned_event.offset + 1);
        store.apply(std::slice::from_ref(positioned_event), &one).await.expect("applies");
    }
    assert_eq!(store.checkpoint().await.expect("checkpoint"), covers);
    assert_eq!(store.rollup().await.expect("rollup"), expected, "reordered events give the same rollups");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_change_moves_the_order_between_buckets_in_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = sqlite_store(dir.path(), "moves").await;
    let story = Story::new();
    let placed = story.placed("Ada Lovelace", "Analytical engine", 4_200);
    let captured = SourceEvent::Payment(story.payment(PaymentEventType::PaymentCaptured, 1));
    let (first, covers) = positioned(&[SourceEvent::Order(placed.clone()), captured], 0);
    store.apply(&first, &covers).await.expect("applies");
    let by_status = query("&group_by=status");
    let before = store.answer(&by_status).await.expect("answers");
    assert_eq!((orders_in(&before, "PLACED"), orders_in(&before, "CANCELLED")), (1, 0));

    let (second, covers) = positioned(&[SourceEvent::Order(cancellation_of(&story, &placed))], 10);
    let outcome = store.apply(&second, &covers).await.expect("applies");
    assert_eq!(outcome.orders_moved, 1);
    let after = store.answer(&by_status).await.expect("answers");
    assert_eq!((orders_in(&after, "PLACED"), orders_in(&after, "CANCELLED")), (0, 1));
    assert_eq!(after.buckets.len(), 1, "the emptied bucket is not answered: {after:?}");
    assert_eq!(after.buckets[0].revenue, before.buckets[0].revenue, "the captured payment moved with the order");
    assert!(after.top_products.is_empty(), "a cancelled order's products leave the top list");
    let by_payment = store.answer(&query("&group_by=payment_status")).await.expect("answers");
    assert_eq!(orders_in(&by_payment, "CAPTURED"), 1, "other dimensions keep the order once");
}
