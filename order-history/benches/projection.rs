//! order-history at full size, on the tantivy backend:
//!
//! 1. fill the three topics with `--orders` orders (default 333,334: one ORDER_PLACED, one
//!    PAYMENT_AUTHORIZED and one SHIPMENT_CREATED each, so 1,000,002 events), as the outbox relay
//!    would publish them: Avro in the Confluent wire format, keyed by order id;
//! 2. the raw consume rate: read and decode every record, nothing else;
//! 3. rebuild throughput: replay everything into a fresh view (`rebuild::run`), then into the
//!    statistics store the service will use (`stats::rebuild`), each with its CPU per event;
//!    for 2. and 3. also the broker's CPU, which shares the two cores with the consumer;
//! 4. search latency on the full view: a two-word query and a filtered query;
//! 5. freshness at a steady `--rate` writes/s (default 200) for `--seconds` (default 20): from
//!    the moment an event is published until a read-your-writes GET sees it;
//! 6. the projection's CPU per event, live at `--rate` writes/s (published by a child process,
//!    so this process's CPU is the projection's alone), against the rebuild's CPU per event of
//!    both read models, since the service projects both; with `--rates 200,1000,4000` at each
//!    rate in turn, with a least-squares line through them (a rough split into a part per
//!    second and a part per event: batches grow with the rate, so the fit is loose);
//! 7. memory: this process's peak RSS (projection, index and bench together) and the broker's.
//!
//! `cargo bench -p order-history --bench projection [-- --orders N --rate R --rates R1,R2 --seconds S]`
//! (and `--batch-max-wait-ms W --commit-interval-ms C` to set the live projection's trade-off)
//! Everything runs on 127.0.0.1: a real tansu broker, the project's registry, real tantivy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use events::{Event, OrderEvent};
use hdrhistogram::Histogram;
use kafka_config::KafkaArgs;
use order_history::app::Application;
use order_history::config::Config;
use order_history::index::tantivy::TantivyCatalog;
use order_history::index::{SearchQuery, SearchText, SortOrder, ViewCatalog};
use order_history::projection::decode::{Decoded, Decoder};
use order_history::projection::source::{Assignment, BatchLimits, Source};
use order_history::rebuild::{self, RebuildFrom, RebuildSetup, RebuildTracker};
use order_history::snapshot::{SnapshotStore, StatisticsSnapshots};
use order_history::stats::rebuild as stats_rebuild;
use order_history::stats::{StatsSetup, StatsStore};
use order_view::search::SearchFilters;
use rdkafka::producer::{FutureProducer, FutureRecord};
use testkit::TestInfra;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

// for its CPU reading; the load generator is the serve bench's
#[allow(dead_code)]
#[path = "support/load.rs"]
mod load;
#[path = "support/seed.rs"]
mod seed;

use seed::{CITIES, FIRST_NAMES, PRODUCTS, bar, order_events};

// the allocator the order-history binary uses
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    orders: u64,
    rate: u64,
    /// The rates of the live CPU phase, one run each: `--rates`, else `--rate` alone.
    live_rates: Vec<u64>,
    seconds: u64,
    /// The live projection's batch window and commit interval: the service's defaults unless
    /// given, so that one run can measure another trade-off of freshness against CPU.
    batch_max_wait_ms: u64,
    commit_interval_ms: u64,
}

fn options() -> Options {
    let mut options = Options {
        orders: 333_334,
        rate: 200,
        live_rates: Vec::new(),
        seconds: 20,
        batch_max_wait_ms: order_history::config::DEFAULT_BATCH_MAX_WAIT_MS,
        commit_interval_ms: order_history::config::DEFAULT_COMMIT_INTERVAL_MS,
    };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        let value = pair[1].parse::<u64>().ok();
        match (pair[0].as_str(), value) {
            ("--orders", Some(value)) => options.orders = value,
            ("--rate", Some(value)) => options.rate = value.max(1),
            ("--seconds", Some(value)) => options.seconds = value,
            ("--batch-max-wait-ms", Some(value)) => options.batch_max_wait_ms = value,
            ("--commit-interval-ms", Some(value)) => options.commit_interval_ms = value,
            ("--rates", None) => {
                options.live_rates =
                    pair[1].split(',').map(|rate| rate.parse::<u64>().expect("--rates R1,R2,…").max(1)).collect()
            }
            _ => {}
        }
    }
    if options.live_rates.is_empty() {
        options.live_rates = vec![options.rate];
    }
    options
}

/// 50,000 customers, about 7 orders each at full size.
fn customer_of(sequence: u64) -> String {
    format!("cust-{}", sequence % 50_000)
}

/// Replays every record from offset 0 into the statistics store the service opens in
/// `data_dir`, so that the live phases start with both read models caught up. Returns its CPU
/// per event.
async fn statistics_rebuild(
    infra: &TestInfra,
    codec: &Arc<events::EventCodec>,
    data_dir: &std::path::Path,
    events: u64,
) -> f64 {
    let url = format!("sqlite://{}", data_dir.join(order_history::stats::DEFAULT_STATS_FILE).display());
    let model = StatisticsSnapshots::new(StatsStore::connect(&url).await.expect("statistics store"), data_dir);
    let snapshots = SnapshotStore::new(&data_dir.join("snapshots"), 1);
    let setup = StatsSetup {
        consumer: infra.kafka.consumer_config("bench-statistics", "bench-statistics"),
        codec: codec.clone(),
        limits: BatchLimits { max_records: 5000, max_wait: Duration::from_millis(20) },
    };
    let cpu_before = own_cpu_seconds();
    let rebuilt = stats_rebuild::rebuild(
        setup,
        &model,
        &snapshots,
        &infra.kafka,
        RebuildFrom::Beginning,
        &CancellationToken::new(),
    )
    .await
    .expect("statistics rebuild");
    let cpu_per_event_us = (own_cpu_seconds() - cpu_before) * 1e6 / events as f64;
    assert_eq!(rebuilt.records_read, events, "the statistics rebuild read every record");
    println!(
        "statistics rebuild: {events} events in {:.1}s = {:.0} events/s, {cpu_per_event_us:.0} µs CPU/event",
        rebuilt.elapsed.as_secs_f64(),
        rebuilt.records_per_second()
    );
    cpu_per_event_us
}

/// The least-squares line `y = a + b·x` through `points`: `(a, b)`.
fn fit_line(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let covariance: f64 = points.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
    let variance: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    let slope = covariance / variance;
    (mean_y - slope * mean_x, slope)
}

/// CPU seconds this process has used (user + system).
fn own_cpu_seconds() -> f64 {
    load::cpu_seconds(std::process::id())
}

/// The CPU this process and the broker use over a phase: on two shared cores the broker's share
/// bounds how fast a consumer on the same machine can go.
struct CpuShares {
    own: f64,
    broker: Option<(u32, f64)>,
    started: Instant,
}

impl CpuShares {
    fn start() -> Self {
        let broker = broker_pid().and_then(|pid| pid.parse::<u32>().ok()).map(|pid| (pid, load::cpu_seconds(pid)));
        CpuShares { own: own_cpu_seconds(), broker, started: Instant::now() }
    }

    /// This process's CPU seconds since the start.
    fn own_cpu(&self) -> f64 {
        own_cpu_seconds() - self.own
    }

    /// `bench X cores (a µs/event), broker Y cores (b µs/event), together Z cores`.
    fn report(&self, events: u64) -> String {
        let seconds = self.started.elapsed().as_secs_f64();
        let own = self.own_cpu();
        let per_event = |cpu: f64| cpu * 1e6 / events as f64;
        let mut line = format!("bench process {:.2} cores ({:.0} µs/event)", own / seconds, per_event(own));
        if let Some((pid, before)) = self.broker {
            let broker = load::cpu_seconds(pid) - before;
            line += &format!(
                ", broker {:.2} cores ({:.0} µs/event), together {:.2} cores",
                broker / seconds,
                per_event(broker),
                (own + broker) / seconds
            );
        }
        line
    }
}

/// The child process of the live-projection phase: publishes ORDER_PLACED events at `rate`
/// per second for `seconds`, starting at `first_sequence`, and prints the last order id.
async fn publish_at_rate(args: &[String]) {
    let value_of = |flag: &str| {
        let at = args.iter().position(|arg| arg == flag).unwrap_or_else(|| panic!("{flag} is given"));
        args[at + 1].clone()
    };
    let kafka = KafkaArgs::new(value_of("--bootstrap"));
    let codec = events::EventCodec::new(&events::RegistryConfig::new(value_of("--registry"))).expect("codec");
    let rate: u64 = value_of("--publish-at").parse().expect("a rate");
    let seconds: u64 = value_of("--for").parse().expect("seconds");
    let first_sequence: u64 = value_of("--first-sequence").parse().expect("a sequence");
    let producer: FutureProducer = kafka.producer_config("bench-live").create().expect("producer");
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut deliveries = Vec::new();
    let mut last_key = String::new();
    for sequence in first_sequence..first_sequence + rate * seconds {
        ticker.tick().await;
        let (order, _, _) = order_events(sequence, customer_of(sequence), chrono::Utc::now().timestamp_millis());
        let value = codec.encode(&order).await.expect("encodes");
        last_key = order.order_id.to_string();
        let producer = producer.clone();
        let key = last_key.clone();
        deliveries.push(tokio::spawn(async move {
            producer
                .send(FutureRecord::to(OrderEvent::TOPIC).key(&key).payload(&value), Duration::from_secs(10))
                .await
                .map_err(|(error, _)| error)
                .expect("delivered");
        }));
    }
    for delivery in deliveries {
        delivery.await.expect("delivery task");
    }
    println!("{last_key}");
}

/// The projection's CPU per event while `rate` events/s arrive for `seconds`: a child process
/// publishes them, and this process (the projection, nothing else) is charged from the first
/// publish until the last event is readable.
///
/// Returns the CPU seconds it used and how long the phase took in seconds.
async fn live_projection_cpu(
    infra: &TestInfra,
    app_address: std::net::SocketAddr,
    rate: u64,
    seconds: u64,
    first_sequence: u64,
) -> (f64, f64) {
    let client = service_client();
    let events = rate * seconds;
    let shares = CpuShares::start();
    let output = tokio::process::Command::new(std::env::current_exe().expect("this bench's path"))
        .args(["--publish-at", &rate.to_string(), "--for", &seconds.to_string()])
        .args(["--first-sequence", &first_sequence.to_string(), "--bootstrap", &infra.kafka.bootstrap_servers])
        .args(["--registry", &infra.registry_url])
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .expect("the publisher runs");
    assert!(output.status.success(), "the publisher failed");
    let last_key = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let url = format!("http://{app_address}/orders/{last_key}?min_version={last_key}:1&wait_ms=2000");
    while client.get(&url).send().await.expect("get").status() != 200 {}
    let (cpu, elapsed) = (shares.own_cpu(), shares.started.elapsed().as_secs_f64());
    println!(
        "live projection at {rate} events/s: {events} events in {elapsed:.1}s, {cpu:.2} CPU s; {}",
        shares.report(events)
    );
    (cpu, elapsed)
}

/// This process's CPU while the app runs with nothing to project, over `seconds`: the part of
/// the live cost that does not depend on the events (rdkafka's threads, timers).
async fn idle_cores(seconds: u64) -> f64 {
    let before = own_cpu_seconds();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cores = (own_cpu_seconds() - before) / started.elapsed().as_secs_f64();
    println!("idle, nothing to project: {cores:.3} cores over {seconds}s");
    cores
}

/// An HTTP client that reads with a service token of the test issuer, which the app trusts.
fn service_client() -> reqwest::Client {
    let token = testkit::service_token();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header value"));
    reqwest::Client::builder().default_headers(headers).build().expect("http client")
}

async fn fill(infra: &TestInfra, orders: u64) -> (u64, Duration) {
    let started = Instant::now();
    let mut sent = 0u64;
    seed::fill(infra, "bench-fill", 0..orders, customer_of, 50_000, |_| sent += 3).await;
    (sent, started.elapsed())
}

/// Reads and decodes every record of the source topics: the ceiling projection works under.
async fn raw_consume(kafka: &KafkaArgs, codec: Arc<events::EventCodec>, expected: u64) -> Duration {
    let source = Source::start(
        kafka.consumer_config("bench-raw", &format!("bench-raw-{}", Uuid::now_v7())),
        &events::topics::SOURCE_TOPICS,
        Assignment::AllPartitions { resume_from: Default::default() },
        BatchLimits { max_records: 5000, max_wait: Duration::from_millis(20) },
    )
    .await
    .expect("source");
    let mut decoder = Decoder::new(codec);
    let shutdown = CancellationToken::new();
    let progress = bar(expected, "consume");
    let started = Instant::now();
    let mut decoded = 0u64;
    while decoded < expected {
        let batch = source.next_batch(&shutdown).await.expect("batch").expect("not shut down");
        for record in batch.records {
            match decoder.decode(record, &shutdown).await {
                Some(Decoded::Event(_)) => decoded += 1,
                _ => panic!("every bench record decodes"),
            }
        }
        progress.set_position(decoded);
    }
    progress.finish();
    started.elapsed()
}

fn summary(name: &str, histogram: &Histogram<u64>, unit: &str, scale: f64) {
    println!(
        "{name:<28} n={:<7} p50={:>8.2}{unit} p99={:>8.2}{unit} max={:>8.2}{unit}",
        histogram.len(),
        histogram.value_at_quantile(0.5) as f64 / scale,
        histogram.value_at_quantile(0.99) as f64 / scale,
        histogram.max() as f64 / scale,
    );
}

fn memory_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|line| line.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

fn broker_pid() -> Option<String> {
    let output = std::process::Command::new("pgrep").args(["-n", "tansu"]).output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string()).filter(|pid| !pid.is_empty())
}

async fn search_latency(index: &dyn order_history::index::HistoryIndex) {
    let mut two_words = Histogram::<u64>::new(3).expect("histogram");
    let mut filtered = Histogram::<u64>::new(3).expect("histogram");
    let mut total_hits = (0u64, 0u64);
    for round in 0..2000usize {
        let first = FIRST_NAMES[round % FIRST_NAMES.len()];
        let product = PRODUCTS[(round * 7) % PRODUCTS.len()].split(' ').next_back().unwrap_or("mug");
        let query = SearchQuery {
            text: SearchText::parse(&format!("{first} {product}")).expect("parses"),
            ..SearchQuery::default()
        };
        let started = Instant::now();
        let results = index.search(&query).await.expect("search");
        two_words.record(started.elapsed().as_micros() as u64).expect("record");
        total_hits.0 += results.total;

        let city = CITIES[round % CITIES.len()];
        let query = SearchQuery {
            filters: SearchFilters {
                payment_status: Some(order_view::PaymentStatus::Authorized),
                min_total: Some(5_000),
                max_total: Some(20_000),
                ..Default::default()
            },
            text: SearchText::parse(city).expect("parses"),
            sort: SortOrder::Newest,
            ..SearchQuery::default()
        };
        let started = Instant::now();
        let results = index.search(&query).await.expect("search");
        filtered.record(started.elapsed().as_micros() as u64).expect("record");
        total_hits.1 += results.total;
    }
    summary("search: two words", &two_words, "ms", 1000.0);
    println!("{:<28} mean total hits {}", "", total_hits.0 / 2000);
    summary("search: city + 3 filters", &filtered, "ms", 1000.0);
    println!("{:<28} mean total hits {}", "", total_hits.1 / 2000);
}

/// Publishes a new order's ORDER_PLACED as the outbox relay would; returns its read-your-writes
/// URL on order-history once the broker has acknowledged it.
async fn publish_order(
    codec: &events::EventCodec,
    producer: &FutureProducer,
    app_address: std::net::SocketAddr,
    sequence: u64,
) -> String {
    let (order, _, _) = order_events(sequence, customer_of(sequence), chrono::Utc::now().timestamp_millis());
    let value = codec.encode(&order).await.expect("encodes");
    let key = order.order_id.to_string();
    producer
        .send(FutureRecord::to(OrderEvent::TOPIC).key(&key).payload(&value), Duration::from_secs(10))
        .await
        .map_err(|(error, _)| error)
        .expect("delivered");
    format!("http://{app_address}/orders/{key}?min_version={key}:1&wait_ms=2000")
}

async fn warm_up(
    codec: &events::EventCodec,
    producer: &FutureProducer,
    client: &reqwest::Client,
    app_address: std::net::SocketAddr,
) {
    for sequence in 9_000_000..9_000_020u64 {
        let url = publish_order(codec, producer, app_address, sequence).await;
        while client.get(&url).send().await.expect("get").status() != 200 {}
    }
}

/// Publishes at `rate` writes/s; each write is followed by a read-your-writes GET, and the
/// time from publish to the answer that reflects it is the freshness.
async fn freshness(infra: &TestInfra, app_address: std::net::SocketAddr, rate: u64, seconds: u64) {
    let codec = Arc::new(infra.codec());
    let producer: FutureProducer = infra.kafka.producer_config("bench-fresh").create().expect("producer");
    let client = service_client();
    let histogram = Arc::new(std::sync::Mutex::new(Histogram::<u64>::new(3).expect("histogram")));
    let acks = Arc::new(std::sync::Mutex::new(Histogram::<u64>::new(3).expect("histogram")));
    let stale = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // a new producer's first sends wait ~0.5 s for its connection and producer id, and the
    // projection's first fetch as long: that is start-up, not freshness, so it is paid here
    warm_up(&codec, &producer, &client, app_address).await;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut sequence = 10_000_000u64;
    while Instant::now() < until {
        ticker.tick().await;
        sequence += 1;
        let (codec, producer, client, histogram, acks, stale) =
            (codec.clone(), producer.clone(), client.clone(), histogram.clone(), acks.clone(), stale.clone());
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let url = publish_order(&codec, &producer, app_address, sequence).await;
            acks.lock().expect("histogram").record(started.elapsed().as_micros() as u64).expect("record");
            loop {
                let response = client.get(&url).send().await.expect("get");
                if response.status() == 200 {
                    let body: serde_json::Value = response.json().await.expect("json");
                    if body.get("stale").is_none() {
                        break;
                    }
                    stale.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                // 404 until the document exists at all: ask again
            }
            let elapsed = started.elapsed().as_micros() as u64;
            histogram.lock().expect("histogram").record(elapsed).expect("record");
        }));
    }
    for task in tasks {
        task.await.expect("write task");
    }
    let histogram = histogram.lock().expect("histogram");
    summary(&format!("freshness at {rate} writes/s"), &histogram, "ms", 1000.0);
    summary("  of which: publish (ack)", &acks.lock().expect("histogram"), "ms", 1000.0);
    println!("{:<28} stale answers (waited > 2 s): {}", "", stale.load(std::sync::atomic::Ordering::Relaxed));
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|arg| arg == "--publish-at") {
        publish_at_rate(&args).await;
        return;
    }
    let options = options();
    if std::env::var_os("RUST_LOG").is_some() {
        // e.g. RUST_LOG=order_history::projection=debug breaks each batch's delay down by stage
        testkit::init_test_tracing();
    }
    let infra = TestInfra::start().await;
    let codec = Arc::new(infra.codec());
    println!("orders: {}, events: {}", options.orders, options.orders * 3);

    let (events, fill_time) = fill(&infra, options.orders).await;
    println!(
        "fill: {events} events in {:.1}s ({:.0}/s)",
        fill_time.as_secs_f64(),
        events as f64 / fill_time.as_secs_f64()
    );

    let shares = CpuShares::start();
    let consume_time = raw_consume(&infra.kafka, codec.clone(), events).await;
    let consume_rate = events as f64 / consume_time.as_secs_f64();
    println!(
        "raw consume (read + decode): {events} events in {:.1}s = {consume_rate:.0} events/s; {}",
        consume_time.as_secs_f64(),
        shares.report(events)
    );

    let data_dir = infra.dir.path().join("order-history");
    let catalog = Arc::new(TantivyCatalog::open(&data_dir).expect("catalog"));
    drop(catalog.open_live().await.expect("live view"));
    let setup = RebuildSetup {
        catalog: catalog.clone(),
        kafka: infra.kafka.clone(),
        codec: codec.clone(),
        limits: BatchLimits { max_records: 5000, max_wait: Duration::from_millis(20) },
        snapshots: Arc::new(SnapshotStore::new(&data_dir.join("snapshots"), 1)),
    };
    let generation = rebuild::new_generation();
    let tracker = RebuildTracker::with_progress_bar();
    tracker.try_start(&generation);
    let started = Instant::now();
    let shares = CpuShares::start();
    rebuild::run(&setup, &generation, None, RebuildFrom::Beginning, &tracker, &CancellationToken::new())
        .await
        .expect("rebuild");
    let rebuild_time = started.elapsed();
    let rebuild_cpu_per_event_us = shares.own_cpu() * 1e6 / events as f64;
    let rebuild_rate = events as f64 / rebuild_time.as_secs_f64();
    println!(
        "rebuild: {events} events in {:.1}s = {rebuild_rate:.0} events/s, {:.2}x the raw consume rate, {rebuild_cpu_per_event_us:.0} µs CPU/event",
        rebuild_time.as_secs_f64(),
        rebuild_rate / consume_rate
    );
    println!("rebuild: {}", shares.report(events));
    drop(setup);
    let statistics_cpu_per_event_us = statistics_rebuild(&infra, &codec, &data_dir, events).await;
    let both_cpu_per_event_us = rebuild_cpu_per_event_us + statistics_cpu_per_event_us;
    println!(
        "rebuild of both read models: {both_cpu_per_event_us:.0} µs CPU/event (view {rebuild_cpu_per_event_us:.0}, statistics {statistics_cpu_per_event_us:.0})"
    );

    let live = catalog.open_live().await.expect("rebuilt view");
    println!("documents in the view: {}", live.count().await.expect("count"));
    search_latency(live.as_ref()).await;
    drop(live);
    drop(catalog);

    let config = Config {
        group_id: "order-history-bench".to_string(),
        admin_token: None,
        read_auth: testkit::test_read_auth(),
        batch_max_records: 5000,
        batch_max_wait_ms: options.batch_max_wait_ms,
        commit_interval_ms: options.commit_interval_ms,
        ..Config::local(data_dir.clone(), infra.kafka.clone(), infra.registry_url.clone())
    };
    println!(
        "live projection: batch window {} ms, commit interval {} ms",
        options.batch_max_wait_ms, options.commit_interval_ms
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Application::start(&config).await.expect("order-history starts");
    let stop = CancellationToken::new();
    let signal = stop.clone();
    let server = tokio::spawn(app.serve(listener, async move { signal.cancelled().await }));
    freshness(&infra, address, options.rate, options.seconds).await;
    let idle_cores = idle_cores(options.seconds.clamp(1, 10)).await;
    // (events/s, cores) of every live run, with the idle process as the run at 0 events/s
    let mut points = vec![(0.0, idle_cores)];
    for (run, &rate) in options.live_rates.iter().enumerate() {
        let first_sequence = 20_000_000 + run as u64 * 10_000_000;
        let (live_cpu, live_seconds) =
            live_projection_cpu(&infra, address, rate, options.seconds, first_sequence).await;
        let events = (rate * options.seconds) as f64;
        let live_cpu_per_event_us = live_cpu * 1e6 / events;
        let net_of_idle_us = (live_cpu - idle_cores * live_seconds) * 1e6 / events;
        println!(
            "live projection CPU per event at {rate} events/s: {:.2}x the rebuild's of both read models ({live_cpu_per_event_us:.0} / {both_cpu_per_event_us:.0} µs); \
             without the idle process's {idle_cores:.3} cores: {net_of_idle_us:.0} µs = {:.2}x",
            live_cpu_per_event_us / both_cpu_per_event_us,
            net_of_idle_us / both_cpu_per_event_us,
        );
        points.push((events / live_seconds, live_cpu / live_seconds));
    }
    if points.len() > 2 {
        let (per_second, per_event) = fit_line(&points);
        println!(
            "live cost = {per_second:.3} cores + {:.0} µs per event (least squares over the idle run and {} rates); \
             per event {:.2}x the rebuild's of both read models",
            per_event * 1e6,
            points.len() - 1,
            per_event * 1e6 / both_cpu_per_event_us
        );
    }
    stop.cancel();
    server.await.expect("server task").expect("server stops");

    let own = memory_kib("self", "VmHWM:").unwrap_or_default();
    println!("peak RSS, bench process (projection + index + load generator): {} MiB", own / 1024);
    if let Some(pid) = broker_pid() {
        println!("RSS, tansu broker: {} MiB", memory_kib(&pid, "VmRSS:").unwrap_or_default() / 1024);
    }
}
