//! Search through the HTTP API, on both backends.

use std::collections::HashSet;

use events::{PaymentEventType, ShipmentStatus};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, TestWorld, hit_ids};
use crate::on_both_backends;
use crate::stories::Story;

struct Catalogue {
    world: TestWorld,
    app: TestApp,
    ada: Story,
    grace: Story,
    linus: Story,
}

/// Three orders with distinct customers, items and states, all projected.
async fn catalogue(backend: Backend) -> Catalogue {
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let (ada, grace, linus) = (Story::new(), Story::new(), Story::new());
    world.publish(&ada.placed("Ada Lovelace", "Copper tea kettle", 4_599)).await;
    world.publish(&ada.payment(PaymentEventType::PaymentAuthorized, 1)).await;
    world.publish(&ada.payment(PaymentEventType::PaymentCaptured, 2)).await;
    world.publish(&ada.shipment(ShipmentStatus::Created, 1, "3SPOST123456789")).await;
    world.publish(&grace.placed("Grace Hopper", "Stoneware tea mug", 1_250)).await;
    world.publish(&grace.payment(PaymentEventType::PaymentDeclined, 1)).await;
    let linus_placed = linus.placed("Linus Torvalds", "Kettle descaler", 899);
    world.publish(&linus_placed).await;
    world.publish(&linus.cancelled(&linus_placed)).await;
    for story in [&ada, &grace, &linus] {
        world.wait_for_order(&app, story.order_id, |doc| doc["incomplete"] == false).await;
    }
    world.wait_for_order(&app, ada.order_id, |doc| doc["shipments"].as_array().is_some_and(|s| !s.is_empty())).await;
    world.wait_for_order(&app, linus.order_id, |doc| doc["status"] == "CANCELLED").await;
    Catalogue { world, app, ada, grace, linus }
}

impl Catalogue {
    async fn search(&self, query: &str) -> Value {
        let (status, body) = self.world.get(&self.app, &format!("/orders?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        body
    }
}

async fn search_finds_what_users_type(backend: Backend) {
    let catalogue = catalogue(backend).await;
    let ada = catalogue.ada.order_id.to_string();
    let grace = catalogue.grace.order_id.to_string();
    let linus = catalogue.linus.order_id.to_string();

    // a misspelled customer name
    let body = catalogue.search("q=Lovelance").await;
    assert_eq!(hit_ids(&body), vec![ada.clone()], "{body}");
    assert!(body["hits"][0]["highlights"]["customer_name"].to_string().contains("<em>"), "highlighted: {body}");

    // a phrase from an item name, and the same words out of order are not that phrase
    let body = catalogue.search("q=%22copper+tea%22").await;
    assert_eq!(hit_ids(&body), vec![ada.clone()], "{body}");
    let body = catalogue.search("q=%22tea+copper%22").await;
    assert_eq!(body["total"], 0, "{body}");

    // a tracking number
    let body = catalogue.search("q=3SPOST123456789").await;
    assert_eq!(hit_ids(&body), vec![ada.clone()], "{body}");

    // text combined with a filter
    let body = catalogue.search("q=tea").await;
    assert_eq!(hit_ids(&body).into_iter().collect::<HashSet<_>>(), HashSet::from([ada.clone(), grace.clone()]));
    let body = catalogue.search("q=tea&payment_status=DECLINED").await;
    assert_eq!(hit_ids(&body), vec![grace.clone()], "{body}");
    let body = catalogue.search("q=kettle&status=CANCELLED").await;
    assert_eq!(hit_ids(&body), vec![linus.clone()], "{body}");
    let body = catalogue.search("min_total=1000&max_total=2000").await;
    assert_eq!(hit_ids(&body), vec![grace.clone()], "{body}");

    // facets over all matches
    let body = catalogue.search("").await;
    assert_eq!(body["total"], 3);
    assert_eq!(body["facets"]["status"]["PLACED"], 2, "{body}");
    assert_eq!(body["facets"]["status"]["CANCELLED"], 1, "{body}");
    assert_eq!(body["facets"]["payment_status"]["CAPTURED"], 1, "{body}");
    assert_eq!(body["facets"]["payment_status"]["DECLINED"], 1, "{body}");
    assert_eq!(body["facets"]["shipment_status"]["CREATED"], 1, "{body}");

    // sorted by total
    let body = catalogue.search("sort=total").await;
    assert_eq!(hit_ids(&body), vec![ada, grace, linus]);
}
on_both_backends!(search_finds_what_users_type);

async fn cursor_pagination_has_no_duplicates_or_gaps(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let mut expected = HashSet::new();
    for index in 0..23 {
        let story = Story::new();
        // a few equal totals, so ties must be broken consistently
        world.publish(&story.placed(&format!("Pager {index}"), "Paged item", 100 + (index % 5))).await;
        expected.insert(story.order_id.to_string());
    }
    world.wait_for_search(&app, "q=paged", |body| body["total"] == 23).await;
    for sort in ["relevance", "newest", "total"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let query = match &cursor {
                Some(cursor) => format!("q=paged&sort={sort}&limit=5&cursor={cursor}"),
                None => format!("q=paged&sort={sort}&limit=5"),
            };
            let (status, body) = world.get(&app, &format!("/orders?{query}")).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["total"], 23);
            seen.extend(hit_ids(&body));
            pages += 1;
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
            assert!(pages < 10, "pagination must end");
        }
        assert_eq!(seen.len(), 23, "{sort}: no duplicates: {seen:?}");
        assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), expected, "{sort}: no gaps");
        assert!(pages >= 5, "{sort}: more than one page");
    }
    app.stop().await;
}
on_both_backends!(cursor_pagination_has_no_duplicates_or_gaps);

async fn bad_search_input_is_a_400_that_says_what_is_wrong(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let app = world.spawn_app().await;
    let cases = [
        (format!("q={}", "a".repeat(300)), "q"),
        (format!("q={}", "word+".repeat(40)), "q"),
        ("cursor=definitely-not-a-cursor".to_string(), "cursor"),
        ("min_total=900&max_total=100".to_string(), "max_total"),
        ("placed_from=2026-03-01&placed_to=2026-01-01".to_string(), "placed_to"),
        ("limit=1000".to_string(), "limit"),
        ("status=LOST".to_string(), "status"),
        ("sort=cheapest".to_string(), "sort"),
        ("order_by=total".to_string(), "query"),
    ];
    for (query, field) in cases {
        let (status, body) = world.get(&app, &format!("/orders?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
        assert!(body["error"].as_str().is_some_and(|message| !message.is_empty()), "{query}: {body}");
    }
    // a query string over the server's limit is refused before the search parses it
    let (status, body) = world.get(&app, &format!("/orders?q={}", "a".repeat(5000))).await;
    assert_eq!(status, 414, "{body}");
    assert_eq!(body["field"], "query");
    // a cursor from another sort order
    let story = Story::new();
    world.publish(&story.placed("Cursor Owner", "Thing", 100)).await;
    let second = Story::new();
    world.publish(&second.placed("Cursor Owner Two", "Thing", 200)).await;
    let body = world.wait_for_search(&app, "q=thing&sort=newest&limit=1", |body| body["total"] == 2).await;
    let cursor = body["next_cursor"].as_str().expect("a next page").to_string();
    let (status, body) = world.get(&app, &format!("/orders?q=thing&sort=total&limit=1&cursor={cursor}")).await;
    assert_eq!((status.as_u16(), body["field"].as_str()), (400, Some("cursor")), "{body}");
    app.stop().await;
}
on_both_backends!(bad_search_input_is_a_400_that_says_what_is_wrong);
