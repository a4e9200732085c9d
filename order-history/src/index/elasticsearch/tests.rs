//! The Elasticsearch backend against a real Elasticsearch-API server (noida-db, started per
//! test by `testkit::start_search_engine`; the test fails with install instructions without it).
//!
//! Scores differ between engines, so tests assert membership and order, never score values.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_view::search::{SearchFilters, TEXT_FIELDS};
use order_view::{
    Address, Customer, LineItem, Money, OrderHistory, OrderStatus, PaymentMethod, PaymentStatus, PaymentSummary,
    ShipmentStatus, ShipmentSummary,
};
use serde_json::Value;
use testkit::{SearchEngine, start_search_engine};
use uuid::Uuid;

use super::mapping::{DOCUMENT_FIELD, index_definition, source_of};
use super::{ElasticsearchCatalog, ElasticsearchConfig};
use crate::index::{
    Checkpoint, Cursor, HistoryIndex, IndexError, SearchQuery, SearchResults, SearchText, SortOrder, StoreOutcome,
    Versioned, ViewCatalog, WriteToken, conformance,
};

// ---- fixtures ----

/// An engine of its own, a catalog on it and the live view, as a starting instance has.
struct Fixture {
    catalog: ElasticsearchCatalog,
    live: Arc<dyn HistoryIndex>,
    // last, so the engine outlives every handle
    engine: SearchEngine,
}

async fn fixture() -> Fixture {
    testkit::init_test_tracing();
    let engine = start_search_engine().await;
    let catalog = catalog_on(&engine);
    let live = catalog.open_live().await.expect("live view opens");
    Fixture { catalog, live, engine }
}

fn config_for(engine: &SearchEngine) -> ElasticsearchConfig {
    ElasticsearchConfig { number_of_replicas: 0, ..ElasticsearchConfig::new(engine.url.clone()) }
}

fn catalog_on(engine: &SearchEngine) -> ElasticsearchCatalog {
    ElasticsearchCatalog::new(&config_for(engine)).expect("catalog")
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, hour, 0, 0).single().expect("valid time")
}

fn eur(amount_minor: i64) -> Money {
    Money { amount_minor, currency: "EUR".to_string() }
}

fn address(line1: &str, city: &str) -> Address {
    Address {
        line1: line1.to_string(),
        line2: None,
        city: city.to_string(),
        postal_code: "75001".to_string(),
        country: "FR".to_string(),
    }
}

/// A placed order of one customer with one item; tests change what they look at.
fn order(customer_name: &str, item_name: &str, sku: &str) -> OrderHistory {
    let order_id = Uuid::now_v7();
    let placed_at = at(10, 12);
    let first_name = customer_name.split(' ').next().unwrap_or("someone").to_lowercase();
    OrderHistory {
        order_id,
        incomplete: false,
        status: Some(OrderStatus::Placed),
        customer: Some(Customer {
            customer_id: format!("customer-{first_name}"),
            name: customer_name.to_string(),
            email: format!("{first_name}@example.com"),
        }),
        items: vec![LineItem { sku: sku.to_string(), name: item_name.to_string(), quantity: 1, unit_price: eur(2500) }],
        total: Some(eur(2500)),
        currency: Some("EUR".to_string()),
        shipping_address: Some(address("1 Rue de Rivoli", "Paris")),
        placed_at: Some(placed_at),
        cancelled_at: None,
        cancellation_reason: None,
        payments: Vec::new(),
        shipments: Vec::new(),
        timeline: Vec::new(),
        order_version: Some(1),
        as_of: None,
    }
}

fn placed(mut document: OrderHistory, placed_at: DateTime<Utc>) -> OrderHistory {
    document.placed_at = Some(placed_at);
    document
}

fn totalling(mut document: OrderHistory, amount_minor: i64) -> OrderHistory {
    document.total = Some(eur(amount_minor));
    document
}

fn with_payment(mut document: OrderHistory, status: PaymentStatus) -> OrderHistory {
    let created_at = at(10, 13);
    document.payments.push(PaymentSummary {
        payment_id: Uuid::now_v7(),
        status,
        method: PaymentMethod::Card,
        amount: eur(2500),
        decline_reason: None,
        created_at,
        updated_at: created_at,
        version: 1,
    });
    document
}

fn with_shipment(mut document: OrderHistory, status: ShipmentStatus, tracking_number: &str) -> OrderHistory {
    let created_at = at(11, 9);
    document.shipments.push(ShipmentSummary {
        shipment_id: Uuid::now_v7(),
        carrier: "SPOST".to_string(),
        tracking_number: tracking_number.to_string(),
        status,
        last_location: None,
        address: address("1 Rue de Rivoli", "Paris"),
        created_at,
        updated_at: created_at,
        version: 1,
    });
    document
}

/// Only a payment is known: the order event has not arrived.
fn incomplete_with_payment() -> OrderHistory {
    with_payment(OrderHistory::empty(Uuid::now_v7()), PaymentStatus::Authorized)
}

/// Creates the documents and makes them searchable, as one projection batch does.
async fn index_new(index: &dyn HistoryIndex, documents: &[OrderHistory]) {
    let versioned =
        documents.iter().map(|document| Versioned { document: document.clone(), token: WriteToken::Absent });
    let outcome = index.store(versioned.collect()).await.expect("store");
    assert_eq!(outcome, StoreOutcome::default(), "no conflicts on fresh documents");
    index.commit(&Checkpoint::default()).await.expect("commit");
}

fn text_query(raw: &str) -> SearchQuery {
    SearchQuery { text: SearchText::parse(raw).expect("text parses"), ..SearchQuery::default() }
}

fn ids(results: &SearchResults) -> Vec<Uuid> {
    results.hits.iter().map(|hit| hit.document.order_id).collect()
}

async fn search_ids(index: &dyn HistoryIndex, query: SearchQuery) -> Vec<Uuid> {
    ids(&index.search(&query).await.expect("search"))
}

/// Every page of `query`, following `next_cursor` until it is absent.
async fn all_pages(index: &dyn HistoryIndex, query: &SearchQuery) -> Vec<Uuid> {
    let mut seen = Vec::new();
    let mut page_query = query.clone();
    loop {
        let page = index.search(&page_query).await.expect("page");
        assert!(page.hits.len() <= query.limit, "a page holds at most limit hits");
        seen.extend(ids(&page));
        let Some(next) = page.next_cursor else {
            return seen;
        };
        page_query.after = Some(Cursor::decode(&next).expect("next_cursor decodes"));
        assert!(seen.len() <= 100, "pagination does not end");
    }
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

// ---- mapping ----

#[test]
fn every_text_field_is_mapped_as_text_and_written_in_the_source() {
    let definition = index_definition(0);
    let source = source_of(&order("Zoë Adams", "Copper tea kettle", "SKU-KETTLE-01")).expect("source");
    for field in TEXT_FIELDS {
        assert_eq!(definition["mappings"]["properties"][field]["type"], "text", "{field} is text");
        assert!(source.get(field).is_some(), "{field} is in the source");
    }
    assert_eq!(definition["mappings"]["properties"][DOCUMENT_FIELD]["enabled"], false);
    assert_eq!(definition["mappings"]["dynamic"], "strict");
}

// ---- catalog ----

#[tokio::test]
async fn open_live_creates_the_initial_index_behind_the_alias_once() {
    let fixture = fixture().await;
    let initial = fixture.catalog.index_name("initial").expect("name");
    assert_eq!(fixture.catalog.live_indices().await.expect("alias"), vec![initial.clone()]);
    let document = order("Ada Lovelace", "Notebook", "SKU-NOTE-01");
    index_new(fixture.live.as_ref(), std::slice::from_ref(&document)).await;

    // a second instance, or a restart, finds the live view and keeps its data
    let reopened = catalog_on(&fixture.engine).open_live().await.expect("reopens");
    assert_eq!(fixture.catalog.live_indices().await.expect("alias"), vec![initial]);
    assert_eq!(reopened.get(document.order_id).await.expect("get"), Some(document));
}

#[tokio::test]
async fn the_alias_prefix_is_configurable() {
    testkit::init_test_tracing();
    let engine = start_search_engine().await;
    let config = ElasticsearchConfig { index_prefix: "tenant-a-history".to_string(), ..config_for(&engine) };
    let catalog = ElasticsearchCatalog::new(&config).expect("catalog");
    catalog.open_live().await.expect("opens");
    assert_eq!(catalog.alias(), "tenant-a-history");
    assert_eq!(catalog.live_indices().await.expect("alias"), vec!["tenant-a-history-initial".to_string()]);
    let unsafe_prefix = ElasticsearchConfig { index_prefix: "*".to_string(), ..config_for(&engine) };
    assert!(matches!(ElasticsearchCatalog::new(&unsafe_prefix), Err(IndexError::Fatal(_))));
}

#[tokio::test]
async fn promote_swaps_the_alias_to_the_rebuilt_view_and_drops_the_old_one() {
    let fixture = fixture().await;
    let only_in_old = order("Ada Lovelace", "Notebook", "SKU-NOTE-01");
    index_new(fixture.live.as_ref(), std::slice::from_ref(&only_in_old)).await;
    let next = fixture.catalog.create_next("g2").await.expect("next view");
    let only_in_next = order("Grace Hopper", "Compiler manual", "SKU-BOOK-02");
    index_new(next.as_ref(), std::slice::from_ref(&only_in_next)).await;
    assert_eq!(search_ids(fixture.live.as_ref(), SearchQuery::default()).await, vec![only_in_old.order_id]);

    // a reader polls the alias through the swap: it must never point at none or at two indices
    let swapping = Arc::new(AtomicBool::new(true));
    let watcher = {
        let catalog = fixture.catalog.clone();
        let swapping = swapping.clone();
        tokio::spawn(async move {
            let mut observed = Vec::new();
            while swapping.load(Ordering::SeqCst) {
                observed.push(catalog.live_indices().await.expect("alias").len());
                tokio::task::yield_now().await;
            }
            observed
        })
    };
    fixture.catalog.promote("g2").await.expect("promote");
    swapping.store(false, Ordering::SeqCst);
    let observed = watcher.await.expect("watcher");
    assert!(observed.iter().all(|count| *count == 1), "alias always on exactly one index: {observed:?}");

    let next_index = fixture.catalog.index_name("g2").expect("name");
    assert_eq!(fixture.catalog.live_indices().await.expect("alias"), vec![next_index]);
    // the live handle follows the alias
    assert_eq!(search_ids(fixture.live.as_ref(), SearchQuery::default()).await, vec![only_in_next.order_id]);
    assert_eq!(fixture.live.get(only_in_old.order_id).await.expect("get"), None);
    // the old index is gone: creating a view of its name works again
    fixture.catalog.create_next("initial").await.expect("old index was deleted");
    // promoting again is harmless, e.g. a retry after a lost answer
    fixture.catalog.promote("g2").await.expect("promote again");
    assert_eq!(fixture.live.count().await.expect("count"), 1);
}

#[tokio::test]
async fn discard_deletes_an_unpromoted_view_but_never_the_live_one() {
    let fixture = fixture().await;
    let next = fixture.catalog.create_next("failed-rebuild").await.expect("next view");
    index_new(next.as_ref(), &[order("Ada Lovelace", "Notebook", "SKU-NOTE-01")]).await;
    fixture.catalog.discard("failed-rebuild").await.expect("discard");
    // gone: the same generation can be created afresh, and empty
    let again = fixture.catalog.create_next("failed-rebuild").await.expect("created again");
    assert_eq!(again.count().await.expect("count"), 0);
    // discarding what does not exist is fine
    fixture.catalog.discard("never-created").await.expect("discard missing");

    let refused = fixture.catalog.discard("initial").await;
    assert!(matches!(refused, Err(IndexError::Fatal(_))), "{refused:?}");
    assert_eq!(fixture.catalog.live_indices().await.expect("alias").len(), 1);
}

#[tokio::test]
async fn create_next_refuses_an_existing_view_and_unsafe_names() {
    let fixture = fixture().await;
    fixture.catalog.create_next("g2").await.expect("first");
    assert!(matches!(fixture.catalog.create_next("g2").await, Err(IndexError::Fatal(_))));
    assert!(matches!(fixture.catalog.create_next("initial").await, Err(IndexError::Fatal(_))), "the live one");
    for unsafe_name in ["*", "a,b", "UPPER", "../x", ""] {
        assert!(matches!(fixture.catalog.create_next(unsafe_name).await, Err(IndexError::Fatal(_))), "{unsafe_name}");
        assert!(matches!(fixture.catalog.discard(unsafe_name).await, Err(IndexError::Fatal(_))), "{unsafe_name}");
    }
}

// ---- load, store, commit ----

#[tokio::test]
async fn load_sees_stored_documents_before_commit_with_their_write_tokens() {
    let fixture = fixture().await;
    let document = order("Ada Lovelace", "Notebook", "SKU-NOTE-01");
    let missing = Uuid::now_v7();
    let outcome = fixture
        .live
        .store(vec![Versioned { document: document.clone(), token: WriteToken::Absent }])
        .await
        .expect("store");
    assert!(outcome.conflicts.is_empty());

    let loaded = fixture.live.load(&[document.order_id, missing]).await.expect("load");
    assert_eq!(loaded.len(), 1, "the missing id is absent from the map");
    let versioned = &loaded[&document.order_id];
    assert_eq!(versioned.document, document);
    assert!(matches!(versioned.token, WriteToken::SeqNo { .. }), "{:?}", versioned.token);
    assert!(fixture.live.load(&[]).await.expect("load nothing").is_empty());
}

#[tokio::test]
async fn commit_makes_stored_documents_searchable_and_there_is_no_checkpoint() {
    let fixture = fixture().await;
    let document = order("Ada Lovelace", "Notebook", "SKU-NOTE-01");
    fixture.live.store(vec![Versioned { document: document.clone(), token: WriteToken::Absent }]).await.expect("store");
    let mut checkpoint = Checkpoint::default();
    checkpoint.advance("orders", 0, 42);
    fixture.live.commit(&checkpoint).await.expect("commit");
    assert_eq!(fixture.live.count().await.expect("count"), 1);
    assert_eq!(search_ids(fixture.live.as_ref(), text_query("notebook")).await, vec![document.order_id]);
    // with Elasticsearch the consumer group's committed offsets are the checkpoint
    assert_eq!(fixture.live.checkpoint().await.expect("checkpoint"), None);
    assert_eq!(fixture.live.backend(), "elasticsearch");
}

#[tokio::test]
async fn a_stale_write_never_overwrites_a_concurrent_writers_newer_version() {
    let fixture = fixture().await;
    let original = order("Ada Lovelace", "Notebook", "SKU-NOTE-01");
    index_new(fixture.live.as_ref(), std::slice::from_ref(&original)).await;
    // two instances, each with its own client, both read version 1
    let first_writer = catalog_on(&fixture.engine).open_live().await.expect("first writer");
    let second_writer = catalog_on(&fixture.engine).open_live().await.expect("second writer");
    let mut first_copy = first_writer.load(&[original.order_id]).await.expect("load")[&original.order_id].clone();
    let mut second_copy = second_writer.load(&[original.order_id]).await.expect("load")[&original.order_id].clone();
    assert_eq!(first_copy.token, second_copy.token);

    first_copy.document = with_payment(first_copy.document, PaymentStatus::Captured);
    let first_outcome = first_writer.store(vec![first_copy.clone()]).await.expect("first store");
    assert!(first_outcome.conflicts.is_empty());
    second_copy.document.status = Some(OrderStatus::Cancelled);
    let second_outcome = second_writer.store(vec![second_copy]).await.expect("second store");
    assert_eq!(second_outcome.conflicts, vec![original.order_id], "the stale write is refused");

    let stored = fixture.live.load(&[original.order_id]).await.expect("load")[&original.order_id].clone();
    assert_eq!(stored.document, first_copy.document, "the newer version stays");

    // the loser reloads, reapplies its change on top and wins this time
    let mut reloaded = second_writer.load(&[original.order_id]).await.expect("reload")[&original.order_id].clone();
    reloaded.document.status = Some(OrderStatus::Cancelled);
    let retried = second_writer.store(vec![reloaded.clone()]).await.expect("retry");
    assert!(retried.conflicts.is_empty());
    let merged = fixture.live.get(original.order_id).await.expect("get").expect("present");
    assert_eq!(merged.status, Some(OrderStatus::Cancelled));
    assert_eq!(merged.payments.len(), 1, "the first writer's payment survived");
}

#[tokio::test]
async fn creating_a_document_another_writer_created_first_is_a_conflict() {
    let fixture = fixture().await;
    let second_writer = catalog_on(&fixture.engine).open_live().await.expect("second writer");
    let first = incomplete_with_payment();
    let mut second = first.clone();
    second.payments.clear();
    fixture.live.store(vec![Versioned { document: first.clone(), token: WriteToken::Absent }]).await.expect("store");
    let outcome = second_writer
        .store(vec![
            Versioned { document: second, token: WriteToken::Absent },
            Versioned { document: order("Ada Lovelace", "Notebook", "SKU-NOTE-01"), token: WriteToken::Absent },
        ])
        .await
        .expect("store");
    assert_eq!(outcome.conflicts, vec![first.order_id], "only the contended document conflicts");
    assert_eq!(fixture.live.get(first.order_id).await.expect("get"), Some(first));
}

#[tokio::test]
async fn a_single_writer_token_is_refused_rather_than_written_unconditionally() {
    let fixture = fixture().await;
    let document = order("Ada Lovelace", "Notebook", "SKU-NOTE-01");
    let refused =
        fixture.live.store(vec![Versioned { document: document.clone(), token: WriteToken::SingleWriter }]).await;
    assert!(matches!(refused, Err(IndexError::Fatal(_))), "{refused:?}");
    assert_eq!(fixture.live.get(document.order_id).await.expect("get"), None);
}

#[tokio::test]
async fn get_returns_incomplete_documents_and_none_for_unknown_ids() {
    let fixture = fixture().await;
    let incomplete = incomplete_with_payment();
    // stored but not committed: get is realtime
    fixture
        .live
        .store(vec![Versioned { document: incomplete.clone(), token: WriteToken::Absent }])
        .await
        .expect("store");
    assert_eq!(fixture.live.get(incomplete.order_id).await.expect("get"), Some(incomplete));
    assert_eq!(fixture.live.get(Uuid::now_v7()).await.expect("get"), None);
}

#[tokio::test]
async fn an_unreachable_engine_is_unavailable_and_retryable() {
    let fixture = fixture().await;
    fixture.live.ping().await.expect("ping");
    let closed = testkit::unused_address();
    let config = ElasticsearchConfig {
        request_timeout: std::time::Duration::from_secs(2),
        ..ElasticsearchConfig::new(format!("http://{closed}"))
    };
    let unreachable = ElasticsearchCatalog::new(&config).expect("catalog");
    let ping = unreachable.open_live().await;
    assert!(matches!(&ping, Err(error) if error.is_retryable()), "{:?}", ping.err());
    let index = fixture.catalog.create_next("g2").await.expect("next");
    drop(fixture.engine);
    let load = index.load(&[Uuid::now_v7()]).await;
    assert!(matches!(&load, Err(IndexError::Unavailable(_))), "{load:?}");
}

// ---- search: text ----

#[tokio::test]
async fn every_clause_must_match_and_each_may_match_any_text_field() {
    let fixture = fixture().await;
    let zoe_kettle = order("Zoë Adams", "Copper tea kettle", "SKU-KETTLE-01");
    let zoe_mug = order("Zoë Adams", "Enamel mug", "SKU-MUG-02");
    let bob_kettle = order("Bob Marley", "Copper tea kettle", "SKU-KETTLE-01");
    index_new(fixture.live.as_ref(), &[zoe_kettle.clone(), zoe_mug.clone(), bob_kettle.clone()]).await;

    // name and item name, two fields
    assert_eq!(search_ids(fixture.live.as_ref(), text_query("zoe kettle")).await, vec![zoe_kettle.order_id]);
    assert_eq!(
        sorted(search_ids(fixture.live.as_ref(), text_query("kettle")).await),
        sorted(vec![zoe_kettle.order_id, bob_kettle.order_id])
    );
    // email, address
    assert_eq!(search_ids(fixture.live.as_ref(), text_query("bob@example.com")).await, vec![bob_kettle.order_id]);
    assert_eq!(search_ids(fixture.live.as_ref(), text_query("rivoli bob")).await, vec![bob_kettle.order_id]);
    assert!(search_ids(fixture.live.as_ref(), text_query("zoe kettle nonexistentword")).await.is_empty());
}

#[tokio::test]
async fn accents_are_folded_and_typos_tolerated_with_exact_matches_first() {
    let fixture = fixture().await;
    let zoe = order("Zoë Adams", "Copper tea kettle", "SKU-KETTLE-01");
    let kettles = order("Ada Lovelace", "Kettles", "SKU-KETTLES-02");
    index_new(fixture.live.as_ref(), &[zoe.clone(), kettles.clone()]).await;

    assert_eq!(search_ids(fixture.live.as_ref(), text_query("Zoe")).await, vec![zoe.order_id]);
    assert_eq!(search_ids(fixture.live.as_ref(), text_query("ZOË")).await, vec![zoe.order_id]);
    // one edit at 4 to 7 characters
    assert_eq!(search_ids(fixture.live.as_ref(), text_query("ketle")).await.first(), Some(&zoe.order_id));
    // `kettle` is exact for one document and one edit away for the other: exact ranks first
    assert_eq!(search_ids(fixture.live.as_ref(), text_query("kettle")).await, vec![zoe.order_id, kettles.order_id]);
    assert_eq!(search_ids(fixture.live.as_ref(), text_query("kettles")).await, vec![kettles.order_id, zoe.order_id]);
    // words up to 3 characters match exactly only: `tee` is not `tea`
    assert!(search_ids(fixture.live.as_ref(), text_query("tee")).await.is_empty());
    // two edits from 8 characters up
    assert_eq!(search_ids(fixture.live.as_ref(), text_query("lovelaec")).await, vec![kettles.order_id]);
}

#[tokio::test]
async fn skus_and_tracking_numbers_are_found_as_typed_and_by_parts() {
    let fixture = fixture().await;
    let kettle = with_shipment(
        order("Zoë Adams", "Copper tea kettle", "SKU-KETTLE-01"),
        ShipmentStatus::InTransit,
        "3SPOST123456789",
    );
    let mug = order("Bob Marley", "Enamel mug", "MUG02");
    index_new(fixture.live.as_ref(), &[kettle.clone(), mug.clone()]).await;

    for typed in ["SKU-KETTLE-01", "sku-kettle-01", "kettle-01", "3SPOST123456789", "123456789", "spost123456789"] {
        assert_eq!(search_ids(fixture.live.as_ref(), text_query(typed)).await, vec![kettle.order_id], "{typed}");
    }
    for typed in ["MUG02", "mug02", "02"] {
        assert_eq!(search_ids(fixture.live.as_ref(), text_query(typed)).await, vec![mug.order_id], "{typed}");
    }
}

#[tokio::test]
async fn a_phrase_matches_its_words_in_order_within_one_field() {
    let fixture = fixture().await;
    let copper_kettle = order("Zoë Adams", "Copper tea kettle", "SKU-KETTLE-01");
    let mut tea_then_kettle = order("Bob Marley", "Kettle", "SKU-KETTLE-01");
    tea_then_kettle.items.push(LineItem {
        sku: "SKU-TEA-03".to_string(),
        name: "Green tea".to_string(),
        quantity: 1,
        unit_price: eur(900),
    });
    index_new(fixture.live.as_ref(), &[copper_kettle.clone(), tea_then_kettle.clone()]).await;

    assert_eq!(search_ids(fixture.live.as_ref(), text_query(r#""tea kettle""#)).await, vec![copper_kettle.order_id]);
    assert!(search_ids(fixture.live.as_ref(), text_query(r#""kettle tea""#)).await.is_empty(), "order matters");
    // the values of a field do not run together: `kettle` ends one item name, `green` starts the next
    assert!(search_ids(fixture.live.as_ref(), text_query(r#""kettle green""#)).await.is_empty());
    // a phrase does not span two fields: `adams` (name) then `copper` (item)
    assert!(search_ids(fixture.live.as_ref(), text_query(r#""adams copper""#)).await.is_empty());
    assert_eq!(
        search_ids(fixture.live.as_ref(), text_query(r#""green tea" bob"#)).await,
        vec![tea_then_kettle.order_id]
    );
}

#[tokio::test]
async fn highlights_mark_matches_per_text_field() {
    let fixture = fixture().await;
    let document = with_shipment(
        order("Zoë O'Brien", "Copper tea kettle", "SKU-KETTLE-01"),
        ShipmentStatus::Dispatched,
        "3SPOST123456789",
    );
    index_new(fixture.live.as_ref(), std::slice::from_ref(&document)).await;

    let results = fixture.live.search(&text_query("zoe kettle 123456789")).await.expect("search");
    let highlights = &results.hits[0].highlights;
    assert_eq!(highlights["customer_name"], vec!["<em>Zoë</em> O&#x27;Brien".to_string()], "{highlights:?}");
    assert_eq!(highlights["item_names"], vec!["Copper tea <em>kettle</em>".to_string()]);
    assert_eq!(highlights["skus"], vec!["SKU-<em>KETTLE</em>-01".to_string()]);
    // matched in the identifier's parts, reported under the identifier's field
    assert_eq!(highlights["tracking_numbers"], vec!["3SPOST<em>123456789</em>".to_string()]);
    for field in highlights.keys() {
        assert!(TEXT_FIELDS.contains(&field.as_str()), "{field} is a text field");
    }
    // a fuzzy match is highlighted too
    let fuzzy = fixture.live.search(&text_query("ketle")).await.expect("search");
    assert_eq!(fuzzy.hits[0].highlights.get("item_names"), Some(&vec!["Copper tea <em>kettle</em>".to_string()]));
    // no text, no highlights
    let unfiltered = fixture.live.search(&SearchQuery::default()).await.expect("search");
    assert!(unfiltered.hits[0].highlights.is_empty());
}

// ---- search: filters, facets, totals ----

#[tokio::test]
async fn filters_narrow_the_matches() {
    let fixture = fixture().await;
    let early = totalling(placed(order("Ada Lovelace", "Notebook", "SKU-NOTE-01"), at(1, 0)), 1000);
    let middle = totalling(
        with_payment(placed(order("Grace Hopper", "Notebook", "SKU-NOTE-01"), at(2, 0)), PaymentStatus::Captured),
        2000,
    );
    let mut late = totalling(
        with_shipment(
            with_payment(placed(order("Alan Turing", "Notebook", "SKU-NOTE-01"), at(3, 0)), PaymentStatus::Refunded),
            ShipmentStatus::Returned,
            "3SPOST000000001",
        ),
        3000,
    );
    late = with_payment(late, PaymentStatus::Captured);
    late.status = Some(OrderStatus::Cancelled);
    index_new(fixture.live.as_ref(), &[early.clone(), middle.clone(), late.clone()]).await;
    let index = fixture.live.as_ref();
    let run = |query: SearchQuery| async move { sorted(search_ids(index, query).await) };

    let by_customer = SearchQuery { customer_id: Some("customer-grace".to_string()), ..SearchQuery::default() };
    assert_eq!(run(by_customer).await, vec![middle.order_id]);
    let cancelled = SearchQuery {
        filters: SearchFilters { status: Some(OrderStatus::Cancelled), ..Default::default() },
        ..SearchQuery::default()
    };
    assert_eq!(run(cancelled).await, vec![late.order_id]);
    // any payment with the status matches
    let captured = SearchQuery {
        filters: SearchFilters { payment_status: Some(PaymentStatus::Captured), ..Default::default() },
        ..SearchQuery::default()
    };
    assert_eq!(run(captured).await, sorted(vec![middle.order_id, late.order_id]));
    let returned = SearchQuery {
        filters: SearchFilters { shipment_status: Some(ShipmentStatus::Returned), ..Default::default() },
        ..SearchQuery::default()
    };
    assert_eq!(run(returned).await, vec![late.order_id]);
    // placed_from inclusive, placed_to exclusive
    let window = SearchQuery {
        filters: SearchFilters { placed_from: Some(at(2, 0)), placed_to: Some(at(3, 0)), ..Default::default() },
        ..SearchQuery::default()
    };
    assert_eq!(run(window).await, vec![middle.order_id]);
    let just_after = SearchQuery {
        filters: SearchFilters { placed_to: Some(at(1, 0) + Duration::milliseconds(1)), ..Default::default() },
        ..SearchQuery::default()
    };
    assert_eq!(run(just_after).await, vec![early.order_id]);
    // totals inclusive at both ends
    let totals = SearchQuery {
        filters: SearchFilters { min_total: Some(2000), max_total: Some(3000), ..Default::default() },
        ..SearchQuery::default()
    };
    assert_eq!(run(totals).await, sorted(vec![middle.order_id, late.order_id]));
    let combined = SearchQuery {
        filters: SearchFilters {
            max_total: Some(2000),
            payment_status: Some(PaymentStatus::Captured),
            ..Default::default()
        },
        text: SearchText::parse("notebook").expect("parses"),
        ..SearchQuery::default()
    };
    assert_eq!(run(combined).await, vec![middle.order_id]);
}

#[tokio::test]
async fn incomplete_documents_are_left_out_unless_asked_for() {
    let fixture = fixture().await;
    let complete = order("Ada Lovelace", "Notebook", "SKU-NOTE-01");
    let incomplete = incomplete_with_payment();
    index_new(fixture.live.as_ref(), &[complete.clone(), incomplete.clone()]).await;

    assert_eq!(search_ids(fixture.live.as_ref(), SearchQuery::default()).await, vec![complete.order_id]);
    let including = SearchQuery { include_incomplete: true, ..SearchQuery::default() };
    // incomplete documents have no placed_at: they come last
    assert_eq!(
        search_ids(fixture.live.as_ref(), including.clone()).await,
        vec![complete.order_id, incomplete.order_id]
    );
    let by_total = SearchQuery { sort: SortOrder::Total, ..including.clone() };
    assert_eq!(search_ids(fixture.live.as_ref(), by_total).await, vec![complete.order_id, incomplete.order_id]);
    let paged = SearchQuery { limit: 1, ..including };
    assert_eq!(all_pages(fixture.live.as_ref(), &paged).await, vec![complete.order_id, incomplete.order_id]);
    assert_eq!(fixture.live.count().await.expect("count"), 2, "count includes incomplete documents");
}

#[tokio::test]
async fn total_and_facets_count_every_match_not_just_the_page() {
    let fixture = fixture().await;
    let captured = with_payment(order("Ada Lovelace", "Notebook", "SKU-NOTE-01"), PaymentStatus::Captured);
    let refunded_and_captured = with_payment(
        with_payment(order("Grace Hopper", "Notebook", "SKU-NOTE-01"), PaymentStatus::Captured),
        PaymentStatus::Refunded,
    );
    let mut cancelled = with_shipment(order("Alan Turing", "Notebook", "SKU-NOTE-01"), ShipmentStatus::Created, "T1");
    cancelled.status = Some(OrderStatus::Cancelled);
    let not_matching = order("Bob Marley", "Enamel mug", "SKU-MUG-02");
    index_new(fixture.live.as_ref(), &[captured, refunded_and_captured, cancelled, not_matching]).await;

    let query = SearchQuery { limit: 1, ..text_query("notebook") };
    let results = fixture.live.search(&query).await.expect("search");
    assert_eq!(results.hits.len(), 1);
    assert_eq!(results.total, 3);
    let counts = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(symbol, count)| (symbol.to_string(), *count)).collect()
    };
    assert_eq!(results.facets.status, counts(&[("CANCELLED", 1), ("PLACED", 2)]));
    assert_eq!(results.facets.payment_status, counts(&[("CAPTURED", 2), ("REFUNDED", 1)]));
    assert_eq!(results.facets.shipment_status, counts(&[("CREATED", 1)]));

    // the same on a later page
    let after = Cursor::decode(results.next_cursor.as_deref().expect("more pages")).expect("cursor");
    let second_page = fixture.live.search(&SearchQuery { after: Some(after), ..query }).await.expect("page 2");
    assert_eq!(second_page.total, 3);
    assert_eq!(second_page.facets, results.facets);
}

// ---- search: sort and pagination ----

/// Seven notebooks, with ties in placed_at and in total, so the order id must break them.
fn notebooks() -> Vec<OrderHistory> {
    let mut documents = Vec::new();
    for (position, (day, total)) in
        [(1, 500), (2, 700), (2, 700), (3, 100), (3, 900), (3, 900), (4, 300)].into_iter().enumerate()
    {
        let name = format!("Customer{position} Person");
        let item = if position % 2 == 0 { "Notebook" } else { "Notebook notebook refill" };
        documents.push(totalling(placed(order(&name, item, "SKU-NOTE-01"), at(day, 0)), total));
    }
    documents
}

#[tokio::test]
async fn newest_and_total_sort_descending_with_the_order_id_breaking_ties() {
    let fixture = fixture().await;
    let documents = notebooks();
    index_new(fixture.live.as_ref(), &documents).await;

    let mut newest = documents.clone();
    newest.sort_by(|a, b| b.placed_at.cmp(&a.placed_at).then(a.order_id.to_string().cmp(&b.order_id.to_string())));
    let newest_ids: Vec<Uuid> = newest.iter().map(|document| document.order_id).collect();
    let mut by_total = documents.clone();
    by_total.sort_by(|a, b| {
        let total = |document: &OrderHistory| document.total.as_ref().map(|money| money.amount_minor);
        total(b).cmp(&total(a)).then(a.order_id.to_string().cmp(&b.order_id.to_string()))
    });
    let total_ids: Vec<Uuid> = by_total.iter().map(|document| document.order_id).collect();

    let newest_query = SearchQuery { sort: SortOrder::Newest, ..SearchQuery::default() };
    assert_eq!(search_ids(fixture.live.as_ref(), newest_query).await, newest_ids);
    // relevance without text is newest
    assert_eq!(search_ids(fixture.live.as_ref(), SearchQuery::default()).await, newest_ids);
    let total_query = SearchQuery { sort: SortOrder::Total, ..SearchQuery::default() };
    assert_eq!(search_ids(fixture.live.as_ref(), total_query).await, total_ids);
    let total_with_text = SearchQuery { sort: SortOrder::Total, ..text_query("notebook") };
    let results = fixture.live.search(&total_with_text).await.expect("search");
    assert_eq!(ids(&results), total_ids);
    assert!(results.hits.iter().all(|hit| hit.score.is_none()), "scores only with relevance");
}

#[tokio::test]
async fn pages_have_no_duplicates_or_gaps_in_every_sort_order() {
    let fixture = fixture().await;
    let documents = notebooks();
    index_new(fixture.live.as_ref(), &documents).await;

    for sort in [SortOrder::Relevance, SortOrder::Newest, SortOrder::Total] {
        for text in [None, Some("notebook")] {
            let whole = SearchQuery {
                sort,
                text: text.and_then(|raw| SearchText::parse(raw).expect("parses")),
                limit: 20,
                ..SearchQuery::default()
            };
            let in_one_page = fixture.live.search(&whole).await.expect("one page");
            assert_eq!(in_one_page.next_cursor, None, "everything fits: no cursor");
            for limit in [1, 2, 3, 7] {
                let paged = SearchQuery { limit, ..whole.clone() };
                assert_eq!(
                    all_pages(fixture.live.as_ref(), &paged).await,
                    ids(&in_one_page),
                    "{sort:?} {text:?} in pages of {limit}"
                );
            }
        }
    }
    // relevance with text: best first, and scores present and not increasing
    let relevance = fixture.live.search(&text_query("notebook")).await.expect("search");
    let scores: Vec<f32> = relevance.hits.iter().map(|hit| hit.score.expect("score")).collect();
    assert!(scores.windows(2).all(|pair| pair[0] >= pair[1]), "{scores:?}");
}

#[tokio::test]
async fn a_cursor_from_another_sort_order_is_a_bad_query() {
    let fixture = fixture().await;
    index_new(fixture.live.as_ref(), &notebooks()).await;
    let newest = SearchQuery { sort: SortOrder::Newest, limit: 2, ..SearchQuery::default() };
    let page = fixture.live.search(&newest).await.expect("page");
    let cursor = Cursor::decode(page.next_cursor.as_deref().expect("more")).expect("cursor");
    let by_total = SearchQuery { sort: SortOrder::Total, after: Some(cursor), ..SearchQuery::default() };
    let refused = fixture.live.search(&by_total).await;
    assert!(matches!(refused, Err(IndexError::BadQuery(_))), "{refused:?}");
}

#[tokio::test]
async fn a_stored_document_round_trips_unchanged_through_search() {
    let fixture = fixture().await;
    let document = with_shipment(
        with_payment(order("Zoë Adams", "Copper tea kettle", "SKU-KETTLE-01"), PaymentStatus::Captured),
        ShipmentStatus::Delivered,
        "3SPOST123456789",
    );
    index_new(fixture.live.as_ref(), std::slice::from_ref(&document)).await;
    let results = fixture.live.search(&text_query("zoe")).await.expect("search");
    assert_eq!(results.hits[0].document, document);
    assert!(results.hits[0].score.is_some());
    // the raw source carries the document whole, under its own field
    let raw: Value = serde_json::to_value(&document).expect("json");
    assert_eq!(source_of(&document).expect("source")[DOCUMENT_FIELD], raw);
}

// ---- the backend-neutral conformance suite (the same checks the tantivy backend passes) ----

#[tokio::test]
async fn conforms_to_the_search_semantics_both_backends_share() {
    let fixture = fixture().await;
    conformance::run_all(fixture.live.as_ref()).await;
}

#[tokio::test]
async fn conformance_checks_pass_on_a_view_being_rebuilt_and_after_its_promotion() {
    let fixture = fixture().await;
    // a next view is addressed by index name rather than alias; both must behave the same
    let next = fixture.catalog.create_next("g2").await.expect("next view");
    conformance::pagination_visits_every_hit_once_in_each_sort_order(next.as_ref()).await;
    fixture.catalog.promote("g2").await.expect("promote");
    conformance::facets_count_every_matching_document(fixture.live.as_ref()).await;
    conformance::pagination_visits_every_hit_once_in_each_sort_order(fixture.live.as_ref()).await;
}
