//! The customer search: composed, filtered in memory, with its fan-out in plain sight.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{NewOrder, Source, Sources, Writer, downstream_calls, fresh_customer, id_of, spawn_composer};

fn hit_ids(body: &Value) -> HashSet<String> {
    body["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["document"]["order_id"].as_str().expect("order id").to_string())
        .collect()
}

struct Catalogue {
    customer: String,
    kettle: String,
    mug: String,
    cancelled: String,
}

/// Three orders of one customer, in different states, and one order of someone else.
async fn catalogue(writer: &Writer<'_>) -> Catalogue {
    let customer = fresh_customer();
    let order = |item: &str, sku: &str, price: i64| NewOrder {
        customer_id: &customer,
        customer_name: "Grace Hopper",
        items: vec![(sku.to_string(), item.to_string(), 1, price)],
        city: "Rotterdam",
    };
    let kettle = id_of(&writer.place_order(&order("Copper tea kettle", "SKU-KETTLE-01", 4599)).await);
    let payment = writer.create_payment(&kettle, 4599, "CARD").await;
    writer.change_payment(&id_of(&payment), "capture").await;
    let shipment = writer.create_shipment(&kettle, "DHL Express", "Rotterdam").await;
    writer.change_shipment(&id_of(&shipment), "DISPATCHED", None).await;
    let mug = id_of(&writer.place_order(&order("Stoneware tea mug", "SKU-MUG-07", 1250)).await);
    writer.create_payment(&mug, 1250, "BANK_TRANSFER").await;
    let cancelled = id_of(&writer.place_order(&order("Kettle descaler", "SKU-DESCALE-2", 899)).await);
    writer.cancel_order(&cancelled).await;
    writer.place_simple_order(&fresh_customer()).await;
    Catalogue { customer, kettle, mug, cancelled }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_search_composes_filters_and_shows_its_fan_out() {
    let sources = Sources::start().await;
    let composer = spawn_composer(sources.composer_config()).await;
    let writer = Writer { sources: &sources };
    let catalogue = catalogue(&writer).await;
    let customer = &catalogue.customer;

    let (status, headers, body) = composer.get(&format!("/orders?customer_id={customer}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        hit_ids(&body),
        HashSet::from([catalogue.kettle.clone(), catalogue.mug.clone(), catalogue.cancelled.clone()])
    );
    assert_eq!(body["total"], 3);
    assert_eq!(body["next_cursor"], Value::Null);
    assert!(body.get("degraded").is_none(), "{body}");
    assert_eq!(body["facets"]["status"], json!({"PLACED": 2, "CANCELLED": 1}));
    assert_eq!(body["facets"]["payment_status"], json!({"CAPTURED": 1, "AUTHORIZED": 1}));
    assert_eq!(body["facets"]["shipment_status"], json!({"DISPATCHED": 1}));
    assert_eq!(body["hits"][0]["score"], Value::Null, "no relevance ranking");
    assert_eq!(downstream_calls(&headers), 1 + 2 * 3, "one page of orders, then two calls per order: N+1");
    assert_eq!(headers["x-orders-scanned"], "3");
    assert!(headers.get("x-scan-truncated").is_none());
    // newest first
    assert_eq!(body["hits"][0]["document"]["order_id"], catalogue.cancelled.as_str());

    let (_, _, body) = composer.get(&format!("/orders?customer_id={customer}&q=tea")).await;
    assert_eq!(hit_ids(&body), HashSet::from([catalogue.kettle.clone(), catalogue.mug.clone()]));
    assert_eq!(body["hits"][0]["highlights"]["item_names"], json!(["Stoneware <em>tea</em> mug"]));
    let (_, _, body) = composer.get(&format!("/orders?customer_id={customer}&q=%22copper+tea%22")).await;
    assert_eq!(hit_ids(&body), HashSet::from([catalogue.kettle.clone()]));
    let (_, _, body) = composer.get(&format!("/orders?customer_id={customer}&q=KETTLE&payment_status=captured")).await;
    assert_eq!(hit_ids(&body), HashSet::from([catalogue.kettle.clone()]));
    let (_, _, body) = composer.get(&format!("/orders?customer_id={customer}&shipment_status=DISPATCHED")).await;
    assert_eq!(hit_ids(&body), HashSet::from([catalogue.kettle.clone()]));
    let (_, _, body) = composer.get(&format!("/orders?customer_id={customer}&q=kettel")).await;
    assert_eq!(body["total"], 0, "no typo tolerance: {body}");

    // an order-level filter rules orders out before their fan-out
    let (_, headers, body) = composer.get(&format!("/orders?customer_id={customer}&status=CANCELLED")).await;
    assert_eq!(hit_ids(&body), HashSet::from([catalogue.cancelled.clone()]));
    assert_eq!(downstream_calls(&headers), 1 + 2);
    let (_, headers, body) = composer.get(&format!("/orders?customer_id={customer}&max_total=1000")).await;
    assert_eq!(hit_ids(&body), HashSet::from([catalogue.cancelled.clone()]));
    assert_eq!(downstream_calls(&headers), 1 + 2);

    // sorted by total, one per page, each page counting them all
    let mut seen = Vec::new();
    let mut query = format!("/orders?customer_id={customer}&sort=total&limit=1");
    loop {
        let (status, _, body) = composer.get(&query).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["total"], 3);
        seen.push(body["hits"][0]["document"]["order_id"].as_str().expect("a hit").to_string());
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("/orders?customer_id={customer}&sort=total&limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, vec![catalogue.kettle, catalogue.mug, catalogue.cancelled]);
    composer.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_search_without_a_customer_is_refused_and_points_to_order_history() {
    let sources = Sources::start().await;
    let composer = spawn_composer(sources.composer_config()).await;

    let (status, headers, body) = composer.get("/orders?q=kettle").await;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "customer_id");
    let message = body["error"].as_str().expect("a message");
    assert!(message.contains("global full-text index") && message.contains("order-history"), "{message}");
    assert_eq!(downstream_calls(&headers), 0);
    for (query, field) in [
        ("customer_id=c&limit=500", "limit"),
        ("customer_id=c&status=SHIPPED", "status"),
        ("customer_id=c&sort=relevance", "sort"),
        ("customer_id=c&cursor=garbage", "cursor"),
        ("customer_id=c&colour=red", "query"),
    ] {
        let (status, _, body) = composer.get(&format!("/orders?{query}")).await;
        assert_eq!((status.as_u16(), body["field"].as_str()), (400, Some(field)), "{query}: {body}");
    }
    composer.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_search_without_payment_svc_is_degraded_and_without_order_svc_fails() {
    let mut sources = Sources::start().await;
    let composer = spawn_composer(sources.composer_config()).await;
    let writer = Writer { sources: &sources };
    let catalogue = catalogue(&writer).await;
    let customer = &catalogue.customer;

    sources.stop(Source::Payments).await;
    let (status, _, body) = composer.get(&format!("/orders?customer_id={customer}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 3);
    assert_eq!(body["degraded"], json!(["payments"]));
    assert_eq!(body["facets"]["payment_status"], json!({}), "filtered and counted without payments");

    sources.stop(Source::Orders).await;
    let (status, _, body) = composer.get(&format!("/orders?customer_id={customer}")).await;
    assert_eq!(status, 502, "{body}");
    composer.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scan_stops_at_its_page_limit_and_says_so() {
    let sources = Sources::start().await;
    let mut config = sources.composer_config();
    config.search_max_pages = 1;
    let composer = spawn_composer(config).await;
    let writer = Writer { sources: &sources };
    let customer = fresh_customer();
    for _ in 0..101 {
        writer.place_simple_order(&customer).await;
    }

    let (status, headers, body) = composer.get(&format!("/orders?customer_id={customer}&limit=5")).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 100, "only the first page of 100 was scanned");
    assert_eq!(headers["x-scan-truncated"], "true");
    assert_eq!(headers["x-orders-scanned"], "100");
    assert_eq!(downstream_calls(&headers), 1 + 2 * 100);
    composer.stop().await;
}
