//! The write path of one source service, measured on both stores: sustained write throughput
//! over HTTP, the outbox's commit → broker-ack latency, and write → consumable latency.
//!
//! `cargo bench -p order-svc --bench write_path` (add `-- --seconds N --concurrency C --rate R`).
//! Everything runs on 127.0.0.1: a real tansu broker, the project's registry, the real service.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use serde_json::json;
use testkit::{Database, ServiceRoutes, SpawnedService, TestInfra, source_service_args, spawn_source_service};
use tokio::sync::Mutex;

struct Options {
    seconds: u64,
    concurrency: usize,
    rate: u64,
}

fn options() -> Options {
    let mut options = Options { seconds: 15, concurrency: 16, rate: 100 };
    let args: Vec<String> = std::env::args().collect();
    let mut index = 1;
    while index < args.len() {
        let value = args.get(index + 1).and_then(|value| value.parse::<u64>().ok());
        match (args[index].as_str(), value) {
            ("--seconds", Some(value)) => options.seconds = value,
            ("--concurrency", Some(value)) => options.concurrency = value as usize,
            ("--rate", Some(value)) => options.rate = value,
            _ => {}
        }
        index += 1;
    }
    options
}

fn order_body(sequence: u64) -> serde_json::Value {
    json!({
        "customer_id": format!("bench-customer-{}", sequence % 500),
        "customer_name": "Amara Okafor",
        "customer_email": "amara@example.com",
        "currency": "EUR",
        "items": [
            {"sku": "SKU-KETTLE-01", "name": "Copper tea kettle", "quantity": 1, "unit_price": 4599},
            {"sku": "SKU-MUG-07", "name": "Stoneware mug", "quantity": 2, "unit_price": 1250}
        ],
        "shipping_address": {"line1": "Keizersgracht 123", "city": "Amsterdam", "postal_code": "1015 CJ", "country": "NL"}
    })
}

async fn create_order(service: &SpawnedService, sequence: u64) -> Option<String> {
    let response = service
        .client
        .post(service.url("/orders"))
        .bearer_auth(testkit::TEST_WRITE_TOKEN)
        .json(&order_body(sequence))
        .send()
        .await
        .ok()?;
    if response.status() != 201 {
        return None;
    }
    let body: serde_json::Value = response.json().await.ok()?;
    body["id"].as_str().map(str::to_string)
}

fn percentile_ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

/// Closed loop: `concurrency` clients write as fast as the service accepts.
async fn sustained_throughput(service: &Arc<SpawnedService>, options: &Options) -> (f64, Histogram<u64>) {
    let accepted = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new(3).expect("histogram")));
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..options.concurrency {
        let (service, accepted, latencies) = (service.clone(), accepted.clone(), latencies.clone());
        workers.push(tokio::spawn(async move {
            let mut sequence = worker as u64 * 1_000_000;
            while Instant::now() < deadline {
                let sent = Instant::now();
                if create_order(&service, sequence).await.is_some() {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    let _ = latencies.lock().await.record(sent.elapsed().as_micros() as u64);
                }
                sequence += 1;
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let rate = accepted.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let histogram = latencies.lock().await.clone();
    (rate, histogram)
}

/// Waits until the relay has published every row; returns how long that took.
async fn drain(database_url: &str) -> Duration {
    let pool = sqlx::AnyPool::connect(database_url).await.expect("bench connects to the database");
    let started = Instant::now();
    loop {
        let pending: i64 = sqlx::query_scalar("select count(*) from outbox where published_at_ms is null")
            .fetch_one(&pool)
            .await
            .expect("count");
        if pending == 0 {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Commit → broker ack per row, from the outbox itself (millisecond resolution).
async fn commit_to_ack(database_url: &str, since_ms: i64) -> Histogram<u64> {
    let pool = sqlx::AnyPool::connect(database_url).await.expect("bench connects to the database");
    let delays: Vec<i64> = sqlx::query_scalar(
        "select published_at_ms - created_at_ms from outbox where published_at_ms is not null and created_at_ms >= $1",
    )
    .bind(since_ms)
    .fetch_all(&pool)
    .await
    .expect("delays");
    let mut histogram = Histogram::<u64>::new(3).expect("histogram");
    for delay in delays {
        let _ = histogram.record(delay.max(0) as u64 * 1000);
    }
    histogram
}

/// Open loop at `rate` writes/s: the time from the 201 until a consumer has the event.
async fn write_to_consumable(infra: &TestInfra, service: &Arc<SpawnedService>, options: &Options) -> Histogram<u64> {
    let consumer: StreamConsumer =
        infra.kafka.consumer_config("bench", &format!("bench-{}", uuid::Uuid::now_v7())).create().expect("consumer");
    consumer.subscribe(&[events::topics::ORDERS]).expect("subscribe");
    let acknowledged: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let consuming = {
        let arrived = arrived.clone();
        tokio::spawn(async move {
            while let Ok(message) = consumer.recv().await {
                let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
                arrived.lock().await.entry(key).or_insert_with(Instant::now);
            }
        })
    };
    let interval = Duration::from_secs_f64(1.0 / options.rate as f64);
    let total = options.rate * options.seconds;
    let started = Instant::now();
    let mut writers = Vec::new();
    for sequence in 0..total {
        // open loop: each write starts on its schedule, however long earlier ones take
        let scheduled = started + interval * sequence as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let (service, acknowledged) = (service.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            if let Some(id) = create_order(&service, 9_000_000 + sequence).await {
                acknowledged.lock().await.insert(id, Instant::now());
            }
        }));
    }
    for writer in writers {
        let _ = writer.await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrived.lock().await.len() < acknowledged.lock().await.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consuming.abort();
    let mut histogram = Histogram::<u64>::new(3).expect("histogram");
    let arrived = arrived.lock().await;
    for (id, acked_at) in acknowledged.lock().await.iter() {
        if let Some(arrived_at) = arrived.get(id) {
            let _ = histogram.record(arrived_at.saturating_duration_since(*acked_at).as_micros() as u64);
        }
    }
    histogram
}

#[tokio::main]
async fn main() {
    let options = options();
    println!(
        "write path of order-svc: {} s per phase, {} concurrent writers, open loop at {} writes/s",
        options.seconds, options.concurrency, options.rate
    );
    println!(
        "| store | writes/s (closed loop) | HTTP p50 / p99 ms | outbox drain s | commit→ack p50 / p99 ms (at {} w/s) | 201→consumable p50 / p99 ms |",
        options.rate
    );
    println!("|---|---|---|---|---|---|");
    for database in [Database::Sqlite, Database::Postgres] {
        let infra = TestInfra::start().await;
        let database_url = database.fresh_url(&infra, "order-svc").await;
        let service = spawn_source_service(
            "order-svc",
            database_url.clone(),
            sqlx::migrate!(),
            &source_service_args(&infra),
            |context| {
                let (reads, writes) = order_svc::routes(context);
                ServiceRoutes::new(reads, writes, <order_svc::ApiDoc as utoipa::OpenApi>::openapi())
            },
        )
        .await;
        let service = Arc::new(service);
        for sequence in 0..50 {
            let _ = create_order(&service, sequence).await;
        }
        let (writes_per_second, http) = sustained_throughput(&service, &options).await;
        let drain_time = drain(&database_url).await;
        let steady_since_ms = source_platform::store::now_ms();
        let consumable = write_to_consumable(&infra, &service, &options).await;
        let _ = drain(&database_url).await;
        let acks = commit_to_ack(&database_url, steady_since_ms).await;
        println!(
            "| {database:?} | {writes_per_second:.0} | {:.1} / {:.1} | {:.1} | {:.0} / {:.0} | {:.1} / {:.1} |",
            percentile_ms(&http, 0.5),
            percentile_ms(&http, 0.99),
            drain_time.as_secs_f64(),
            percentile_ms(&acks, 0.5),
            percentile_ms(&acks, 0.99),
            percentile_ms(&consumable, 0.5),
            percentile_ms(&consumable, 0.99),
        );
    }
}
