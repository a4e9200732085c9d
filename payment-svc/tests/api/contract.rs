//! The contract drill through `/admin/contract`: a renamed field on the unversioned read API,
//! and `/v2/payments…` serving the new shape beside it all along.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Database, TEST_ADMIN_TOKEN, status_and_json};
use uuid::Uuid;

use events::evolution::{authorization_limit_of, payments_v2_schema};

use crate::helpers::{TestApp, events_of, id_of};

impl TestApp {
    /// `PUT /admin/contract` with the admin token; returns the status and body.
    pub async fn put_contract(&self, settings: &Value) -> (StatusCode, Value) {
        let request = self.service.client.put(self.service.url("/admin/contract")).bearer_auth(TEST_ADMIN_TOKEN);
        status_and_json(request.json(settings).send().await.expect("admin api answers")).await
    }

    pub async fn read_json(&self, path: &str) -> Value {
        let (status, body) = status_and_json(self.service.get(path).await).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contract_switch_needs_the_admin_token_and_reverts() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let client = &app.service.client;
    let renamed = json!({"rest": "renamed"});

    let without_token = client.put(app.service.url("/admin/contract")).json(&renamed).send().await.expect("answers");
    assert_eq!(without_token.status(), StatusCode::UNAUTHORIZED);
    let wrong_token = client
        .put(app.service.url("/admin/contract"))
        .bearer_auth("not-the-admin-token")
        .json(&renamed)
        .send()
        .await
        .expect("answers");
    assert_eq!(wrong_token.status(), StatusCode::UNAUTHORIZED);
    let (status, error) = app.put_contract(&json!({"rest": "v9"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");

    assert_eq!(app.put_contract(&renamed).await.0, StatusCode::OK);
    let read = client.get(app.service.url("/admin/contract")).bearer_auth(TEST_ADMIN_TOKEN).send().await;
    let (status, settings) = status_and_json(read.expect("answers")).await;
    assert_eq!((status, settings["rest"].clone()), (StatusCode::OK, json!("renamed")));

    let reverted = client.delete(app.service.url("/admin/contract")).bearer_auth(TEST_ADMIN_TOKEN).send().await;
    let (status, settings) = status_and_json(reverted.expect("answers")).await;
    assert_eq!((status, settings["rest"].clone()), (StatusCode::OK, json!("v1")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rename_changes_the_unversioned_api_while_v2_keeps_its_shape() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let order_id = Uuid::now_v7();
    let payment = app.create_payment(order_id, 4_999).await;
    let one = format!("/payments/{}", id_of(&payment));
    let list = format!("/payments?order_id={order_id}");
    let one_v2 = format!("/v2{one}");
    let list_v2 = format!("/v2{list}");

    let before = app.read_json(&one).await;
    assert_eq!(before["amount"], 4_999);
    assert!(before.get("amount_minor").is_none(), "{before}");
    let v2_before = app.read_json(&one_v2).await;

    assert_eq!(app.put_contract(&json!({"rest": "renamed"})).await.0, StatusCode::OK);
    for (path, renamed) in
        [(&one, app.read_json(&one).await), (&list, app.read_json(&list).await["payments"][0].clone())]
    {
        assert!(renamed.get("amount").is_none(), "{path}: {renamed}");
        assert_eq!(renamed["amount_minor"], 4_999, "{path}");
        assert_eq!(renamed["authorization_limit_minor"], 100_000, "{path}");
    }
    assert_eq!(app.read_json(&one_v2).await, v2_before, "v2 does not change with the switch");
    assert_eq!(app.read_json(&list_v2).await["payments"][0], v2_before);

    assert_eq!(app.put_contract(&json!({"rest": "v1"})).await.0, StatusCode::OK);
    assert_eq!(app.read_json(&one).await, before, "reverted");
    assert_eq!(v2_before["amount_minor"], 4_999);
    assert!(v2_before.get("amount").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn v2_events_are_read_in_full_by_a_v1_reader_and_with_the_new_field_by_a_v2_reader() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let (status, body) = app.put_contract(&json!({"event_schema": "v2"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let payment = app.create_payment(Uuid::now_v7(), 2_500).await;
    let payment_id = id_of(&payment).to_string();

    // read_topic decodes with this build's reader schema, v1: the new field is skipped
    let received = app.read_events(|received| !events_of(received, &payment_id).is_empty()).await;
    let record = received.iter().find(|record| record.event.aggregate_id.to_string() == payment_id).expect("published");
    assert_eq!(record.event.payment.amount.amount_minor, 2_500, "the v1 reader projects every field it knows");

    // an upgraded reader resolves the same record with the v2 schema, no rebuild of the writer
    let codec = app.infra.codec();
    let upgraded = codec.decode_value(&record.value, payments_v2_schema()).await.expect("the v2 reader decodes");
    assert_eq!(authorization_limit_of(&upgraded), Some(100_000));
    let (schema_id, _) = events::codec::split_wire_format(&record.value).expect("wire format");
    let writer = codec.writer_schema(schema_id).await.expect("the registry knows the writer schema");
    assert_eq!(writer.canonical_form(), payments_v2_schema().canonical_form(), "published with v2");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incompatible_schema_is_refused_before_anything_is_published_with_it() {
    let app = TestApp::spawn(Database::Sqlite).await;
    assert_eq!(app.put_contract(&json!({"event_schema": "v2"})).await.0, StatusCode::OK);
    let (status, error) = app.put_contract(&json!({"event_schema": "v3-incompatible"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["field"], "event_schema");

    let readyz = app.service.client.get(app.service.url("/readyz")).send().await.expect("answers");
    let (status, readiness) = status_and_json(readyz).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{readiness}");
    assert!(readiness["checks"]["event_schema"].as_str().is_some_and(|reason| reason.contains("refused")));
    let metrics = app.service.client.get(app.service.url("/metrics")).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("text");
    assert!(metrics.contains(r#"payment_schema_registrations_refused_total{version="v3-incompatible"}"#), "{metrics}");

    // payment-svc keeps publishing v2: the event arrives, and a v1 reader reads it
    let payment = app.create_payment(Uuid::now_v7(), 700).await;
    let payment_id = id_of(&payment).to_string();
    let received = app.read_events(|received| !events_of(received, &payment_id).is_empty()).await;
    let record = received.iter().find(|record| record.event.aggregate_id.to_string() == payment_id).expect("published");
    let codec = app.infra.codec();
    let (schema_id, _) = events::codec::split_wire_format(&record.value).expect("wire format");
    let writer = codec.writer_schema(schema_id).await.expect("the registry knows the writer schema");
    assert_eq!(writer.canonical_form(), payments_v2_schema().canonical_form(), "still v2");

    let reverted = app.service.client.delete(app.service.url("/admin/contract")).bearer_auth(TEST_ADMIN_TOKEN);
    assert_eq!(reverted.send().await.expect("answers").status(), StatusCode::OK);
    let readyz = app.service.client.get(app.service.url("/readyz")).send().await.expect("answers");
    assert_eq!(readyz.status(), StatusCode::OK, "ready again once the switch is set again");
}
