//! `GET /orders`.

use std::cmp::Reverse;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use testkit::Database;

use crate::helpers::{TestApp, id_of, on_both_databases, status_and_json};

/// Follows `next_cursor` from the first page to the last; returns every page.
async fn all_pages(app: &TestApp, query: &str) -> Vec<Vec<Value>> {
    pages_from(app, query, None).await
}

/// Follows `next_cursor` from the page at `cursor` (the first page when `None`) to the last.
async fn pages_from(app: &TestApp, query: &str, mut cursor: Option<String>) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/orders?{query}&cursor={cursor}"),
            None => format!("/orders?{query}"),
        };
        let (status, page) = status_and_json(app.service.get(&path).await).await;
        assert_eq!(status, 200, "{path}: {page}");
        pages.push(page["orders"].as_array().expect("orders array").clone());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return pages,
        }
        assert!(pages.len() <= 100, "paging terminates");
    }
}

fn ids(orders: &[Value]) -> Vec<String> {
    orders.iter().map(id_of).collect()
}

/// The orders sorted as the API must list them: newest first, by created_at then id.
fn newest_first(mut orders: Vec<Value>) -> Vec<Value> {
    let sort_key = |order: &Value| {
        let created_at: DateTime<Utc> = order["created_at"].as_str().expect("created_at").parse().expect("rfc 3339");
        (created_at, id_of(order))
    };
    orders.sort_by_key(|order| Reverse(sort_key(order)));
    orders
}

async fn pages_list_every_order_once_newest_first(database: Database) {
    let app = TestApp::spawn(database).await;
    let mut placed = Vec::new();
    for index in 0..7 {
        let customer = if index % 2 == 0 { "cust-a" } else { "cust-b" };
        placed.push(app.place_order(customer).await);
    }
    // a change must show in the list, not just in GET /orders/{id}
    let (_, cancelled) = status_and_json(app.cancel_order(&id_of(&placed[2]), None).await).await;
    placed[2] = cancelled;
    let expected = newest_first(placed.clone());

    let pages = all_pages(&app, "limit=3").await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let listed: Vec<Value> = pages.concat();
    assert_eq!(ids(&listed), ids(&expected), "every order once, newest first");
    assert_eq!(listed, expected, "orders are listed in their current state");

    let customer_a: Vec<Value> = expected.iter().filter(|order| order["customer_id"] == "cust-a").cloned().collect();
    let pages = all_pages(&app, "customer_id=cust-a&limit=2").await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2], "a full last page has no next cursor");
    assert_eq!(ids(&pages.concat()), ids(&customer_a));

    let pages = all_pages(&app, "limit=100").await;
    assert_eq!(pages.len(), 1);
    assert_eq!(ids(&pages[0]), ids(&expected));
}

async fn orders_placed_while_paging_are_neither_skipped_nor_repeated_on_later_pages(database: Database) {
    let app = TestApp::spawn(database).await;
    let mut before = Vec::new();
    for _ in 0..5 {
        before.push(app.place_order("cust-a").await);
    }
    let expected = newest_first(before);

    let (_, first_page) = status_and_json(app.service.get("/orders?limit=2").await).await;
    // newer orders sort before the cursor, so they cannot shift the pages that follow it
    for _ in 0..3 {
        app.place_order("cust-a").await;
    }
    let cursor = first_page["next_cursor"].as_str().expect("more pages").to_string();
    let rest = pages_from(&app, "limit=2", Some(cursor)).await.concat();

    let mut seen = ids(first_page["orders"].as_array().expect("orders"));
    seen.extend(ids(&rest));
    assert_eq!(seen, ids(&expected));
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len(), "no duplicates");
}

on_both_databases!(
    pages_list_every_order_once_newest_first,
    orders_placed_while_paging_are_neither_skipped_nor_repeated_on_later_pages
);

#[tokio::test(flavor = "multi_thread")]
async fn the_list_is_empty_at_first_and_pages_hold_twenty_by_default() {
    let app = TestApp::spawn(Database::Sqlite).await;

    let (status, page) = status_and_json(app.service.get("/orders").await).await;
    assert_eq!((status, page), (200, json!({"orders": [], "next_cursor": null})));

    for _ in 0..21 {
        app.place_order("cust-a").await;
    }
    let (_, first) = status_and_json(app.service.get("/orders").await).await;
    assert_eq!(first["orders"].as_array().map(Vec::len), Some(20));
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = status_and_json(app.service.get(&format!("/orders?cursor={cursor}")).await).await;
    assert_eq!(second["orders"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["next_cursor"], Value::Null);

    let (_, other_customer) = status_and_json(app.service.get("/orders?customer_id=cust-z").await).await;
    assert_eq!(other_customer, json!({"orders": [], "next_cursor": null}));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_list_parameters_are_rejected_naming_the_parameter() {
    let app = TestApp::spawn(Database::Sqlite).await;
    app.place_order("cust-a").await;

    let cases = [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=", "limit"),
        ("cursor=!!!", "cursor"),
        ("cursor=", "cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("customer_id=", "customer_id"),
        ("customer_id=cust%20a", "customer_id"),
        ("limit=1&limit=2", "query"),
    ];
    for (query, field) in cases {
        let (status, body) = status_and_json(app.service.get(&format!("/orders?{query}")).await).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
        let message = body["error"].as_str().expect("message");
        assert_eq!(message, message.to_lowercase(), "{query}: lowercase message");
    }
}
