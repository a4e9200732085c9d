//! Rebuild from offset 0 against restore from a snapshot plus the tail, on the tantivy backend:
//!
//! 1. fill the three topics with 90% of `--orders` orders (default 333,334: three events each,
//!    1,000,002 events in all) and build a view of them (a rebuild, untimed);
//! 2. take a snapshot of that view (timed: the writer lock is held only to link the files);
//! 3. fill the other 10%;
//! 4. a full rebuild from offset 0 (timed);
//! 5. a rebuild from the snapshot, into another data dir: restore the snapshot, replay the tail
//!    (timed);
//! 6. check the two views are equal, document for document, over every order id written;
//! 7. the same for the statistics: a store of the first 90% and its snapshot (built after
//!    step 2), a full rebuild from offset 0 (timed) and a restore plus the tail (timed),
//!    compared bucket for bucket.
//!
//! `cargo bench -p order-history --bench snapshot [-- --orders N --snapshot-at 0.9 --no-statistics]`
//! Everything runs on 127.0.0.1: a real tansu broker, the project's registry, real tantivy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use events::{Event, EventCodec};
use order_history::index::tantivy::TantivyCatalog;
use order_history::index::{HistoryIndex, ViewCatalog};
use order_history::projection::source::BatchLimits;
use order_history::rebuild::{self, RebuildFrom, RebuildSetup, RebuildTracker};
use order_history::snapshot::{Manifest, OrderViewSnapshots, SnapshotStore, StatisticsSnapshots};
use order_history::stats::rebuild as stats_rebuild;
use order_history::stats::{StatsSetup, StatsStore};
use testkit::TestInfra;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[path = "support/seed.rs"]
mod seed;

// the allocator the order-history binary uses
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Ids compared per `load`: one term-set query each.
const COMPARE_CHUNK: usize = 5_000;

struct Options {
    orders: u64,
    snapshot_at: f64,
    /// `--no-statistics` leaves step 7 out: the view alone.
    statistics: bool,
}

fn options() -> Options {
    let mut options = Options { orders: 333_334, snapshot_at: 0.9, statistics: true };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--orders" => options.orders = args.next().and_then(|value| value.parse().ok()).unwrap_or(options.orders),
            "--snapshot-at" => {
                options.snapshot_at = args.next().and_then(|value| value.parse().ok()).unwrap_or(options.snapshot_at)
            }
            "--no-statistics" => options.statistics = false,
            // cargo bench passes --bench
            _ => {}
        }
    }
    options
}

#[tokio::main]
async fn main() {
    let options = options();
    let infra = TestInfra::start().await;
    let codec = Arc::new(infra.codec());
    let head_orders = ((options.orders as f64) * options.snapshot_at).round() as u64;
    println!(
        "orders: {} ({} events), snapshot after {head_orders} orders ({} events)",
        options.orders,
        options.orders * 3,
        head_orders * 3
    );

    let mut order_ids = fill(&infra, 0..head_orders).await;
    let data_dir = infra.dir.path().join("full");
    let catalog = Arc::new(TantivyCatalog::open(&data_dir).expect("catalog"));
    drop(catalog.open_live().await.expect("live view"));
    let snapshots = Arc::new(SnapshotStore::new(&data_dir.join("snapshots"), 1));
    let setup = RebuildSetup {
        catalog: catalog.clone(),
        kafka: infra.kafka.clone(),
        codec: codec.clone(),
        limits: BatchLimits { max_records: 5000, max_wait: Duration::from_millis(20) },
        snapshots: snapshots.clone(),
    };
    let (head_status, _) = timed_rebuild(&setup, RebuildFrom::Beginning).await;
    println!("view of the first {} events built", head_status.records_done);

    let started = Instant::now();
    let manifest = snapshots.take(&OrderViewSnapshots::new(catalog.clone())).await.expect("snapshot");
    println!(
        "snapshot: {} documents, {:.1} MB in {} files, taken in {:.2}s",
        manifest.documents,
        manifest.bytes() as f64 / 1e6,
        manifest.files.len(),
        started.elapsed().as_secs_f64()
    );

    let statistics_manifest =
        if options.statistics { Some(statistics_head(&infra, &codec, &snapshots).await) } else { None };

    order_ids.extend(fill(&infra, head_orders..options.orders).await);

    let (full_status, full_time) = timed_rebuild(&setup, RebuildFrom::Beginning).await;
    println!(
        "full rebuild from offset 0: {} events in {:.1}s ({:.0} events/s)",
        full_status.records_done,
        full_time.as_secs_f64(),
        full_status.records_done as f64 / full_time.as_secs_f64()
    );

    let restore_dir = infra.dir.path().join("restored");
    let restore_catalog = Arc::new(TantivyCatalog::open(&restore_dir).expect("catalog"));
    drop(restore_catalog.open_live().await.expect("live view"));
    let restore_setup = RebuildSetup { catalog: restore_catalog.clone(), ..setup };
    let (restore_status, restore_time) = timed_rebuild(&restore_setup, RebuildFrom::LatestSnapshot).await;
    assert_eq!(restore_status.restored_snapshot.as_deref(), Some(manifest.name.as_str()), "{restore_status:?}");
    println!(
        "restore from the snapshot + tail: {} tail events replayed, {:.1}s in all",
        restore_status.records_done,
        restore_time.as_secs_f64()
    );
    println!("speedup: {:.1}x", full_time.as_secs_f64() / restore_time.as_secs_f64());

    let full_view = catalog.open_live().await.expect("full view");
    let restored_view = restore_catalog.open_live().await.expect("restored view");
    let compared = compare(full_view.as_ref(), restored_view.as_ref(), &order_ids).await;
    println!("equal: {compared} of {} orders, document for document", order_ids.len());
    assert_eq!(full_view.count().await.expect("count"), restored_view.count().await.expect("count"));

    if let Some(statistics_manifest) = &statistics_manifest {
        statistics(&infra, &codec, &snapshots, statistics_manifest).await;
    }
}

fn statistics_setup(infra: &TestInfra, codec: &Arc<EventCodec>, name: &str) -> StatsSetup {
    StatsSetup {
        consumer: infra.kafka.consumer_config("bench-statistics", &format!("bench-statistics-{name}")),
        codec: codec.clone(),
        limits: BatchLimits { max_records: 5000, max_wait: Duration::from_millis(20) },
    }
}

/// A statistics store of the first 90% (everything in the topics before the tail is written)
/// and its snapshot.
async fn statistics_head(infra: &TestInfra, codec: &Arc<EventCodec>, snapshots: &SnapshotStore) -> Manifest {
    let head = statistics_store(infra, "statistics-head").await;
    let rebuilt = stats_rebuild::rebuild(
        statistics_setup(infra, codec, "head"),
        &head,
        snapshots,
        &infra.kafka,
        RebuildFrom::Beginning,
        &CancellationToken::new(),
    )
    .await
    .expect("the statistics of the head");
    let started = Instant::now();
    let manifest = snapshots.take(&head).await.expect("statistics snapshot");
    println!(
        "statistics of the first {} events built; snapshot: {} orders, {:.1} MB in {} files, taken in {:.2}s",
        rebuilt.records_read,
        manifest.documents,
        manifest.bytes() as f64 / 1e6,
        manifest.files.len(),
        started.elapsed().as_secs_f64()
    );
    manifest
}

/// The statistics after the tail: a full rebuild from offset 0 against a restore of the head's
/// snapshot plus the tail, both timed, compared bucket for bucket.
async fn statistics(infra: &TestInfra, codec: &Arc<EventCodec>, snapshots: &SnapshotStore, manifest: &Manifest) {
    let shutdown = CancellationToken::new();
    let full = statistics_store(infra, "statistics-full").await;
    let setup = statistics_setup(infra, codec, "full");
    let rebuilt = stats_rebuild::rebuild(setup, &full, snapshots, &infra.kafka, RebuildFrom::Beginning, &shutdown)
        .await
        .expect("full statistics rebuild");
    println!(
        "statistics, full rebuild from offset 0: {} events in {:.1}s ({:.0} events/s)",
        rebuilt.records_read,
        rebuilt.elapsed.as_secs_f64(),
        rebuilt.records_per_second()
    );
    let restored = statistics_store(infra, "statistics-restored").await;
    let setup = statistics_setup(infra, codec, "restored");
    let from_snapshot =
        stats_rebuild::rebuild(setup, &restored, snapshots, &infra.kafka, RebuildFrom::LatestSnapshot, &shutdown)
            .await
            .expect("statistics restore");
    assert_eq!(from_snapshot.restored_snapshot.as_deref(), Some(manifest.name.as_str()), "{from_snapshot:?}");
    println!(
        "statistics, restore from the snapshot + tail: {} tail events read, {:.1}s in all ({:.1}s loading the snapshot)",
        from_snapshot.records_read,
        from_snapshot.elapsed.as_secs_f64(),
        from_snapshot.restore_elapsed.as_secs_f64()
    );
    println!("statistics speedup: {:.1}x", rebuilt.elapsed.as_secs_f64() / from_snapshot.elapsed.as_secs_f64());
    let full_rollup = full.store().rollup().await.expect("rollup");
    let restored_rollup = restored.store().rollup().await.expect("rollup");
    assert_eq!(restored_rollup, full_rollup, "the restored statistics differ from a full rebuild");
    println!(
        "statistics equal: {} cells and {} product cells, bucket for bucket",
        full_rollup.cells.len(),
        full_rollup.products.len()
    );
}

async fn statistics_store(infra: &TestInfra, name: &str) -> StatisticsSnapshots {
    let data_dir = infra.dir.path().join(name);
    let url = format!("sqlite://{}", data_dir.join("stats.sqlite").display());
    StatisticsSnapshots::new(StatsStore::connect(&url).await.expect("statistics store"), &data_dir)
}

/// Runs a rebuild to the end; its final status and how long it took.
async fn timed_rebuild(setup: &RebuildSetup, from: RebuildFrom) -> (rebuild::RebuildStatus, Duration) {
    let generation = rebuild::new_generation();
    let tracker = RebuildTracker::default();
    tracker.try_start(&generation);
    let started = Instant::now();
    rebuild::run(setup, &generation, None, from, &tracker, &CancellationToken::new()).await.expect("rebuild");
    (tracker.status(), started.elapsed())
}

/// Publishes the orders of `sequences`, three events each; their ids.
async fn fill(infra: &TestInfra, sequences: std::ops::Range<u64>) -> Vec<Uuid> {
    let mut order_ids = Vec::new();
    let customer_of = |sequence: u64| format!("cust-{}", sequence % 50_000);
    seed::fill(infra, "bench-fill", sequences, customer_of, 50_000, |events| order_ids.push(events.0.order_id())).await;
    order_ids
}

/// Asserts both views hold the same document for every id; how many were compared.
async fn compare(full: &dyn HistoryIndex, restored: &dyn HistoryIndex, order_ids: &[Uuid]) -> usize {
    let mut compared = 0;
    for chunk in order_ids.chunks(COMPARE_CHUNK) {
        let from_full = full.load(chunk).await.expect("load");
        let from_restored = restored.load(chunk).await.expect("load");
        for order_id in chunk {
            let expected = from_full.get(order_id).map(|versioned| &versioned.document);
            let found = from_restored.get(order_id).map(|versioned| &versioned.document);
            assert!(expected.is_some(), "order {order_id} is in the full rebuild");
            assert_eq!(found, expected, "order {order_id} differs");
            compared += 1;
        }
    }
    compared
}
