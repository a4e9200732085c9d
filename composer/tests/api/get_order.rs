//! `GET /orders/{id}` with every service healthy, and the operational routes.

use serde_json::Value;

use crate::helpers::{Sources, Writer, downstream_calls, id_of, spawn_composer};

#[tokio::test(flavor = "multi_thread")]
async fn an_order_is_composed_from_all_three_services_in_one_fan_out() {
    let sources = Sources::start().await;
    let composer = spawn_composer(sources.composer_config()).await;
    let writer = Writer { sources: &sources };
    let order = writer.place_simple_order("cust-0042").await;
    let order_id = id_of(&order);
    let payment = writer.create_payment(&order_id, 4599, "CARD").await;
    writer.change_payment(&id_of(&payment), "capture").await;
    let shipment = writer.create_shipment(&order_id, "DHL Express", "Utrecht").await;
    writer.change_shipment(&id_of(&shipment), "DISPATCHED", Some("Utrecht depot")).await;

    let (status, headers, body) = composer.get(&format!("/orders/{order_id}")).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(downstream_calls(&headers), 3, "one call per service");
    assert!(body.get("degraded").is_none(), "a full answer has no degraded field: {body}");
    assert_eq!(body["order_id"], order_id.as_str());
    assert_eq!(body["incomplete"], false);
    assert_eq!(body["status"], "PLACED");
    assert_eq!(body["order_version"], 1);
    assert_eq!(body["customer"]["customer_id"], "cust-0042");
    assert_eq!(body["total"], serde_json::json!({"amount_minor": 4599, "currency": "EUR"}));
    assert_eq!(body["placed_at"], order["created_at"]);
    assert_eq!(body["payments"][0]["status"], "CAPTURED");
    assert_eq!(body["payments"][0]["version"], 2);
    assert_eq!(body["shipments"][0]["status"], "DISPATCHED");
    assert_eq!(body["shipments"][0]["last_location"], "Utrecht depot");
    assert_eq!(body["shipments"][0]["tracking_number"], shipment["tracking_number"]);
    assert_eq!(body["timeline"], Value::Array(vec![]), "only the event log knows the timeline");
    assert_eq!(body["as_of"], Value::Null);
    let document: order_view::OrderHistory = serde_json::from_value(body).expect("the shared document type");
    assert_eq!(document.payments.len(), 1);
    composer.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_order_is_404_and_a_malformed_id_is_400() {
    let sources = Sources::start().await;
    let composer = spawn_composer(sources.composer_config()).await;

    let unknown = uuid::Uuid::now_v7();
    let (status, headers, body) = composer.get(&format!("/orders/{unknown}")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], format!("order {unknown} not found"));
    assert!(downstream_calls(&headers) >= 1);

    let (status, headers, body) = composer.get("/orders/not-a-uuid").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "id");
    assert_eq!(downstream_calls(&headers), 0, "bad input costs no downstream call");
    composer.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operational_routes_are_served() {
    let sources = Sources::start().await;
    let composer = spawn_composer(sources.composer_config()).await;
    let writer = Writer { sources: &sources };
    let order_id = id_of(&writer.place_simple_order("cust-ops").await);
    let (status, _, _) = composer.get(&format!("/orders/{order_id}")).await;
    assert_eq!(status, 200);

    let (status, _, body) = composer.get("/healthz").await;
    assert_eq!((status.as_u16(), body["status"].as_str()), (200, Some("ok")));
    let (status, _, body) = composer.get("/readyz").await;
    assert_eq!(status, 200, "ready while serving: {body}");
    let (status, _, body) = composer.get("/breakers").await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"order-svc": "closed", "payment-svc": "closed", "shipping-svc": "closed"}));
    let (status, _, openapi) = composer.get("/openapi.json").await;
    assert_eq!(status, 200);
    for path in ["/orders", "/orders/{id}", "/breakers"] {
        assert!(openapi["paths"].get(path).is_some(), "{path} is documented");
    }
    let metrics =
        composer.client.get(composer.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    for name in [
        "composer_downstream_requests_total",
        "composer_downstream_seconds",
        "composer_downstream_calls_per_request",
        "composer_breaker_state",
    ] {
        assert!(metrics.contains(name), "{name} in /metrics:\n{metrics}");
    }
    let (status, _, body) = composer.get("/no-such-route").await;
    assert_eq!(status, 404, "{body}");
    composer.stop().await;
}
