//! What a change publishes: one Avro record on `orders`, read back through the registry.

use chrono::{DateTime, Utc};
use events::{OrderEvent, OrderEventType, OrderStatus, headers};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use testkit::{Database, Received, read_topic};

use crate::helpers::{DEADLINE, TestApp, id_of, on_both_databases, status_and_json};
use crate::support::{order_body, topic_record_count};

const PLACE_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const CANCEL_TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn traceparent(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", HeaderValue::from_str(value).expect("header value"));
    headers
}

fn time(order: &Value, field: &str) -> Option<DateTime<Utc>> {
    order[field].as_str().map(|text| text.parse().expect("rfc 3339"))
}

/// The event carries the order exactly as the API answered it after the change.
fn assert_event_carries(record: &Received<OrderEvent>, order: &Value) {
    let event = &record.event;
    let id = id_of(order);
    assert_eq!(record.key, id, "keyed by order id");
    assert_eq!(event.order_id.to_string(), id);
    assert_eq!(event.aggregate_id.to_string(), id);
    assert_eq!(event.order.order_id.to_string(), id);
    assert_eq!(Some(event.aggregate_version), order["version"].as_i64());
    assert_eq!(event.order.customer.customer_id, order["customer_id"]);
    assert_eq!(event.order.customer.name, order["customer_name"]);
    assert_eq!(event.order.customer.email, order["customer_email"]);
    let items: Vec<Value> = event
        .order
        .items
        .iter()
        .map(|item| {
            assert_eq!(item.unit_price.currency, order["currency"]);
            json!({"sku": item.sku, "name": item.name, "quantity": item.quantity, "unit_price": item.unit_price.amount_minor})
        })
        .collect();
    assert_eq!(Value::Array(items), order["items"]);
    assert_eq!(Some(event.order.total.amount_minor), order["total"].as_i64());
    assert_eq!(event.order.total.currency, order["currency"]);
    let address = &event.order.shipping_address;
    assert_eq!(
        json!({"line1": address.line1, "line2": address.line2, "city": address.city,
               "postal_code": address.postal_code, "country": address.country}),
        order["shipping_address"]
    );
    assert_eq!(Some(event.order.placed_at), time(order, "created_at"));
    assert_eq!(event.order.cancelled_at, time(order, "cancelled_at"));
    assert_eq!(event.order.cancellation_reason.as_deref(), order["cancellation_reason"].as_str());
    let status = match event.order.status {
        OrderStatus::Placed => "PLACED",
        OrderStatus::Cancelled => "CANCELLED",
    };
    assert_eq!(status, order["status"]);
    assert_eq!(record.header(headers::EVENT_ID), Some(event.event_id.to_string().as_str()));
    assert_eq!(record.header(headers::EVENT_TYPE), Some(event.event_type.as_str()));
    assert_eq!(event.event_id.get_version_num(), 7, "event ids are uuid v7");
}

async fn each_change_publishes_one_avro_event_with_its_state_key_and_headers(database: Database) {
    let app = TestApp::spawn(database).await;

    let placed_response = app.post_json("/orders", &order_body("cust-0042"), traceparent(PLACE_TRACEPARENT)).await;
    let (_, placed) = status_and_json(placed_response).await;
    let id = id_of(&placed);
    let cancel_response = app
        .post_json(&format!("/orders/{id}/cancel"), &json!({"reason": "too slow"}), traceparent(CANCEL_TRACEPARENT))
        .await;
    let (status, cancelled) = status_and_json(cancel_response).await;
    assert_eq!(status, 200);

    let received = read_topic::<OrderEvent>(&app.infra, DEADLINE, |received| received.len() >= 2).await;

    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(received[0].event.event_type, OrderEventType::OrderPlaced);
    assert_eq!(received[0].event.aggregate_version, 1);
    assert_event_carries(&received[0], &placed);
    assert_eq!(received[0].event.occurred_at, time(&placed, "created_at").expect("created_at"));
    assert_eq!(received[0].header(headers::TRACEPARENT), Some(PLACE_TRACEPARENT), "traceparent arrives unchanged");

    assert_eq!(received[1].event.event_type, OrderEventType::OrderCancelled);
    assert_eq!(received[1].event.aggregate_version, 2);
    assert_event_carries(&received[1], &cancelled);
    assert_eq!(received[1].event.occurred_at, time(&cancelled, "cancelled_at").expect("cancelled_at"));
    assert_eq!(received[1].header(headers::TRACEPARENT), Some(CANCEL_TRACEPARENT));
    assert_ne!(received[0].event.event_id, received[1].event.event_id);

    app.wait_until_outbox_is_published().await;
    assert_eq!(app.count("select count(*) from outbox").await, 2);
    assert_eq!(topic_record_count(&app.infra, "orders").await, 2, "exactly one record per change");
}

on_both_databases!(each_change_publishes_one_avro_event_with_its_state_key_and_headers);

#[tokio::test(flavor = "multi_thread")]
async fn a_change_without_a_traceparent_starts_a_new_trace() {
    let app = TestApp::spawn(Database::Sqlite).await;
    let placed = app.place_order("cust-0042").await;

    let received = read_topic::<OrderEvent>(&app.infra, DEADLINE, |received| !received.is_empty()).await;

    assert_eq!(received.len(), 1);
    assert_event_carries(&received[0], &placed);
    let trace = received[0].header(headers::TRACEPARENT).expect("a traceparent header");
    assert!(platform::trace::is_valid_traceparent(trace), "{trace}");
}
