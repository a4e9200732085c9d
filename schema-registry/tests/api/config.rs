use reqwest::StatusCode;
use serde_json::json;

use crate::support::{PAYMENT_AMOUNT_AS_STRING, PAYMENT_V1, TestRegistry};

#[tokio::test]
async fn the_global_level_defaults_to_backward_and_can_be_changed_and_reset() {
    let registry = TestRegistry::start().await;
    assert_eq!(registry.get("/config").await.ok(), json!({"compatibilityLevel": "BACKWARD"}));

    let updated = registry.put("/config", json!({"compatibility": "FULL"})).await.ok();
    assert_eq!(updated, json!({"compatibility": "FULL"}));
    assert_eq!(registry.get("/config").await.ok(), json!({"compatibilityLevel": "FULL"}));

    assert_eq!(registry.delete("/config").await.ok(), json!({"compatibilityLevel": "FULL"}));
    assert_eq!(registry.get("/config").await.ok(), json!({"compatibilityLevel": "BACKWARD"}));
}

#[tokio::test]
async fn a_subject_level_is_set_read_and_removed() {
    let registry = TestRegistry::start().await;
    registry.get("/config/payments-value").await.error(StatusCode::NOT_FOUND, 40408);
    let global = registry.get("/config/payments-value?defaultToGlobal=true").await.ok();
    assert_eq!(global, json!({"compatibilityLevel": "BACKWARD"}));

    // a subject may be configured before it has any version
    let updated = registry.put("/config/payments-value", json!({"compatibility": "forward_transitive"})).await;
    assert_eq!(updated.ok(), json!({"compatibility": "FORWARD_TRANSITIVE"}));
    let level = registry.get("/config/payments-value").await.ok();
    assert_eq!(level, json!({"compatibilityLevel": "FORWARD_TRANSITIVE"}));

    let removed = registry.delete("/config/payments-value").await.ok();
    assert_eq!(removed, json!({"compatibilityLevel": "FORWARD_TRANSITIVE"}));
    registry.get("/config/payments-value").await.error(StatusCode::NOT_FOUND, 40408);
    registry.delete("/config/payments-value").await.error(StatusCode::NOT_FOUND, 40401);
}

#[tokio::test]
async fn a_subject_level_overrides_the_global_one() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", PAYMENT_AMOUNT_AS_STRING).await.error(StatusCode::CONFLICT, 409);

    registry.put("/config/payments-value", json!({"compatibility": "NONE"})).await.ok();
    registry.register("payments-value", PAYMENT_AMOUNT_AS_STRING).await.id();
}

#[tokio::test]
async fn unknown_levels_are_rejected() {
    let registry = TestRegistry::start().await;
    for body in [json!({"compatibility": "SIDEWAYS"}), json!({"compatibility": ""}), json!({})] {
        registry.put("/config", body.clone()).await.error(StatusCode::UNPROCESSABLE_ENTITY, 42203);
        registry.put("/config/payments-value", body).await.error(StatusCode::UNPROCESSABLE_ENTITY, 42203);
    }
    assert_eq!(registry.get("/config").await.ok(), json!({"compatibilityLevel": "BACKWARD"}));
}
