//! Snapshots of the tantivy view and of the statistics store on the real broker and registry:
//! taken, restored with only the tail replayed, used to bootstrap a new replica, and refused
//! when damaged.

use std::path::{Path, PathBuf};
use std::time::Duration;

use order_history::app::Application;
use order_history::config::BootstrapSource;
use order_history::rebuild::RebuildFrom;
use order_history::snapshot::{SnapshotStore, StatisticsSnapshots};
use order_history::stats::rebuild::StatisticsRebuilt;
use order_history::stats::{StatsSetup, StatsStore};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, TestWorld};
use crate::projection::{is_fully_projected, publish_orders};
use crate::stories::Story;

/// Events `publish_orders` writes per order.
const EVENTS_PER_ORDER: u64 = 5;

async fn admin_post(world: &TestWorld, app: &TestApp, path: &str) -> (reqwest::StatusCode, Value) {
    let request = world.client.post(format!("http://{}{path}", app.address)).bearer_auth(ADMIN_TOKEN);
    testkit::status_and_json(request.send().await.expect("request")).await
}

async fn admin_get(world: &TestWorld, app: &TestApp, path: &str) -> (reqwest::StatusCode, Value) {
    let request = world.client.get(format!("http://{}{path}", app.address)).bearer_auth(ADMIN_TOKEN);
    testkit::status_and_json(request.send().await.expect("request")).await
}

/// Takes a snapshot of every read model through the API; the manifest of `read_model`'s.
async fn take_snapshot_of(world: &TestWorld, app: &TestApp, read_model: &str) -> Value {
    let (status, taken) = admin_post(world, app, "/admin/snapshot").await;
    assert_eq!(status, 201, "{taken}");
    assert_eq!(taken["not_taken"], serde_json::json!([]), "{taken}");
    let snapshots = taken["snapshots"].as_array().expect("snapshots");
    let manifest = snapshots.iter().find(|manifest| manifest["read_model"] == read_model);
    manifest.unwrap_or_else(|| panic!("no snapshot of {read_model}: {taken}")).clone()
}

/// Takes a snapshot of every read model; the order view's manifest.
async fn take_snapshot(world: &TestWorld, app: &TestApp) -> Value {
    take_snapshot_of(world, app, "order-view").await
}

/// Starts a rebuild through the API and polls it until it is done; its final status.
async fn rebuild(world: &TestWorld, app: &TestApp, query: &str) -> Value {
    let (status, body) = admin_post(world, app, &format!("/admin/rebuild{query}")).await;
    assert_eq!(status, 202, "{body}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        let (_, status) = admin_get(world, app, "/admin/rebuild").await;
        match status["state"].as_str() {
            Some("done") => return status,
            Some("running") => {}
            other => panic!("rebuild state {other:?}: {status}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "rebuild did not finish: {status}");
    }
}

/// Every document of `stories` as served, without `as_of` (it says when it was read).
async fn documents(world: &TestWorld, app: &TestApp, stories: &[Story]) -> Vec<Value> {
    let mut documents = Vec::new();
    for story in stories {
        let (status, mut document) = world.get(app, &format!("/orders/{}", story.order_id)).await;
        assert_eq!(status, 200, "{document}");
        document.as_object_mut().expect("object").remove("as_of");
        documents.push(document);
    }
    documents
}

async fn project(world: &TestWorld, app: &TestApp, count: usize) -> Vec<Story> {
    let stories = publish_orders(world, count).await;
    for story in &stories {
        world.wait_for_order(app, story.order_id, is_fully_projected).await;
    }
    stories
}

fn snapshot_dir(world: &TestWorld, instance: &str, manifest: &Value) -> PathBuf {
    let name = manifest["name"].as_str().expect("name");
    world.config(instance).data_dir.join("snapshots").join("order-view").join(name)
}

/// Flips a byte in the middle of the largest file of the snapshot, keeping its size.
fn damage_largest_file(snapshot: &Path, manifest: &Value) -> String {
    let files = manifest["files"].as_array().expect("files");
    let largest = files.iter().max_by_key(|file| file["bytes"].as_u64()).expect("a file");
    let name = largest["path"].as_str().expect("path").to_string();
    let path = snapshot.join("files").join(&name);
    let mut bytes = std::fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).expect("write");
    name
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_from_a_snapshot_replays_only_the_tail_and_equals_a_full_rebuild() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let mut stories = project(&world, &app, 12).await;
    let manifest = take_snapshot(&world, &app).await;
    assert_eq!(manifest["documents"], 12, "{manifest}");
    assert_eq!(manifest["read_model"], "order-view");
    let (status, listed) = admin_get(&world, &app, "/admin/snapshots").await;
    assert_eq!(status, 200);
    assert_eq!(listed["snapshots"][0]["manifest"], manifest);

    let tail = project(&world, &app, 4).await;
    stories.extend(tail);
    let live = documents(&world, &app, &stories).await;

    let restored = rebuild(&world, &app, "?from_snapshot=true").await;
    assert_eq!(restored["restored_snapshot"], manifest["name"], "{restored}");
    assert_eq!(restored["refused_snapshots"], serde_json::json!([]));
    assert_eq!(restored["records_done"], 4 * EVENTS_PER_ORDER, "only the tail is replayed: {restored}");
    assert_eq!(documents(&world, &app, &stories).await, live, "restore + tail equals live projection");

    let full = rebuild(&world, &app, "").await;
    assert_eq!(full["restored_snapshot"], Value::Null);
    assert_eq!(full["records_done"], 16 * EVENTS_PER_ORDER, "{full}");
    assert_eq!(documents(&world, &app, &stories).await, live, "a full rebuild equals restore + tail");

    // projection goes on in the restored view
    let late = Story::new();
    world.publish(&late.placed("Late Comer", "After the restore", 500)).await;
    world.wait_for_order(&app, late.order_id, |doc| doc["incomplete"] == false).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_snapshot_is_refused_and_the_rebuild_starts_from_offset_zero() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let stories = project(&world, &app, 6).await;
    let manifest = take_snapshot(&world, &app).await;
    let live = documents(&world, &app, &stories).await;
    let damaged_file = damage_largest_file(&snapshot_dir(&world, "main", &manifest), &manifest);

    let status = rebuild(&world, &app, "?from_snapshot=true").await;
    assert_eq!(status["restored_snapshot"], Value::Null, "{status}");
    let refusals = status["refused_snapshots"].as_array().expect("refusals");
    assert_eq!(refusals.len(), 1, "{status}");
    let refusal = refusals[0].as_str().expect("text");
    assert!(refusal.contains(manifest["name"].as_str().expect("name")), "names the snapshot: {refusal}");
    assert!(refusal.contains(&damaged_file) && refusal.contains("checksum"), "names why: {refusal}");
    assert_eq!(status["records_done"], 6 * EVENTS_PER_ORDER, "replayed from offset 0: {status}");
    assert_eq!(documents(&world, &app, &stories).await, live);

    let (status, body) = admin_post(&world, &app, "/admin/rebuild?from_snapshot=maybe").await;
    assert_eq!((status.as_u16(), body["field"].as_str()), (400, Some("from_snapshot")), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_replica_bootstraps_from_a_snapshot_and_reads_on_from_its_offsets() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let mut stories = project(&world, &app, 8).await;
    let manifest = take_snapshot(&world, &app).await;
    let tail = publish_orders(&world, 3).await;
    stories.extend(tail);

    let mut config = world.config("replica");
    config.bootstrap_from = Some(BootstrapSource::Dir(snapshot_dir(&world, "main", &manifest)));
    let replica = world.spawn_with(config.clone()).await;
    // the replica starts at the snapshot's checkpoint, not at offset 0
    let checkpoint = replica.view.index().checkpoint().await.expect("checkpoint").expect("tantivy keeps one");
    for (topic, partitions) in manifest["checkpoint"]["offsets"].as_object().expect("offsets") {
        for (partition, offset) in partitions.as_object().expect("partitions") {
            let partition: i32 = partition.parse().expect("partition");
            let at = checkpoint.next_offset(topic, partition).expect("the partition is in the checkpoint");
            assert!(at >= offset.as_i64().expect("offset"), "{topic}/{partition} at {at}, snapshot {offset}");
        }
    }
    let catalog = order_history::index::tantivy::TantivyCatalog::open(&config.data_dir).expect("catalog");
    let generation = catalog.live_generation().await.expect("live").expect("a live view");
    assert_ne!(generation, "initial", "the live view is the restored snapshot");
    for story in &stories {
        world.wait_for_order(&replica, story.order_id, is_fully_projected).await;
        world.wait_for_order(&app, story.order_id, is_fully_projected).await;
    }
    assert_eq!(documents(&world, &replica, &stories).await, documents(&world, &app, &stories).await);
    replica.stop().await;

    // a damaged snapshot is refused at bootstrap, and the replica starts from offset 0
    damage_largest_file(&snapshot_dir(&world, "main", &manifest), &manifest);
    let mut config = world.config("second-replica");
    config.bootstrap_from = Some(BootstrapSource::Dir(snapshot_dir(&world, "main", &manifest)));
    let second = world.spawn_with(config).await;
    for story in &stories {
        world.wait_for_order(&second, story.order_id, is_fully_projected).await;
    }
    assert_eq!(documents(&world, &second, &stories).await, documents(&world, &app, &stories).await);
    second.stop().await;
    app.stop().await;
}

/// `--bootstrap-from` naming `app` by its URL.
fn bootstrap_url(app: &TestApp) -> BootstrapSource {
    BootstrapSource::Url(format!("http://{}", app.address).parse().expect("a url"))
}

/// The generation the `LIVE` file of the instance with `config` names.
async fn live_generation(config: &order_history::config::Config) -> String {
    let catalog = order_history::index::tantivy::TantivyCatalog::open(&config.data_dir).expect("catalog");
    catalog.live_generation().await.expect("live").expect("a live view")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_replica_bootstraps_over_http_from_a_running_instance() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let mut stories = project(&world, &app, 8).await;
    let manifest = take_snapshot(&world, &app).await;
    let tail = publish_orders(&world, 3).await;
    stories.extend(tail);

    let mut config = world.config("replica");
    config.bootstrap_from = Some(bootstrap_url(&app));
    config.bootstrap_token = Some(ADMIN_TOKEN.into());
    let replica = world.spawn_with(config.clone()).await;
    // the snapshot was downloaded as it was taken, and restored as the live view
    let name = manifest["name"].as_str().expect("name");
    let downloaded = config.data_dir.join("bootstrap").join("order-view").join(name).join("manifest.json");
    let downloaded: Value = serde_json::from_slice(&std::fs::read(&downloaded).expect("downloaded")).expect("json");
    assert_eq!(downloaded, manifest);
    assert_ne!(live_generation(&config).await, "initial", "the live view is the restored snapshot");
    // the replica starts at the snapshot's checkpoint, not at offset 0
    let checkpoint = replica.view.index().checkpoint().await.expect("checkpoint").expect("tantivy keeps one");
    for (topic, partitions) in manifest["checkpoint"]["offsets"].as_object().expect("offsets") {
        for (partition, offset) in partitions.as_object().expect("partitions") {
            let partition: i32 = partition.parse().expect("partition");
            let at = checkpoint.next_offset(topic, partition).expect("the partition is in the checkpoint");
            assert!(at >= offset.as_i64().expect("offset"), "{topic}/{partition} at {at}, snapshot {offset}");
        }
    }
    for story in &stories {
        world.wait_for_order(&replica, story.order_id, is_fully_projected).await;
        world.wait_for_order(&app, story.order_id, is_fully_projected).await;
    }
    let served_by_source = documents(&world, &app, &stories).await;
    assert_eq!(documents(&world, &replica, &stories).await, served_by_source);
    replica.stop().await;
    app.stop().await;

    // a restart finds its view and downloads nothing: the source is gone, and it starts
    let restarted = world.spawn_with(config).await;
    assert_eq!(documents(&world, &restarted, &stories).await, served_by_source);
    restarted.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrapping_over_http_needs_the_source_admin_token_and_skips_a_source_without_snapshots() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let mut config = world.config("replica");
    config.bootstrap_from = Some(bootstrap_url(&app));

    config.bootstrap_token = Some("not-the-admin-token-of-main".into());
    let Err(error) = Application::start(&config).await else { panic!("a wrong token fails the start") };
    let message = format!("{error:#}");
    assert!(message.contains("the snapshot source answered 401: check --bootstrap-token"), "{message}");
    assert!(message.contains(&app.address.to_string()), "names the url: {message}");

    config.bootstrap_token = None;
    let Err(error) = Application::start(&config).await else { panic!("a url without a token fails the start") };
    let message = format!("{error:#}");
    assert!(message.contains("--bootstrap-token"), "{message}");

    // the source has no snapshot yet: the replica starts with an empty view from offset 0
    config.bootstrap_token = Some(ADMIN_TOKEN.into());
    let replica = world.spawn_with(config.clone()).await;
    assert_eq!(live_generation(&config).await, "initial");
    let stories = project(&world, &replica, 2).await;
    assert_eq!(documents(&world, &replica, &stories).await.len(), 2);
    replica.stop().await;
    app.stop().await;

    // a restart with its view but empty statistics tries the source again; the source is
    // gone, so it starts and the statistics read from offset 0
    StatsStore::connect(&config.stats_database_url()).await.expect("statistics").clear().await.expect("cleared");
    let restarted = world.spawn_with(config).await;
    wait_for_stats_orders(&world, &restarted, 2).await;
    assert_eq!(documents(&world, &restarted, &stories).await.len(), 2);
    restarted.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_files_are_served_as_their_manifest_lists_them_and_nothing_else() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let (status, body) = admin_get(&world, &app, "/admin/snapshots/order-view/latest/manifest.json").await;
    assert_eq!((status.as_u16(), &body["error"]), (404, &Value::from("no snapshot of order-view")), "{body}");

    project(&world, &app, 3).await;
    let manifest = take_snapshot(&world, &app).await;
    let name = manifest["name"].as_str().expect("name");
    for which in ["latest", name] {
        let (status, served) =
            admin_get(&world, &app, &format!("/admin/snapshots/order-view/{which}/manifest.json")).await;
        assert_eq!((status.as_u16(), &served), (200, &manifest), "{which}");
    }
    let files = manifest["files"].as_array().expect("files");
    assert!(!files.is_empty(), "{manifest}");
    for file in files {
        let path = file["path"].as_str().expect("path");
        let url = format!("http://{}/admin/snapshots/order-view/{name}/files/{path}", app.address);
        let response = world.client.get(url).bearer_auth(ADMIN_TOKEN).send().await.expect("request");
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers().get("content-type").and_then(|value| value.to_str().ok());
        assert_eq!(content_type, Some("application/octet-stream"));
        assert_eq!(response.content_length(), file["bytes"].as_u64(), "{path}");
        let bytes = response.bytes().await.expect("body");
        assert_eq!(Value::from(format!("{:x}", sha2::Sha256::digest(&bytes))), file["sha256"], "{path}");
    }

    let missing = [
        (
            format!("/admin/snapshots/order-view/{name}/files/not-in-the-manifest"),
            "file",
            "has no file not-in-the-manifest",
        ),
        (
            "/admin/snapshots/order-view/s19700101000000000000/manifest.json".to_string(),
            "name",
            "no snapshot s19700101000000000000 of order-view",
        ),
        ("/admin/snapshots/no-such-model/latest/manifest.json".to_string(), "name", "no snapshot of no-such-model"),
    ];
    for (path, field, error) in missing {
        let (status, body) = admin_get(&world, &app, &path).await;
        assert_eq!((status.as_u16(), body["field"].as_str()), (404, Some(field)), "{path}: {body}");
        assert!(body["error"].as_str().is_some_and(|message| message.contains(error)), "{path}: {body}");
    }
    let not_plain = [
        ("/admin/snapshots/.order-view/latest/manifest.json", "read_model"),
        ("/admin/snapshots/order-view/..%2F..%2Fviews/manifest.json", "name"),
        ("/admin/snapshots/order-view/latest/files/.hidden", "file"),
        ("/admin/snapshots/order-view/latest/files/a%5Cb", "file"),
        ("/admin/snapshots/order-view/latest/files/..%2Fmanifest.json", "file"),
    ];
    for (path, field) in not_plain {
        let (status, body) = admin_get(&world, &app, path).await;
        assert_eq!((status.as_u16(), body["field"].as_str()), (400, Some(field)), "{path}: {body}");
    }
    let (status, body) = world.get_as(&app, "/admin/snapshots/order-view/latest/manifest.json", None).await;
    assert_eq!(status, 401, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_elasticsearch_only_the_statistics_are_snapshotted_and_the_view_is_named_as_left_out() {
    let world = TestWorld::start(Backend::Elasticsearch).await;
    let app = world.spawn_app().await;
    let (status, body) = admin_post(&world, &app, "/admin/snapshot").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["snapshots"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body["snapshots"][0]["read_model"], "statistics", "{body}");
    assert_eq!(body["not_taken"][0]["read_model"], "order-view", "{body}");
    let reason = body["not_taken"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("elasticsearch") && reason.contains("docs/snapshots.md"), "{body}");
    app.stop().await;
}

/// Polls `GET /stats` over the months around the stories' placement time (January 2026) until
/// it counts `orders` orders and is fresh, or fails after 60 s.
async fn wait_for_stats_orders(world: &TestWorld, app: &TestApp, orders: i64) {
    let path = "/stats?from=2025-06-01T00:00:00Z&to=2026-06-01T00:00:00Z&granularity=month";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    loop {
        poll.tick().await;
        let (status, body) = world.get(app, path).await;
        let counted: i64 = body["buckets"]
            .as_array()
            .map(|buckets| buckets.iter().filter_map(|bucket| bucket["orders"].as_i64()).sum())
            .unwrap_or_default();
        if status == 200 && body["stale"] == false && counted == orders {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the statistics never counted {orders}: {status} {body}");
    }
}

/// A statistics store of its own under the test's directory.
async fn statistics_of(world: &TestWorld, name: &str) -> StatisticsSnapshots {
    let data_dir = world.infra.dir.path().join(format!("statistics-{name}"));
    let url = format!("sqlite://{}", data_dir.join("stats.sqlite").display());
    statistics_at(world, name, &url).await
}

/// A statistics store at `url`, staging its snapshots under the test's directory.
async fn statistics_at(world: &TestWorld, name: &str, url: &str) -> StatisticsSnapshots {
    let data_dir = world.infra.dir.path().join(format!("statistics-{name}"));
    let store = StatsStore::connect(url).await.expect("statistics store");
    StatisticsSnapshots::new(store, &data_dir)
}

async fn rebuild_statistics(
    world: &TestWorld,
    model: &StatisticsSnapshots,
    snapshots: &SnapshotStore,
    from: RebuildFrom,
) -> StatisticsRebuilt {
    let config = world.config("main");
    let setup = StatsSetup {
        consumer: config.kafka.consumer_config("statistics-rebuild-test", &format!("stats-rebuild-{}", Uuid::new_v4())),
        codec: order_history::app::codec(&config).expect("codec"),
        limits: config.batch_limits(),
    };
    let shutdown = CancellationToken::new();
    order_history::stats::rebuild::rebuild(setup, model, snapshots, &config.kafka, from, &shutdown)
        .await
        .expect("the statistics rebuild")
}

#[tokio::test(flavor = "multi_thread")]
async fn statistics_restored_from_a_snapshot_plus_the_tail_equal_a_full_rebuild() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    project(&world, &app, 10).await;
    wait_for_stats_orders(&world, &app, 10).await;
    let manifest = take_snapshot_of(&world, &app, "statistics").await;
    assert_eq!(manifest["documents"], 10, "{manifest}");
    let records_covered: i64 = manifest["checkpoint"]["offsets"]
        .as_object()
        .expect("offsets")
        .values()
        .flat_map(|partitions| partitions.as_object().expect("partitions").values())
        .filter_map(Value::as_i64)
        .sum();
    assert_eq!(records_covered, 10 * EVENTS_PER_ORDER as i64, "{manifest}");
    project(&world, &app, 4).await;
    wait_for_stats_orders(&world, &app, 14).await;
    app.stop().await;
    let main = world.config("main");
    let live = StatsStore::connect(&main.stats_database_url()).await.expect("the live store").rollup().await;
    let snapshots = SnapshotStore::new(&main.snapshot_dir(), 3);

    let full = statistics_of(&world, "full").await;
    let rebuilt = rebuild_statistics(&world, &full, &snapshots, RebuildFrom::Beginning).await;
    assert_eq!((rebuilt.restored_snapshot.as_deref(), rebuilt.records_read), (None, 14 * EVENTS_PER_ORDER));

    let restored = statistics_of(&world, "restored").await;
    let rebuilt = rebuild_statistics(&world, &restored, &snapshots, RebuildFrom::LatestSnapshot).await;
    assert_eq!(rebuilt.restored_snapshot.as_deref(), manifest["name"].as_str(), "{rebuilt:?}");
    assert_eq!(rebuilt.records_read, 4 * EVENTS_PER_ORDER, "only the tail is read: {rebuilt:?}");

    let full_rollup = full.store().rollup().await.expect("rollup");
    assert!(!full_rollup.cells.is_empty());
    assert_eq!(restored.store().rollup().await.expect("rollup"), full_rollup, "restore + tail equals a full rebuild");
    assert_eq!(live.expect("rollup"), full_rollup, "and the live projection");

    // the same snapshot restores into PostgreSQL, and a snapshot of that back into SQLite
    let postgres = statistics_at(&world, "postgres", &testkit::fresh_postgres_url().await).await;
    let rebuilt = rebuild_statistics(&world, &postgres, &snapshots, RebuildFrom::LatestSnapshot).await;
    assert_eq!(rebuilt.records_read, 4 * EVENTS_PER_ORDER, "only the tail is read: {rebuilt:?}");
    assert_eq!(postgres.store().rollup().await.expect("rollup"), full_rollup, "restored into postgresql");
    let postgres_snapshots = SnapshotStore::new(&world.infra.dir.path().join("postgres-snapshots"), 1);
    let manifest = postgres_snapshots.take(&postgres).await.expect("a snapshot of the postgresql store");
    assert_eq!(manifest.documents, 14, "{manifest:?}");
    let back = statistics_of(&world, "back").await;
    let rebuilt = rebuild_statistics(&world, &back, &postgres_snapshots, RebuildFrom::LatestSnapshot).await;
    assert_eq!((rebuilt.restored_snapshot, rebuilt.records_read), (Some(manifest.name), 0), "it covers every record");
    assert_eq!(back.store().rollup().await.expect("rollup"), full_rollup, "and back into sqlite");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statistics_snapshot_that_does_not_load_is_refused_and_the_rebuild_starts_from_offset_zero() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    project(&world, &app, 3).await;
    wait_for_stats_orders(&world, &app, 3).await;
    let manifest = take_snapshot_of(&world, &app, "statistics").await;
    app.stop().await;
    let main = world.config("main");
    let snapshot = main.snapshot_dir().join("statistics").join(manifest["name"].as_str().expect("name"));
    // not a database, with a manifest that vouches for it: only opening it finds out
    let garbage = b"not a statistics store\n";
    std::fs::write(snapshot.join("files").join("statistics.sqlite"), garbage).expect("write");
    let mut vouching = manifest.clone();
    for file in vouching["files"].as_array_mut().expect("files") {
        if file["path"] == "statistics.sqlite" {
            file["bytes"] = garbage.len().into();
            file["sha256"] = format!("{:x}", Sha256::digest(garbage)).into();
        }
    }
    std::fs::write(snapshot.join("manifest.json"), serde_json::to_vec(&vouching).expect("json")).expect("write");

    let target = statistics_of(&world, "target").await;
    let rebuilt =
        rebuild_statistics(&world, &target, &SnapshotStore::new(&main.snapshot_dir(), 3), RebuildFrom::LatestSnapshot)
            .await;
    assert_eq!(rebuilt.restored_snapshot, None, "{rebuilt:?}");
    assert_eq!(rebuilt.refused_snapshots.len(), 1, "{rebuilt:?}");
    let refusal = &rebuilt.refused_snapshots[0];
    assert!(refusal.contains("cannot be opened") && refusal.contains("statistics.sqlite"), "names why: {refusal}");
    assert_eq!(rebuilt.records_read, 3 * EVENTS_PER_ORDER, "read from offset 0: {rebuilt:?}");
    let live = StatsStore::connect(&main.stats_database_url()).await.expect("the live store");
    assert_eq!(target.store().rollup().await.expect("rollup"), live.rollup().await.expect("rollup"));
}
