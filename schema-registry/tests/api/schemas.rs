use reqwest::StatusCode;
use serde_json::json;

use crate::support::{PAYMENT_V1, SHIPMENT_V1, TestRegistry};

#[tokio::test]
async fn a_schema_is_read_by_id_whatever_the_query_parameters() {
    let registry = TestRegistry::start().await;
    let id = registry.register("payments-value", PAYMENT_V1).await.id();

    let expected = json!({"schema": PAYMENT_V1});
    assert_eq!(registry.get(&format!("/schemas/ids/{id}")).await.ok(), expected);
    // schema_registry_converter always sends deleted=true; Confluent's clients may add subject
    let with_parameters = format!("/schemas/ids/{id}?deleted=true&subject=payments-value&format=x");
    assert_eq!(registry.get(&with_parameters).await.ok(), expected);
}

#[tokio::test]
async fn unknown_or_non_numeric_ids_are_not_found() {
    let registry = TestRegistry::start().await;
    registry.get("/schemas/ids/1").await.error(StatusCode::NOT_FOUND, 40403);
    registry.get("/schemas/ids/-1").await.error(StatusCode::NOT_FOUND, 40403);
    registry.get("/schemas/ids/abc").await.error(StatusCode::NOT_FOUND, 40403);
    registry.get("/schemas/ids/99999999999").await.error(StatusCode::NOT_FOUND, 40403);
    registry.get("/schemas/ids/1/versions").await.error(StatusCode::NOT_FOUND, 40403);
    registry.get("/schemas/ids/1/subjects").await.error(StatusCode::NOT_FOUND, 40403);
}

#[tokio::test]
async fn the_subjects_and_versions_of_an_id_are_listed() {
    let registry = TestRegistry::start().await;
    let id = registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("shipments-value", SHIPMENT_V1).await.id();
    registry.register("refunds-value", PAYMENT_V1).await.id();

    let versions = registry.get(&format!("/schemas/ids/{id}/versions")).await.ok();
    assert_eq!(
        versions,
        json!([{"subject": "payments-value", "version": 1}, {"subject": "refunds-value", "version": 1}])
    );
    let subjects = registry.get(&format!("/schemas/ids/{id}/subjects")).await.ok();
    assert_eq!(subjects, json!(["payments-value", "refunds-value"]));
}
