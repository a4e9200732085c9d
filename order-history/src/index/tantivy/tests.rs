use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::tantivy::tokenizer::TokenStream;
use events::samples;
use order_view::{OrderHistory, SourceEvent};
use tempfile::TempDir;
use uuid::Uuid;

use super::catalog::INITIAL_GENERATION;
use super::schema::{self, STATUS_BIT_SYMBOLS};
use super::{TantivyCatalog, TantivyIndex};
use crate::index::query::SearchText;
use crate::index::{
    Checkpoint, DocumentJson, HistoryIndex, IndexError, SearchQuery, Versioned, ViewCatalog, WriteToken, conformance,
};

fn new_index() -> (TempDir, TantivyIndex) {
    let directory = tempfile::tempdir().expect("a temp dir");
    let index = TantivyIndex::open_in(directory.path()).expect("the index opens");
    (directory, index)
}

fn placed_order(name: &str) -> OrderHistory {
    let order_id = Uuid::new_v4();
    let mut event = samples::order_event(order_id, events::OrderEventType::OrderPlaced, 1);
    event.order.customer.name = name.to_string();
    let mut document = OrderHistory::empty(order_id);
    document.apply(&SourceEvent::Order(event));
    document
}

fn absent(document: &OrderHistory) -> Versioned {
    Versioned { document: document.clone(), token: WriteToken::Absent }
}

fn text_query(text: &str) -> SearchQuery {
    SearchQuery { text: SearchText::parse(text).expect("parses"), ..SearchQuery::default() }
}

#[tokio::test]
async fn tantivy_conforms_to_the_shared_search_semantics() {
    let (_directory, index) = new_index();
    conformance::run_all(&index).await;
}

#[tokio::test]
async fn conformance_checks_pass_over_many_small_segments_too() {
    // every check commits on its own, and running them twice doubles the segments each
    // search and page walk has to merge
    let (_directory, index) = new_index();
    conformance::pagination_visits_every_hit_once_in_each_sort_order(&index).await;
    conformance::facets_count_every_matching_document(&index).await;
    conformance::pagination_visits_every_hit_once_in_each_sort_order(&index).await;
}

#[tokio::test]
async fn a_new_index_is_empty_with_an_empty_checkpoint() {
    let (_directory, index) = new_index();
    assert_eq!(index.checkpoint().await.expect("checkpoint"), Some(Checkpoint::default()));
    assert_eq!(index.count().await.expect("count"), 0);
    index.ping().await.expect("ping");
    assert_eq!(index.backend(), "tantivy");
}

#[tokio::test]
async fn stored_documents_are_readable_by_id_at_once_and_searchable_after_commit() {
    let (_directory, index) = new_index();
    let document = placed_order("Wilhelmina Fjord");
    index.store(vec![absent(&document)]).await.expect("stored");

    let loaded = index.load(&[document.order_id]).await.expect("loaded");
    assert_eq!(loaded[&document.order_id].document, document);
    assert_eq!(loaded[&document.order_id].token, WriteToken::SingleWriter);
    assert!(index.search(&text_query("wilhelmina")).await.expect("search").hits.is_empty());
    assert_eq!(
        index.get(document.order_id).await.expect("get"),
        Some(document.clone()),
        "get is real-time: it serves what was stored before the commit"
    );

    index.commit(&Checkpoint::default()).await.expect("committed");
    let results = index.search(&text_query("wilhelmina")).await.expect("search");
    assert_eq!(results.hits.len(), 1);
    assert_eq!(index.get(document.order_id).await.expect("get"), Some(document.clone()));
    let loaded = index.load(&[document.order_id]).await.expect("loaded after the commit");
    assert_eq!(loaded[&document.order_id].document, document);
}

#[tokio::test]
async fn storing_a_document_again_replaces_it() {
    let (_directory, index) = new_index();
    let document = placed_order("Wilhelmina Fjord");
    index.store(vec![absent(&document), absent(&document)]).await.expect("stored");
    index.store(vec![absent(&document)]).await.expect("stored");
    index.commit(&Checkpoint::default()).await.expect("committed");
    index.store(vec![absent(&document)]).await.expect("stored");
    index.commit(&Checkpoint::default()).await.expect("committed");
    assert_eq!(index.count().await.expect("count"), 1);
}

#[tokio::test]
async fn a_commit_without_changes_keeps_working() {
    let (_directory, index) = new_index();
    let mut checkpoint = Checkpoint::default();
    index.commit(&checkpoint).await.expect("nothing to commit");
    checkpoint.advance("orders", 0, 10);
    index.commit(&checkpoint).await.expect("only the checkpoint moved");
    index.commit(&checkpoint).await.expect("nothing moved");
    assert_eq!(index.checkpoint().await.expect("checkpoint"), Some(checkpoint));
}

#[tokio::test]
async fn reopening_an_index_restores_its_documents_and_checkpoint() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let document = placed_order("Wilhelmina Fjord");
    let mut checkpoint = Checkpoint::default();
    checkpoint.advance("shipments", 2, 99);
    {
        let index = TantivyIndex::open_in(directory.path()).expect("opens");
        index.store(vec![absent(&document)]).await.expect("stored");
        index.commit(&checkpoint).await.expect("committed");
        // stored but never committed: lost with the process, replayed from the checkpoint
        index.store(vec![absent(&placed_order("Never Committed"))]).await.expect("stored");
    }
    let reopened = TantivyIndex::open_in(directory.path()).expect("reopens");
    assert_eq!(reopened.checkpoint().await.expect("checkpoint"), Some(checkpoint));
    assert_eq!(reopened.get(document.order_id).await.expect("get"), Some(document));
    assert_eq!(reopened.count().await.expect("count"), 1);
}

#[tokio::test]
async fn pages_and_totals_ignore_limit_zero_and_empty_indexes() {
    let (_directory, index) = new_index();
    let results = index.search(&SearchQuery::default()).await.expect("search");
    assert_eq!((results.total, results.hits.len(), results.next_cursor), (0, 0, None));
    index.store(vec![absent(&placed_order("Ann Peeters"))]).await.expect("stored");
    index.commit(&Checkpoint::default()).await.expect("committed");
    let results = index.search(&SearchQuery { limit: 0, ..SearchQuery::default() }).await.expect("search");
    assert_eq!((results.total, results.hits.len(), results.next_cursor), (1, 0, None));
}

#[test]
fn every_status_symbol_has_its_own_facet_bit() {
    let all_symbols = [
        (schema::FacetKind::Status, order_view::OrderStatus::Placed.symbol()),
        (schema::FacetKind::Status, order_view::OrderStatus::Cancelled.symbol()),
    ]
    .into_iter()
    .chain(
        [
            order_view::PaymentStatus::Authorized,
            order_view::PaymentStatus::Declined,
            order_view::PaymentStatus::Captured,
            order_view::PaymentStatus::Refunded,
        ]
        .map(|status| (schema::FacetKind::PaymentStatus, status.symbol())),
    )
    .chain(
        [
            order_view::ShipmentStatus::Created,
            order_view::ShipmentStatus::Dispatched,
            order_view::ShipmentStatus::InTransit,
            order_view::ShipmentStatus::Delivered,
            order_view::ShipmentStatus::Returned,
        ]
        .map(|status| (schema::FacetKind::ShipmentStatus, status.symbol())),
    );
    let all_symbols: Vec<_> = all_symbols.collect();
    assert_eq!(all_symbols.len(), STATUS_BIT_SYMBOLS.len());
    for symbol in all_symbols {
        assert!(STATUS_BIT_SYMBOLS.contains(&symbol), "{symbol:?} has a bit");
    }
}

#[test]
fn identifiers_split_into_words_and_where_letters_meet_digits() {
    let tokens = |analyzer: &mut ::tantivy::tokenizer::TextAnalyzer, text: &str| {
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while let Some(token) = stream.next() {
            tokens.push(token.text.clone());
        }
        tokens
    };
    let mut parts = schema::parts_analyzer();
    assert_eq!(tokens(&mut parts, "3SPOST123456789"), ["3", "spost", "123456789"]);
    assert_eq!(tokens(&mut parts, "SKU-KETTLE-01"), ["sku", "kettle", "01"]);
    assert_eq!(tokens(&mut parts, "Ørsted2go"), ["orsted", "2", "go"]);
    let mut words = schema::words_analyzer();
    assert_eq!(tokens(&mut words, "3SPOST123456789"), ["3spost123456789"]);
    assert_eq!(
        tokens(&mut words, "Zoë Ørsted-Nakamura, zoe@example.com"),
        ["zoe", "orsted", "nakamura", "zoe", "example", "com"]
    );
}

async fn wait_until_removed(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while path.exists() {
        assert!(Instant::now() < deadline, "{} is still there", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn store_and_commit(index: &Arc<dyn HistoryIndex>, documents: &[&OrderHistory]) {
    let versioned = documents.iter().map(|document| absent(document)).collect();
    index.store(versioned).await.expect("stored");
    index.commit(&Checkpoint::default()).await.expect("committed");
}

async fn names_found(index: &Arc<dyn HistoryIndex>, text: &str) -> Vec<String> {
    let results = index.search(&text_query(text)).await.expect("search");
    results.hits.iter().filter_map(|hit| hit.document.customer.as_ref().map(|customer| customer.name.clone())).collect()
}

#[tokio::test]
async fn the_first_start_creates_an_initial_live_view() {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let catalog = TantivyCatalog::open(data_dir.path()).expect("the catalog opens");
    assert_eq!(catalog.live_generation().await.expect("live"), None);
    let live = catalog.open_live().await.expect("the live view opens");
    assert_eq!(catalog.live_generation().await.expect("live"), Some(INITIAL_GENERATION.to_string()));
    assert!(data_dir.path().join("views").join(INITIAL_GENERATION).is_dir());

    // a second handle is the same view: tantivy allows one writer per directory
    let again = catalog.open_live().await.expect("opens again");
    let document = placed_order("Ann Peeters");
    live.store(vec![absent(&document)]).await.expect("stored");
    assert!(again.load(&[document.order_id]).await.expect("loaded").contains_key(&document.order_id));
}

#[tokio::test]
async fn the_live_view_answers_until_the_next_one_is_promoted() {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let catalog = TantivyCatalog::open(data_dir.path()).expect("the catalog opens");
    let live = catalog.open_live().await.expect("live");
    store_and_commit(&live, &[&placed_order("Old Olafsen")]).await;

    let next = catalog.create_next("g2").await.expect("the next view is created");
    let mut checkpoint = Checkpoint::default();
    checkpoint.advance("orders", 0, 5);
    next.store(vec![absent(&placed_order("New Nielsen"))]).await.expect("stored");
    next.commit(&checkpoint).await.expect("committed");
    assert_eq!(names_found(&live, "olafsen").await, ["Old Olafsen"], "the live view is untouched");
    assert!(names_found(&live, "nielsen").await.is_empty());
    assert_eq!(names_found(&catalog.open_live().await.expect("live"), "olafsen").await, ["Old Olafsen"]);

    catalog.promote("g2").await.expect("promoted");
    assert_eq!(catalog.live_generation().await.expect("live"), Some("g2".to_string()));
    let promoted = catalog.open_live().await.expect("the new live view");
    assert_eq!(names_found(&promoted, "nielsen").await, ["New Nielsen"]);
    assert_eq!(promoted.checkpoint().await.expect("checkpoint"), Some(checkpoint.clone()));

    // searches still running on the old view finish; its files go with its last handle
    let old_dir = data_dir.path().join("views").join(INITIAL_GENERATION);
    assert_eq!(names_found(&live, "olafsen").await, ["Old Olafsen"]);
    assert!(old_dir.is_dir());
    drop(live);
    wait_until_removed(&old_dir).await;

    // a restart opens the promoted view with its checkpoint
    drop((promoted, next, catalog));
    let reopened_catalog = TantivyCatalog::open(data_dir.path()).expect("the catalog reopens");
    let reopened = reopened_catalog.open_live().await.expect("live");
    assert_eq!(reopened.checkpoint().await.expect("checkpoint"), Some(checkpoint));
    assert_eq!(names_found(&reopened, "nielsen").await, ["New Nielsen"]);
}

#[tokio::test]
async fn a_view_that_was_never_promoted_can_be_discarded() {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let catalog = TantivyCatalog::open(data_dir.path()).expect("the catalog opens");
    let live = catalog.open_live().await.expect("live");
    let next = catalog.create_next("g-failed").await.expect("created");
    store_and_commit(&next, &[&placed_order("Half Done")]).await;
    drop(next);
    catalog.discard("g-failed").await.expect("discarded");
    wait_until_removed(&data_dir.path().join("views").join("g-failed")).await;

    // a view still in use goes when its last handle does
    let next = catalog.create_next("g-open").await.expect("created");
    catalog.discard("g-open").await.expect("discarded");
    let open_dir = data_dir.path().join("views").join("g-open");
    assert!(open_dir.is_dir());
    drop(next);
    wait_until_removed(&open_dir).await;

    let refused = catalog.discard(INITIAL_GENERATION).await;
    assert!(matches!(refused, Err(IndexError::Fatal(_))), "the live view cannot be discarded");
    assert!(catalog.create_next(INITIAL_GENERATION).await.is_err(), "the live view cannot be recreated");
    live.ping().await.expect("the live view still answers");
}

#[tokio::test]
async fn a_leftover_view_with_the_same_name_is_started_over() {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let catalog = TantivyCatalog::open(data_dir.path()).expect("the catalog opens");
    let _live = catalog.open_live().await.expect("live");
    let next = catalog.create_next("g3").await.expect("created");
    store_and_commit(&next, &[&placed_order("Left Over")]).await;
    assert!(catalog.create_next("g3").await.is_err(), "an open view is not created twice");
    drop(next);
    let next = catalog.create_next("g3").await.expect("created again");
    assert_eq!(next.count().await.expect("count"), 0);
}

#[tokio::test]
async fn generation_names_must_be_plain_directory_names() {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let catalog = TantivyCatalog::open(data_dir.path()).expect("the catalog opens");
    for bad in ["", "..", "../escape", "a/b", ".hidden", "LIVE", "spaced name"] {
        assert!(catalog.create_next(bad).await.is_err(), "{bad:?} is refused");
        assert!(catalog.promote(bad).await.is_err(), "{bad:?} is refused");
    }
    assert!(catalog.promote("g-missing").await.is_err(), "a view that does not exist cannot be promoted");
}

#[tokio::test]
async fn a_live_file_naming_a_missing_view_is_an_error() {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(data_dir.path().join("LIVE"), "g-gone\n").expect("LIVE written");
    let catalog = TantivyCatalog::open(data_dir.path()).expect("the catalog opens");
    assert!(matches!(catalog.open_live().await, Err(IndexError::Fatal(_))));
}

#[tokio::test]
async fn get_json_answers_as_get_does_with_the_json_that_was_stored() {
    let (_directory, index) = new_index();
    let document = placed_order("Ottilie Stored");
    let order_id = document.order_id;
    let decoded = |json: Option<DocumentJson>| json.map(|json| json.decode().expect("decodes"));
    assert_eq!(index.get_json(order_id).await.expect("get"), None);

    index.store(vec![absent(&document)]).await.expect("stored");
    assert_eq!(decoded(index.get_json(order_id).await.expect("get")), index.get(order_id).await.expect("get"));
    index.commit(&Checkpoint::default()).await.expect("committed");
    let stored = index.get_json(order_id).await.expect("get");
    assert_eq!(stored, Some(DocumentJson::of(&document).expect("serializes")), "served as stored, byte for byte");
    assert_eq!(decoded(stored), Some(document));

    index.delete(&[order_id]).await.expect("deleted");
    assert_eq!(decoded(index.get_json(order_id).await.expect("get")), index.get(order_id).await.expect("get"));
    index.commit(&Checkpoint::default()).await.expect("committed");
    assert_eq!(index.get_json(order_id).await.expect("get"), None);
}

/// The segment the last merge made is not merged again with the small segments committed since:
/// with tantivy's default policy these eight would form one level below 10,000 documents.
#[test]
fn small_segments_are_merged_with_segments_of_their_size_only() {
    use ::tantivy::index::SegmentId;
    use ::tantivy::merge_policy::MergePolicy;

    let index = ::tantivy::Index::create_in_ram(schema::build_schema().0);
    let segment = |documents| index.new_segment_meta(SegmentId::generate_random(), documents);
    let mut segments: Vec<_> = (0..7).map(|_| segment(200)).collect();
    segments.push(segment(1_600));
    assert!(super::merge_policy().compute_merge_candidates(&segments).is_empty());

    let eighth_small = segment(200);
    segments.push(eighth_small.clone());
    let candidates = super::merge_policy().compute_merge_candidates(&segments);
    assert_eq!(candidates.len(), 1);
    assert_eq!(candidates[0].0.len(), 8);
    assert!(candidates[0].0.contains(&eighth_small.id()));
    assert!(!candidates[0].0.contains(&segments[7].id()), "the larger segment waits for its own level");
}
