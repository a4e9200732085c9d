//! Scenario 8, change coupling: payment-svc's contracts changed under the running stack, one at
//! a time, through its admin switch (`/admin/contract`), and reverted. For each change, both
//! designs read the same orders, and each answer is sorted against payment-svc's own answer
//! (`/v2/payments`, which no change touches): correct, degraded (the break is visible to the
//! caller) or wrong (a 200 with other amounts, which nobody is told about).
//!
//! The changes:
//! - `rest-rename`: `/payments` answers `amount_minor` instead of `amount`, plus a new field;
//! - `rest-versioned`: the same rename served as `/v2/payments` beside an unchanged
//!   `/payments` (it always is; composer stays on v1);
//! - `event-v2`: payment-svc publishes `payments-value` v2, with a new optional field;
//! - `event-v3-incompatible`: payment-svc tries to register a v3 that changes a field's type.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::report::model::{ContractChangeRow, Design};
use crate::scenarios::Run;

const PAYMENT_SVC: &str = "payment-svc";
const CONTRACT_PATH: &str = "/admin/contract";
/// Orders read per design and change: enough for a share, a few seconds per change.
const ORDERS_READ: usize = 40;
const READ_CONCURRENCY: usize = 8;
/// How long a payment written during an event change may take to reach order-history.
const PROJECTION_PATIENCE: Duration = Duration::from_secs(15);
const CONTRACT_VIOLATIONS: &str = "composer_contract_violations_total";
const SCHEMA_REFUSALS: &str = "payment_schema_registrations_refused_total";

/// One contract change and how it is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    RestRename,
    RestVersioned,
    EventV2,
    EventV3Incompatible,
}

impl Change {
    const ALL: [Change; 4] = [Change::RestRename, Change::RestVersioned, Change::EventV2, Change::EventV3Incompatible];

    fn name(self) -> &'static str {
        match self {
            Change::RestRename => "rest-rename",
            Change::RestVersioned => "rest-versioned",
            Change::EventV2 => "event-v2",
            Change::EventV3Incompatible => "event-v3-incompatible",
        }
    }

    /// The switch's settings; `rest-versioned` changes nothing on `/payments`, since `/v2` is
    /// always served beside it.
    fn settings(self) -> Value {
        match self {
            Change::RestRename => json!({"rest": "renamed"}),
            Change::RestVersioned => json!({"rest": "v1"}),
            Change::EventV2 => json!({"event_schema": "v2"}),
            Change::EventV3Incompatible => json!({"event_schema": "v3-incompatible"}),
        }
    }

    fn writes_events(self) -> bool {
        matches!(self, Change::EventV2 | Change::EventV3Incompatible)
    }

    /// What the design had to change to follow this change, as built.
    fn had_to_change(self, design: Design) -> &'static str {
        match (self, design) {
            (Change::RestRename, Design::Composer) => {
                "a release reading the new field name, deployed with payment-svc's (lockstep)"
            }
            (Change::RestRename | Change::RestVersioned, Design::OrderHistory) => "nothing: it reads events, not REST",
            (Change::RestVersioned, Design::Composer) => {
                "nothing now; moving to v2 is PAYMENT_API_VERSION=v2, one instance at a time; payment-svc keeps two versions"
            }
            (Change::EventV2, Design::OrderHistory) => {
                "nothing: the v1 reader skips the new field; reading it is a reader-schema upgrade"
            }
            (Change::EventV2 | Change::EventV3Incompatible, Design::Composer) => "nothing: it reads REST, not events",
            (Change::EventV3Incompatible, Design::OrderHistory) => {
                "nothing: the registry refused v3 before any event was written with it"
            }
        }
    }
}

/// Each sampled order's payments as payment-svc holds them: payment id → amount in minor units.
type Truth = BTreeMap<String, BTreeMap<String, i64>>;

#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Correct,
    Degraded,
    Wrong,
}

impl Run {
    pub async fn contract_change(&self) -> anyhow::Result<Vec<ContractChangeRow>> {
        let order_ids = self.seeded.sample_order_ids(self.plan.seed ^ 0xc0de, ORDERS_READ);
        let mut rows = Vec::new();
        for change in Change::ALL {
            let outcome = self.one_contract_change(change, &order_ids).await;
            // whatever happened, revert before the next change or scenario
            let reverted = self.stack.admin_call(Method::DELETE, PAYMENT_SVC, CONTRACT_PATH, None).await;
            rows.extend(outcome?);
            let (status, answer) = reverted?;
            anyhow::ensure!(status == 200, "payment-svc did not revert its contract ({status}): {answer}");
        }
        Ok(rows)
    }

    async fn one_contract_change(
        &self,
        change: Change,
        order_ids: &[String],
    ) -> anyhow::Result<Vec<ContractChangeRow>> {
        let violations_before = self.stack.scrape("composer").await?.sum(CONTRACT_VIOLATIONS, &[]);
        let refusals_before = self.stack.scrape(PAYMENT_SVC).await?.sum(SCHEMA_REFUSALS, &[]);
        let switched_at = Instant::now();
        let (status, answer) =
            self.stack.admin_call(Method::PUT, PAYMENT_SVC, CONTRACT_PATH, Some(&change.settings())).await?;
        let refused_at_deploy = status == 409;
        anyhow::ensure!(
            status == 200 || refused_at_deploy,
            "payment-svc refused {} ({status}): {answer}",
            change.name()
        );
        tracing::info!(change = change.name(), status, "contract switched");

        if change.writes_events() {
            self.write_a_payment_and_wait_for_it(&order_ids[0]).await?;
        }
        let truth = self.truth(order_ids).await?;
        let mut read = Vec::new();
        for design in Design::BOTH {
            read.push((design, self.read_and_sort(design, order_ids, &truth, switched_at).await));
        }
        // once both designs were read: the counters cover every read of the change
        let violations = self.stack.scrape("composer").await?.sum(CONTRACT_VIOLATIONS, &[]) - violations_before;
        let refusals = self.stack.scrape(PAYMENT_SVC).await?.sum(SCHEMA_REFUSALS, &[]) - refusals_before;
        let mut rows = Vec::new();
        for (design, answers) in read {
            let count = |wanted: Answer| answers.iter().filter(|(answer, _)| *answer == wanted).count() as u64;
            let first_break = answers
                .iter()
                .filter(|(answer, _)| *answer != Answer::Correct)
                .map(|(_, elapsed)| *elapsed)
                .reduce(f64::min);
            let (correct, degraded, wrong) = (count(Answer::Correct), count(Answer::Degraded), count(Answer::Wrong));
            let (visible_after_ms, visible_to) = if refused_at_deploy {
                (
                    Some(0.0),
                    format!(
                        "the registry at deploy time (409); payment-svc /readyz and {SCHEMA_REFUSALS} (+{refusals})"
                    ),
                )
            } else if wrong > 0 {
                (first_break, "only an end user reading a wrong page".to_string())
            } else if design == Design::Composer && violations > 0.0 {
                (
                    first_break,
                    format!("composer's error metrics ({CONTRACT_VIOLATIONS} +{violations}) and degraded answers"),
                )
            } else if degraded > 0 {
                (first_break, "the caller, through degraded answers".to_string())
            } else {
                (None, "nobody: nothing broke".to_string())
            };
            rows.push(ContractChangeRow {
                change: change.name().to_string(),
                design,
                reads: answers.len() as u64,
                correct,
                degraded,
                wrong,
                visible_after_ms,
                visible_to,
                had_to_change: change.had_to_change(design).to_string(),
            });
        }
        Ok(rows)
    }

    /// Writes a payment for `order_id` while the event change is in force, and waits until
    /// order-history shows it: the events of the new schema version were projected.
    async fn write_a_payment_and_wait_for_it(&self, order_id: &str) -> anyhow::Result<()> {
        let body = json!({"order_id": order_id, "amount": 1234, "currency": "EUR", "method": "CARD"});
        let (payment, _) = self.stack.write(PAYMENT_SVC, "/payments", Some(&body)).await?;
        let payment_id = payment["id"].as_str().context("payment-svc answered a payment without an id")?.to_string();
        let url = format!("{}/orders/{order_id}", self.stack.design_url(Design::OrderHistory));
        let give_up = Instant::now() + PROJECTION_PATIENCE;
        while Instant::now() < give_up {
            if let Ok(response) = self.stack.client.get(&url).send().await {
                let document: Value = response.json().await.unwrap_or(Value::Null);
                let payments = document["payments"].as_array().cloned().unwrap_or_default();
                if payments.iter().any(|payment| payment["payment_id"] == json!(payment_id)) {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // not an error of the run: the reads then find the order stale, and say so
        tracing::warn!(order_id, payment_id, "the payment written during the event change did not reach order-history");
        Ok(())
    }

    /// payment-svc's own answer for each order, through `/v2/payments`, which no change touches.
    async fn truth(&self, order_ids: &[String]) -> anyhow::Result<Truth> {
        let base = self.stack.url_of(PAYMENT_SVC)?;
        let mut truth = Truth::new();
        for order_id in order_ids {
            if truth.contains_key(order_id) {
                continue;
            }
            let url = format!("{base}/v2/payments?order_id={order_id}");
            let response = self.stack.client.get(&url).send().await.with_context(|| format!("cannot reach {url}"))?;
            anyhow::ensure!(response.status().is_success(), "{url} answered {}", response.status());
            let list: Value = response.json().await.with_context(|| format!("{url} answered without json"))?;
            let mut payments = BTreeMap::new();
            for payment in list["payments"].as_array().into_iter().flatten() {
                let id = payment["id"].as_str().context("a payment without an id")?;
                let amount = payment["amount_minor"].as_i64().context("a payment without amount_minor")?;
                payments.insert(id.to_string(), amount);
            }
            truth.insert(order_id.clone(), payments);
        }
        Ok(truth)
    }

    /// Reads every order through `design` and sorts each answer; with its time since the switch.
    async fn read_and_sort(
        &self,
        design: Design,
        order_ids: &[String],
        truth: &Truth,
        switched_at: Instant,
    ) -> Vec<(Answer, f64)> {
        let base = self.stack.design_url(design);
        futures::stream::iter(order_ids)
            .map(|order_id| async move {
                let url = format!("{base}/orders/{order_id}");
                let answer = match self.stack.client.get(&url).send().await {
                    Ok(response) if response.status().is_success() => match response.json::<Value>().await {
                        Ok(document) => sort_answer(&document, truth.get(order_id)),
                        Err(_) => Answer::Degraded,
                    },
                    // an error answer is a visible failure, not a wrong page
                    _ => Answer::Degraded,
                };
                (answer, switched_at.elapsed().as_secs_f64() * 1000.0)
            })
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await
    }
}

/// Sorts one 200: degraded when it names `payments` as left out, correct when its payments'
/// amounts are payment-svc's, wrong otherwise.
fn sort_answer(document: &Value, truth: Option<&BTreeMap<String, i64>>) -> Answer {
    let names_payments = document["degraded"].as_array().is_some_and(|parts| parts.contains(&json!("payments")));
    if names_payments {
        return Answer::Degraded;
    }
    let mut shown = BTreeMap::new();
    for payment in document["payments"].as_array().into_iter().flatten() {
        let (Some(id), Some(amount)) = (payment["payment_id"].as_str(), payment["amount"]["amount_minor"].as_i64())
        else {
            return Answer::Wrong;
        };
        shown.insert(id.to_string(), amount);
    }
    match truth {
        Some(truth) if *truth == shown => Answer::Correct,
        _ => Answer::Wrong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> BTreeMap<String, i64> {
        BTreeMap::from([("p1".to_string(), 4599)])
    }

    #[test]
    fn answers_are_sorted_against_the_source() {
        let correct = json!({"payments": [{"payment_id": "p1", "amount": {"amount_minor": 4599, "currency": "EUR"}}]});
        assert_eq!(sort_answer(&correct, Some(&truth())), Answer::Correct);
        let degraded = json!({"payments": [], "degraded": ["payments"]});
        assert_eq!(sort_answer(&degraded, Some(&truth())), Answer::Degraded);
        let silent_zero = json!({"payments": [{"payment_id": "p1", "amount": {"amount_minor": 0, "currency": "EUR"}}]});
        assert_eq!(sort_answer(&silent_zero, Some(&truth())), Answer::Wrong);
        let silently_missing = json!({"payments": []});
        assert_eq!(sort_answer(&silently_missing, Some(&truth())), Answer::Wrong);
        let no_amount = json!({"payments": [{"payment_id": "p1"}]});
        assert_eq!(sort_answer(&no_amount, Some(&truth())), Answer::Wrong);
    }

    #[test]
    fn every_change_says_what_each_design_had_to_change() {
        for change in Change::ALL {
            for design in Design::BOTH {
                assert!(!change.had_to_change(design).is_empty());
            }
        }
    }
}
