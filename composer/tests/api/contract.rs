//! When payment-svc changes its read API under composer: the contract drill of payment-svc
//! (`/admin/contract`) renames `amount` on `/payments`, while `/v2/payments` serves the new
//! shape all along.
//!
//! Each answer is sorted as the `contract-change` scenario of `compare` sorts it: correct,
//! degraded (200 naming the part it left out) or wrong (200 whose payment amounts differ from
//! what payment-svc holds, without saying so). Wrong is the outcome that must never happen.

use composer::config::{Config, PaymentApiVersion};
use serde_json::{Value, json};
use testkit::TEST_ADMIN_TOKEN;

use crate::helpers::{Source, Sources, TestComposer, Writer, id_of, spawn_composer};

const AMOUNT: i64 = 4599;
const READS: usize = 5;

#[derive(Debug, Default, PartialEq)]
struct Answers {
    correct: usize,
    degraded: usize,
    wrong: usize,
}

async fn switch_rest_contract(sources: &Sources, rest: &str) {
    let payment_svc = sources.service(Source::Payments);
    let response = payment_svc
        .client
        .put(payment_svc.url("/admin/contract"))
        .bearer_auth(TEST_ADMIN_TOKEN)
        .json(&json!({"rest": rest}))
        .send()
        .await
        .expect("admin api answers");
    assert_eq!(response.status(), 200, "contract switched to {rest}");
}

/// Reads the order `READS` times and sorts the answers against the one true amount.
async fn read_and_sort(composer: &TestComposer, order_id: &str) -> Answers {
    let mut answers = Answers::default();
    for _ in 0..READS {
        let (status, _, body) = composer.get(&format!("/orders/{order_id}")).await;
        assert_eq!(status, 200, "{body}");
        let named_degraded = body["degraded"].as_array().is_some_and(|parts| parts.contains(&json!("payments")));
        let amounts: Vec<Value> =
            body["payments"].as_array().into_iter().flatten().map(|payment| payment["amount"].clone()).collect();
        if named_degraded {
            answers.degraded += 1;
        } else if amounts == [json!({"amount_minor": AMOUNT, "currency": "EUR"})] {
            answers.correct += 1;
        } else {
            answers.wrong += 1;
        }
    }
    answers
}

/// The value of one counter series in composer's `/metrics`, 0 when absent.
async fn counter(composer: &TestComposer, series: &str) -> f64 {
    let metrics = composer.client.get(composer.url("/metrics")).send().await.expect("metrics");
    let text = metrics.text().await.expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse::<f64>().ok()))
        .unwrap_or(0.0)
}

async fn order_with_a_payment(sources: &Sources) -> String {
    let writer = Writer { sources };
    let order_id = id_of(&writer.place_simple_order("cust-contract").await);
    writer.create_payment(&order_id, AMOUNT, "CARD").await;
    order_id
}

const VIOLATIONS: &str = r#"composer_contract_violations_total{dependency="payment-svc"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_amount_is_answered_degraded_and_counted_never_wrong_in_silence() {
    let sources = Sources::start().await;
    let composer = spawn_composer(sources.composer_config()).await;
    let order_id = order_with_a_payment(&sources).await;
    assert_eq!(read_and_sort(&composer, &order_id).await, Answers { correct: READS, ..Answers::default() });

    let violations_before = counter(&composer, VIOLATIONS).await;
    switch_rest_contract(&sources, "renamed").await;
    let during = read_and_sort(&composer, &order_id).await;
    assert_eq!(during, Answers { degraded: READS, ..Answers::default() }, "no silent zero or missing amount");
    let violations = counter(&composer, VIOLATIONS).await - violations_before;
    // other tests of this binary share the recorder, but none of them breaks a contract
    assert!(violations >= READS as f64, "every broken answer is counted: {violations}");
    assert_eq!(composer.breaker("payment-svc").await, "closed", "a broken contract does not open the breaker");
    let by_reason = r#"composer_degraded_total{route="get_order",part="payments",reason="contract"}"#;
    assert!(counter(&composer, by_reason).await >= READS as f64);

    switch_rest_contract(&sources, "v1").await;
    assert_eq!(read_and_sort(&composer, &order_id).await, Answers { correct: READS, ..Answers::default() });
    composer.stop().await;
    sources.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_composer_on_v2_reads_the_new_field_while_one_on_v1_keeps_working() {
    let sources = Sources::start().await;
    let on_v1 = spawn_composer(sources.composer_config()).await;
    let on_v2 =
        spawn_composer(Config { payment_api_version: PaymentApiVersion::V2, ..sources.composer_config() }).await;
    let order_id = order_with_a_payment(&sources).await;

    // both at once: composers move from v1 to v2 one instance at a time, without downtime
    let (_, _, from_v1) = on_v1.get(&format!("/orders/{order_id}")).await;
    let (_, _, from_v2) = on_v2.get(&format!("/orders/{order_id}")).await;
    assert_eq!(from_v1, from_v2, "the same document through either version");
    assert_eq!(read_and_sort(&on_v1, &order_id).await, Answers { correct: READS, ..Answers::default() });
    assert_eq!(read_and_sort(&on_v2, &order_id).await, Answers { correct: READS, ..Answers::default() });

    // the unversioned path changing does not touch a composer that moved to v2
    switch_rest_contract(&sources, "renamed").await;
    assert_eq!(read_and_sort(&on_v2, &order_id).await, Answers { correct: READS, ..Answers::default() });
    switch_rest_contract(&sources, "v1").await;
    on_v1.stop().await;
    on_v2.stop().await;
    sources.shutdown().await;
}
