//! Scenario 3: freshness. Writes go to the source services at a steady rate; for each one the
//! time from its acknowledgement until order-history returns that version is the staleness of
//! the read model. The read uses order-history's read-your-writes wait (`min_version`), which
//! answers as soon as the view applies the version, so the figure is not rounded up to a
//! polling interval. composer is read right after each write too, to show (not assume) that
//! composition answers with the written version at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::load::{self, Outcome};
use crate::report::model::{Design, Freshness};
use crate::scenarios::Run;
use crate::seed::generator::Generator;

/// How long a write may take to show up before it counts as not visible.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// What a write created or changed, and where to look for it.
#[derive(Clone, Debug)]
struct Written {
    kind: &'static str,
    order_id: String,
    aggregate_id: String,
    version: i64,
}

#[derive(Default)]
struct Samples {
    staleness_ms: Vec<(&'static str, f64)>,
    not_visible: u64,
    composer_reads: u64,
    composer_fresh: u64,
    composer_unanswered: u64,
}

impl Run {
    pub async fn freshness(&self) -> anyhow::Result<Freshness> {
        self.wait_for_closed_breakers().await;
        let duration = self.plan.step * 2;
        let rate = self.plan.write_rate;
        // a different seed from the seeded data, and customers of their own, so these writes
        // do not change what the other scenarios search
        let generator = Arc::new(Mutex::new(Generator::new(self.plan.seed ^ 0x5eed_f00d, 50)));
        let placed: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let samples: Arc<Mutex<Samples>> = Arc::default();
        let bar = self.step_bar(&crate::scenarios::Step {
            scenario: "freshness",
            design: crate::report::model::Design::OrderHistory,
            endpoint: "writes",
            condition: crate::report::model::Condition::Healthy,
            rate,
            urls: vec![String::new()],
        });
        bar.set_length((rate * duration.as_secs_f64()) as u64);
        let measured = load::open_loop(rate, duration, 1024, None, |i| {
            let run = self.shared();
            let generator = generator.clone();
            let placed = placed.clone();
            let samples = samples.clone();
            let bar = bar.clone();
            async move {
                let outcome = match run.write(i, &generator, &placed).await {
                    Ok((written, acknowledged)) => {
                        run.observe(&written, acknowledged, &samples).await;
                        Outcome::Ok
                    }
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "freshness write failed");
                        Outcome::Error("write".to_string())
                    }
                };
                bar.inc(1);
                outcome
            }
        })
        .await;
        bar.finish_and_clear();

        let samples = std::mem::take(&mut *samples.lock().expect("no panics while locked"));
        let mut histogram = load::new_histogram();
        let mut by_kind: BTreeMap<String, hdrhistogram::Histogram<u64>> = BTreeMap::new();
        for (kind, ms) in &samples.staleness_ms {
            let micros = ((ms * 1000.0) as u64).max(1);
            histogram.saturating_record(micros);
            by_kind.entry(kind.to_string()).or_insert_with(load::new_histogram).saturating_record(micros);
        }
        Ok(Freshness {
            writes_per_second: rate,
            duration_seconds: duration.as_secs_f64(),
            writes: measured.count("ok"),
            observed: samples.staleness_ms.len() as u64,
            not_visible: samples.not_visible,
            wait_limit_ms: WAIT_LIMIT.as_millis() as u64,
            staleness_ms: load::percentiles(&histogram),
            cdf: cdf(samples.staleness_ms.iter().map(|(_, ms)| *ms).collect()),
            by_write_kind: by_kind.into_iter().map(|(kind, histogram)| (kind, load::percentiles(&histogram))).collect(),
            composer_fresh_reads: samples.composer_fresh,
            composer_reads: samples.composer_reads,
            composer_unanswered_reads: samples.composer_unanswered,
        })
    }

    /// What the spawned writes need, without borrowing the run.
    fn shared(&self) -> Shared {
        Shared { stack: self.stack.clone() }
    }
}

#[derive(Clone)]
struct Shared {
    stack: crate::target::Stack,
}

impl Shared {
    /// Write `i`: a new order, a payment, or a shipment, in turn. Returns what was written and
    /// when the service acknowledged it.
    async fn write(
        &self,
        i: u64,
        generator: &Mutex<Generator>,
        placed: &Mutex<Vec<(String, Value)>>,
    ) -> anyhow::Result<(Written, Instant)> {
        let target = {
            let placed = placed.lock().expect("no panics while locked");
            (!placed.is_empty()).then(|| placed[fastrand::usize(..placed.len())].clone())
        };
        match (i % 3, target) {
            (1, Some((order_id, _))) => {
                let body = json!({"order_id": order_id, "amount": 4999, "currency": "EUR", "method": "CARD"});
                let (answer, acknowledged) = self.stack.write("payment-svc", "/payments", Some(&body)).await?;
                Ok((written("payment_authorized", &order_id, &answer)?, acknowledged))
            }
            (2, Some((order_id, address))) => {
                let body = json!({"order_id": order_id, "carrier": "DHL", "address": address});
                let (answer, acknowledged) = self.stack.write("shipping-svc", "/shipments", Some(&body)).await?;
                Ok((written("shipment_created", &order_id, &answer)?, acknowledged))
            }
            _ => {
                let plan = generator.lock().expect("no panics while locked").order();
                let mut body = plan.order;
                body["customer_id"] = json!(format!("fresh-{}", i % 50));
                let (answer, acknowledged) = self.stack.write("order-svc", "/orders", Some(&body)).await?;
                let order_id = answer["id"].as_str().context("order-svc answered without an id")?.to_string();
                placed
                    .lock()
                    .expect("no panics while locked")
                    .push((order_id.clone(), body["shipping_address"].clone()));
                Ok((written("order_placed", &order_id, &answer)?, acknowledged))
            }
        }
    }

    /// Waits until order-history shows the write, then reads composer once.
    async fn observe(&self, written: &Written, acknowledged: Instant, samples: &Mutex<Samples>) {
        let order_history = format!(
            "{}/orders/{}?min_version={}:{}&wait_ms=2000",
            self.stack.design_url(Design::OrderHistory),
            written.order_id,
            written.aggregate_id,
            written.version
        );
        let mut seen_after = None;
        while acknowledged.elapsed() < WAIT_LIMIT {
            if let Ok(response) = self.stack.client.get(&order_history).send().await
                && response.status().is_success()
                && let Ok(document) = response.json::<Value>().await
                && document.get("stale").and_then(Value::as_bool) != Some(true)
            {
                seen_after = Some(acknowledged.elapsed());
                break;
            }
            // a 404 answers at once (the order is not in the view yet); do not spin
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let composer = format!("{}/orders/{}", self.stack.design_url(Design::Composer), written.order_id);
        // only a whole answer says whether composition is fresh; a failed or degraded one is
        // an availability figure, counted apart
        let composer_answer = match self.stack.client.get(&composer).send().await {
            Ok(response) if response.status().is_success() => {
                response.json::<Value>().await.ok().filter(|document| document.get("degraded").is_none())
            }
            _ => None,
        };
        let mut samples = samples.lock().expect("no panics while locked");
        match seen_after {
            Some(after) => samples.staleness_ms.push((written.kind, after.as_secs_f64() * 1000.0)),
            None => samples.not_visible += 1,
        }
        match composer_answer {
            Some(document) => {
                samples.composer_reads += 1;
                samples.composer_fresh += u64::from(holds(&document, written));
            }
            None => samples.composer_unanswered += 1,
        }
    }
}

fn written(kind: &'static str, order_id: &str, answer: &Value) -> anyhow::Result<Written> {
    Ok(Written {
        kind,
        order_id: order_id.to_string(),
        aggregate_id: answer["id"].as_str().context("the answer has no id")?.to_string(),
        version: answer["version"].as_i64().context("the answer has no version")?,
    })
}

/// Whether an order-history document (composer answers the same shape) holds the written
/// version of the aggregate.
fn holds(document: &Value, written: &Written) -> bool {
    let at_version = |list: &str, id_field: &str| {
        document[list].as_array().is_some_and(|items| {
            items.iter().any(|item| {
                item[id_field].as_str() == Some(written.aggregate_id.as_str())
                    && item["version"].as_i64().is_some_and(|version| version >= written.version)
            })
        })
    };
    match written.kind {
        "order_placed" => document["order_version"].as_i64().is_some_and(|version| version >= written.version),
        "payment_authorized" => at_version("payments", "payment_id"),
        _ => at_version("shipments", "shipment_id"),
    }
}

/// At most 200 points of the empirical CDF, ascending.
pub fn cdf(mut values: Vec<f64>) -> Vec<(f64, f64)> {
    if values.is_empty() {
        return Vec::new();
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let points = n.min(200);
    (1..=points)
        .map(|k| {
            let index = (k * n).div_ceil(points) - 1;
            (values[index], (index + 1) as f64 / n as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdf_ends_at_one_and_grows() {
        let points = cdf((1..=1000).map(f64::from).collect());
        assert_eq!(points.len(), 200);
        assert_eq!(points.last(), Some(&(1000.0, 1.0)));
        assert!(points.windows(2).all(|pair| pair[0].0 <= pair[1].0 && pair[0].1 < pair[1].1));
        assert_eq!(cdf(vec![3.0]), vec![(3.0, 1.0)]);
        assert!(cdf(Vec::new()).is_empty());
    }

    #[test]
    fn a_document_holds_a_write_at_its_version_or_later() {
        let document = json!({"order_version": 2, "payments": [{"payment_id": "p", "version": 1}], "shipments": []});
        let write = |kind, id: &str, version| Written { kind, order_id: "o".into(), aggregate_id: id.into(), version };
        assert!(holds(&document, &write("order_placed", "o", 1)));
        assert!(holds(&document, &write("payment_authorized", "p", 1)));
        assert!(!holds(&document, &write("payment_authorized", "p", 2)));
        assert!(!holds(&document, &write("shipment_created", "s", 1)));
    }
}
