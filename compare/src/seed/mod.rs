//! Filling the stack with realistic orders through the source services' REST APIs, then waiting
//! until order-history holds every one of them at its latest version.
//!
//! The data comes from [`generator::Generator`], seeded: the same seed gives the same customers,
//! orders and life cycles (the services assign the ids). Writes go through the public APIs, as a
//! real client's would, so seeding also exercises the outbox, the relay and the projection.

pub mod generator;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Plan;
use crate::report::model::{Design, Seeding};
use crate::target::Stack;
use generator::{Generator, OrderPlan, PaymentFollowUp};

/// Order life cycles written at once. Each is a chain of dependent writes, so this many chains
/// keep the three services busy without queueing deep inside them.
const SEED_CONCURRENCY: usize = 24;
/// Orders checked at once while waiting for convergence.
const VERIFY_CONCURRENCY: usize = 32;

/// One seeded order: what the scenarios ask about it.
#[derive(Clone, Debug)]
pub struct SeededOrder {
    pub id: String,
    pub customer_id: String,
    /// Searchable words of its item names, lowercased.
    pub item_words: Vec<String>,
    pub city: String,
}

/// The latest versions of everything one order's life cycle wrote.
#[derive(Clone, Debug, Default, PartialEq)]
struct Expected {
    order_version: i64,
    /// `(aggregate id, version)`, sorted.
    payments: Vec<(String, i64)>,
    shipments: Vec<(String, i64)>,
}

/// What seeding produced: the orders to ask about, and the seeding figures.
#[derive(Clone, Debug, Default)]
pub struct Seeded {
    pub orders: Vec<SeededOrder>,
    pub seeding: Option<Seeding>,
}

impl Seeded {
    /// `n` order ids drawn with replacement, the same for the same seed.
    pub fn sample_order_ids(&self, seed: u64, n: usize) -> Vec<String> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| self.orders[rng.usize(..self.orders.len())].id.clone()).collect()
    }

    /// `(customer id, word)` pairs: a customer, drawn by their share of the orders, and a word of
    /// one of their items.
    pub fn sample_customer_queries(&self, seed: u64, n: usize) -> Vec<(String, String)> {
        let mut rng = fastrand::Rng::with_seed(seed ^ 1);
        (0..n)
            .map(|_| {
                let order = &self.orders[rng.usize(..self.orders.len())];
                (order.customer_id.clone(), pick(&mut rng, &order.item_words))
            })
            .collect()
    }

    /// Search-box queries over everyone's orders: an item word, half the time with a city.
    pub fn sample_global_queries(&self, seed: u64, n: usize) -> Vec<String> {
        let mut rng = fastrand::Rng::with_seed(seed ^ 2);
        (0..n)
            .map(|_| {
                let order = &self.orders[rng.usize(..self.orders.len())];
                let word = pick(&mut rng, &order.item_words);
                if rng.bool() { format!("{word} {}", order.city) } else { word }
            })
            .collect()
    }
}

fn pick(rng: &mut fastrand::Rng, words: &[String]) -> String {
    if words.is_empty() { "order".to_string() } else { words[rng.usize(..words.len())].clone() }
}

/// The words of item names worth searching for: letters only, four or more of them.
fn searchable_words(order: &Value) -> Vec<String> {
    let mut words: Vec<String> = order["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["name"].as_str())
        .flat_map(|name| name.split_whitespace())
        .map(str::to_lowercase)
        .filter(|word| word.chars().count() >= 4 && word.chars().all(char::is_alphabetic))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Fails when the stack already holds seeded orders: a second seeding would double every
/// customer's orders and the run would not be comparable with others of the same seed.
pub async fn ensure_empty(stack: &Stack, seed: u64, customers: u64) -> anyhow::Result<()> {
    let mut generator = Generator::new(seed, customers as usize);
    let customer_id = generator.order().customer_id;
    let url = format!("{}/orders?customer_id={customer_id}&limit=1", stack.endpoints.order_svc);
    let listed: Value = stack.client.get(&url).send().await?.error_for_status()?.json().await?;
    if listed["orders"].as_array().is_some_and(|orders| !orders.is_empty()) {
        bail!(
            "the stack already holds seeded orders (customer {customer_id} has some): seeding again would double every customer's orders. empty it first: in the local profile, stop it and remove its data dir (`stack demo` starts on an empty one); in compose, copy the report out (`docker compose cp web:/report/. ./report`), then `docker compose --profile demo down -v` and `docker compose up -d`"
        );
    }
    Ok(())
}

/// Writes the plan's orders, then waits until order-history holds all of them.
pub async fn seed(plan: &Plan, stack: &Stack, bar_target: &indicatif::MultiProgress) -> anyhow::Result<Seeded> {
    let mut generator = Generator::new(plan.seed, plan.customers as usize);
    let plans: Vec<OrderPlan> = (0..plan.orders).map(|_| generator.order()).collect();
    let customers: std::collections::BTreeSet<&str> = plans.iter().map(|order| order.customer_id.as_str()).collect();
    let customers = customers.len() as u64;

    let bar = progress_bar(plan, bar_target, plan.orders, "seeding orders");
    let mix: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let counts: Arc<Mutex<(u64, u64)>> = Arc::default(); // (writes, write errors)
    let started = Instant::now();
    let written: Vec<anyhow::Result<(SeededOrder, Expected)>> = futures::stream::iter(plans)
        .map(|order_plan| {
            let (stack, mix, counts, bar) = (stack.clone(), mix.clone(), counts.clone(), bar.clone());
            async move {
                let outcome = write_life_cycle(&stack, order_plan, &mix, &counts).await;
                bar.inc(1);
                outcome
            }
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .collect()
        .await;
    let write_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let (writes, write_errors) = *counts.lock().expect("no panics while locked");

    let mut orders = Vec::new();
    let mut expected = Vec::new();
    for outcome in written {
        match outcome {
            Ok((order, versions)) => {
                orders.push(order);
                expected.push(versions);
            }
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "an order could not be placed"),
        }
    }
    if orders.is_empty() {
        bail!("no order could be placed; see the warnings above and order-svc's log");
    }

    let converge_started = Instant::now();
    let verified = converge(plan, stack, bar_target, &orders, &expected).await?;
    let converge_seconds = converge_started.elapsed().as_secs_f64();
    let mix = mix.lock().expect("no panics while locked").clone();
    let seeding = Seeding {
        seed: plan.seed,
        orders: orders.len() as u64,
        customers,
        payments: mix.get("payment_created").copied().unwrap_or(0),
        shipments: mix.get("shipment_created").copied().unwrap_or(0),
        writes,
        write_errors,
        write_seconds,
        converge_seconds,
        orders_verified: verified,
        mix,
    };
    Ok(Seeded { orders, seeding: Some(seeding) })
}

/// What one order's life cycle wrote.
pub struct LifeCycleOutcome {
    pub acknowledged: u64,
    pub refused: u64,
    /// Whether the order itself was placed; the later steps may still have been refused.
    pub placed: bool,
}

/// [`write_life_cycle`] on its own, for `chaos`: the writes counted, nothing else kept.
pub async fn write_life_cycle_counted(stack: &Stack, plan: OrderPlan) -> LifeCycleOutcome {
    let (mix, counts) = (Mutex::new(BTreeMap::new()), Mutex::new((0, 0)));
    let placed = write_life_cycle(stack, plan, &mix, &counts).await.is_ok();
    let (acknowledged, refused) = *counts.lock().expect("no panics while locked");
    LifeCycleOutcome { acknowledged, refused, placed }
}

/// One order's life: placed, paid (authorized or declined, captured, refunded), shipped and
/// moved along, maybe cancelled, each step waiting for the one before, as a real client would.
async fn write_life_cycle(
    stack: &Stack,
    plan: OrderPlan,
    mix: &Mutex<BTreeMap<String, u64>>,
    counts: &Mutex<(u64, u64)>,
) -> anyhow::Result<(SeededOrder, Expected)> {
    let writer = Writer { stack, mix, counts };
    let order = writer.post("order-svc", "/orders", &plan.order, "order_placed").await?;
    let order_id = order["id"].as_str().context("order-svc answered without an id")?.to_string();
    let mut expected = Expected { order_version: 1, ..Expected::default() };

    if let Some(payment) = &plan.payment {
        let body = generator::with_order_id(&payment.body_without_order_id, &order_id);
        if let Ok(created) = writer.post("payment-svc", "/payments", &body, "payment_created").await {
            let id = created["id"].as_str().unwrap_or_default().to_string();
            let mut version = created["version"].as_i64().unwrap_or(1);
            if created["status"] == "DECLINED" {
                writer.count("payment_declined");
            } else {
                let steps: &[(&str, &str)] = match payment.then {
                    PaymentFollowUp::None => &[],
                    PaymentFollowUp::Capture => &[("capture", "payment_captured")],
                    PaymentFollowUp::CaptureThenRefund => {
                        &[("capture", "payment_captured"), ("refund", "payment_refunded")]
                    }
                };
                for (action, kind) in steps {
                    let path = format!("/payments/{id}/{action}");
                    match writer.post("payment-svc", &path, &json!(null), kind).await {
                        Ok(changed) => version = changed["version"].as_i64().unwrap_or(version),
                        Err(_) => break,
                    }
                }
            }
            expected.payments.push((id, version));
        }
    }

    if let Some(shipment) = &plan.shipment {
        let body = json!({"order_id": order_id, "carrier": shipment.carrier, "address": shipment.address});
        if let Ok(created) = writer.post("shipping-svc", "/shipments", &body, "shipment_created").await {
            let id = created["id"].as_str().unwrap_or_default().to_string();
            let mut version = created["version"].as_i64().unwrap_or(1);
            for step in &shipment.steps {
                let kind = match step["status"].as_str() {
                    Some("DELIVERED") => "shipment_delivered",
                    Some("RETURNED") => "shipment_returned",
                    _ => "shipment_moved",
                };
                match writer.post("shipping-svc", &format!("/shipments/{id}/status"), step, kind).await {
                    Ok(changed) => version = changed["version"].as_i64().unwrap_or(version),
                    Err(_) => break,
                }
            }
            expected.shipments.push((id, version));
        }
    }

    if let Some(reason) = &plan.cancel_reason {
        let path = format!("/orders/{order_id}/cancel");
        if writer.post("order-svc", &path, &json!({"reason": reason}), "order_cancelled").await.is_ok() {
            expected.order_version = 2;
        }
    }
    expected.payments.sort();
    expected.shipments.sort();
    let seeded = SeededOrder {
        id: order_id,
        customer_id: plan.customer_id,
        item_words: searchable_words(&plan.order),
        city: plan.order["shipping_address"]["city"].as_str().unwrap_or_default().to_string(),
    };
    Ok((seeded, expected))
}

struct Writer<'a> {
    stack: &'a Stack,
    mix: &'a Mutex<BTreeMap<String, u64>>,
    counts: &'a Mutex<(u64, u64)>,
}

impl Writer<'_> {
    /// POSTs `body` (no body when null) and counts the write, or the refusal.
    async fn post(&self, service: &str, path: &str, body: &Value, kind: &str) -> anyhow::Result<Value> {
        let body = (!body.is_null()).then_some(body);
        let outcome = self.stack.write(service, path, body).await.map(|(answer, _)| answer);
        let mut counts = self.counts.lock().expect("no panics while locked");
        match &outcome {
            Ok(_) => {
                counts.0 += 1;
                drop(counts);
                self.count(kind);
            }
            Err(error) => {
                counts.1 += 1;
                tracing::warn!(error = %format!("{error:#}"), "a seeding write was refused");
            }
        }
        outcome
    }

    fn count(&self, kind: &str) {
        *self.mix.lock().expect("no panics while locked").entry(kind.to_string()).or_insert(0) += 1;
    }
}

/// The parts of an order-history document that tell whether it has caught up.
#[derive(Deserialize)]
struct ViewVersions {
    order_version: Option<i64>,
    #[serde(default)]
    payments: Vec<AggregateVersion>,
    #[serde(default)]
    shipments: Vec<AggregateVersion>,
}

#[derive(Deserialize)]
struct AggregateVersion {
    #[serde(alias = "payment_id", alias = "shipment_id")]
    id: String,
    version: i64,
}

impl ViewVersions {
    fn matches(self, expected: &Expected) -> bool {
        let sorted = |list: Vec<AggregateVersion>| {
            let mut pairs: Vec<(String, i64)> = list.into_iter().map(|item| (item.id, item.version)).collect();
            pairs.sort();
            pairs
        };
        self.order_version == Some(expected.order_version)
            && sorted(self.payments) == expected.payments
            && sorted(self.shipments) == expected.shipments
    }
}

/// Checks every order in order-history until each shows exactly the versions written, and
/// returns how many were verified. Fails when that takes longer than the plan allows.
async fn converge(
    plan: &Plan,
    stack: &Stack,
    bar_target: &indicatif::MultiProgress,
    orders: &[SeededOrder],
    expected: &[Expected],
) -> anyhow::Result<u64> {
    let bar = progress_bar(plan, bar_target, orders.len() as u64, "waiting for order-history");
    let mut pending: Vec<usize> = (0..orders.len()).collect();
    let started = Instant::now();
    loop {
        let still: Vec<Option<usize>> = futures::stream::iter(pending.iter().copied())
            .map(|index| async move {
                let url = format!("{}/orders/{}", stack.design_url(Design::OrderHistory), orders[index].id);
                let caught_up = match stack.client.get(&url).send().await {
                    Ok(response) if response.status().is_success() => {
                        response.json::<ViewVersions>().await.is_ok_and(|view| view.matches(&expected[index]))
                    }
                    _ => false,
                };
                (!caught_up).then_some(index)
            })
            .buffered(VERIFY_CONCURRENCY)
            .collect()
            .await;
        pending = still.into_iter().flatten().collect();
        bar.set_position((orders.len() - pending.len()) as u64);
        if pending.is_empty() {
            bar.finish_and_clear();
            return Ok(orders.len() as u64);
        }
        if started.elapsed() > plan.converge_timeout {
            bar.finish_and_clear();
            bail!(
                "order-history did not converge within {:?}: {} of {} orders are missing or behind (e.g. {}). is order-history consuming? see its log and its /metrics (order_history_consumer_lag)",
                plan.converge_timeout,
                pending.len(),
                orders.len(),
                orders[pending[0]].id
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn progress_bar(plan: &Plan, target: &indicatif::MultiProgress, length: u64, message: &'static str) -> ProgressBar {
    if !plan.progress {
        return ProgressBar::hidden();
    }
    let bar = target.add(ProgressBar::new(length));
    bar.set_style(
        ProgressStyle::with_template("{msg:>28} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}
