//! `POST /orders`.

use chrono::{DateTime, Utc};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use testkit::Database;
use uuid::Uuid;

use crate::helpers::{TestApp, id_of, on_both_databases, status_and_json};
use crate::support::order_body;

async fn placing_an_order_answers_201_with_location_and_the_placed_order(database: Database) {
    let app = TestApp::spawn(database).await;
    let request = order_body("cust-0042");

    let response = app.create_order(&request).await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().expect("ascii location").to_string();
    let order: Value = response.json().await.expect("order json");
    let id = Uuid::parse_str(&id_of(&order)).expect("id is a uuid");
    assert_eq!(id.get_version_num(), 7, "ids are uuid v7");
    assert_eq!(location, format!("/orders/{id}"));
    assert_eq!(order["customer_id"], "cust-0042");
    assert_eq!(order["customer_name"], request["customer_name"]);
    assert_eq!(order["customer_email"], "zoe@example.com");
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["items"], request["items"]);
    assert_eq!(order["total"], 4599 + 4 * 1250);
    assert_eq!(order["shipping_address"], request["shipping_address"]);
    assert_eq!(order["status"], "PLACED");
    assert_eq!(order["version"], 1);
    let created_at = order["created_at"].as_str().expect("created_at is text");
    assert!(created_at.ends_with('Z'), "utc: {created_at}");
    assert!(DateTime::parse_from_rfc3339(created_at).is_ok(), "rfc 3339: {created_at}");
    assert_eq!(order["cancelled_at"], Value::Null);
    assert_eq!(order["cancellation_reason"], Value::Null);

    let (status, fetched) = status_and_json(app.service.get(&location).await).await;
    assert_eq!((status, fetched), (200, order), "the location serves the order as created");
    assert_eq!(app.count("select count(*) from orders").await, 1);
    assert_eq!(app.count("select count(*) from outbox").await, 1, "one event per change");
}

async fn text_is_trimmed_and_an_absent_line2_is_null(database: Database) {
    let app = TestApp::spawn(database).await;
    let mut request = order_body("cust-0042");
    request["customer_name"] = json!("  Zoë  ");
    request["customer_email"] = json!(" zoe@example.com ");
    request["items"][0]["name"] = json!(" Kettle ");
    request["shipping_address"].as_object_mut().expect("object").remove("line2");

    let (status, order) = status_and_json(app.create_order(&request).await).await;

    assert_eq!(status, 201);
    assert_eq!(order["customer_name"], "Zoë");
    assert_eq!(order["customer_email"], "zoe@example.com");
    assert_eq!(order["items"][0]["name"], "Kettle");
    assert_eq!(order["shipping_address"]["line2"], Value::Null);
}

on_both_databases!(
    placing_an_order_answers_201_with_location_and_the_placed_order,
    text_is_trimmed_and_an_absent_line2_is_null
);

/// How one invalid request is made from the valid one, and what it must answer.
struct InvalidCase {
    what: &'static str,
    body: String,
    status: u16,
    field: Option<&'static str>,
}

fn with(pointer: &str, value: Value) -> String {
    let mut body = order_body("cust-0042");
    *body.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} exists")) = value;
    body.to_string()
}

fn with_extra(field: &str, value: Value) -> String {
    let mut body = order_body("cust-0042");
    body.as_object_mut().expect("object").insert(field.to_string(), value);
    body.to_string()
}

fn without(field: &str) -> String {
    let mut body = order_body("cust-0042");
    body.as_object_mut().expect("object").remove(field);
    body.to_string()
}

fn invalid_cases() -> Vec<InvalidCase> {
    let item = json!({"sku": "SKU-1", "name": "Mug", "quantity": 1, "unit_price": 100});
    let case = |what, body, status, field| InvalidCase { what, body, status, field };
    vec![
        case("malformed json", "{\"customer_id\": ".to_string(), 400, None),
        case("not an object", "[1, 2]".to_string(), 422, None),
        case("missing customer_id", without("customer_id"), 422, Some("customer_id")),
        case("missing items", without("items"), 422, Some("items")),
        case("missing shipping_address", without("shipping_address"), 422, Some("shipping_address")),
        case("unknown field", with_extra("coupon", json!("FREE")), 422, None),
        case("quantity of the wrong type", with("/items/0/quantity", json!("two")), 422, Some("items[0].quantity")),
        case("fractional quantity", with("/items/1/quantity", json!(1.5)), 422, Some("items[1].quantity")),
        case("unit_price beyond i64", with("/items/0/unit_price", json!(1e30)), 422, Some("items[0].unit_price")),
        case("customer_id of the wrong type", with("/customer_id", json!(42)), 422, Some("customer_id")),
        case(
            "missing city",
            with("/shipping_address", json!({"line1": "a", "postal_code": "1", "country": "NL"})),
            422,
            Some("shipping_address.city"),
        ),
        case("empty customer_id", with("/customer_id", json!("")), 422, Some("customer_id")),
        case("customer_id with a space", with("/customer_id", json!("cust 42")), 422, Some("customer_id")),
        case("oversized customer_id", with("/customer_id", json!("c".repeat(65))), 422, Some("customer_id")),
        case("blank customer_name", with("/customer_name", json!("   ")), 422, Some("customer_name")),
        case("oversized customer_name", with("/customer_name", json!("n".repeat(201))), 422, Some("customer_name")),
        case("bad email", with("/customer_email", json!("zoe.example.com")), 422, Some("customer_email")),
        case("email without a domain dot", with("/customer_email", json!("zoe@example")), 422, Some("customer_email")),
        case("unknown currency", with("/currency", json!("XYZ")), 422, Some("currency")),
        case("lowercase currency", with("/currency", json!("eur")), 422, Some("currency")),
        case("no items", with("/items", json!([])), 422, Some("items")),
        case("too many items", with("/items", Value::Array(vec![item; 101])), 422, Some("items")),
        case("zero quantity", with("/items/0/quantity", json!(0)), 422, Some("items[0].quantity")),
        case("negative quantity", with("/items/1/quantity", json!(-1)), 422, Some("items[1].quantity")),
        case("quantity above 1000", with("/items/0/quantity", json!(1001)), 422, Some("items[0].quantity")),
        case("negative unit_price", with("/items/0/unit_price", json!(-1)), 422, Some("items[0].unit_price")),
        case(
            "absurd unit_price",
            with("/items/1/unit_price", json!(10_000_000_001_i64)),
            422,
            Some("items[1].unit_price"),
        ),
        case("empty sku", with("/items/0/sku", json!("")), 422, Some("items[0].sku")),
        case("sku with a space", with("/items/0/sku", json!("SKU 1")), 422, Some("items[0].sku")),
        case("blank item name", with("/items/1/name", json!(" ")), 422, Some("items[1].name")),
        case("oversized item name", with("/items/0/name", json!("n".repeat(201))), 422, Some("items[0].name")),
        case("unknown country", with("/shipping_address/country", json!("XX")), 422, Some("shipping_address.country")),
        case(
            "blank postal code",
            with("/shipping_address/postal_code", json!("")),
            422,
            Some("shipping_address.postal_code"),
        ),
        case("blank line1", with("/shipping_address/line1", json!(" ")), 422, Some("shipping_address.line1")),
        case(
            "oversized city",
            with("/shipping_address/city", json!("c".repeat(101))),
            422,
            Some("shipping_address.city"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_of_invalid_order_is_rejected_naming_the_field() {
    let app = TestApp::spawn(Database::Sqlite).await;

    for case in invalid_cases() {
        let response = app
            .service
            .client
            .post(app.service.url("/orders"))
            .bearer_auth(testkit::TEST_WRITE_TOKEN)
            .header(CONTENT_TYPE, "application/json")
            .body(case.body.clone())
            .send()
            .await
            .expect("request sent");
        let (status, body) = status_and_json(response).await;

        assert_eq!(status, case.status, "{}: {body}", case.what);
        let message = body["error"].as_str().unwrap_or_else(|| panic!("{}: error message in {body}", case.what));
        // messages start lowercase; they may quote codes such as EUR
        let starts_lowercase = message.chars().next().is_some_and(|first| !first.is_uppercase());
        assert!(starts_lowercase, "{}: lowercase message {message:?}", case.what);
        if let Some(field) = case.field {
            assert_eq!(body["field"], field, "{}: {body}", case.what);
        }
    }

    assert_eq!(app.count("select count(*) from orders").await, 0, "nothing invalid is stored");
    assert_eq!(app.count("select count(*) from outbox").await, 0, "nothing invalid is published");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_json_is_rejected_by_content_type() {
    let app = TestApp::spawn(Database::Sqlite).await;

    let response = app
        .service
        .client
        .post(app.service.url("/orders"))
        .bearer_auth(testkit::TEST_WRITE_TOKEN)
        .header(CONTENT_TYPE, "text/plain")
        .body(order_body("cust-0042").to_string())
        .send()
        .await
        .expect("request sent");

    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 415);
    assert_eq!(body["error"], "content type must be application/json");
    assert_eq!(app.count("select count(*) from orders").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn created_at_is_the_order_time_in_utc() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let before = Utc::now();

    let order = app.place_order("cust-0042").await;

    let created_at: DateTime<Utc> = order["created_at"].as_str().expect("text").parse().expect("rfc 3339");
    // the service keeps milliseconds, so compare at that precision
    assert!(created_at.timestamp_millis() >= before.timestamp_millis(), "{created_at} not before {before}");
    assert!(created_at <= Utc::now());
}
