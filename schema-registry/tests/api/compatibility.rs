use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    PAYMENT_AMOUNT_AS_STRING, PAYMENT_V1, PAYMENT_V2_WITH_NOTE, PAYMENT_WITH_REQUIRED_CURRENCY, PAYMENT_WITHOUT_AMOUNT,
    SHIPMENT_V1, TestRegistry,
};

#[tokio::test]
async fn adding_an_optional_field_with_a_default_is_accepted_under_backward() {
    let registry = TestRegistry::start().await;
    let v1 = registry.register("payments-value", PAYMENT_V1).await.id();
    let v2 = registry.register("payments-value", PAYMENT_V2_WITH_NOTE).await.id();
    assert_ne!(v1, v2);
    assert_eq!(registry.get("/subjects/payments-value/versions").await.ok(), json!([1, 2]));
}

#[tokio::test]
async fn changing_a_field_type_is_rejected_naming_the_field() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();

    let message = registry.register("payments-value", PAYMENT_AMOUNT_AS_STRING).await.error(StatusCode::CONFLICT, 409);
    assert!(message.contains("'amount'"), "{message}");
    assert!(message.contains("payments-value"), "{message}");
    assert_eq!(registry.get("/subjects/payments-value/versions").await.ok(), json!([1]));
}

#[tokio::test]
async fn adding_a_field_without_a_default_is_rejected_under_backward_naming_the_field() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();

    let reply = registry.register("payments-value", PAYMENT_WITH_REQUIRED_CURRENCY).await;
    let message = reply.error(StatusCode::CONFLICT, 409);
    assert!(message.contains("'currency'"), "{message}");
}

#[tokio::test]
async fn removing_a_field_without_a_default_is_rejected_where_old_readers_count() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("refunds-value", PAYMENT_V1).await.id();
    registry.put("/config/payments-value", json!({"compatibility": "FULL"})).await.ok();
    registry.put("/config/refunds-value", json!({"compatibility": "FORWARD"})).await.ok();

    for subject in ["payments-value", "refunds-value"] {
        let reply = registry.register(subject, PAYMENT_WITHOUT_AMOUNT).await;
        let message = reply.error(StatusCode::CONFLICT, 409);
        assert!(message.contains("'amount'"), "{subject}: {message}");
    }
}

#[tokio::test]
async fn removing_a_field_is_accepted_under_backward_as_avro_resolution_allows() {
    // the new reader just skips the old field; only old readers would miss it
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", PAYMENT_WITHOUT_AMOUNT).await.id();
}

#[tokio::test]
async fn transitive_levels_check_every_version_at_registration() {
    let registry = TestRegistry::start().await;
    let with_currency_default = r#"{"type": "record", "name": "Payment", "namespace": "shop",
        "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"},
                   {"name": "currency", "type": "string", "default": "EUR"}]}"#;
    registry.put("/config/payments-value", json!({"compatibility": "BACKWARD_TRANSITIVE"})).await.ok();
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", with_currency_default).await.id();

    // compatible with v2 (which has currency) but not with v1 (which lacks it)
    let message =
        registry.register("payments-value", PAYMENT_WITH_REQUIRED_CURRENCY).await.error(StatusCode::CONFLICT, 409);
    assert!(message.contains("version 1") && message.contains("'currency'"), "{message}");

    registry.put("/config/payments-value", json!({"compatibility": "BACKWARD"})).await.ok();
    registry.register("payments-value", PAYMENT_WITH_REQUIRED_CURRENCY).await.id();
}

#[tokio::test]
async fn level_none_accepts_any_change() {
    let registry = TestRegistry::start().await;
    registry.put("/config", json!({"compatibility": "NONE"})).await.ok();
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", SHIPMENT_V1).await.id();
    assert_eq!(registry.get("/subjects/payments-value/versions").await.ok(), json!([1, 2]));
}

#[tokio::test]
async fn the_compatibility_check_answers_without_registering() {
    let registry = TestRegistry::start().await;
    registry.register("payments-value", PAYMENT_V1).await.id();

    let path = "/compatibility/subjects/payments-value/versions/latest";
    let compatible = registry.post(path, json!({"schema": PAYMENT_V2_WITH_NOTE})).await.ok();
    assert_eq!(compatible, json!({"is_compatible": true}));
    let incompatible = registry.post(path, json!({"schema": PAYMENT_AMOUNT_AS_STRING})).await.ok();
    assert_eq!(incompatible, json!({"is_compatible": false}));

    let verbose =
        registry.post(&format!("{path}?verbose=true"), json!({"schema": PAYMENT_AMOUNT_AS_STRING})).await.ok();
    assert_eq!(verbose["is_compatible"], false);
    let messages = verbose["messages"].as_array().expect("verbose answers carry messages");
    assert!(messages.iter().any(|message| message.as_str().is_some_and(|text| text.contains("'amount'"))));
    let verbose_ok = registry.post(&format!("{path}?verbose=true"), json!({"schema": PAYMENT_V1})).await.ok();
    assert_eq!(verbose_ok, json!({"is_compatible": true, "messages": []}));

    assert_eq!(registry.get("/subjects/payments-value/versions").await.ok(), json!([1]));
}

#[tokio::test]
async fn the_compatibility_check_against_a_version_uses_only_that_version() {
    let registry = TestRegistry::start().await;
    registry.put("/config/payments-value", json!({"compatibility": "BACKWARD_TRANSITIVE"})).await.ok();
    registry.register("payments-value", PAYMENT_V1).await.id();
    registry.register("payments-value", PAYMENT_WITHOUT_AMOUNT).await.id();
    // a field `amount` of type string: v1 has it as long, v2 does not have it
    let candidate = json!({"schema": r#"{"type": "record", "name": "Payment", "namespace": "shop",
        "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "string", "default": ""}]}"#});

    let against_v2 = registry.post("/compatibility/subjects/payments-value/versions/2", candidate.clone()).await;
    assert_eq!(against_v2.ok(), json!({"is_compatible": true}));
    let against_v1 = registry.post("/compatibility/subjects/payments-value/versions/1", candidate.clone()).await;
    assert_eq!(against_v1.ok(), json!({"is_compatible": false}));
    // latest under a transitive level means every version, as a registration would
    let against_latest =
        registry.post("/compatibility/subjects/payments-value/versions/latest", candidate.clone()).await;
    assert_eq!(against_latest.ok(), json!({"is_compatible": false}));
    let against_all = registry.post("/compatibility/subjects/payments-value/versions", candidate).await;
    assert_eq!(against_all.ok(), json!({"is_compatible": false}));
}

#[tokio::test]
async fn the_compatibility_check_reports_unknown_subjects_versions_and_bad_input() {
    let registry = TestRegistry::start().await;
    let body = json!({"schema": PAYMENT_V1});
    registry
        .post("/compatibility/subjects/nothing/versions/latest", body.clone())
        .await
        .error(StatusCode::NOT_FOUND, 40401);
    // without a version it asks "could this be registered?", and a new subject accepts anything
    let new_subject = registry.post("/compatibility/subjects/nothing/versions", body.clone()).await;
    assert_eq!(new_subject.ok(), json!({"is_compatible": true}));

    registry.register("payments-value", PAYMENT_V1).await.id();
    let path = "/compatibility/subjects/payments-value/versions";
    registry.post(&format!("{path}/7"), body.clone()).await.error(StatusCode::NOT_FOUND, 40402);
    registry.post(&format!("{path}/abc"), body).await.error(StatusCode::UNPROCESSABLE_ENTITY, 42202);
    let invalid = json!({"schema": "{\"type\": \"nope\"}"});
    registry.post(&format!("{path}/latest"), invalid).await.error(StatusCode::UNPROCESSABLE_ENTITY, 42201);
}
