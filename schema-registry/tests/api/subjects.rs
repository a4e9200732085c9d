use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{PAYMENT_V1, PAYMENT_V2_WITH_NOTE, SHIPMENT_V1, TestRegistry};

#[tokio::test]
async fn registering_a_schema_creates_version_1_with_an_id() {
    let registry = TestRegistry::start().await;
    let id = registry.register("payments-value", PAYMENT_V1).await.id();

    let version = registry.get("/subjects/payments-value/versions/1").await.ok();
    assert_eq!(version["subject"], "payments-value");
    assert_eq!(version["version"], 1);
    assert_eq!(version["id"], id);
    assert_eq!(version["schema"], PAYMENT_V1);
}

#[tokio::test]
async fn registering_the_same_schema_again_returns_its_id_and_creates_no_version() {
    let registry = TestRegistry::start().await;
    let id = registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", PAYMENT_V2_WITH_NOTE).await.id();

    // v1 again, not the latest, with other whitespace and key order
    let reformatted: Value = serde_json::from_str(PAYMENT_V1).expect("test schema is JSON");
    assert_eq!(registry.register("payments-value", &reformatted.to_string()).await.id(), id);
    assert_eq!(registry.register("payments-value", PAYMENT_V1).await.id(), id);

    assert_eq!(registry.get("/subjects/payments-value/versions").await.ok(), json!([1, 2]));
}

#[tokio::test]
async fn the_same_schema_under_two_subjects_shares_one_id() {
    let registry = TestRegistry::start().await;
    let first = registry.register("payments-value", PAYMENT_V1).await.id();
    let second = registry.register("refunds-value", PAYMENT_V1).await.id();
    let other = registry.register("shipments-value", SHIPMENT_V1).await.id();

    assert_eq!(first, second);
    assert_ne!(first, other);
    let versions = registry.get(&format!("/schemas/ids/{first}/versions")).await.ok();
    assert_eq!(
        versions,
        json!([{"subject": "payments-value", "version": 1}, {"subject": "refunds-value", "version": 1}])
    );
}

#[tokio::test]
async fn a_version_can_be_read_by_number_latest_or_minus_one() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();
    let v2_id = registry.register("payments-value", PAYMENT_V2_WITH_NOTE).await.id();

    for selector in ["2", "latest", "-1"] {
        let version = registry.get(&format!("/subjects/payments-value/versions/{selector}")).await.ok();
        assert_eq!(version["version"], 2, "{selector}");
        assert_eq!(version["id"], v2_id, "{selector}");
    }
    let v1 = registry.get("/subjects/payments-value/versions/1").await.ok();
    assert_eq!(v1["version"], 1);
}

#[tokio::test]
async fn the_schema_endpoint_answers_the_schema_itself() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();

    let schema = registry.get("/subjects/payments-value/versions/latest/schema").await.ok();
    let expected: Value = serde_json::from_str(PAYMENT_V1).expect("test schema is JSON");
    assert_eq!(schema, expected);
}

#[tokio::test]
async fn subjects_and_their_versions_are_listed() {
    let registry = TestRegistry::start().await;
    assert_eq!(registry.get("/subjects").await.ok(), json!([]));
    registry.register("shipments-value", SHIPMENT_V1).await.id();
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", PAYMENT_V2_WITH_NOTE).await.id();

    assert_eq!(registry.get("/subjects").await.ok(), json!(["payments-value", "shipments-value"]));
    assert_eq!(registry.get("/subjects/payments-value/versions").await.ok(), json!([1, 2]));
}

#[tokio::test]
async fn lookup_finds_the_version_a_schema_has_under_a_subject() {
    let registry = TestRegistry::start().await;
    let id = registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", PAYMENT_V2_WITH_NOTE).await.id();

    let found = registry.post("/subjects/payments-value", json!({"schema": PAYMENT_V1})).await.ok();
    assert_eq!(found, json!({"subject": "payments-value", "version": 1, "id": id, "schema": PAYMENT_V1}));

    let unknown_subject = registry.post("/subjects/orders-value", json!({"schema": PAYMENT_V1})).await;
    unknown_subject.error(StatusCode::NOT_FOUND, 40401);
    let not_registered = registry.post("/subjects/payments-value", json!({"schema": SHIPMENT_V1})).await;
    not_registered.error(StatusCode::NOT_FOUND, 40403);
    // registered, but under another subject
    registry.register("shipments-value", SHIPMENT_V1).await.id();
    let elsewhere = registry.post("/subjects/payments-value", json!({"schema": SHIPMENT_V1})).await;
    elsewhere.error(StatusCode::NOT_FOUND, 40403);
}

#[tokio::test]
async fn unknown_subjects_and_versions_are_not_found() {
    let registry = TestRegistry::start().await;
    registry.get("/subjects/nothing/versions").await.error(StatusCode::NOT_FOUND, 40401);
    registry.get("/subjects/nothing/versions/1").await.error(StatusCode::NOT_FOUND, 40401);
    registry.get("/subjects/nothing/versions/latest/schema").await.error(StatusCode::NOT_FOUND, 40401);

    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.get("/subjects/payments-value/versions/2").await.error(StatusCode::NOT_FOUND, 40402);
    registry.get("/subjects/payments-value/versions/2/schema").await.error(StatusCode::NOT_FOUND, 40402);
}

#[tokio::test]
async fn versions_that_are_not_a_positive_int_or_latest_are_invalid() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();
    for version in ["abc", "0", "-2", "1.5", "2147483648"] {
        let reply = registry.get(&format!("/subjects/payments-value/versions/{version}")).await;
        let message = reply.error(StatusCode::UNPROCESSABLE_ENTITY, 42202);
        assert!(message.contains(version), "{message}");
    }
}

#[tokio::test]
async fn subjects_with_an_encoded_slash_are_one_subject() {
    let registry = TestRegistry::start().await;
    registry.register("shop%2Fpayments", PAYMENT_V1).await.id();
    assert_eq!(registry.get("/subjects").await.ok(), json!(["shop/payments"]));
    registry.get("/subjects/shop%2Fpayments/versions/1").await.ok();
}

#[tokio::test]
async fn the_root_answers_an_empty_object_and_schema_types_lists_avro() {
    let registry = TestRegistry::start().await;
    assert_eq!(registry.get("/").await.ok(), json!({}));
    assert_eq!(registry.get("/schemas/types").await.ok(), json!(["AVRO"]));
}

#[tokio::test]
async fn registration_answers_only_the_id() {
    let registry = TestRegistry::start().await;
    assert_eq!(registry.register("payments-value", PAYMENT_V1).await.ok(), json!({"id": 1}));
}
