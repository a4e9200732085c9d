//! `POST /shipments/{id}/status` and the state machine.

use serde_json::{Value, json};
use testkit::{Database, on_both_databases};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error};

on_both_databases!(a_shipment_moves_through_the_whole_state_machine);

async fn a_shipment_moves_through_the_whole_state_machine(database: Database) {
    let app = TestApp::spawn(database).await;
    let created = app.create_shipment(Uuid::now_v7()).await;
    let id = created["id"].as_str().expect("an id");

    let steps = [
        (
            json!({"status": "DISPATCHED", "location": "Amsterdam depot", "note": "picked up"}),
            "Amsterdam depot",
            "picked up",
        ),
        (json!({"status": "IN_TRANSIT", "location": "Utrecht hub"}), "Utrecht hub", "picked up"),
        // IN_TRANSIT to IN_TRANSIT is a location update; the note stays
        (json!({"status": "IN_TRANSIT", "location": "Antwerp hub"}), "Antwerp hub", "picked up"),
        (json!({"status": "DELIVERED", "note": "left with the neighbour"}), "Antwerp hub", "left with the neighbour"),
        (json!({"status": "RETURNED", "location": "Amsterdam depot", "note": "refused"}), "Amsterdam depot", "refused"),
    ];
    let mut previous = created.clone();
    for (request, expected_location, expected_note) in steps {
        let response = app.change_status(id, &request).await;
        assert_eq!(response.status(), 200, "{request}");
        let changed: Value = response.json().await.expect("json body");
        assert_eq!(changed["status"], request["status"], "{request}");
        assert_eq!(changed["version"], previous["version"].as_i64().expect("a version") + 1, "{request}");
        assert_eq!(changed["last_location"], expected_location, "{request}");
        assert_eq!(changed["note"], expected_note, "{request}");
        for unchanged in ["id", "order_id", "carrier", "tracking_number", "address", "created_at"] {
            assert_eq!(changed[unchanged], created[unchanged], "{unchanged} after {request}");
        }
        assert!(changed["updated_at"].as_str() >= previous["updated_at"].as_str(), "{request}");
        let read_back: Value = app.service.get(&format!("/shipments/{id}")).await.json().await.expect("json body");
        assert_eq!(read_back, changed, "a read returns what the change answered");
        previous = changed;
    }

    // RETURNED is final
    for status in ["CREATED", "DISPATCHED", "IN_TRANSIT", "DELIVERED", "RETURNED"] {
        let response = app.change_status(id, &json!({"status": status})).await;
        let body = assert_error(response, 409, None, status).await;
        assert_eq!(body["error"], format!("cannot move a shipment from RETURNED to {status}"));
    }
    let read_back: Value = app.service.get(&format!("/shipments/{id}")).await.json().await.expect("json body");
    assert_eq!(read_back["version"], 6, "refused changes change nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn transitions_outside_the_state_machine_answer_409_and_change_nothing() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let created = app.create_shipment(Uuid::now_v7()).await;
    let id = created["id"].as_str().expect("an id");
    for status in ["CREATED", "IN_TRANSIT", "DELIVERED", "RETURNED"] {
        let response = app.change_status(id, &json!({"status": status})).await;
        let body = assert_error(response, 409, None, status).await;
        assert_eq!(body["error"], format!("cannot move a shipment from CREATED to {status}"));
    }

    app.move_to(id, "DISPATCHED").await;
    app.move_to(id, "IN_TRANSIT").await;
    app.move_to(id, "DELIVERED").await;
    for status in ["CREATED", "DISPATCHED", "IN_TRANSIT", "DELIVERED"] {
        let response = app.change_status(id, &json!({"status": status, "location": "Utrecht"})).await;
        let body = assert_error(response, 409, None, status).await;
        assert_eq!(body["error"], format!("cannot move a shipment from DELIVERED to {status}"));
    }

    let read_back: Value = app.service.get(&format!("/shipments/{id}")).await.json().await.expect("json body");
    assert_eq!(read_back["status"], "DELIVERED");
    assert_eq!(read_back["version"], 4);
    assert_eq!(read_back["last_location"], Value::Null, "a refused change does not record its location");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_status_changes_are_refused_naming_the_field() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let created = app.create_shipment(Uuid::now_v7()).await;
    let id = created["id"].as_str().expect("an id");

    let cases: Vec<(&str, Value, &str)> = vec![
        ("an unknown status", json!({"status": "LOST"}), "status"),
        ("a lowercase status", json!({"status": "dispatched"}), "status"),
        ("a status of the wrong type", json!({"status": 2}), "status"),
        ("a blank location", json!({"status": "DISPATCHED", "location": "  "}), "location"),
        ("a location too long", json!({"status": "DISPATCHED", "location": "l".repeat(201)}), "location"),
        ("a location of the wrong type", json!({"status": "DISPATCHED", "location": 7}), "location"),
        ("a blank note", json!({"status": "DISPATCHED", "note": ""}), "note"),
        ("a note too long", json!({"status": "DISPATCHED", "note": "n".repeat(501)}), "note"),
    ];
    for (case, body, field) in cases {
        let response = app.change_status(id, &body).await;
        assert_error(response, 422, Some(field), case).await;
    }
    let missing = app.change_status(id, &json!({"location": "Utrecht"})).await;
    let error = assert_error(missing, 422, Some("status"), "a missing status").await;
    assert_eq!(error["error"], "is required");
    let unknown_field = app.change_status(id, &json!({"status": "DISPATCHED", "eta": "tomorrow"})).await;
    assert_error(unknown_field, 422, Some("eta"), "an unknown field").await;

    let malformed = app.service.post_raw(&format!("/shipments/{id}/status"), "application/json", "{\"status\"").await;
    assert_error(malformed, 400, None, "malformed json").await;

    let bad_id = app.change_status("not-a-uuid", &json!({"status": "DISPATCHED"})).await;
    assert_error(bad_id, 400, Some("id"), "an id that is not a uuid").await;

    let unknown_id = Uuid::now_v7();
    let not_found = app.change_status(&unknown_id.to_string(), &json!({"status": "DISPATCHED"})).await;
    let body = assert_error(not_found, 404, None, "an unknown shipment").await;
    assert_eq!(body["error"], format!("shipment {unknown_id} not found"));

    let read_back: Value = app.service.get(&format!("/shipments/{id}")).await.json().await.expect("json body");
    assert_eq!(read_back, created, "nothing changed");
}
