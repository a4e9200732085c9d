//! Bad requests get Confluent's status and `error_code`, never a 5xx: `send_raw` asserts that
//! and the JSON error shape on every reply.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{PAYMENT_V1, TestRegistry};

const REGISTER: &str = "/subjects/payments-value/versions";

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let registry = TestRegistry::start().await;
    for body in ["{", "", "not json", r#"{"schema": "x",}"#] {
        let reply = registry.send_raw(Method::POST, REGISTER, Some("application/json"), Some(body.into())).await;
        let message = reply.error(StatusCode::BAD_REQUEST, 400);
        assert!(message.starts_with("malformed json body"), "{message}");
    }
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_unprocessable() {
    let registry = TestRegistry::start().await;
    for body in [json!([]), json!({"schema": 42}), json!({"schema": {"type": "string"}})] {
        registry.post(REGISTER, body).await.error(StatusCode::UNPROCESSABLE_ENTITY, 422);
    }
}

#[tokio::test]
async fn invalid_avro_is_rejected_with_42201() {
    let registry = TestRegistry::start().await;
    let invalid = [
        "",
        "{",
        r#"{"type": "no-such-type"}"#,
        r#"{"type": "record", "name": "Payment"}"#,
        r#"{"type": "record", "name": "Payment", "fields": [{"name": "amount", "type": "Money"}]}"#,
    ];
    for schema in invalid {
        registry.register("payments-value", schema).await.error(StatusCode::UNPROCESSABLE_ENTITY, 42201);
    }
    let missing_schema = registry.post(REGISTER, json!({})).await;
    missing_schema.error(StatusCode::UNPROCESSABLE_ENTITY, 42201);
    registry.get("/subjects/payments-value/versions").await.error(StatusCode::NOT_FOUND, 40401);
}

#[tokio::test]
async fn other_schema_types_references_and_rule_sets_are_refused_with_42201() {
    let registry = TestRegistry::start().await;
    let protobuf = json!({"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"});
    let message = registry.post(REGISTER, protobuf).await.error(StatusCode::UNPROCESSABLE_ENTITY, 42201);
    assert!(message.contains("only AVRO"), "{message}");

    let reference = json!({"name": "shop.Money", "subject": "money-value", "version": 1});
    let with_references = json!({"schema": PAYMENT_V1, "references": [reference]});
    let message = registry.post(REGISTER, with_references).await.error(StatusCode::UNPROCESSABLE_ENTITY, 42201);
    assert!(message.contains("references are not supported"), "{message}");

    let with_rules = json!({"schema": PAYMENT_V1, "ruleSet": {"domainRules": []}});
    registry.post(REGISTER, with_rules).await.error(StatusCode::UNPROCESSABLE_ENTITY, 42201);

    // what clients send by default is accepted
    let explicit_defaults = json!({"schema": PAYMENT_V1, "schemaType": "AVRO", "references": [], "metadata": null});
    registry.post(REGISTER, explicit_defaults).await.id();
}

#[tokio::test]
async fn bodies_are_accepted_in_confluents_media_types_or_without_one() {
    let registry = TestRegistry::start().await;
    let body = json!({"schema": PAYMENT_V1}).to_string();
    let accepted = [
        Some("application/vnd.schemaregistry.v1+json"),
        Some("application/vnd.schemaregistry+json"),
        Some("application/json; charset=utf-8"),
        Some("application/octet-stream"),
        None,
    ];
    for content_type in accepted {
        let reply = registry.send_raw(Method::POST, REGISTER, content_type, Some(body.clone().into())).await;
        assert_eq!(reply.id(), 1, "{content_type:?}");
    }
    let form = registry.send_raw(Method::POST, REGISTER, Some("text/plain"), Some(body.into())).await;
    form.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, 415);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let registry = TestRegistry::start().await;
    // platform::http's default limit is 1 MiB
    let huge_schema = format!(r#"{{"type": "string", "doc": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let body = json!({"schema": huge_schema}).to_string();
    let reply = registry.send_raw(Method::POST, REGISTER, Some("application/json"), Some(body.into())).await;
    reply.error(StatusCode::PAYLOAD_TOO_LARGE, 413);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_confluents_shape() {
    let registry = TestRegistry::start().await;
    registry.get("/no/such/route").await.error(StatusCode::NOT_FOUND, 404);
    registry.get("/subjects/payments-value/versions/1/schema/extra").await.error(StatusCode::NOT_FOUND, 404);
    registry.send_raw(Method::PATCH, "/subjects", None, None).await.error(StatusCode::METHOD_NOT_ALLOWED, 405);
}

#[tokio::test]
async fn the_operational_routes_report_a_ready_store() {
    let registry = TestRegistry::start().await;
    for route in ["/healthz", "/readyz", "/metrics"] {
        let response = reqwest::get(format!("{}{route}", registry.url())).await.expect("request failed");
        assert_eq!(response.status(), StatusCode::OK, "{route}");
    }
}
