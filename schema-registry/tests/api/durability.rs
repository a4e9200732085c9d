use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{PAYMENT_V1, PAYMENT_V2_WITH_NOTE, SHIPMENT_V1, TestRegistry};

#[tokio::test]
async fn every_subject_version_id_and_level_survives_a_restart_and_ids_are_not_reused() {
    let registry = TestRegistry::start().await;
    let payment_v1 = registry.register("payments-value", PAYMENT_V1).await.id();
    let payment_v2 = registry.register("payments-value", PAYMENT_V2_WITH_NOTE).await.id();
    let refund_v1 = registry.register("refunds-value", PAYMENT_V1).await.id();
    let shipment_v1 = registry.register("shipments-value", SHIPMENT_V1).await.id();
    registry.put("/config", json!({"compatibility": "FULL"})).await.ok();
    registry.put("/config/refunds-value", json!({"compatibility": "NONE"})).await.ok();
    registry.delete("/subjects/shipments-value").await.ok();
    let before = snapshot(&registry).await;

    let registry = registry.restart().await;

    assert_eq!(snapshot(&registry).await, before);
    assert_eq!(registry.get("/subjects").await.ok(), json!(["payments-value", "refunds-value"]));
    assert_eq!(
        registry.get("/subjects?deleted=true").await.ok(),
        json!(["payments-value", "refunds-value", "shipments-value"])
    );
    assert_eq!(registry.get("/config").await.ok(), json!({"compatibilityLevel": "FULL"}));
    assert_eq!(registry.get("/config/refunds-value").await.ok(), json!({"compatibilityLevel": "NONE"}));
    assert_eq!(registry.get(&format!("/schemas/ids/{shipment_v1}")).await.ok(), json!({"schema": SHIPMENT_V1}));
    registry.delete("/subjects/shipments-value").await.error(StatusCode::NOT_FOUND, 40404);
    // registering what is already there changes nothing
    assert_eq!(registry.register("payments-value", PAYMENT_V1).await.id(), payment_v1);
    assert_eq!(registry.register("refunds-value", PAYMENT_V1).await.id(), refund_v1);

    let new_schema = r#"{"type": "record", "name": "Invoice", "fields": [{"name": "id", "type": "string"}]}"#;
    let new_id = registry.register("invoices-value", new_schema).await.id();
    assert!(new_id > payment_v1.max(payment_v2).max(refund_v1).max(shipment_v1), "id {new_id} was reused");
    // versions continue after the soft-deleted ones
    assert_eq!(registry.register("shipments-value", SHIPMENT_V1).await.id(), shipment_v1);
    assert_eq!(registry.get("/subjects/shipments-value/versions").await.ok(), json!([2]));
}

/// Everything a client can read about the registered subjects.
async fn snapshot(registry: &TestRegistry) -> Vec<Value> {
    let mut everything = Vec::new();
    let Value::Array(subjects) = registry.get("/subjects?deleted=true").await.ok() else {
        panic!("subjects are not a list");
    };
    for subject in subjects {
        let Some(subject) = subject.as_str() else { panic!("subject {subject} is not a string") };
        let Value::Array(versions) = registry.get(&format!("/subjects/{subject}/versions?deleted=true")).await.ok()
        else {
            panic!("versions of {subject} are not a list");
        };
        for version in versions {
            everything.push(registry.get(&format!("/subjects/{subject}/versions/{version}?deleted=true")).await.ok());
        }
    }
    everything
}
