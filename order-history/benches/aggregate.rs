//! The statistics rollups against aggregation at query time over the order view, on the same
//! orders:
//!
//! 1. generate `--orders` orders (default 333,334) placed over the last `--days` days (default
//!    60), each with its whole life: captured, refunded, declined and never-paid payments,
//!    cancellations, shipments at every step, ten countries and five currencies;
//! 2. write them into a tantivy view as projection does (`fold_into`, `commit`) and into a
//!    fresh SQLite statistics store in batches (`StatsStore::apply`), timed only to be printed;
//!    no broker;
//! 3. for the last 1, 7 and 30 days, orders per day by status, answered three ways:
//!    - **rollup**: `StatsStore::answer`, the hourly rollups summed into days, with the top
//!      products; and timed apart, its buckets alone (its first query), the part the
//!      aggregation also answers;
//!    - **aggregation**: one tantivy search: a range query on `placed_at`, an `AggregationCollector`
//!      with a day histogram on `placed_at`, terms on `status_bits` under it and the sum of
//!      `total` under those;
//!    - **fold**: the stored documents of the range read back and summed with
//!      `Contribution::of` (what composer does with the documents it composes);
//! 4. check that the answers agree on what each can compute, then time them: a warm-up, then
//!    `--repetitions` (default 50) per window, the methods interleaved (the fold only in its
//!    first `--fold-repetitions`, default 10, as it takes seconds); p50, p99 and max.
//!
//! `cargo bench -p order-history --bench aggregate [-- --orders N --days D --repetitions R --fold-repetitions F]`

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use events::{
    OrderEvent, OrderEventType, PaymentEvent, PaymentEventType, PaymentStatus, ShipmentEvent, ShipmentEventType,
    ShipmentStatus, topics,
};
use hdrhistogram::Histogram;
use order_history::index::tantivy::{TantivyIndex, fast_fields};
use order_history::index::{Checkpoint, HistoryIndex};
use order_history::projection::fold::fold_into;
use order_history::stats::{PositionedEvent, StatsStore};
use order_view::stats::{Cell, CellKey, CellValue, Contribution, Rollup, StatsAnswer, StatsQuery};
use order_view::{OrderHistory, SourceEvent};
use sqlx::Row;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::{
    AggregationResult, AggregationResults, BucketEntries, BucketEntry, BucketResult, MetricResult,
};
use tantivy::aggregation::{
    AggContextParams, AggregationCollector, AggregationLimitsGuard, Key, ValueSource, ValueSourceProvider,
    ValueSourceRegistry,
};
use tantivy::collector::DocSetCollector;
use tantivy::columnar::ColumnType;
use tantivy::query::RangeQuery;
use tantivy::schema::{Field, Value};
use tantivy::tokenizer::TokenizerManager;
use tantivy::{DocAddress, Searcher, SegmentReader, TantivyDocument, Term};

// for its orders and progress bar; its broker fill is the other benches'
#[allow(dead_code)]
#[path = "support/seed.rs"]
mod seed;

// the allocator the order-history binary uses
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
/// The windows answered, in days back from now.
const WINDOWS_DAYS: [i64; 3] = [1, 7, 30];
/// Orders generated, folded and applied per batch.
const ORDERS_PER_BATCH: u64 = 2_000;
/// Orders between commits of the view: about what a rebuild writes between its commits.
const ORDERS_PER_COMMIT: u64 = 50_000;
/// Untimed runs of each method per window before the measured ones.
const WARM_UP_RUNS: usize = 3;
/// The computed columns the aggregation reads `placed_at` and `total` through (see [`SignedColumn`]).
const PLACED_AT_SIGNED: &str = "placed_at_ms_signed";
const TOTAL_SIGNED: &str = "total_minor_signed";

// the shares of a life, after compare's seeded generator (compare/src/seed/generator.rs)
const NEVER_PAID: f64 = 0.03;
const DECLINED: f64 = 0.062;
const NOT_CAPTURED: f64 = 0.05;
const REFUNDED: f64 = 0.05;
const SHIPPED: f64 = 0.85;
const RETURNED: f64 = 0.02;
const CANCEL_UNPAID: f64 = 0.35;
const CANCEL_DECLINED: f64 = 0.30;
const CANCEL_NOT_CAPTURED: f64 = 0.30;

/// Where orders are shipped, the currency they are paid in, and the weight of each.
const DESTINATIONS: [(&str, &str, u32); 10] = [
    ("NL", "EUR", 30),
    ("DE", "EUR", 20),
    ("FR", "EUR", 12),
    ("BE", "EUR", 6),
    ("IT", "EUR", 5),
    ("ES", "EUR", 5),
    ("GB", "GBP", 10),
    ("SE", "SEK", 5),
    ("US", "USD", 5),
    ("CH", "CHF", 2),
];

struct Options {
    orders: u64,
    days: i64,
    repetitions: usize,
    fold_repetitions: usize,
}

fn options() -> Options {
    let mut options = Options { orders: 333_334, days: 60, repetitions: 50, fold_repetitions: 10 };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        let value = pair[1].parse::<u64>().ok();
        match (pair[0].as_str(), value) {
            ("--orders", Some(value)) => options.orders = value.max(1),
            ("--days", Some(value)) => options.days = (value as i64).max(1),
            ("--repetitions", Some(value)) => options.repetitions = (value as usize).max(1),
            ("--fold-repetitions", Some(value)) => options.fold_repetitions = value as usize,
            _ => {}
        }
    }
    options
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let view_dir = dir.path().join("view");
    let stats_file = dir.path().join("stats.sqlite");
    let index = TantivyIndex::open_in(&view_dir).expect("the view");
    let stats_url = format!("sqlite://{}", stats_file.display());
    let store = runtime.block_on(StatsStore::connect(&stats_url)).expect("the statistics store");
    // the same file through a connection of its own, for the rollups' buckets without the
    // top products
    let rollup_cells = runtime.block_on(sql_store::Store::connect(&stats_url)).expect("the statistics store");

    let now_ms = Utc::now().timestamp_millis();
    println!("orders: {} placed over the last {} days", options.orders, options.days);
    let filled = runtime.block_on(fill(&index, &store, &options, now_ms));
    println!(
        "events: {}; view filled in {:.1}s, statistics store in {:.1}s (untimed otherwise)",
        filled.events,
        filled.view_time.as_secs_f64(),
        filled.stats_time.as_secs_f64()
    );
    let view = ViewReader::new(index.searcher());
    print_sizes(&runtime, &view, &store, &view_dir, &stats_file);

    let mut rows = Vec::new();
    for days in WINDOWS_DAYS {
        let query = window_query(now_ms, days);
        let rollup_answer = runtime.block_on(store.answer(&query)).expect("the rollups' answer");
        let buckets_only = runtime.block_on(rollup_buckets_only(&rollup_cells, &query));
        assert_eq!(buckets_only.buckets, rollup_answer.buckets, "{days} days: the rollups' buckets read apart differ");
        let aggregated = view.aggregate(&query);
        let folded = view.fold(&query);
        check_agreement(days, &rollup_answer, &aggregated, &folded);

        // the methods take turns, so a slow phase of the machine hits each alike
        let mut latencies = Latencies::new();
        for run in 0..WARM_UP_RUNS + options.repetitions {
            let measured = run >= WARM_UP_RUNS;
            let started = Instant::now();
            std::hint::black_box(runtime.block_on(store.answer(&query)).expect("the rollups' answer"));
            latencies.record(Method::Rollup, measured, started.elapsed());
            let started = Instant::now();
            std::hint::black_box(runtime.block_on(rollup_buckets_only(&rollup_cells, &query)));
            latencies.record(Method::RollupBucketsOnly, measured, started.elapsed());
            let started = Instant::now();
            std::hint::black_box(view.aggregate(&query));
            latencies.record(Method::Aggregation, measured, started.elapsed());
            if run < WARM_UP_RUNS + options.fold_repetitions {
                let started = Instant::now();
                std::hint::black_box(view.fold(&query));
                latencies.record(Method::Fold, measured, started.elapsed());
            }
        }
        rows.push(WindowRow { days, orders: aggregated.documents, latencies });
    }
    print_table(&rows);
}

/// What filling both stores took, and how many events they got.
struct Filled {
    events: usize,
    view_time: Duration,
    stats_time: Duration,
}

/// Generates the orders batch by batch and writes each batch into both stores, each timed apart.
async fn fill(index: &TantivyIndex, store: &StatsStore, options: &Options, now_ms: i64) -> Filled {
    let mut rng = fastrand::Rng::with_seed(42);
    let progress = seed::bar(options.orders, "fill   ");
    let mut positions = Positions::default();
    let mut filled = Filled { events: 0, view_time: Duration::ZERO, stats_time: Duration::ZERO };
    let mut sequence = 0;
    while sequence < options.orders {
        let batch_end = (sequence + ORDERS_PER_BATCH).min(options.orders);
        let mut events = Vec::new();
        for order_sequence in sequence..batch_end {
            let placed_at_ms = now_ms - rng.i64(1..options.days * DAY_MS);
            events.extend(order_life(order_sequence, placed_at_ms, now_ms, &mut rng));
        }
        let (positioned, checkpoint) = positions.place(&events);
        filled.events += events.len();

        let started = Instant::now();
        fold_into(index, &events).await.expect("fold into the view");
        let commit_due = batch_end / ORDERS_PER_COMMIT != sequence / ORDERS_PER_COMMIT || batch_end == options.orders;
        if commit_due {
            index.commit(&checkpoint).await.expect("commit the view");
        }
        filled.view_time += started.elapsed();

        let started = Instant::now();
        let outcome = store.apply(&positioned, &checkpoint).await.expect("apply to the statistics store");
        assert_eq!(outcome.applied, events.len(), "every event changes its order once");
        filled.stats_time += started.elapsed();

        progress.inc(batch_end - sequence);
        sequence = batch_end;
    }
    progress.finish();
    filled
}

/// Where each event is said to have been read: one partition per topic, consecutive offsets.
#[derive(Default)]
struct Positions {
    checkpoint: Checkpoint,
}

impl Positions {
    /// `events` at the next offsets of their topics, and the checkpoint after them.
    fn place(&mut self, events: &[SourceEvent]) -> (Vec<PositionedEvent>, Checkpoint) {
        let mut positioned = Vec::with_capacity(events.len());
        for event in events {
            let topic = match event {
                SourceEvent::Order(_) => topics::ORDERS,
                SourceEvent::Payment(_) => topics::PAYMENTS,
                SourceEvent::Shipment(_) => topics::SHIPMENTS,
            };
            let offset = self.checkpoint.next_offset(topic, 0).unwrap_or(0);
            positioned.push(PositionedEvent { topic: topic.to_string(), partition: 0, offset, event: event.clone() });
            self.checkpoint.advance(topic, 0, offset + 1);
        }
        (positioned, self.checkpoint.clone())
    }
}

/// The rollups' buckets of `query` without its top products: the first of the two queries of
/// `StatsStore::answer`, as it is written there, and the same summing. The part of the rollups'
/// answer that the aggregation also gives, timed apart.
async fn rollup_buckets_only(store: &sql_store::Store, query: &StatsQuery) -> StatsAnswer {
    let dimension = query.dimension();
    let rows = sqlx::query(
        "select hour_ms, key, currency, orders, revenue_minor from stats_rollup \
         where dimension = $1 and hour_ms >= $2 and hour_ms < $3",
    )
    .bind(dimension.name())
    .bind(query.from_ms())
    .bind(query.to_ms())
    .fetch_all(&store.pool)
    .await
    .expect("the rollups' cells");
    let mut cells = Vec::with_capacity(rows.len());
    for row in rows {
        let at = CellKey {
            hour_ms: row.try_get("hour_ms").expect("hour_ms"),
            dimension,
            key: row.try_get("key").expect("key"),
            currency: row.try_get("currency").expect("currency"),
        };
        let value = CellValue {
            orders: row.try_get("orders").expect("orders"),
            revenue_minor: row.try_get("revenue_minor").expect("revenue_minor"),
        };
        cells.push(Cell { at, value });
    }
    order_view::stats::answer(query, cells, Vec::new())
}

/// How a payment ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PaymentFate {
    NeverPaid,
    Declined,
    Authorized,
    Captured,
    Refunded,
}

fn payment_fate(rng: &mut fastrand::Rng) -> PaymentFate {
    let paid_roll = rng.f64();
    if paid_roll < NEVER_PAID {
        return PaymentFate::NeverPaid;
    }
    if paid_roll < NEVER_PAID + DECLINED {
        return PaymentFate::Declined;
    }
    let capture_roll = rng.f64();
    if capture_roll < NOT_CAPTURED {
        return PaymentFate::Authorized;
    }
    if rng.f64() < REFUNDED { PaymentFate::Refunded } else { PaymentFate::Captured }
}

/// One order's whole life as the source services publish it: placed, then its payment's events,
/// its shipment's steps that have happened by `now_ms`, and perhaps its cancellation. The
/// order itself comes from the benches' seed, with a destination and currency drawn here.
fn order_life(sequence: u64, placed_at_ms: i64, now_ms: i64, rng: &mut fastrand::Rng) -> Vec<SourceEvent> {
    let (mut placed, authorized, mut created) =
        seed::order_events(sequence, format!("cust-{}", sequence % 50_000), placed_at_ms);
    let (country, currency) = destination(rng);
    placed.order.total.currency = currency.to_string();
    for item in &mut placed.order.items {
        item.unit_price.currency = currency.to_string();
    }
    placed.order.shipping_address.country = country.to_string();
    created.shipment.address.country = country.to_string();
    let mut authorized = authorized;
    authorized.payment.amount.currency = currency.to_string();
    // a step `minutes` after placement, or `None` if that is still to come
    let after = |minutes: i64| {
        let at_ms = placed_at_ms + minutes * MINUTE_MS;
        (at_ms <= now_ms).then(|| seed::at(at_ms))
    };

    let mut events = vec![SourceEvent::Order(placed.clone())];
    let fate = payment_fate(rng);
    let mut payments = Vec::new();
    match fate {
        PaymentFate::NeverPaid => {}
        PaymentFate::Declined => {
            let mut declined = authorized.clone();
            declined.event_type = PaymentEventType::PaymentDeclined;
            declined.payment.status = PaymentStatus::Declined;
            declined.payment.decline_reason = Some("amount above the authorization limit".to_string());
            payments.push(declined);
        }
        PaymentFate::Authorized | PaymentFate::Captured | PaymentFate::Refunded => payments.push(authorized),
    }
    if matches!(fate, PaymentFate::Captured | PaymentFate::Refunded)
        && let Some(at) = after(30)
    {
        let captured = payment_step(&payments[0], PaymentEventType::PaymentCaptured, PaymentStatus::Captured, at);
        payments.push(captured);
    }
    if fate == PaymentFate::Refunded
        && payments.len() == 2
        && let Some(at) = after(6 * 24 * 60)
    {
        let refunded = payment_step(&payments[1], PaymentEventType::PaymentRefunded, PaymentStatus::Refunded, at);
        payments.push(refunded);
    }
    events.extend(payments.into_iter().map(SourceEvent::Payment));

    let shipped = match fate {
        PaymentFate::Captured => rng.f64() < SHIPPED,
        // half of the refunds are of parcels sent back
        PaymentFate::Refunded => rng.bool(),
        _ => false,
    };
    if shipped && let Some(created_at) = after(2 * 60) {
        created.occurred_at = created_at;
        created.shipment.created_at = created_at;
        created.shipment.updated_at = created_at;
        let mut steps = vec![
            (ShipmentStatus::Dispatched, 20 * 60),
            (ShipmentStatus::InTransit, 30 * 60),
            (ShipmentStatus::Delivered, 2 * 24 * 60),
        ];
        if fate == PaymentFate::Refunded || rng.f64() < RETURNED {
            steps.push((ShipmentStatus::Returned, 5 * 24 * 60));
        }
        let mut shipments = vec![created];
        for (status, minutes) in steps {
            let Some(at) = after(minutes) else { break };
            let previous = shipments.last().expect("the created shipment");
            shipments.push(shipment_step(previous, status, at));
        }
        events.extend(shipments.into_iter().map(SourceEvent::Shipment));
    }

    let cancel_share = match fate {
        PaymentFate::NeverPaid => CANCEL_UNPAID,
        PaymentFate::Declined => CANCEL_DECLINED,
        PaymentFate::Authorized => CANCEL_NOT_CAPTURED,
        PaymentFate::Captured | PaymentFate::Refunded => 0.0,
    };
    if rng.f64() < cancel_share
        && let Some(at) = after(3 * 60)
    {
        events.push(SourceEvent::Order(cancellation(&placed, at)));
    }
    events
}

/// A destination and its currency, drawn by weight.
fn destination(rng: &mut fastrand::Rng) -> (&'static str, &'static str) {
    let total_weight: u32 = DESTINATIONS.iter().map(|(_, _, weight)| weight).sum();
    let mut roll = rng.u32(0..total_weight);
    for (country, currency, weight) in DESTINATIONS {
        if roll < weight {
            return (country, currency);
        }
        roll -= weight;
    }
    (DESTINATIONS[0].0, DESTINATIONS[0].1)
}

fn payment_step(
    previous: &PaymentEvent,
    event_type: PaymentEventType,
    status: PaymentStatus,
    at: DateTime<Utc>,
) -> PaymentEvent {
    let mut next = previous.clone();
    next.event_id = uuid::Uuid::now_v7();
    next.event_type = event_type;
    next.occurred_at = at;
    next.aggregate_version = previous.aggregate_version + 1;
    next.payment.status = status;
    next.payment.updated_at = at;
    next
}

fn shipment_step(previous: &ShipmentEvent, status: ShipmentStatus, at: DateTime<Utc>) -> ShipmentEvent {
    let mut next = previous.clone();
    next.event_id = uuid::Uuid::now_v7();
    next.event_type = ShipmentEventType::ShipmentStatusChanged;
    next.occurred_at = at;
    next.aggregate_version = previous.aggregate_version + 1;
    next.shipment.status = status;
    next.shipment.last_location = Some(previous.shipment.address.city.clone());
    next.shipment.updated_at = at;
    next
}

fn cancellation(placed: &OrderEvent, at: DateTime<Utc>) -> OrderEvent {
    let mut cancelled = placed.clone();
    cancelled.event_id = uuid::Uuid::now_v7();
    cancelled.event_type = OrderEventType::OrderCancelled;
    cancelled.occurred_at = at;
    cancelled.aggregate_version = placed.aggregate_version + 1;
    cancelled.order.status = events::OrderStatus::Cancelled;
    cancelled.order.cancelled_at = Some(at);
    cancelled.order.cancellation_reason = Some("changed my mind".to_string());
    cancelled
}

/// Orders per day by status over the `days` up to now, as `GET /stats` takes it.
fn window_query(now_ms: i64, days: i64) -> StatsQuery {
    let to = seed::at(now_ms);
    let from = seed::at(now_ms - days * DAY_MS);
    let params = HashMap::from([
        ("from".to_string(), from.to_rfc3339()),
        ("to".to_string(), to.to_rfc3339()),
        ("granularity".to_string(), "day".to_string()),
        ("group_by".to_string(), "status".to_string()),
    ]);
    StatsQuery::parse(&params).expect("a valid statistics query")
}

/// Reads a fast field written as [`fast_fields::sortable_u64`] as the `i64` it encodes.
///
/// The view stores `placed_at` and `total` as `u64` columns (sortable forms of `i64`), and
/// tantivy's aggregations compute in `f64`: a `u64` near 2^63 keeps only 2,048 ms of precision,
/// which puts orders placed within about 2 s of midnight into the wrong day and makes a sum of
/// totals meaningless. A column of the same values declared `I64` is decoded by the inverse
/// mapping first, exactly. Registered by name, it is addressed as a field by the request.
#[derive(Debug)]
struct SignedColumn {
    field: &'static str,
}

impl ValueSourceProvider for SignedColumn {
    fn for_segment(
        &self,
        reader: &SegmentReader,
        _allowed_column_types: Option<&[ColumnType]>,
    ) -> tantivy::Result<Option<Box<dyn ValueSource>>> {
        let column = reader.fast_fields().u64(self.field)?;
        Ok(Some(Box::new((column, ColumnType::I64))))
    }
}

/// What the aggregation answers: orders per (day start, status) and the sum of order totals per
/// day, all currencies mixed (the view has neither the currency nor the payments as fast fields).
#[derive(Debug, Default, PartialEq, Eq)]
struct Aggregated {
    orders: BTreeMap<(i64, String), i64>,
    totals_minor: BTreeMap<i64, i64>,
    documents: u64,
}

/// The committed view, read with tantivy's own collectors; the aggregation request and its
/// context are built once and reused, as a service would.
struct ViewReader {
    searcher: Searcher,
    placed_at: Field,
    document: Field,
    request: Aggregations,
    value_sources: Arc<ValueSourceRegistry>,
    placed_bit: u64,
    cancelled_bit: u64,
}

impl ViewReader {
    fn new(searcher: Searcher) -> Self {
        let schema = searcher.schema();
        let placed_at = schema.get_field(fast_fields::PLACED_AT).expect("the placed_at field");
        let document = schema.get_field(fast_fields::DOCUMENT).expect("the document field");
        let request: Aggregations = serde_json::from_value(serde_json::json!({
            "per_day": {
                "histogram": { "field": PLACED_AT_SIGNED, "interval": DAY_MS, "min_doc_count": 1 },
                "aggs": {
                    "per_status_bits": {
                        // every combination: 2^12 at most, a few dozen in practice
                        "terms": { "field": fast_fields::STATUS_BITS, "size": 4096 },
                        "aggs": { "total": { "sum": { "field": TOTAL_SIGNED } } }
                    }
                }
            }
        }))
        .expect("a valid aggregation request");
        let mut registry = ValueSourceRegistry::default();
        registry.register(PLACED_AT_SIGNED, Arc::new(SignedColumn { field: fast_fields::PLACED_AT }));
        registry.register(TOTAL_SIGNED, Arc::new(SignedColumn { field: fast_fields::TOTAL }));
        ViewReader {
            searcher,
            placed_at,
            document,
            request,
            value_sources: Arc::new(registry),
            placed_bit: fast_fields::order_status_bit(order_view::OrderStatus::Placed),
            cancelled_bit: fast_fields::order_status_bit(order_view::OrderStatus::Cancelled),
        }
    }

    /// The orders of `query`'s range by their `placed_at`: exactly the rollups' orders, as the
    /// range is whole hours and an order counts in the hour it was placed.
    fn placed_in_range(&self, query: &StatsQuery) -> RangeQuery {
        let term = |ms: i64| Term::from_field_u64(self.placed_at, fast_fields::sortable_u64(ms));
        RangeQuery::new(Bound::Included(term(query.from_ms())), Bound::Excluded(term(query.to_ms())))
    }

    /// Orders per day and status, and totals per day, in one search.
    fn aggregate(&self, query: &StatsQuery) -> Aggregated {
        let context = AggContextParams::new(AggregationLimitsGuard::default(), TokenizerManager::default())
            .with_value_sources(self.value_sources.clone());
        let collector = AggregationCollector::from_aggs(self.request.clone(), context);
        let results = self.searcher.search(&self.placed_in_range(query), &collector).expect("an aggregation");
        let mut aggregated = Aggregated::default();
        for day in bucket_entries(&results, "per_day") {
            let day_ms = key_as_i64(&day.key);
            for status_bits in bucket_entries(&day.sub_aggregation, "per_status_bits") {
                let status = self.order_status(key_as_i64(&status_bits.key) as u64);
                *aggregated.orders.entry((day_ms, status.symbol().to_string())).or_default() +=
                    status_bits.doc_count as i64;
                aggregated.documents += status_bits.doc_count;
                let Some(AggregationResult::MetricResult(MetricResult::Sum(total))) =
                    status_bits.sub_aggregation.0.get("total")
                else {
                    panic!("every status bucket has its sum of totals")
                };
                *aggregated.totals_minor.entry(day_ms).or_default() += total.value.unwrap_or(0.0) as i64;
            }
        }
        aggregated
    }

    fn order_status(&self, status_bits: u64) -> order_view::OrderStatus {
        if status_bits & self.placed_bit != 0 {
            return order_view::OrderStatus::Placed;
        }
        if status_bits & self.cancelled_bit != 0 {
            return order_view::OrderStatus::Cancelled;
        }
        panic!("documents with status bits {status_bits:#b} have no order status: the bench writes no incomplete ones")
    }

    /// The full answer summed at query time from the stored documents of the range: what the
    /// rollups answer, revenue and top products included, at the cost of reading every order.
    fn fold(&self, query: &StatsQuery) -> StatsAnswer {
        let found = self.searcher.search(&self.placed_in_range(query), &DocSetCollector).expect("a range search");
        let mut addresses: Vec<DocAddress> = found.into_iter().collect();
        // in store order, so each compressed block is decompressed once
        addresses.sort();
        let mut rollup = Rollup::default();
        for address in addresses {
            let stored: TantivyDocument = self.searcher.doc(address).expect("a stored document");
            let json = stored.get_first(self.document).and_then(|value| value.as_str()).expect("the document's json");
            let document: OrderHistory = serde_json::from_str(json).expect("a document");
            if let Some(contribution) = Contribution::of(&document) {
                rollup.apply(&contribution, 1);
            }
        }
        rollup.answer(query)
    }
}

fn bucket_entries<'a>(results: &'a AggregationResults, name: &str) -> &'a [BucketEntry] {
    match results.0.get(name) {
        Some(AggregationResult::BucketResult(BucketResult::Histogram { buckets: BucketEntries::Vec(buckets) })) => {
            buckets
        }
        Some(AggregationResult::BucketResult(BucketResult::Terms { buckets, sum_other_doc_count, .. })) => {
            assert_eq!(*sum_other_doc_count, 0, "aggregation {name} left terms out");
            buckets
        }
        other => panic!("aggregation {name} answered {other:?}"),
    }
}

fn key_as_i64(key: &Key) -> i64 {
    match key {
        Key::I64(value) => *value,
        Key::U64(value) => *value as i64,
        // histogram keys: whole milliseconds, exact in f64 below 2^53
        Key::F64(value) => *value as i64,
        Key::Str(value) => panic!("a numeric key, not {value:?}"),
    }
}

/// Fails unless the three answers agree: the fold with the rollups on everything, the
/// aggregation with both on orders per day and status, the one figure it can compute.
fn check_agreement(days: i64, rollup: &StatsAnswer, aggregated: &Aggregated, folded: &StatsAnswer) {
    assert_eq!(folded, rollup, "{days} days: the fold at query time and the rollups differ");
    let mut rollup_orders: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for bucket in &rollup.buckets {
        if bucket.orders != 0 {
            rollup_orders.insert((bucket.period.timestamp_millis(), bucket.key.clone()), bucket.orders);
        }
    }
    if rollup_orders != aggregated.orders {
        for (cell, orders) in &rollup_orders {
            let found = aggregated.orders.get(cell).copied().unwrap_or(0);
            if found != *orders {
                eprintln!("{days} days: {cell:?}: rollups {orders}, aggregation {found}");
            }
        }
        panic!("{days} days: the aggregation's orders per day and status differ from the rollups'");
    }
    let mut revenue: BTreeMap<&str, i64> = BTreeMap::new();
    for amount in rollup.buckets.iter().flat_map(|bucket| &bucket.revenue) {
        *revenue.entry(amount.currency.as_str()).or_default() += amount.amount_minor;
    }
    let totals_minor: i64 = aggregated.totals_minor.values().sum();
    println!(
        "{days:>2} days: {} orders in {} (day, status) cells agree; revenue (rollups: captured, not refunded) \
         {revenue:?}; sum of order totals (aggregation: every order, currencies mixed) {totals_minor}",
        aggregated.documents,
        rollup_orders.len(),
    );
}

#[derive(Clone, Copy)]
enum Method {
    Rollup,
    RollupBucketsOnly,
    Aggregation,
    Fold,
}

/// Each method's latencies, in microseconds.
struct Latencies {
    rollup: Histogram<u64>,
    rollup_buckets_only: Histogram<u64>,
    aggregation: Histogram<u64>,
    fold: Histogram<u64>,
}

impl Latencies {
    fn new() -> Self {
        let histogram = || Histogram::<u64>::new(3).expect("a histogram");
        Latencies { rollup: histogram(), rollup_buckets_only: histogram(), aggregation: histogram(), fold: histogram() }
    }

    fn record(&mut self, method: Method, measured: bool, elapsed: Duration) {
        if !measured {
            return;
        }
        let histogram = match method {
            Method::Rollup => &mut self.rollup,
            Method::RollupBucketsOnly => &mut self.rollup_buckets_only,
            Method::Aggregation => &mut self.aggregation,
            Method::Fold => &mut self.fold,
        };
        histogram.record(elapsed.as_micros().max(1) as u64).expect("a latency");
    }
}

struct WindowRow {
    days: i64,
    orders: u64,
    latencies: Latencies,
}

fn millis(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

fn print_table(rows: &[WindowRow]) {
    println!();
    println!("| window | orders | method | n | p50 ms | p99 ms | max ms | p50 ÷ rollup's | p50 ÷ buckets only |");
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let rollup_p50 = millis(&row.latencies.rollup, 0.5);
        let buckets_only_p50 = millis(&row.latencies.rollup_buckets_only, 0.5);
        let methods = [
            ("rollup: `StatsStore::answer`", &row.latencies.rollup),
            ("rollup: buckets only", &row.latencies.rollup_buckets_only),
            ("tantivy aggregation", &row.latencies.aggregation),
            ("fold of stored documents", &row.latencies.fold),
        ];
        for (name, histogram) in methods {
            if histogram.is_empty() {
                continue;
            }
            let p50 = millis(histogram, 0.5);
            println!(
                "| {} d | {} | {name} | {} | {p50:.2} | {:.2} | {:.2} | {:.2}× | {:.2}× |",
                row.days,
                row.orders,
                histogram.len(),
                millis(histogram, 0.99),
                histogram.max() as f64 / 1000.0,
                p50 / rollup_p50,
                p50 / buckets_only_p50,
            );
        }
    }
}

/// The stores' sizes on disk, and what they hold.
fn print_sizes(
    runtime: &tokio::runtime::Runtime,
    view: &ViewReader,
    store: &StatsStore,
    view_dir: &Path,
    stats_file: &Path,
) {
    let segments = view.searcher.segment_readers().len();
    println!(
        "tantivy view: {:.1} MB on disk, {} documents in {segments} segments",
        directory_bytes(view_dir) as f64 / 1e6,
        view.searcher.num_docs(),
    );
    let rollup = runtime.block_on(store.rollup()).expect("the stored rollups");
    let wal = stats_file.with_extension("sqlite-wal");
    println!(
        "statistics store: {:.1} MB on disk (+ {:.1} MB write-ahead log), {} rollup cells, {} product cells, \
         and each order's merged document",
        file_bytes(stats_file) as f64 / 1e6,
        file_bytes(&wal) as f64 / 1e6,
        rollup.cells.len(),
        rollup.products.len(),
    );
}

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map(|metadata| metadata.len()).unwrap_or(0)
}

fn directory_bytes(dir: &Path) -> u64 {
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir).expect("the view's directory").flatten() {
        bytes += file_bytes(&entry.path());
    }
    bytes
}
