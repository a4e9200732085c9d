//! composer's `GET /stats` equals order-history's on the same data when nothing fails, and
//! says what it left out when a dependency is down.

use std::time::Duration;

use chrono::Utc;
use order_view::stats::StatsAnswer;
use serde_json::Value;
use testkit::{TestInfra, status_and_json};

use crate::helpers::{
    Source, Sources, Writer, downstream_calls, fresh_customer, id_of, spawn_composer, spawn_order_history,
};

const ORDERS: usize = 12;

/// A mix of stories: captured, refunded and declined payments, delivered and returned
/// shipments, cancellations.
async fn write_orders(writer: &Writer<'_>) {
    for n in 0..ORDERS {
        let order = writer.place_simple_order(&fresh_customer()).await;
        let order_id = id_of(&order);
        // payment-svc declines amounts above 100000
        let amount = if n % 4 == 3 { 150_000 } else { 4_599 };
        let payment = writer.create_payment(&order_id, amount, "CARD").await;
        if n % 4 != 3 && n % 2 == 0 {
            writer.change_payment(&id_of(&payment), "capture").await;
            if n % 6 == 0 {
                writer.change_payment(&id_of(&payment), "refund").await;
            }
        }
        if n % 3 == 0 {
            let shipment = writer.create_shipment(&order_id, "PostNL", "Utrecht").await;
            let last = if n % 2 == 0 { "DELIVERED" } else { "RETURNED" };
            writer.change_shipment(&id_of(&shipment), "DISPATCHED", None).await;
            writer.change_shipment(&id_of(&shipment), "IN_TRANSIT", Some("Zwolle hub")).await;
            writer.change_shipment(&id_of(&shipment), last, None).await;
        }
        if n % 5 == 1 {
            writer.cancel_order(&order_id).await;
        }
    }
}

fn answer_of(body: &Value) -> StatsAnswer {
    serde_json::from_value(body.clone()).expect("a stats answer")
}

#[tokio::test(flavor = "multi_thread")]
async fn composed_stats_equal_order_history_stats_and_name_what_a_stopped_dependency_cost() {
    let infra = TestInfra::start().await;
    let mut sources = Sources::start_publishing(&infra).await;
    let order_history = spawn_order_history(&infra).await;
    let composer = spawn_composer(sources.composer_config()).await;
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    write_orders(&Writer { sources: &sources }).await;

    let now = Utc::now();
    let range = format!(
        "from={}&to={}",
        (now - chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ"),
        (now + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    for group_by in
        ["", "&group_by=status", "&group_by=payment_status", "&group_by=shipment_status", "&group_by=country"]
    {
        let query = format!("/stats?{range}&granularity=hour{group_by}");
        let (status, headers, composed) = composer.get(&query).await;
        assert_eq!(status, 200, "{composed}");
        assert_eq!(composed["coverage"]["complete"], true, "{composed}");
        assert_eq!(composed["coverage"]["orders_read"], ORDERS, "{composed}");
        assert!(downstream_calls(&headers) as usize > 2 * ORDERS, "a list call plus two per order");
        assert_eq!(composed["downstream_calls"].as_u64(), Some(u64::from(downstream_calls(&headers))));
        let want = answer_of(&composed);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        let mut poll = tokio::time::interval(Duration::from_millis(200));
        loop {
            poll.tick().await;
            let request =
                client.get(format!("{}{query}", order_history.base_url)).bearer_auth(testkit::service_token());
            let (status, body) = status_and_json(request.send().await.expect("order-history answers")).await;
            if status == 200 && body["stale"] == false && answer_of(&body) == want {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{query}: order-history {body} never equalled composer {composed}"
            );
        }
    }

    sources.stop(Source::Payments).await;
    let (status, _, partial) = composer.get(&format!("/stats?{range}&group_by=payment_status")).await;
    assert_eq!(status, 200, "composer answers what it could: {partial}");
    assert_eq!(partial["coverage"]["complete"], false);
    assert_eq!(partial["stale"], true);
    let missing = partial["coverage"]["missing"].to_string();
    assert!(missing.contains(&format!("payments of {ORDERS} orders")), "{partial}");
    sources.stop(Source::Orders).await;
    let (status, _, nothing) = composer.get(&format!("/stats?{range}")).await;
    assert_eq!(status, 200, "{nothing}");
    assert_eq!(nothing["coverage"]["orders_read"], 0);
    assert!(nothing["coverage"]["missing"].to_string().contains("order-svc unavailable"), "{nothing}");
    let (status, _, refused) =
        composer.get_as(&format!("/stats?{range}"), Some(&testkit::customer_token("cust-ada"))).await;
    assert_eq!(status, 403, "{refused}");
    let (status, _, bad) = composer.get("/stats?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z").await;
    assert_eq!((status.as_u16(), bad["field"].as_str()), (400, Some("from")));
    composer.stop().await;
    order_history.shutdown.cancel();
    order_history.task.await.expect("order-history task").expect("order-history stops cleanly");
    sources.shutdown().await;
}
