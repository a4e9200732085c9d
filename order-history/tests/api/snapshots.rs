//! Snapshots of the tantivy view on the real broker and registry: taken, restored with only the
//! tail replayed, used to bootstrap a new replica, and refused when damaged.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

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

/// Takes a snapshot through the API; its manifest.
async fn take_snapshot(world: &TestWorld, app: &TestApp) -> Value {
    let (status, manifest) = admin_post(world, app, "/admin/snapshot").await;
    assert_eq!(status, 201, "{manifest}");
    manifest
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
    config.bootstrap_from = Some(snapshot_dir(&world, "main", &manifest));
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
    config.bootstrap_from = Some(snapshot_dir(&world, "main", &manifest));
    let second = world.spawn_with(config).await;
    for story in &stories {
        world.wait_for_order(&second, story.order_id, is_fully_projected).await;
    }
    assert_eq!(documents(&world, &second, &stories).await, documents(&world, &app, &stories).await);
    second.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_are_refused_with_501_on_elasticsearch() {
    let world = TestWorld::start(Backend::Elasticsearch).await;
    let app = world.spawn_app().await;
    let (status, body) = admin_post(&world, &app, "/admin/snapshot").await;
    assert_eq!(status, 501, "{body}");
    assert!(body["error"].as_str().is_some_and(|error| error.contains("elasticsearch")), "{body}");
    app.stop().await;
}
