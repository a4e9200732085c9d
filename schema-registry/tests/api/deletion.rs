use reqwest::StatusCode;
use serde_json::json;

use crate::support::{PAYMENT_V1, PAYMENT_V2_WITH_NOTE, TestRegistry};

#[tokio::test]
async fn a_soft_deleted_subject_is_hidden_but_its_schemas_stay_readable_by_id() {
    let registry = TestRegistry::start().await;
    let v1 = registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", PAYMENT_V2_WITH_NOTE).await.id();

    assert_eq!(registry.delete("/subjects/payments-value").await.ok(), json!([1, 2]));

    assert_eq!(registry.get("/subjects").await.ok(), json!([]));
    assert_eq!(registry.get("/subjects?deleted=true").await.ok(), json!(["payments-value"]));
    registry.get("/subjects/payments-value/versions").await.error(StatusCode::NOT_FOUND, 40401);
    registry.get("/subjects/payments-value/versions/1").await.error(StatusCode::NOT_FOUND, 40401);
    assert_eq!(registry.get("/subjects/payments-value/versions?deleted=true").await.ok(), json!([1, 2]));
    let deleted_version = registry.get("/subjects/payments-value/versions/1?deleted=true").await.ok();
    assert_eq!(deleted_version["id"], v1);
    // consumers must still decode records written before the delete
    assert_eq!(registry.get(&format!("/schemas/ids/{v1}")).await.ok(), json!({"schema": PAYMENT_V1}));
    assert_eq!(registry.get(&format!("/schemas/ids/{v1}/versions")).await.ok(), json!([]));
    let with_deleted = registry.get(&format!("/schemas/ids/{v1}/versions?deleted=true")).await.ok();
    assert_eq!(with_deleted, json!([{"subject": "payments-value", "version": 1}]));
}

#[tokio::test]
async fn deleting_a_subject_twice_needs_permanent_and_permanent_needs_soft_first() {
    let registry = TestRegistry::start().await;
    let id = registry.register("payments-value", PAYMENT_V1).await.id();
    registry.delete("/subjects/nothing").await.error(StatusCode::NOT_FOUND, 40401);
    registry.delete("/subjects/payments-value?permanent=true").await.error(StatusCode::NOT_FOUND, 40405);

    registry.delete("/subjects/payments-value").await.ok();
    registry.delete("/subjects/payments-value").await.error(StatusCode::NOT_FOUND, 40404);
    assert_eq!(registry.delete("/subjects/payments-value?permanent=true").await.ok(), json!([1]));

    assert_eq!(registry.get("/subjects?deleted=true").await.ok(), json!([]));
    registry.get(&format!("/schemas/ids/{id}")).await.error(StatusCode::NOT_FOUND, 40403);
}

#[tokio::test]
async fn re_registering_a_soft_deleted_schema_creates_a_new_version_with_the_same_id() {
    let registry = TestRegistry::start().await;
    let id = registry.register("payments-value", PAYMENT_V1).await.id();
    registry.delete("/subjects/payments-value").await.ok();

    assert_eq!(registry.register("payments-value", PAYMENT_V1).await.id(), id);
    assert_eq!(registry.get("/subjects/payments-value/versions").await.ok(), json!([2]));
    let found = registry.post("/subjects/payments-value", json!({"schema": PAYMENT_V1})).await.ok();
    assert_eq!(found["version"], 2);
}

#[tokio::test]
async fn soft_deleting_a_subject_drops_its_compatibility_level() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.put("/config/payments-value", json!({"compatibility": "NONE"})).await.ok();

    registry.delete("/subjects/payments-value").await.ok();
    registry.get("/config/payments-value").await.error(StatusCode::NOT_FOUND, 40408);
}

#[tokio::test]
async fn a_version_is_soft_deleted_then_permanently_deleted() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", PAYMENT_V2_WITH_NOTE).await.id();

    registry.delete("/subjects/payments-value/versions/1?permanent=true").await.error(StatusCode::NOT_FOUND, 40407);
    assert_eq!(registry.delete("/subjects/payments-value/versions/1").await.ok(), json!(1));
    registry.delete("/subjects/payments-value/versions/1").await.error(StatusCode::NOT_FOUND, 40406);
    assert_eq!(registry.get("/subjects/payments-value/versions").await.ok(), json!([2]));
    registry.get("/subjects/payments-value/versions/1").await.error(StatusCode::NOT_FOUND, 40402);

    assert_eq!(registry.delete("/subjects/payments-value/versions/1?permanent=true").await.ok(), json!(1));
    assert_eq!(registry.get("/subjects/payments-value/versions?deleted=true").await.ok(), json!([2]));
    assert_eq!(registry.delete("/subjects/payments-value/versions/latest").await.ok(), json!(2));
}

#[tokio::test]
async fn deleting_unknown_or_invalid_versions_is_refused() {
    let registry = TestRegistry::start().await;
    registry.delete("/subjects/nothing/versions/1").await.error(StatusCode::NOT_FOUND, 40401);
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.delete("/subjects/payments-value/versions/9").await.error(StatusCode::NOT_FOUND, 40402);
    registry.delete("/subjects/payments-value/versions/zero").await.error(StatusCode::UNPROCESSABLE_ENTITY, 42202);
}
