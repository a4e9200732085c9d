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
use crate::index::query::{SearchText, payment_status_symbol};
use crate::index::{
    Checkpoint, HistoryIndex, IndexError, SearchQuery, Versioned, ViewCatalog, WriteToken, conformance,
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
async fn stored_documents_are_loaded_at_once_and_searchable_after_commit() {
    let (_directory, index) = new_index();
    let document = placed_order("Wilhelmina Fjord");
    index.store(vec![absent(&document)]).await.expect("stored");

    let loaded = index.load(&[document.order_id]).await.expect("loaded");
    assert_eq!(loaded[&document.order_id].document, document);
    assert_eq!(loaded[&document.order_id].token, WriteToken::SingleWriter);
    assert!(index.search(&text_query("wilhelmina")).await.expect("search").hits.is_empty());
    assert_eq!(index.get(document.order_id).await.expect("get"), None, "get serves committed documents");

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
        (schema::FacetKind::Status, crate::index::query::order_status_symbol(order_view::OrderStatus::Placed)),
        (schema::FacetKind::Status, crate::index::query::order_status_symbol(order_view::OrderStatus::Cancelled)),
    ]
    .into_iter()
    .chain(
        [
            order_view::PaymentStatus::Authorized,
            order_view::PaymentStatus::Declined,
            order_view::PaymentStatus::Captured,
            order_view::PaymentStatus::Refunded,
        ]
        .map(|status| (schema::FacetKind::PaymentStatus, payment_status_symbol(status))),
    )
    .chain(
        [
            order_view::ShipmentStatus::Created,
            order_view::ShipmentStatus::Dispatched,
            order_view::ShipmentStatus::InTransit,
            order_view::ShipmentStatus::Delivered,
            order_view::ShipmentStatus::Returned,
        ]
        .map(|status| (schema::FacetKind::ShipmentStatus, crate::index::query::shipment_status_symbol(status))),
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

/// Search latency at the size the product is sized for. Not a test: run it by hand with
/// `cargo test --release -p order-history --lib index::tantivy::tests::search_latency -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run by hand"]
async fn search_latency_on_330k_orders() {
    use crate::index::SortOrder;

    const ORDERS: u64 = 330_000;
    const RUNS: usize = 500;
    let directory = tempfile::tempdir().expect("a temp dir");
    let index = TantivyIndex::open_in(directory.path()).expect("opens");
    let started = Instant::now();
    let mut generator = OrderGenerator::new(7);
    let mut batch = Vec::new();
    for number in 0..ORDERS {
        batch.push(Versioned { document: generator.order(number), token: WriteToken::Absent });
        if batch.len() == 10_000 {
            index.store(std::mem::take(&mut batch)).await.expect("stored");
        }
        if number % 100_000 == 99_999 {
            index.commit(&Checkpoint::default()).await.expect("committed");
        }
    }
    index.store(batch).await.expect("stored");
    index.commit(&Checkpoint::default()).await.expect("committed");
    println!("indexed {ORDERS} orders in {:?}", started.elapsed());
    // measure the steady state, not searches racing the merges for the two cores
    let writer = super::lock(&index.view.writer).take().expect("the writer is open");
    writer.wait_merging_threads().expect("merges finish");
    index.view.reader.reload().expect("the reader reloads");
    println!(
        "merged into {} segments after {:?}",
        index.view.reader.searcher().segment_readers().len(),
        started.elapsed()
    );

    type QueryForRun = Box<dyn Fn(usize) -> SearchQuery>;
    let queries: Vec<(&str, QueryForRun)> = vec![
        (
            "two words",
            Box::new(|run| SearchQuery {
                text: SearchText::parse(&format!("{} {}", FIRST_NAMES[run % 50], PRODUCT_NOUNS[run % 40])).expect("ok"),
                ..SearchQuery::default()
            }),
        ),
        (
            "two words, one misspelt",
            Box::new(|run| SearchQuery {
                text: SearchText::parse(&format!("{}x {}", LAST_NAMES[run % 60], PRODUCT_NOUNS[(run + 3) % 40]))
                    .expect("ok"),
                ..SearchQuery::default()
            }),
        ),
        (
            "filtered, newest",
            Box::new(|run| SearchQuery {
                payment_status: Some(order_view::PaymentStatus::Captured),
                min_total: Some(1000 + (run as i64 % 50) * 100),
                max_total: Some(20_000),
                sort: SortOrder::Newest,
                ..SearchQuery::default()
            }),
        ),
        ("everything, newest", Box::new(|_| SearchQuery { sort: SortOrder::Newest, ..SearchQuery::default() })),
        (
            "tracking number",
            Box::new(|run| SearchQuery {
                text: SearchText::parse(&format!("3SPOST{:09}", run * 613)).expect("ok"),
                ..SearchQuery::default()
            }),
        ),
    ];
    for (name, query_for_run) in queries {
        let mut histogram = hdrhistogram::Histogram::<u64>::new(3).expect("a histogram");
        let mut total_hits = 0;
        for run in 0..RUNS {
            let query = query_for_run(run);
            let started = Instant::now();
            let results = index.search(&query).await.expect("search");
            histogram.record(started.elapsed().as_micros() as u64).expect("recorded");
            total_hits += results.total;
        }
        println!(
            "{name:>24}: p50 {:>6} µs  p99 {:>6} µs  max {:>6} µs  (mean total {})",
            histogram.value_at_quantile(0.5),
            histogram.value_at_quantile(0.99),
            histogram.max(),
            total_hits / RUNS as u64
        );
    }
}

const FIRST_NAMES: [&str; 50] = [
    "Anna", "Bram", "Carla", "Daan", "Eva", "Finn", "Gijs", "Hanna", "Ivo", "Julia", "Kees", "Lotte", "Milan", "Noor",
    "Olaf", "Pien", "Quinten", "Roos", "Sem", "Tess", "Umar", "Vera", "Wout", "Xena", "Yara", "Zoë", "Amir", "Bo",
    "Chloé", "Dirk", "Elif", "Femke", "Guus", "Hugo", "Iris", "Jesse", "Kim", "Lars", "Mila", "Nina", "Otto", "Puck",
    "Rik", "Sara", "Thijs", "Ugo", "Vince", "Wendy", "Yusuf", "Zara",
];
const LAST_NAMES: [&str; 60] = [
    "Jansen",
    "de Vries",
    "van Dijk",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "van der Linden",
    "Kok",
    "Jacobs",
    "de Haan",
    "Vermeulen",
    "van den Berg",
    "van der Heijden",
    "van der Veen",
    "van den Broek",
    "de Bruijn",
    "de Jong",
    "Schouten",
    "van Beek",
    "Willems",
    "van Vliet",
    "van de Ven",
    "Hoekstra",
    "Maas",
    "Verhoeven",
    "Koster",
    "van Dam",
    "Prins",
    "Blom",
    "Huisman",
    "Peeters",
    "Ørsted",
    "Nakamura",
    "Müller",
    "Kowalski",
    "García",
    "Rossi",
    "Dubois",
    "Novak",
    "Horvat",
    "Silva",
    "Nielsen",
    "Andersson",
    "O'Brien",
];
const PRODUCT_ADJECTIVES: [&str; 30] = [
    "Copper",
    "Walnut",
    "Linen",
    "Stoneware",
    "Oak",
    "Ceramic",
    "Cast iron",
    "Bamboo",
    "Glass",
    "Wool",
    "Cotton",
    "Leather",
    "Marble",
    "Brass",
    "Steel",
    "Porcelain",
    "Rattan",
    "Velvet",
    "Enamel",
    "Cork",
    "Teak",
    "Slate",
    "Silver",
    "Felt",
    "Jute",
    "Pine",
    "Ash",
    "Birch",
    "Clay",
    "Terracotta",
];
const PRODUCT_NOUNS: [&str; 40] = [
    "kettle",
    "mug",
    "cutting board",
    "napkin set",
    "shelf",
    "teapot",
    "skillet",
    "bowl",
    "vase",
    "blanket",
    "towel",
    "wallet",
    "coaster",
    "candle holder",
    "pan",
    "plate",
    "basket",
    "cushion",
    "jug",
    "tray",
    "spoon",
    "knife",
    "lamp",
    "clock",
    "mirror",
    "stool",
    "rug",
    "planter",
    "grinder",
    "whisk",
    "ladle",
    "colander",
    "trivet",
    "carafe",
    "tumbler",
    "platter",
    "bread bin",
    "butter dish",
    "salt cellar",
    "pepper mill",
];
const CITIES: [&str; 12] = [
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Den Haag",
    "Eindhoven",
    "Groningen",
    "Antwerpen",
    "Gent",
    "Brussel",
    "Leuven",
    "Köln",
    "Düsseldorf",
];
const STREETS: [&str; 12] = [
    "Keizersgracht",
    "Herengracht",
    "Prinsengracht",
    "Damrak",
    "Coolsingel",
    "Oudegracht",
    "Meir",
    "Veldstraat",
    "Hoogstraat",
    "Kerkstraat",
    "Dorpsstraat",
    "Stationsweg",
];

/// Plausible orders from a seeded generator: the same documents on every run.
struct OrderGenerator {
    state: u64,
}

impl OrderGenerator {
    fn new(seed: u64) -> Self {
        OrderGenerator { state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1 }
    }

    fn next(&mut self, below: u64) -> u64 {
        // xorshift64*: plenty for test data, and no dependency
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % below
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.next(words.len() as u64) as usize]
    }

    fn order(&mut self, number: u64) -> OrderHistory {
        use chrono::TimeZone;
        use order_view::{
            Address, Customer, LineItem, Money, OrderStatus, PaymentMethod, PaymentStatus, PaymentSummary,
            ShipmentStatus, ShipmentSummary,
        };
        let order_id = Uuid::from_u128(u128::from(self.next(u64::MAX)) << 64 | u128::from(number));
        let money = |amount_minor| Money { amount_minor, currency: "EUR".to_string() };
        let first_name = self.pick(&FIRST_NAMES);
        let last_name = self.pick(&LAST_NAMES);
        let placed_at = chrono::Utc
            .timestamp_millis_opt(1_735_689_600_000 + self.next(365 * 24 * 3600 * 1000) as i64)
            .single()
            .unwrap_or_default();
        let address = Address {
            line1: format!("{} {}", self.pick(&STREETS), 1 + self.next(300)),
            line2: None,
            city: self.pick(&CITIES).to_string(),
            postal_code: format!("{} {}", 1000 + self.next(9000), "AB"),
            country: "NL".to_string(),
        };
        let mut items = Vec::new();
        for _ in 0..=self.next(3) {
            let adjective = self.pick(&PRODUCT_ADJECTIVES);
            let noun = self.pick(&PRODUCT_NOUNS);
            items.push(LineItem {
                sku: format!("SKU-{}-{:02}", noun.replace(' ', "").to_uppercase(), self.next(100)),
                name: format!("{adjective} {noun}"),
                quantity: 1 + self.next(3) as i32,
                unit_price: money(500 + self.next(10_000) as i64),
            });
        }
        let total: i64 = items.iter().map(|item| item.unit_price.amount_minor * i64::from(item.quantity)).sum();
        let payment_status =
            [PaymentStatus::Authorized, PaymentStatus::Captured, PaymentStatus::Captured][self.next(3) as usize];
        let payments = vec![PaymentSummary {
            payment_id: Uuid::from_u128(u128::from(number) << 1),
            status: payment_status,
            method: PaymentMethod::Card,
            amount: money(total),
            decline_reason: None,
            created_at: placed_at,
            updated_at: placed_at,
            version: 1,
        }];
        let shipments = if self.next(4) == 0 {
            Vec::new()
        } else {
            vec![ShipmentSummary {
                shipment_id: Uuid::from_u128(u128::from(number) << 2),
                carrier: "PostNL".to_string(),
                tracking_number: format!("3SPOST{:09}", number * 613),
                status: [ShipmentStatus::Created, ShipmentStatus::InTransit, ShipmentStatus::Delivered]
                    [self.next(3) as usize],
                last_location: None,
                address: address.clone(),
                created_at: placed_at,
                updated_at: placed_at,
                version: 1,
            }]
        };
        OrderHistory {
            order_id,
            incomplete: false,
            status: Some(if self.next(10) == 0 { OrderStatus::Cancelled } else { OrderStatus::Placed }),
            customer: Some(Customer {
                customer_id: format!("cust-{}", self.next(50_000)),
                name: format!("{first_name} {last_name}"),
                email: format!("{}.{}@example.com", first_name.to_lowercase(), number),
            }),
            items,
            total: Some(money(total)),
            currency: Some("EUR".to_string()),
            shipping_address: Some(address),
            placed_at: Some(placed_at),
            cancelled_at: None,
            cancellation_reason: None,
            payments,
            shipments,
            timeline: Vec::new(),
            order_version: Some(1),
            as_of: None,
        }
    }
}
