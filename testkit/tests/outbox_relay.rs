//! The shared outbox relay against a real broker and registry, on both stores.

use std::sync::Arc;
use std::time::Duration;

use events::samples::order_event;
use events::{OrderEvent, OrderEventType, headers};
use source_platform::outbox::{OutboxMessage, OutboxRelay, OutboxSignal, RelayArgs, enqueue};
use sqlx::Acquire;
use sqlx::migrate::Migrator;
use testkit::{TestInfra, read_topic};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn relay_args() -> RelayArgs {
    RelayArgs {
        batch_size: 100,
        poll_interval_ms: 60_000,
        retention_secs: 3600,
        prune_interval_secs: 3600,
        enabled: true,
        crash_after_publish: false,
    }
}

async fn publishes_committed_events_in_version_order_with_key_and_headers(database_url: String) {
    let infra = TestInfra::start().await;
    let store = source_platform::store::connect_and_migrate(&database_url, Migrator::DEFAULT).await.expect("store");
    let signal = OutboxSignal::default();
    let producer = kafka_config::DeliveryProducer::new(&infra.kafka.producer_config("relay-test")).expect("producer");
    let relay = OutboxRelay::new(
        store.clone(),
        database_url.clone(),
        producer,
        Arc::new(infra.codec()),
        signal.clone(),
        relay_args(),
    );
    let shutdown = CancellationToken::new();
    let relay_task = tokio::spawn(relay.run(shutdown.clone()));

    let order_id = Uuid::now_v7();
    let placed = order_event(order_id, OrderEventType::OrderPlaced, 1);
    let cancelled = order_event(order_id, OrderEventType::OrderCancelled, 2);
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string();
    for event in [&placed, &cancelled] {
        let mut connection = store.pool.acquire().await.expect("connection");
        let mut transaction = connection.begin().await.expect("transaction");
        let message = OutboxMessage::for_event(event, Some(traceparent.clone())).expect("encodes");
        enqueue(&mut transaction, store.backend, &message).await.expect("enqueued");
        transaction.commit().await.expect("commit");
        // the poll interval is a minute: only the signal can make this prompt
        signal.committed();
    }

    let received = read_topic::<OrderEvent>(&infra, Duration::from_secs(30), |received| received.len() >= 2).await;
    let versions: Vec<i64> = received.iter().map(|record| record.event.aggregate_version).collect();
    assert_eq!(versions, vec![1, 2], "published once each, in version order");
    assert_eq!(received[0].event, placed);
    assert_eq!(received[1].event, cancelled);
    assert_eq!(received[0].key, order_id.to_string());
    assert_eq!(received[0].header(headers::EVENT_ID), Some(placed.event_id.to_string().as_str()));
    assert_eq!(received[0].header(headers::EVENT_TYPE), Some("ORDER_PLACED"));
    assert_eq!(received[1].header(headers::TRACEPARENT), Some(traceparent.as_str()));

    // the relay marks rows after the broker acknowledges them, which can land after a reader sees them
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let unpublished: i64 = sqlx::query_scalar("select count(*) from outbox where published_at_ms is null")
            .fetch_one(&store.pool)
            .await
            .expect("count");
        if unpublished == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{unpublished} acknowledged rows are still unmarked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    relay_task.await.expect("relay stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_publishes_from_sqlite() {
    let url = format!("sqlite://{}/relay.db", tempfile::tempdir().expect("dir").keep().display());
    publishes_committed_events_in_version_order_with_key_and_headers(url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_publishes_from_postgres() {
    publishes_committed_events_in_version_order_with_key_and_headers(testkit::fresh_postgres_url().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn published_rows_are_pruned_after_their_retention() {
    let infra = TestInfra::start().await;
    let database_url = infra.sqlite_url("prune");
    let store = source_platform::store::connect_and_migrate(&database_url, Migrator::DEFAULT).await.expect("store");
    let signal = OutboxSignal::default();
    let args = RelayArgs { retention_secs: 0, prune_interval_secs: 0, poll_interval_ms: 50, ..relay_args() };
    let producer = kafka_config::DeliveryProducer::new(&infra.kafka.producer_config("prune-test")).expect("producer");
    let relay = OutboxRelay::new(store.clone(), database_url, producer, Arc::new(infra.codec()), signal.clone(), args);
    let shutdown = CancellationToken::new();
    let relay_task = tokio::spawn(relay.run(shutdown.clone()));

    let event = order_event(Uuid::now_v7(), OrderEventType::OrderPlaced, 1);
    let mut connection = store.pool.acquire().await.expect("connection");
    let mut transaction = connection.begin().await.expect("transaction");
    enqueue(&mut transaction, store.backend, &OutboxMessage::for_event(&event, None).expect("encodes"))
        .await
        .expect("enqueued");
    transaction.commit().await.expect("commit");
    drop(connection);
    signal.committed();

    let published = read_topic::<OrderEvent>(&infra, Duration::from_secs(30), |received| !received.is_empty()).await;
    assert_eq!(published.len(), 1, "published before it is pruned");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows: i64 = sqlx::query_scalar("select count(*) from outbox").fetch_one(&store.pool).await.expect("count");
        if rows == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "published row was never pruned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    relay_task.await.expect("relay stops");
}

/// A commit made by another process (here: another pool, with no in-process signal) wakes the
/// relay through PostgreSQL's LISTEN/NOTIFY, long before its one-minute poll would.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_notify_wakes_the_relay_for_commits_from_other_processes() {
    let infra = TestInfra::start().await;
    let database_url = testkit::fresh_postgres_url().await;
    let store = source_platform::store::connect_and_migrate(&database_url, Migrator::DEFAULT).await.expect("store");
    let producer = kafka_config::DeliveryProducer::new(&infra.kafka.producer_config("notify-test")).expect("producer");
    let relay = OutboxRelay::new(
        store.clone(),
        database_url.clone(),
        producer,
        Arc::new(infra.codec()),
        OutboxSignal::default(),
        relay_args(),
    );
    let shutdown = CancellationToken::new();
    let relay_task = tokio::spawn(relay.run(shutdown.clone()));
    // a notification sent before the relay listens is lost: wait until its session has run
    // LISTEN, as the server itself reports it
    let listening = "select count(*) from pg_stat_activity \
                     where datname = current_database() and query ilike 'listen %'";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let sessions: i64 = sqlx::query_scalar(listening).fetch_one(&store.pool).await.expect("pg_stat_activity");
        if sessions > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the relay never listened for notifications");
        tokio::task::yield_now().await;
    }

    let other_writer =
        source_platform::store::connect_and_migrate(&database_url, Migrator::DEFAULT).await.expect("second pool");
    let event = order_event(Uuid::now_v7(), OrderEventType::OrderPlaced, 1);
    let mut connection = other_writer.pool.acquire().await.expect("connection");
    let mut transaction = connection.begin().await.expect("transaction");
    enqueue(&mut transaction, other_writer.backend, &OutboxMessage::for_event(&event, None).expect("encodes"))
        .await
        .expect("enqueued");
    transaction.commit().await.expect("commit");

    let published = read_topic::<OrderEvent>(&infra, Duration::from_secs(30), |received| !received.is_empty()).await;
    assert_eq!(published.len(), 1, "published well before the 60 s poll interval");
    assert_eq!(published[0].event, event);
    shutdown.cancel();
    relay_task.await.expect("relay stops");
}
