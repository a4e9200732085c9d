//! The search semantics every backend must share, as checks any [`HistoryIndex`] can be run
//! through: `conformance::run_all(&index).await` from the backend's tests.
//!
//! Each check seeds its own documents under a fresh customer id (or a fresh tracking number)
//! and asks only about those, so the checks can share one index, run in any order and ignore
//! whatever else the index holds. They assert which documents match and in what order, never
//! score values. A check panics on the first difference, like any test.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use events::samples;
use events::{OrderEventType, PaymentEventType};
use order_view::search::{MAX_LIMIT, SearchFilters};
use order_view::{OrderHistory, OrderStatus, PaymentStatus, ShipmentStatus, SourceEvent};
use uuid::Uuid;

use crate::index::query::SearchHit;
use crate::index::{
    Checkpoint, Cursor, HistoryIndex, IndexError, SearchQuery, SearchResults, SearchText, SortOrder, Versioned,
    WriteToken,
};

/// Runs every check against `index`.
pub(crate) async fn run_all(index: &dyn HistoryIndex) {
    misspelled_customer_name_is_found(index).await;
    phrase_matches_words_in_order_within_one_value(index).await;
    tracking_numbers_and_skus_are_found_whole_and_by_parts(index).await;
    filters_combine_with_text(index).await;
    pagination_visits_every_hit_once_in_each_sort_order(index).await;
    a_cursor_from_another_sort_order_is_rejected(index).await;
    facets_count_every_matching_document(index).await;
    incomplete_documents_are_left_out_unless_asked_for(index).await;
    highlights_mark_the_matching_words(index).await;
    inverted_ranges_match_nothing(index).await;
    redelivered_documents_are_not_duplicated(index).await;
    deleted_documents_are_gone_and_can_be_stored_again(index).await;
    checkpoint_round_trips(index).await;
}

pub(crate) async fn misspelled_customer_name_is_found(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let zoe = scope.order("Zoë Ørsted-Nakamura", "zoe@example.com");
    let jansen = scope.order("Marta Jansen", "marta@example.com");
    let janssen = scope.order("Marta Janssen", "mj@example.com");
    let piet = scope.order("Piet Hein", "piet@example.com");
    seed(index, &[&zoe, &jansen, &janssen, &piet]).await;

    assert_eq!(scope.matching(index, "zoee").await, vec![zoe.order_id], "one typo in a short name");
    assert_eq!(scope.matching(index, "Zoe").await, vec![zoe.order_id], "diacritics folded");
    assert_eq!(scope.matching(index, "orsted").await, vec![zoe.order_id], "diacritics folded");
    assert_eq!(scope.matching(index, "nakmuraa").await, vec![zoe.order_id], "two typos in a long word");
    assert_eq!(
        scope.matching(index, "jansen").await,
        vec![jansen.order_id, janssen.order_id],
        "an exact match ranks before a fuzzy one"
    );
    assert_eq!(
        scope.matching(index, "janssen").await,
        vec![janssen.order_id, jansen.order_id],
        "an exact match ranks before a fuzzy one"
    );
    assert_eq!(scope.matching(index, "zoee hein").await, Vec::<Uuid>::new(), "every word must match");
}

pub(crate) async fn phrase_matches_words_in_order_within_one_value(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let mut in_order = scope.order("Ann Peeters", "ann@example.com");
    in_order.items = items(&[("SKU-KETTLE-01", "Copper tea kettle"), ("SKU-MUG-07", "Stoneware mug")]);
    let mut reversed = scope.order("Bram Claes", "bram@example.com");
    reversed.items = items(&[("SKU-TABS-03", "Kettle tea tablets")]);
    seed(index, &[&in_order, &reversed]).await;

    assert_eq!(scope.matching(index, "\"tea kettle\"").await, vec![in_order.order_id]);
    assert_eq!(scope.matching(index, "\"Kettle TEA\"").await, vec![reversed.order_id], "words out of order");
    assert_eq!(scope.matching(index, "\"mug copper\"").await, Vec::<Uuid>::new(), "across two item names");
    assert_eq!(
        sorted(scope.matching(index, "tea kettle").await),
        sorted(vec![in_order.order_id, reversed.order_id]),
        "unquoted words in any order"
    );
}

pub(crate) async fn tracking_numbers_and_skus_are_found_whole_and_by_parts(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let digits = format!("{:09}", Uuid::new_v4().as_u128() % 1_000_000_000);
    let tracking_number = format!("3SPOST{digits}");
    let mut kettle = scope.order("Ann Peeters", "ann@example.com");
    kettle.items = items(&[("SKU-KETTLE-01", "Copper tea kettle")]);
    kettle.shipments = vec![(events::ShipmentStatus::InTransit, tracking_number.clone())];
    let mut grinder = scope.order("Bram Claes", "bram@example.com");
    grinder.items = items(&[("SKU-GRINDER-02", "Burr coffee grinder")]);
    grinder.shipments = vec![(events::ShipmentStatus::InTransit, "CP000000001NL".to_string())];
    seed(index, &[&kettle, &grinder]).await;

    assert_eq!(scope.matching(index, &tracking_number).await, vec![kettle.order_id], "tracking number as typed");
    assert_eq!(
        scope.matching(index, &tracking_number.to_lowercase()).await,
        vec![kettle.order_id],
        "tracking number in lowercase"
    );
    let by_digits = scope.matching(index, &digits).await;
    assert_eq!(by_digits.first(), Some(&kettle.order_id), "tracking number by its digits");
    assert_eq!(scope.matching(index, "SKU-KETTLE-01").await, vec![kettle.order_id], "sku as typed");
    assert_eq!(scope.matching(index, "sku kettle 01").await, vec![kettle.order_id], "sku in words");
    assert_eq!(scope.matching(index, "grinder").await, vec![grinder.order_id], "sku by a part");
}

pub(crate) async fn filters_combine_with_text(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let base = scope.base_time;
    let board = [("SKU-BOARD-01", "Walnut cutting board")];
    let mut captured = scope.order("Ann Peeters", "ann@example.com");
    (captured.items, captured.total_minor, captured.placed_at) = (items(&board), 2000, base);
    captured.payments = vec![PaymentEventType::PaymentCaptured];
    captured.shipments = vec![(events::ShipmentStatus::Delivered, scope.tracking_number(1))];
    let mut cancelled = scope.order("Bram Claes", "bram@example.com");
    (cancelled.items, cancelled.total_minor, cancelled.placed_at) = (items(&board), 5000, base + Duration::days(1));
    cancelled.cancelled = true;
    cancelled.payments = vec![PaymentEventType::PaymentRefunded];
    let mut in_transit = scope.order("Cor Dekker", "cor@example.com");
    (in_transit.items, in_transit.total_minor, in_transit.placed_at) = (items(&board), 8000, base + Duration::days(2));
    in_transit.payments = vec![PaymentEventType::PaymentAuthorized];
    in_transit.shipments = vec![(events::ShipmentStatus::InTransit, scope.tracking_number(2))];
    let mut shelf = scope.order("Dirk Evers", "dirk@example.com");
    (shelf.items, shelf.total_minor, shelf.placed_at) = (items(&[("SKU-SHELF-01", "Oak shelf")]), 3000, base);
    shelf.payments = vec![PaymentEventType::PaymentCaptured];
    seed(index, &[&captured, &cancelled, &in_transit, &shelf]).await;

    let walnut = || scope.text_query("walnut");
    let cases: Vec<(&str, SearchQuery, Vec<Uuid>)> = vec![
        ("text alone", walnut(), vec![captured.order_id, cancelled.order_id, in_transit.order_id]),
        (
            "status",
            SearchQuery {
                filters: SearchFilters { status: Some(OrderStatus::Cancelled), ..Default::default() },
                ..walnut()
            },
            vec![cancelled.order_id],
        ),
        (
            "any payment's status",
            SearchQuery {
                filters: SearchFilters { payment_status: Some(PaymentStatus::Captured), ..Default::default() },
                ..walnut()
            },
            vec![captured.order_id],
        ),
        (
            "any shipment's status",
            SearchQuery {
                filters: SearchFilters { shipment_status: Some(ShipmentStatus::InTransit), ..Default::default() },
                ..walnut()
            },
            vec![in_transit.order_id],
        ),
        (
            "totals, both bounds inclusive",
            SearchQuery {
                filters: SearchFilters { min_total: Some(2000), max_total: Some(5000), ..Default::default() },
                ..walnut()
            },
            vec![captured.order_id, cancelled.order_id],
        ),
        (
            "placed_from inclusive, placed_to exclusive",
            SearchQuery {
                filters: SearchFilters { placed_from: Some(in_transit.placed_at), ..Default::default() },
                ..walnut()
            },
            vec![in_transit.order_id],
        ),
        (
            "placed_to exclusive",
            SearchQuery {
                filters: SearchFilters { placed_to: Some(in_transit.placed_at), ..Default::default() },
                ..walnut()
            },
            vec![captured.order_id, cancelled.order_id],
        ),
        (
            "a one-day window",
            SearchQuery {
                filters: SearchFilters {
                    placed_from: Some(base + Duration::days(1)),
                    placed_to: Some(base + Duration::days(2)),
                    ..Default::default()
                },
                ..walnut()
            },
            vec![cancelled.order_id],
        ),
        (
            "a filter without text",
            SearchQuery {
                filters: SearchFilters { payment_status: Some(PaymentStatus::Captured), ..Default::default() },
                ..scope.query()
            },
            vec![captured.order_id, shelf.order_id],
        ),
    ];
    for (case, query, expected) in cases {
        let results = search(index, &query).await;
        assert_eq!(sorted(ids(&results.hits)), sorted(expected), "{case}");
        assert_eq!(results.total, results.hits.len() as u64, "{case}");
    }
}

pub(crate) async fn pagination_visits_every_hit_once_in_each_sort_order(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let mut documents = Vec::new();
    for number in 0..23_i64 {
        let mut order = scope.order(&format!("Customer {number}"), &format!("customer{number}@example.com"));
        order.items = if number % 3 == 0 {
            items(&[("SKU-NAPKIN-01", "Linen napkin set"), ("SKU-CLOTH-01", "Linen tablecloth")])
        } else {
            items(&[("SKU-NAPKIN-01", "Linen napkin set")])
        };
        // ties on every sort key, so the order id has to break them
        order.placed_at = scope.base_time + Duration::hours(number / 3);
        order.total_minor = 1000 + (number % 4) * 250;
        documents.push(order);
    }
    seed(index, &documents.iter().collect::<Vec<_>>()).await;

    let mut newest: Vec<&OrderSpec> = documents.iter().collect();
    newest.sort_by_key(|order| (std::cmp::Reverse(order.placed_at), order.order_id));
    let newest: Vec<Uuid> = newest.iter().map(|order| order.order_id).collect();
    let mut largest: Vec<&OrderSpec> = documents.iter().collect();
    largest.sort_by_key(|order| (std::cmp::Reverse(order.total_minor), order.order_id));
    let largest: Vec<Uuid> = largest.iter().map(|order| order.order_id).collect();

    let by_sort = |sort: SortOrder| SearchQuery { sort, ..scope.query() };
    let by_sort_with_text = |sort: SortOrder| SearchQuery { sort, ..scope.text_query("linen") };
    let ordered_cases = [
        ("newest", by_sort(SortOrder::Newest), &newest),
        ("total", by_sort(SortOrder::Total), &largest),
        ("relevance without text is newest", by_sort(SortOrder::Relevance), &newest),
        ("newest with text", by_sort_with_text(SortOrder::Newest), &newest),
        ("total with text", by_sort_with_text(SortOrder::Total), &largest),
    ];
    for (case, query, expected) in ordered_cases {
        for page_size in [1, 4, 7] {
            let hits = page_through(index, query.clone(), page_size).await;
            assert_eq!(ids(&hits), *expected, "{case}, pages of {page_size}");
        }
    }

    for page_size in [1, 4, 7] {
        let hits = page_through(index, by_sort_with_text(SortOrder::Relevance), page_size).await;
        let found = ids(&hits);
        assert_eq!(found.len(), documents.len(), "relevance, pages of {page_size}: every document once");
        assert_eq!(sorted(found), sorted(newest.clone()), "relevance, pages of {page_size}");
        for pair in hits.windows(2) {
            let (first, second) = (&pair[0], &pair[1]);
            let (Some(first_score), Some(second_score)) = (first.score, second.score) else {
                panic!("relevance hits have scores");
            };
            assert!(first_score >= second_score, "relevance, pages of {page_size}: best first");
            if first_score == second_score {
                assert!(first.document.order_id < second.document.order_id, "relevance ties by order id");
            }
        }
        let best = &hits[0].document;
        assert_eq!(best.items.len(), 2, "relevance: the documents with the word twice come first");
    }
}

pub(crate) async fn a_cursor_from_another_sort_order_is_rejected(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let first = scope.order("Ann Peeters", "ann@example.com");
    let second = scope.order("Bram Claes", "bram@example.com");
    seed(index, &[&first, &second]).await;

    let page = search(index, &SearchQuery { sort: SortOrder::Newest, limit: 1, ..scope.query() }).await;
    let cursor = Cursor::decode(&page.next_cursor.expect("a second page")).expect("a cursor");
    let other_sort = SearchQuery { sort: SortOrder::Total, after: Some(cursor), ..scope.query() };
    let result = index.search(&other_sort).await;
    assert!(matches!(result, Err(IndexError::BadQuery(_))), "got {result:?}");
}

pub(crate) async fn facets_count_every_matching_document(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let mut captured = scope.order("Ann Peeters", "ann@example.com");
    captured.payments = vec![PaymentEventType::PaymentCaptured];
    captured.shipments = vec![(events::ShipmentStatus::Delivered, scope.tracking_number(1))];
    let mut two_payments = scope.order("Bram Claes", "bram@example.com");
    two_payments.payments = vec![PaymentEventType::PaymentAuthorized, PaymentEventType::PaymentRefunded];
    let mut cancelled = scope.order("Cor Dekker", "cor@example.com");
    cancelled.cancelled = true;
    cancelled.payments = vec![PaymentEventType::PaymentDeclined];
    let mut two_shipments = scope.order("Dirk Evers", "dirk@example.com");
    two_shipments.shipments = vec![
        (events::ShipmentStatus::InTransit, scope.tracking_number(2)),
        (events::ShipmentStatus::Delivered, scope.tracking_number(3)),
    ];
    seed(index, &[&captured, &two_payments, &cancelled, &two_shipments]).await;

    // one hit per page: facets and total cover every match, not the page
    let all = search(index, &SearchQuery { limit: 1, ..scope.query() }).await;
    assert_eq!(all.total, 4);
    assert_eq!(all.hits.len(), 1);
    assert_eq!(all.facets.status, counts(&[("PLACED", 3), ("CANCELLED", 1)]));
    assert_eq!(
        all.facets.payment_status,
        counts(&[("CAPTURED", 1), ("AUTHORIZED", 1), ("REFUNDED", 1), ("DECLINED", 1)])
    );
    assert_eq!(all.facets.shipment_status, counts(&[("DELIVERED", 2), ("IN_TRANSIT", 1)]));

    let placed = search(
        index,
        &SearchQuery {
            filters: SearchFilters { status: Some(OrderStatus::Placed), ..Default::default() },
            ..scope.query()
        },
    )
    .await;
    assert_eq!(placed.total, 3);
    assert_eq!(placed.facets.status, counts(&[("PLACED", 3)]));
    assert_eq!(placed.facets.payment_status, counts(&[("CAPTURED", 1), ("AUTHORIZED", 1), ("REFUNDED", 1)]));

    let cursor = Cursor::decode(&all.next_cursor.expect("more pages")).expect("a cursor");
    let second_page = search(index, &SearchQuery { limit: 1, after: Some(cursor), ..scope.query() }).await;
    assert_eq!(second_page.total, 4, "a later page counts every match too");
    assert_eq!(second_page.facets, all.facets, "a later page counts every match too");
}

pub(crate) async fn incomplete_documents_are_left_out_unless_asked_for(index: &dyn HistoryIndex) {
    // searched without a customer (an incomplete document has none): a number nothing else has
    let tracking_number = format!("INC{}", Uuid::new_v4().simple());
    let shipment = samples::shipment_event(Uuid::new_v4(), Uuid::new_v4(), events::ShipmentStatus::Created, 1);
    let mut incomplete = OrderHistory::empty(shipment.order_id);
    let mut shipment = shipment;
    shipment.shipment.tracking_number = tracking_number.clone();
    incomplete.apply(&SourceEvent::Shipment(shipment));
    assert!(incomplete.incomplete);
    store_and_commit(index, vec![incomplete.clone()]).await;

    let by_tracking_number = SearchQuery { text: parse(&tracking_number), ..SearchQuery::default() };
    let hidden = search(index, &by_tracking_number).await;
    assert!(hidden.hits.is_empty() && hidden.total == 0, "incomplete documents are left out by default");
    for sort in [SortOrder::Relevance, SortOrder::Newest, SortOrder::Total] {
        let included =
            search(index, &SearchQuery { include_incomplete: true, sort, ..by_tracking_number.clone() }).await;
        assert_eq!(ids(&included.hits), vec![incomplete.order_id], "included on request, sorted by {sort:?}");
    }
    let got = index.get(incomplete.order_id).await.expect("get works");
    assert_eq!(got, Some(incomplete), "get returns incomplete documents");
}

pub(crate) async fn highlights_mark_the_matching_words(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let mut zoe = scope.order("Zoë Ørsted-Nakamura", "zoe@example.com");
    zoe.items = items(&[("SKU-KETTLE-01", "Copper tea kettle"), ("SKU-MUG-07", "Stoneware mug")]);
    seed(index, &[&zoe]).await;

    let results = search(index, &scope.text_query("zoee \"tea kettle\"")).await;
    let hit = results.hits.first().expect("one hit");
    let names = hit.highlights.get("customer_name").expect("the name is highlighted");
    assert!(names.iter().any(|snippet| snippet.contains("<em>Zoë</em>")), "fuzzy match highlighted: {names:?}");
    let item_names = hit.highlights.get("item_names").expect("the item is highlighted");
    assert!(
        item_names
            .iter()
            .any(|snippet| snippet.contains("<em>") && snippet.contains("tea") && snippet.contains("kettle")),
        "phrase highlighted: {item_names:?}"
    );
    assert!(
        item_names.iter().all(|snippet| !snippet.contains("mug")),
        "values without a match are not highlighted: {item_names:?}"
    );
    assert!(!hit.highlights.contains_key("addresses"), "fields without a match are not highlighted");

    let without_text = search(index, &scope.query()).await;
    assert!(without_text.hits.iter().all(|hit| hit.highlights.is_empty()), "no text, no highlights");
}

pub(crate) async fn inverted_ranges_match_nothing(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let order = scope.order("Ann Peeters", "ann@example.com");
    seed(index, &[&order]).await;

    let placed_at = order.placed_at;
    let cases = [
        (
            "placed_from after placed_to",
            SearchQuery {
                filters: SearchFilters {
                    placed_from: Some(placed_at + Duration::days(1)),
                    placed_to: Some(placed_at - Duration::days(1)),
                    ..Default::default()
                },
                ..scope.query()
            },
        ),
        (
            "an empty time window",
            SearchQuery {
                filters: SearchFilters {
                    placed_from: Some(placed_at),
                    placed_to: Some(placed_at),
                    ..Default::default()
                },
                ..scope.query()
            },
        ),
        (
            "min_total above max_total",
            SearchQuery {
                filters: SearchFilters { min_total: Some(5000), max_total: Some(10), ..Default::default() },
                ..scope.query()
            },
        ),
    ];
    for (case, query) in cases {
        let results = search(index, &query).await;
        assert!(results.hits.is_empty() && results.total == 0, "{case}");
        assert_eq!(results.next_cursor, None, "{case}");
    }
    assert_eq!(search(index, &scope.query()).await.total, 1, "the document is there");
}

pub(crate) async fn redelivered_documents_are_not_duplicated(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let order = scope.order("Ann Peeters", "ann@example.com");
    let document = order.document();
    let order_id = document.order_id;

    let first = Versioned { document: document.clone(), token: WriteToken::Absent };
    assert!(index.store(vec![first]).await.expect("stored").conflicts.is_empty());
    let loaded = index.load(&[order_id, Uuid::new_v4()]).await.expect("loaded");
    assert_eq!(loaded.len(), 1, "unknown ids are absent");
    let before_commit = loaded.get(&order_id).expect("load sees what was stored before a commit");
    assert_eq!(before_commit.document, document);
    assert_ne!(before_commit.token, WriteToken::Absent);
    // the batch is delivered again before the commit
    assert!(index.store(vec![before_commit.clone()]).await.expect("stored").conflicts.is_empty());
    index.commit(&Checkpoint::default()).await.expect("committed");

    // and once more after it, now with a payment
    let loaded = index.load(&[order_id]).await.expect("loaded");
    let stored = loaded.get(&order_id).expect("committed documents are loaded");
    let mut paid = stored.document.clone();
    paid.apply(&SourceEvent::Payment(samples::payment_event(
        order_id,
        Uuid::new_v4(),
        PaymentEventType::PaymentCaptured,
        1,
    )));
    let again = Versioned { document: paid.clone(), token: stored.token };
    assert!(index.store(vec![again]).await.expect("stored").conflicts.is_empty());
    index.commit(&Checkpoint::default()).await.expect("committed");

    let results = search(index, &scope.query()).await;
    assert_eq!(results.total, 1, "one document per order");
    assert_eq!(results.hits[0].document, paid);
    assert_eq!(index.get(order_id).await.expect("get works"), Some(paid));
}

pub(crate) async fn deleted_documents_are_gone_and_can_be_stored_again(index: &dyn HistoryIndex) {
    let scope = Scope::new();
    let kept = scope.order("Ann Peeters", "ann@example.com");
    let deleted = scope.order("Bram Claes", "bram@example.com");
    seed(index, &[&kept, &deleted]).await;
    let never_stored = Uuid::new_v4();

    index.delete(&[deleted.order_id, never_stored]).await.expect("an unknown id is no error");
    let loaded = index.load(&[kept.order_id, deleted.order_id]).await.expect("loaded");
    assert!(!loaded.contains_key(&deleted.order_id), "load sees a delete before the commit");
    assert!(loaded.contains_key(&kept.order_id), "only the named documents go");
    index.commit(&Checkpoint::default()).await.expect("committed");
    assert_eq!(index.get(deleted.order_id).await.expect("get works"), None);
    assert_eq!(ids(&search(index, &scope.query()).await.hits), vec![kept.order_id], "search forgets it");

    // a repair deletes, then projection may create the document again from a later event
    seed(index, &[&deleted]).await;
    let stored_again = index.get(deleted.order_id).await.expect("get works");
    assert_eq!(stored_again.map(|document| document.order_id), Some(deleted.order_id));
    assert_eq!(search(index, &scope.query()).await.total, 2);
}

pub(crate) async fn checkpoint_round_trips(index: &dyn HistoryIndex) {
    let mut checkpoint = Checkpoint::default();
    checkpoint.advance("orders", 0, 42);
    checkpoint.advance("orders", 1, 7);
    checkpoint.advance("payments", 0, 3);
    index.commit(&checkpoint).await.expect("committed");
    // Elasticsearch keeps no checkpoint: the consumer group's offsets are the checkpoint
    if let Some(committed) = index.checkpoint().await.expect("checkpoint read") {
        assert_eq!(committed, checkpoint);
    }
}

/// A fresh customer id: the documents of one check, apart from everything else in the index.
struct Scope {
    customer_id: String,
    base_time: DateTime<Utc>,
    tracking_prefix: String,
}

impl Scope {
    fn new() -> Scope {
        let id = Uuid::new_v4();
        let base_time = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default();
        Scope {
            customer_id: format!("conformance-{}", id.simple()),
            base_time,
            tracking_prefix: format!("CF{:08}", id.as_u128() % 100_000_000),
        }
    }

    /// An order of this scope's customer; the other fields are plain defaults to change.
    fn order(&self, name: &str, email: &str) -> OrderSpec {
        OrderSpec {
            order_id: Uuid::new_v4(),
            customer_id: self.customer_id.clone(),
            customer_name: name.to_string(),
            customer_email: email.to_string(),
            items: items(&[("SKU-PLAIN-00", "Plain box")]),
            placed_at: self.base_time,
            total_minor: 1000,
            cancelled: false,
            payments: Vec::new(),
            shipments: Vec::new(),
        }
    }

    /// A tracking number no other scope has.
    fn tracking_number(&self, number: u32) -> String {
        format!("{}X{number:03}", self.tracking_prefix)
    }

    fn query(&self) -> SearchQuery {
        SearchQuery { customer_id: Some(self.customer_id.clone()), limit: MAX_LIMIT, ..SearchQuery::default() }
    }

    fn text_query(&self, text: &str) -> SearchQuery {
        SearchQuery { text: parse(text), ..self.query() }
    }

    /// The ids of this scope's documents that `text` matches, in relevance order.
    async fn matching(&self, index: &dyn HistoryIndex, text: &str) -> Vec<Uuid> {
        ids(&search(index, &self.text_query(text)).await.hits)
    }
}

/// What an order is made of; [`OrderSpec::document`] builds it from events as projection does.
#[derive(Clone, Debug)]
struct OrderSpec {
    order_id: Uuid,
    customer_id: String,
    customer_name: String,
    customer_email: String,
    /// SKU and name.
    items: Vec<(String, String)>,
    placed_at: DateTime<Utc>,
    total_minor: i64,
    cancelled: bool,
    /// One payment per entry, in the state the event type leaves it in.
    payments: Vec<PaymentEventType>,
    /// One shipment per entry, with its tracking number.
    shipments: Vec<(events::ShipmentStatus, String)>,
}

impl OrderSpec {
    fn document(&self) -> OrderHistory {
        let mut document = OrderHistory::empty(self.order_id);
        document.apply(&SourceEvent::Order(self.order_event(OrderEventType::OrderPlaced, 1)));
        if self.cancelled {
            document.apply(&SourceEvent::Order(self.order_event(OrderEventType::OrderCancelled, 2)));
        }
        for payment_event_type in &self.payments {
            let payment = samples::payment_event(self.order_id, Uuid::new_v4(), *payment_event_type, 1);
            document.apply(&SourceEvent::Payment(payment));
        }
        for (status, tracking_number) in &self.shipments {
            let mut shipment = samples::shipment_event(self.order_id, Uuid::new_v4(), *status, 1);
            shipment.shipment.tracking_number = tracking_number.clone();
            document.apply(&SourceEvent::Shipment(shipment));
        }
        document
    }

    fn order_event(&self, event_type: OrderEventType, version: i64) -> events::OrderEvent {
        let mut event = samples::order_event(self.order_id, event_type, version);
        event.order.customer = events::Customer {
            customer_id: self.customer_id.clone(),
            name: self.customer_name.clone(),
            email: self.customer_email.clone(),
        };
        let money = |amount_minor| events::Money { amount_minor, currency: "EUR".to_string() };
        event.order.items = self
            .items
            .iter()
            .map(|(sku, name)| events::LineItem {
                sku: sku.clone(),
                name: name.clone(),
                quantity: 1,
                unit_price: money(self.total_minor),
            })
            .collect();
        event.order.total = money(self.total_minor);
        event.order.placed_at = self.placed_at;
        event
    }
}

fn items(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(sku, name)| (sku.to_string(), name.to_string())).collect()
}

fn parse(text: &str) -> Option<SearchText> {
    SearchText::parse(text).expect("the test text parses")
}

async fn seed(index: &dyn HistoryIndex, orders: &[&OrderSpec]) {
    store_and_commit(index, orders.iter().map(|order| order.document()).collect()).await;
}

async fn store_and_commit(index: &dyn HistoryIndex, documents: Vec<OrderHistory>) {
    let versioned = documents.into_iter().map(|document| Versioned { document, token: WriteToken::Absent }).collect();
    let outcome = index.store(versioned).await.expect("documents are stored");
    assert!(outcome.conflicts.is_empty(), "new documents conflict with nothing");
    index.commit(&Checkpoint::default()).await.expect("documents are committed");
}

async fn search(index: &dyn HistoryIndex, query: &SearchQuery) -> SearchResults {
    index.search(query).await.expect("the search runs")
}

/// Every hit of `query`, following `next_cursor` page by page.
async fn page_through(index: &dyn HistoryIndex, mut query: SearchQuery, page_size: usize) -> Vec<SearchHit> {
    query.limit = page_size;
    let mut hits: Vec<SearchHit> = Vec::new();
    let mut total = None;
    for _ in 0..1000 {
        let page = search(index, &query).await;
        assert!(page.hits.len() <= page_size, "a page holds at most limit hits");
        assert_eq!(*total.get_or_insert(page.total), page.total, "every page reports the same total");
        hits.extend(page.hits);
        let Some(next_cursor) = page.next_cursor else {
            let unique: HashSet<Uuid> = ids(&hits).into_iter().collect();
            assert_eq!(unique.len(), hits.len(), "no hit on two pages");
            assert_eq!(hits.len() as u64, page.total, "every hit on some page");
            return hits;
        };
        query.after = Some(Cursor::decode(&next_cursor).expect("next_cursor decodes"));
    }
    panic!("pagination does not end");
}

fn ids(hits: &[SearchHit]) -> Vec<Uuid> {
    hits.iter().map(|hit| hit.document.order_id).collect()
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort_unstable();
    ids
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(symbol, count)| (symbol.to_string(), *count)).collect()
}
