//! The two designs agree: random orders, payments and shipments written through the source
//! services' APIs; once order-history has converged, composer's document of every order equals
//! order-history's under the documented equality, and every customer search finds the same
//! orders with the same counts, in the same response shape.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use futures::StreamExt;
use order_view::OrderHistory;
use order_view::equality::comparable;
use serde_json::Value;
use testkit::{TestInfra, status_and_json};
use uuid::Uuid;

use crate::helpers::{NewOrder, OrderHistoryApp, Sources, Writer, id_of, spawn_composer, spawn_order_history};

const ORDERS: usize = 200;
const WRITERS: usize = 8;
const CUSTOMERS: [&str; 20] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
    "Dennis Ritchie",
    "Ken Thompson",
    "Frances Allen",
    "John Backus",
    "Niklaus Wirth",
    "Radia Perlman",
    "Tony Hoare",
    "Leslie Lamport",
    "Shafi Goldwasser",
    "Butler Lampson",
    "Robin Milner",
    "Jean Sammet",
    "Adele Goldberg",
];
/// Item nouns, far enough apart (and from every other word written) that order-history's typo
/// tolerance cannot make one match another: composer matches exactly, by design.
const NOUNS: [&str; 10] =
    ["kettle", "teapot", "saucepan", "colander", "whisk", "ladle", "skillet", "grater", "blender", "toaster"];
const ADJECTIVES: [&str; 6] = ["Copper", "Ceramic", "Enamel", "Bamboo", "Granite", "Walnut"];
const CITIES: [&str; 5] = ["Amsterdam", "Utrecht", "Haarlem", "Leiden", "Groningen"];
const CARRIERS: [&str; 3] = ["DHL Express", "PostNL", "UPS"];

/// What was written for one order, and the version of each aggregate the services answered.
struct Written {
    order_id: String,
    customer_id: String,
    nouns: BTreeSet<&'static str>,
    versions: Vec<(Uuid, i64)>,
}

fn version_of(body: &Value) -> (Uuid, i64) {
    let id = Uuid::parse_str(&id_of(body)).expect("a uuid");
    (id, body["version"].as_i64().expect("a version"))
}

/// One order with a random story; deterministic for a given `seed`.
async fn write_random_order(writer: &Writer<'_>, run: &str, seed: u64) -> Written {
    let mut rng = fastrand::Rng::with_seed(seed);
    let customer_index = rng.usize(..CUSTOMERS.len());
    let customer_id = format!("cust-{run}-{customer_index}");
    let mut nouns = BTreeSet::new();
    let mut items = Vec::new();
    for line in 0..rng.usize(1..=3) {
        let noun = NOUNS[rng.usize(..NOUNS.len())];
        nouns.insert(noun);
        let name = format!("{} {noun}", ADJECTIVES[rng.usize(..ADJECTIVES.len())]);
        let sku = format!("SKU-{}-{line}{}", noun.to_uppercase(), rng.u8(..10));
        items.push((sku, name, rng.i32(1..=3), rng.i64(100..=60_000)));
    }
    let order = writer
        .place_order(&NewOrder {
            customer_id: &customer_id,
            customer_name: CUSTOMERS[customer_index],
            items,
            city: CITIES[rng.usize(..CITIES.len())],
        })
        .await;
    let order_id = id_of(&order);
    let mut versions = vec![version_of(&order)];

    for _ in 0..rng.usize(0..=2) {
        // some above payment-svc's decline limit of 100000
        let amount = rng.i64(500..=150_000);
        let method = ["CARD", "BANK_TRANSFER", "WALLET"][rng.usize(..3)];
        let mut payment = writer.create_payment(&order_id, amount, method).await;
        if payment["status"] == "AUTHORIZED" && rng.f32() < 0.6 {
            payment = writer.change_payment(&id_of(&payment), "capture").await;
            if rng.f32() < 0.3 {
                payment = writer.change_payment(&id_of(&payment), "refund").await;
            }
        }
        versions.push(version_of(&payment));
    }

    for _ in 0..rng.usize(0..=2) {
        let carrier = CARRIERS[rng.usize(..CARRIERS.len())];
        let mut shipment = writer.create_shipment(&order_id, carrier, CITIES[rng.usize(..CITIES.len())]).await;
        let shipment_id = id_of(&shipment);
        let steps = rng.usize(0..=4);
        if steps >= 1 {
            shipment = writer.change_shipment(&shipment_id, "DISPATCHED", None).await;
        }
        if steps >= 2 {
            shipment = writer.change_shipment(&shipment_id, "IN_TRANSIT", Some("Zwolle hub")).await;
        }
        if steps >= 3 {
            shipment = writer.change_shipment(&shipment_id, "IN_TRANSIT", Some("Amersfoort depot")).await;
        }
        if steps >= 4 {
            let last = if rng.bool() { "DELIVERED" } else { "RETURNED" };
            shipment = writer.change_shipment(&shipment_id, last, None).await;
        }
        versions.push(version_of(&shipment));
    }

    if rng.f32() < 0.15 {
        let cancelled = writer.cancel_order(&order_id).await;
        versions[0] = version_of(&cancelled);
    }
    Written { order_id, customer_id, nouns, versions }
}

async fn get_json(client: &reqwest::Client, url: &str) -> (reqwest::StatusCode, Value) {
    status_and_json(client.get(url).bearer_auth(testkit::service_token()).send().await.expect("answers")).await
}

/// Waits until order-history has applied, for every order, the version of every aggregate the
/// services answered with.
async fn wait_until_converged(client: &reqwest::Client, order_history: &OrderHistoryApp, written: &[Written]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let mut pending: Vec<&Written> = written.iter().collect();
    while !pending.is_empty() {
        let mut still_pending = Vec::new();
        for order in pending {
            let (status, body) =
                get_json(client, &format!("{}/orders/{}", order_history.base_url, order.order_id)).await;
            let converged = status == 200
                && serde_json::from_value::<OrderHistory>(body).is_ok_and(|document| {
                    order.versions.iter().all(|(aggregate, version)| {
                        document.version_of(*aggregate).is_some_and(|applied| applied >= *version)
                    })
                });
            if !converged {
                still_pending.push(order);
            }
        }
        pending = still_pending;
        if pending.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order-history did not converge; {} orders behind, e.g. {}",
            pending.len(),
            pending[0].order_id
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // read by id as soon as stored; the searches compared next need the commit too
    tokio::time::timeout_at(deadline, order_history.view.wait_until_searchable())
        .await
        .expect("order-history's view became searchable");
}

fn hit_ids(body: &Value) -> BTreeSet<String> {
    body["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["document"]["order_id"].as_str().expect("order id").to_string())
        .collect()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|object| object.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn composer_equals_order_history_for_every_converged_order_and_customer_search() {
    let infra = TestInfra::start().await;
    // declared after the broker, so they stop before it
    let sources = Sources::start_publishing(&infra).await;
    let order_history = spawn_order_history(&infra).await;
    let composer = spawn_composer(sources.composer_config()).await;
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let seed: u64 =
        std::env::var("EQUIVALENCE_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    println!("EQUIVALENCE_SEED={seed}");
    let run = Uuid::now_v7().simple().to_string();

    let writer = Writer { sources: &sources };
    let written: Vec<Written> = futures::stream::iter(0..ORDERS as u64)
        .map(|index| write_random_order(&writer, &run, seed.wrapping_add(index)))
        .buffer_unordered(WRITERS)
        .collect()
        .await;
    wait_until_converged(&client, &order_history, &written).await;

    // every order, field by field
    let mut differences = Vec::new();
    for order in &written {
        let (status, composed) = get_json(&client, &composer.url(&format!("/orders/{}", order.order_id))).await;
        assert_eq!(status, 200, "{composed}");
        assert!(composed.get("degraded").is_none(), "every service is up: {composed}");
        let (status, projected) =
            get_json(&client, &format!("{}/orders/{}", order_history.base_url, order.order_id)).await;
        assert_eq!(status, 200, "{projected}");
        assert!(projected.get("stale").is_none());
        let composed: OrderHistory = serde_json::from_value(composed).expect("composer answers the shared document");
        let projected: OrderHistory =
            serde_json::from_value(projected).expect("order-history answers the shared document");
        assert!(!projected.timeline.is_empty() && projected.as_of.is_some(), "order-history knows the events");
        if comparable(&composed) != comparable(&projected) {
            differences.push(format!(
                "order {}:\ncomposer:      {}\norder-history: {}",
                order.order_id,
                comparable(&composed),
                comparable(&projected)
            ));
        }
    }
    assert!(differences.is_empty(), "{} of {ORDERS} orders differ:\n{}", differences.len(), differences.join("\n"));

    // every customer's searches: the same orders, counts and shape
    let mut nouns_of_customer: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for order in &written {
        nouns_of_customer.entry(&order.customer_id).or_default().extend(order.nouns.iter().copied());
    }
    let mut searches = 0;
    for (customer, nouns) in &nouns_of_customer {
        let mut queries = vec![
            format!("customer_id={customer}"),
            format!("customer_id={customer}&status=CANCELLED"),
            format!("customer_id={customer}&payment_status=CAPTURED"),
            format!("customer_id={customer}&payment_status=DECLINED"),
            format!("customer_id={customer}&shipment_status=IN_TRANSIT"),
            format!("customer_id={customer}&shipment_status=DELIVERED"),
            format!("customer_id={customer}&q=amsterdam"),
        ];
        for noun in nouns.iter().take(2) {
            queries.push(format!("customer_id={customer}&q={noun}"));
        }
        for query in queries {
            let query = format!("{query}&limit=100");
            let (status, composed) = get_json(&client, &composer.url(&format!("/orders?{query}"))).await;
            assert_eq!(status, 200, "{query}: {composed}");
            let (status, projected) = get_json(&client, &format!("{}/orders?{query}", order_history.base_url)).await;
            assert_eq!(status, 200, "{query}: {projected}");
            assert_eq!(hit_ids(&composed), hit_ids(&projected), "{query}");
            assert_eq!(composed["total"], projected["total"], "{query}");
            assert_eq!(composed["facets"], projected["facets"], "{query}");
            assert_eq!(keys(&composed), keys(&projected), "{query}: the same response shape");
            if let (Some(composed_hit), Some(projected_hit)) = (composed["hits"].get(0), projected["hits"].get(0)) {
                assert_eq!(keys(composed_hit), keys(projected_hit), "{query}: the same hit shape");
            }
            // order-history's answer reads as composer's type, and the reverse
            let read_back: composer::search::SearchResults =
                serde_json::from_value(projected).expect("order-history's search reads as composer's");
            assert_eq!(read_back.total as usize, hit_ids(&composed).len(), "{query}");
            searches += 1;
        }
    }
    let customers: HashSet<&str> = written.iter().map(|order| order.customer_id.as_str()).collect();
    println!("{ORDERS} orders of {} customers equal; {searches} searches agree", customers.len());

    composer.stop().await;
    order_history.shutdown.cancel();
    order_history.task.await.expect("order-history task").expect("order-history stops cleanly");
    sources.shutdown().await;
}
