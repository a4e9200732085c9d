//! The failure policy, per dependency: stopped, slowed past its deadline, failing until its
//! breaker opens, and recovering.
//!
//! order-svc is essential (502 when it fails, 504 when it is too slow); payment-svc and
//! shipping-svc are optional (200 without their part, named in `degraded`). The slowed cases
//! prove the deadlines by the answer's shape: a composer that waited for the slowed service
//! would answer a full 200 seconds later instead.

use std::time::Duration;

use composer::config::Config;
use serde_json::{Value, json};

use crate::helpers::{Source, Sources, TestComposer, Writer, downstream_calls, eventually, id_of, spawn_composer};

/// Longer than any deadline below, so a slowed service cannot answer in time.
const SLOW_MS: u64 = 3000;
const BREAKER_COOLDOWN_MS: u64 = 1000;

fn config(sources: &Sources) -> Config {
    let mut config = sources.composer_config();
    config.call_deadline_ms = 300;
    config.request_deadline_ms = 600;
    config.breaker_failure_threshold = 3;
    config.breaker_cooldown_ms = BREAKER_COOLDOWN_MS;
    config
}

/// An order with one payment and one shipment, so that every part has something to lose.
async fn order_with_every_part(sources: &Sources) -> String {
    let writer = Writer { sources };
    let order_id = id_of(&writer.place_simple_order("cust-failures").await);
    writer.create_payment(&order_id, 4599, "WALLET").await;
    writer.create_shipment(&order_id, "PostNL", "Delft").await;
    order_id
}

/// A 200 that lacks exactly `part`, and has the other part.
fn assert_degraded_without(body: &Value, part: &str) {
    assert_eq!(body["degraded"], json!([part]), "{body}");
    assert_eq!(body[part], json!([]), "the failed part is left out: {body}");
    let other = if part == "payments" { "shipments" } else { "payments" };
    assert_eq!(body[other].as_array().map(Vec::len), Some(1), "the other part is there: {body}");
    assert_eq!(body["incomplete"], false);
}

async fn a_stopped_dependency_is_answered_by_the_policy(source: Source) {
    let mut sources = Sources::start().await;
    let composer = spawn_composer(config(&sources)).await;
    let order_id = order_with_every_part(&sources).await;
    sources.stop(source).await;

    let (status, _, body) = composer.get(&format!("/orders/{order_id}")).await;

    match source.part() {
        None => {
            assert_eq!(status, 502, "{body}");
            assert_eq!(body["error"], "order-svc, which owns the order, is unreachable");
        }
        Some(part) => {
            assert_eq!(status, 200, "{body}");
            assert_degraded_without(&body, part);
        }
    }
    composer.stop().await;
}

async fn a_slowed_dependency_is_cut_at_its_deadline(source: Source) {
    let sources = Sources::start().await;
    let composer = spawn_composer(config(&sources)).await;
    let order_id = order_with_every_part(&sources).await;
    sources.set_faults(source, SLOW_MS, 0.0).await;

    let (status, _, body) = composer.get(&format!("/orders/{order_id}")).await;

    match source.part() {
        None => {
            assert_eq!(status, 504, "{body}");
            assert_eq!(body["error"], "order-svc, which owns the order, did not answer within its deadline");
        }
        Some(part) => {
            assert_eq!(status, 200, "{body}");
            assert_degraded_without(&body, part);
        }
    }
    composer.stop().await;
}

/// The breaker opens after failures, then refuses without calling, then closes after recovery.
async fn the_breaker_opens_on_failures_and_closes_after_recovery(source: Source) {
    let sources = Sources::start().await;
    let app = spawn_composer(config(&sources)).await;
    let order_id = order_with_every_part(&sources).await;
    let path = &format!("/orders/{order_id}");
    let composer = &app;
    sources.set_faults(source, 0, 1.0).await;

    eventually("the breaker opens", Duration::from_secs(20), || async move {
        composer.get(path).await;
        (composer.breaker(source.dependency()).await == "open").then_some(())
    })
    .await;

    // while open, the dependency is not called at all, and the answer follows the policy
    eventually("an answer while the breaker is open", Duration::from_secs(20), || async move {
        let (status, headers, body) = composer.get(path).await;
        match source.part() {
            None => {
                let refused =
                    body["error"] == "order-svc, which owns the order, is failing; its circuit breaker is open";
                (status == 502 && refused).then_some(())
            }
            Some(part) => {
                let without_calling = downstream_calls(&headers) == 2;
                (status == 200 && body["degraded"] == json!([part]) && without_calling).then_some(())
            }
        }
    })
    .await;

    sources.set_faults(source, 0, 0.0).await;
    let body = eventually("a full answer after recovery", Duration::from_secs(20), || async move {
        let (status, _, body) = composer.get(path).await;
        (status == 200 && body.get("degraded").is_none()).then_some(body)
    })
    .await;
    assert_eq!(body["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(composer.breaker(source.dependency()).await, "closed");
    app.stop().await;
}

macro_rules! for_each_source {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                use crate::helpers::Source;

                #[tokio::test(flavor = "multi_thread")]
                async fn order_svc() {
                    super::$scenario(Source::Orders).await;
                }

                #[tokio::test(flavor = "multi_thread")]
                async fn payment_svc() {
                    super::$scenario(Source::Payments).await;
                }

                #[tokio::test(flavor = "multi_thread")]
                async fn shipping_svc() {
                    super::$scenario(Source::Shipments).await;
                }
            }
        )+
    };
}

for_each_source!(
    a_stopped_dependency_is_answered_by_the_policy,
    a_slowed_dependency_is_cut_at_its_deadline,
    the_breaker_opens_on_failures_and_closes_after_recovery,
);

#[tokio::test(flavor = "multi_thread")]
async fn order_svc_breaker_opens_while_it_is_down_and_closes_after_it_restarts() {
    let mut sources = Sources::start().await;
    let app = spawn_composer(config(&sources)).await;
    let order_id = order_with_every_part(&sources).await;
    let path = &format!("/orders/{order_id}");
    let composer = &app;
    let (status, _, _) = composer.get(path).await;
    assert_eq!(status, 200, "pooled connections to order-svc exist before it stops");

    sources.stop(Source::Orders).await;
    eventually("the breaker opens", Duration::from_secs(20), || async move {
        let (status, _, body) = composer.get(path).await;
        assert_eq!(status, 502, "{body}");
        (composer.breaker("order-svc").await == "open").then_some(())
    })
    .await;

    sources.restart(Source::Orders).await;
    eventually("order-svc is called again and answers", Duration::from_secs(20), || async move {
        let (status, _, _) = composer.get(path).await;
        (status == 200).then_some(())
    })
    .await;
    assert_eq!(composer.breaker("order-svc").await, "closed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_request_deadline_holds_when_every_dependency_is_slow() {
    let sources = Sources::start().await;
    let mut config = config(&sources);
    // calls may take longer than the whole request: the request deadline must cut them
    config.call_deadline_ms = 5000;
    config.request_deadline_ms = 400;
    let composer: TestComposer = spawn_composer(config).await;
    let order_id = order_with_every_part(&sources).await;
    for source in Source::ALL {
        sources.set_faults(source, SLOW_MS, 0.0).await;
    }

    let (status, headers, body) = composer.get(&format!("/orders/{order_id}")).await;

    assert_eq!(status, 504, "{body}");
    assert!(body["error"].as_str().is_some_and(|error| error.contains("deadline")), "{body}");
    assert_eq!(downstream_calls(&headers), 3);
    // cut by the request's deadline, not found slow by their own: no verdict for the breakers
    for source in Source::ALL {
        assert_eq!(composer.breaker(source.dependency()).await, "closed");
    }
    composer.stop().await;
}
