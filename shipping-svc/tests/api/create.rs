//! `POST /shipments`.

use chrono::DateTime;
use serde_json::{Value, json};
use testkit::{Database, on_both_databases};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, create_body};

on_both_databases!(creating_a_shipment_answers_201_with_location_and_the_new_shipment);

/// Also proves that an order id nobody has seen is accepted: the service keeps no references
/// to other services' data.
async fn creating_a_shipment_answers_201_with_location_and_the_new_shipment(database: Database) {
    let app = TestApp::spawn(database).await;
    let order_id = Uuid::now_v7();

    let response = app.service.post_json("/shipments", &create_body(order_id)).await;

    assert_eq!(response.status(), 201);
    let location = response.headers().get("location").and_then(|value| value.to_str().ok()).map(str::to_string);
    let shipment: Value = response.json().await.expect("json body");
    let id = shipment["id"].as_str().expect("an id");
    assert_eq!(Uuid::parse_str(id).expect("a uuid").get_version_num(), 7);
    assert_eq!(location, Some(format!("/shipments/{id}")));
    assert_eq!(shipment["order_id"], json!(order_id));
    assert_eq!(shipment["carrier"], "DHL Express");
    assert_eq!(
        shipment["address"],
        json!({"line1": "Keizersgracht 123", "line2": "3rd floor", "city": "Amsterdam",
               "postal_code": "1015 CJ", "country": "NL"})
    );
    assert_eq!(shipment["status"], "CREATED");
    assert_eq!(shipment["last_location"], Value::Null);
    assert_eq!(shipment["note"], Value::Null);
    assert_eq!(shipment["version"], 1);
    let tracking_number = shipment["tracking_number"].as_str().expect("a tracking number");
    assert!(tracking_number.starts_with("DHL") && tracking_number.len() == 16, "{tracking_number}");
    assert!(tracking_number[3..].bytes().all(|byte| byte.is_ascii_digit()), "{tracking_number}");
    let created_at = shipment["created_at"].as_str().expect("created_at");
    // e.g. 2026-11-22T05:26:00.123Z: utc, with milliseconds
    assert!(created_at.ends_with('Z') && created_at.len() == 24, "{created_at}");
    DateTime::parse_from_rfc3339(created_at).expect("rfc 3339");
    assert_eq!(shipment["updated_at"], shipment["created_at"]);

    let read_back: Value = app.service.get(&format!("/shipments/{id}")).await.json().await.expect("json body");
    assert_eq!(read_back, shipment, "a read returns what the create answered");
}

#[tokio::test(flavor = "multi_thread")]
async fn input_is_trimmed_and_every_shipment_gets_its_own_tracking_number() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    let mut body = create_body(order_id);
    body["carrier"] = json!("  postnl ");
    body["address"]["line2"] = json!("   ");
    body["address"]["city"] = json!(" Utrecht ");

    let mut tracking_numbers = Vec::new();
    for _ in 0..5 {
        let response = app.service.post_json("/shipments", &body).await;
        assert_eq!(response.status(), 201);
        let shipment: Value = response.json().await.expect("json body");
        assert_eq!(shipment["carrier"], "postnl");
        assert_eq!(shipment["address"]["line2"], Value::Null, "a blank line2 is no line2");
        assert_eq!(shipment["address"]["city"], "Utrecht");
        let tracking_number = shipment["tracking_number"].as_str().expect("a tracking number").to_string();
        assert!(tracking_number.starts_with("POS"), "{tracking_number}");
        tracking_numbers.push(tracking_number);
    }
    tracking_numbers.sort();
    tracking_numbers.dedup();
    assert_eq!(tracking_numbers.len(), 5, "tracking numbers are unique");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_create_requests_are_refused_naming_the_field_and_create_nothing() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    // the valid body with the field at `pointer` set to `value`, added when it is not there
    let with = |pointer: &str, value: Value| {
        let mut body = create_body(order_id);
        match body.pointer_mut(pointer) {
            Some(field) => *field = value,
            None => {
                let (parent, name) = pointer.rsplit_once('/').expect("a json pointer");
                let parent = body.pointer_mut(parent).and_then(Value::as_object_mut).expect("an object");
                parent.insert(name.to_string(), value);
            }
        }
        body
    };
    let without = |field: &str| {
        let mut body = create_body(order_id);
        body.as_object_mut().expect("an object").remove(field);
        body
    };
    let without_in_address = |field: &str| {
        let mut body = create_body(order_id);
        body["address"].as_object_mut().expect("an object").remove(field);
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("order id is not a uuid", with("/order_id", json!("order-42")), "order_id"),
        ("order id has the wrong type", with("/order_id", json!(42)), "order_id"),
        ("carrier is blank", with("/carrier", json!("   ")), "carrier"),
        ("carrier is too long", with("/carrier", json!("C".repeat(51))), "carrier"),
        ("carrier has the wrong type", with("/carrier", json!(["DHL"])), "carrier"),
        ("country is unknown", with("/address/country", json!("Netherlands")), "address.country"),
        ("city is blank", with("/address/city", json!("")), "address.city"),
        ("line1 is too long", with("/address/line1", json!("x".repeat(201))), "address.line1"),
        ("postal code is too long", with("/address/postal_code", json!("1".repeat(21))), "address.postal_code"),
        ("address has the wrong type", with("/address", json!("Keizersgracht 123")), "address"),
    ];
    for (case, body, field) in cases {
        let response = app.service.post_json("/shipments", &body).await;
        assert_error(response, 422, Some(field), case).await;
    }

    for (case, body, field) in [
        ("order id is missing", without("order_id"), "order_id"),
        ("order id is null", with("/order_id", Value::Null), "order_id"),
        ("carrier is missing", without("carrier"), "carrier"),
        ("address is missing", without("address"), "address"),
    ] {
        let response = app.service.post_json("/shipments", &body).await;
        let error = assert_error(response, 422, Some(field), case).await;
        assert_eq!(error["error"], "is required", "{case}");
    }
    let unknown_field = app.service.post_json("/shipments", &with("/weight_kg", json!(3))).await;
    let error = assert_error(unknown_field, 422, Some("weight_kg"), "an unknown field").await;
    assert!(error["error"].as_str().is_some_and(|message| message.contains("weight_kg")), "{error}");
    let missing_city = app.service.post_json("/shipments", &without_in_address("city")).await;
    let error = assert_error(missing_city, 422, Some("address.city"), "a missing address part").await;
    assert!(error["error"].as_str().is_some_and(|message| message.contains("missing field `city`")), "{error}");

    let malformed = app.service.post_raw("/shipments", "application/json", "{\"order_id\": ").await;
    assert_error(malformed, 400, None, "malformed json").await;
    let not_json = app.service.post_raw("/shipments", "text/plain", "order please").await;
    assert_error(not_json, 415, None, "not json").await;

    assert!(app.list_shipments(order_id).await.is_empty(), "nothing was created");
}
