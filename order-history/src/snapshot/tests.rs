//! Snapshots of a real tantivy view in a temp dir: what is taken is what is restored, and every
//! kind of damage is refused naming why.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use events::samples;
use order_view::{OrderHistory, SourceEvent};
use tempfile::TempDir;
use uuid::Uuid;

use super::*;
use crate::index::tantivy::TantivyCatalog;
use crate::index::{HistoryIndex, SearchQuery, Versioned, ViewCatalog, WriteToken};

struct Fixture {
    _dir: TempDir,
    catalog: Arc<dyn ViewCatalog>,
    model: OrderViewSnapshots,
    store: SnapshotStore,
}

impl Fixture {
    fn new(keep: usize) -> Fixture {
        let dir = tempfile::tempdir().expect("a temp dir");
        let catalog: Arc<dyn ViewCatalog> = Arc::new(TantivyCatalog::open(&dir.path().join("data")).expect("catalog"));
        let store = SnapshotStore::new(&dir.path().join("snapshots"), keep);
        Fixture { model: OrderViewSnapshots::new(catalog.clone()), catalog, store, _dir: dir }
    }

    fn snapshot_dir(&self, manifest: &Manifest) -> PathBuf {
        self.store.root().join(ORDER_VIEW).join(&manifest.name)
    }
}

fn placed_order() -> OrderHistory {
    let order_id = Uuid::new_v4();
    let event = samples::order_event(order_id, events::OrderEventType::OrderPlaced, 1);
    let mut document = OrderHistory::empty(order_id);
    document.apply(&SourceEvent::Order(event));
    document
}

async fn store_orders(index: &dyn HistoryIndex, count: usize) -> Vec<OrderHistory> {
    let documents: Vec<OrderHistory> = (0..count).map(|_| placed_order()).collect();
    let versioned =
        documents.iter().map(|document| Versioned { document: document.clone(), token: WriteToken::Absent }).collect();
    index.store(versioned).await.expect("stored");
    documents
}

fn checkpoint_at(offset: i64) -> Checkpoint {
    let mut checkpoint = Checkpoint::default();
    checkpoint.advance("orders", 0, offset);
    checkpoint.advance("payments", 0, offset / 2);
    checkpoint
}

/// Every document of a view, by order id, as the search API returns them.
async fn all_documents(index: &dyn HistoryIndex) -> Vec<OrderHistory> {
    let mut documents = Vec::new();
    for hit in index.search(&SearchQuery { limit: 1000, ..SearchQuery::default() }).await.expect("search").hits {
        documents.push(hit.document);
    }
    documents.sort_by_key(|document| document.order_id);
    documents
}

async fn restore(fixture: &Fixture, target: &str) -> (Option<Restored<Arc<dyn HistoryIndex>>>, Vec<SnapshotRefused>) {
    fixture.store.restore_latest(&fixture.model, target).await.expect("restore runs")
}

#[tokio::test]
async fn a_restored_snapshot_holds_the_committed_documents_and_their_checkpoint_only() {
    let fixture = Fixture::new(3);
    let live = fixture.catalog.open_live().await.expect("live");
    let committed = store_orders(live.as_ref(), 40).await;
    live.commit(&checkpoint_at(40)).await.expect("commit");
    // stored after the commit: not covered by its checkpoint, so not in the snapshot either
    store_orders(live.as_ref(), 5).await;

    let manifest = fixture.store.take(&fixture.model).await.expect("snapshot taken");
    assert_eq!(manifest.checkpoint, checkpoint_at(40));
    assert_eq!(manifest.documents, 40);
    assert_eq!(manifest.read_model, ORDER_VIEW);
    assert!(manifest.files.iter().any(|file| file.path == "meta.json"));

    let (restored, refused) = restore(&fixture, "restored").await;
    assert!(refused.is_empty(), "{refused:?}");
    let restored = restored.expect("restored");
    assert_eq!(restored.manifest, manifest);
    assert_eq!(restored.copy.checkpoint().await.expect("checkpoint"), Some(checkpoint_at(40)));
    let mut expected = committed;
    expected.sort_by_key(|document| document.order_id);
    assert_eq!(all_documents(restored.copy.as_ref()).await, expected);
}

#[tokio::test]
async fn snapshots_are_kept_k_deep_and_listed_newest_first() {
    let fixture = Fixture::new(2);
    let live = fixture.catalog.open_live().await.expect("live");
    let mut names = Vec::new();
    for round in 1..=3 {
        store_orders(live.as_ref(), 3).await;
        live.commit(&checkpoint_at(round * 10)).await.expect("commit");
        names.push(fixture.store.take(&fixture.model).await.expect("snapshot").name);
    }
    let listed = fixture.store.list(ORDER_VIEW).await.expect("list");
    let listed_names: Vec<&str> = listed.iter().map(|snapshot| snapshot.name.as_str()).collect();
    assert_eq!(listed_names, vec![names[2].as_str(), names[1].as_str()]);
    assert_eq!(listed[0].manifest.as_ref().expect("manifest").documents, 9);
}

/// Takes two snapshots (6 documents, then 9), damages the newer one with `damage`, and
/// restores: the newer is refused as `expected` says and the older one is restored instead.
async fn newest_damaged_then_older_restored(
    damage: impl FnOnce(&Path, &Manifest),
    expected: impl Fn(&SnapshotRefused) -> bool,
) {
    let fixture = Fixture::new(3);
    let live = fixture.catalog.open_live().await.expect("live");
    store_orders(live.as_ref(), 6).await;
    live.commit(&checkpoint_at(6)).await.expect("commit");
    let older = fixture.store.take(&fixture.model).await.expect("older snapshot");
    store_orders(live.as_ref(), 3).await;
    live.commit(&checkpoint_at(9)).await.expect("commit");
    let newer = fixture.store.take(&fixture.model).await.expect("newer snapshot");
    damage(&fixture.snapshot_dir(&newer), &newer);

    let (restored, refused) = restore(&fixture, "restored").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(expected(&refused[0]), "refused for another reason: {}", refused[0]);
    assert!(refused[0].to_string().contains(&newer.name), "the reason names the snapshot: {}", refused[0]);
    let restored = restored.expect("the older snapshot is restored");
    assert_eq!(restored.manifest.name, older.name);
    assert_eq!(restored.copy.count().await.expect("count"), 6);
}

fn largest_file(manifest: &Manifest) -> &ManifestFile {
    manifest.files.iter().max_by_key(|file| file.bytes).expect("files")
}

#[tokio::test]
async fn a_snapshot_with_a_changed_byte_is_refused_for_its_checksum() {
    newest_damaged_then_older_restored(
        |directory, manifest| {
            let path = directory.join(FILES_DIR).join(&largest_file(manifest).path);
            let mut bytes = fs::read(&path).expect("read");
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            fs::write(&path, bytes).expect("write");
        },
        |refusal| matches!(refusal, SnapshotRefused::ChecksumMismatch { .. }),
    )
    .await;
}

#[tokio::test]
async fn a_snapshot_missing_a_file_is_refused_naming_the_file() {
    newest_damaged_then_older_restored(
        |directory, manifest| {
            fs::remove_file(directory.join(FILES_DIR).join("meta.json")).map(|_| manifest).map(drop).expect("removed")
        },
        |refusal| matches!(refusal, SnapshotRefused::FileMissing { file, .. } if file == "meta.json"),
    )
    .await;
}

#[tokio::test]
async fn a_snapshot_with_a_truncated_file_is_refused_for_its_size() {
    newest_damaged_then_older_restored(
        |directory, manifest| {
            let path = directory.join(FILES_DIR).join(&largest_file(manifest).path);
            let bytes = fs::read(&path).expect("read");
            fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
        },
        |refusal| matches!(refusal, SnapshotRefused::SizeMismatch { .. }),
    )
    .await;
}

#[tokio::test]
async fn a_snapshot_with_a_truncated_manifest_is_refused_as_unreadable() {
    newest_damaged_then_older_restored(
        |directory, _| {
            let path = directory.join(MANIFEST_FILE);
            let bytes = fs::read(&path).expect("read");
            fs::write(&path, &bytes[..bytes.len() / 3]).expect("write");
        },
        |refusal| matches!(refusal, SnapshotRefused::ManifestUnreadable { .. }),
    )
    .await;
}

#[tokio::test]
async fn a_snapshot_without_a_manifest_is_refused() {
    newest_damaged_then_older_restored(
        |directory, _| fs::remove_file(directory.join(MANIFEST_FILE)).expect("removed"),
        |refusal| matches!(refusal, SnapshotRefused::ManifestMissing { .. }),
    )
    .await;
}

#[tokio::test]
async fn a_snapshot_of_another_schema_is_refused() {
    newest_damaged_then_older_restored(
        |directory, manifest| {
            let mut changed = manifest.clone();
            changed.schema_fingerprint = "tantivy-000000000000000000000000".to_string();
            fs::write(directory.join(MANIFEST_FILE), serde_json::to_vec(&changed).expect("json")).expect("write");
        },
        |refusal| matches!(refusal, SnapshotRefused::SchemaMismatch { found, .. } if found == "tantivy-000000000000000000000000"),
    )
    .await;
}

#[tokio::test]
async fn a_snapshot_whose_files_hold_another_schema_is_refused_when_opened() {
    // the manifest can be right while the files are not, e.g. copied in by hand: tantivy
    // compares the schema in meta.json with this build's when it opens them
    newest_damaged_then_older_restored(
        |directory, manifest| {
            let meta_path = directory.join(FILES_DIR).join("meta.json");
            let meta = fs::read_to_string(&meta_path).expect("read");
            let changed_meta = meta.replacen("\"customer_id\"", "\"customer_number\"", 1);
            assert_ne!(meta, changed_meta, "the schema names customer_id");
            fs::write(&meta_path, &changed_meta).expect("write");
            let mut changed = manifest.clone();
            for file in &mut changed.files {
                if file.path == "meta.json" {
                    file.bytes = changed_meta.len() as u64;
                    file.sha256 = super::store::sha256_hex(changed_meta.as_bytes());
                }
            }
            fs::write(directory.join(MANIFEST_FILE), serde_json::to_vec(&changed).expect("json")).expect("write");
        },
        |refusal| matches!(refusal, SnapshotRefused::Unopenable { .. }),
    )
    .await;
}

#[tokio::test]
async fn with_every_snapshot_refused_nothing_is_restored_and_no_view_is_left_behind() {
    let fixture = Fixture::new(3);
    let live = fixture.catalog.open_live().await.expect("live");
    store_orders(live.as_ref(), 4).await;
    live.commit(&checkpoint_at(4)).await.expect("commit");
    let manifest = fixture.store.take(&fixture.model).await.expect("snapshot");
    fs::write(fixture.snapshot_dir(&manifest).join(MANIFEST_FILE), b"{\"format\": 1, \"read_mo").expect("write");
    let (restored, refused) = restore(&fixture, "restored").await;
    assert!(restored.is_none());
    assert_eq!(refused.len(), 1);
    // a rebuild then starts the generation from empty, which must be possible
    let fresh = fixture.catalog.create_next("restored").await.expect("the generation is free");
    assert_eq!(fresh.count().await.expect("count"), 0);
}

#[tokio::test]
async fn no_snapshot_dir_means_nothing_to_restore() {
    let fixture = Fixture::new(3);
    let (restored, refused) = restore(&fixture, "restored").await;
    assert!(restored.is_none() && refused.is_empty());
}

#[tokio::test]
async fn a_restored_view_lets_tantivy_delete_its_files_once_merged_away() {
    let fixture = Fixture::new(3);
    let live = fixture.catalog.open_live().await.expect("live");
    store_orders(live.as_ref(), 10).await;
    live.commit(&checkpoint_at(10)).await.expect("commit");
    let manifest = fixture.store.take(&fixture.model).await.expect("snapshot");
    let (restored, _) = restore(&fixture, "restored").await;
    let restored = restored.expect("restored").copy;
    let managed = fs::read_to_string(fixture._dir.path().join("data/views/restored/.managed.json")).expect("managed");
    for file in manifest.files.iter().filter(|file| file.path != "meta.json") {
        assert!(managed.contains(&file.path), "{} is managed: {managed}", file.path);
    }
    assert_eq!(restored.count().await.expect("count"), 10);
}
