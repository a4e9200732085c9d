//! Scenario 3: freshness. Writes go to the source services at a steady rate; for each one the
//! time from its acknowledgement until order-history returns that version is the staleness of
//! the read model. The read uses order-history's read-your-writes wait (`min_version`), which
//! answers as soon as the view applies the version, so the figure is not rounded up to a
//! polling interval. A write not visible within the limit counts at the limit. composer is
//! read at the same moment, right after the acknowledgement, to measure (not assume) how often
//! composition already answers with the written version. The scenario runs twice: alone, and
//! while order-history serves GET by id at the read scenarios' rate.
//!
//! Before it, a write-only window at the same rate measures what writes cost each process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::load::{self, Outcome};
use crate::procfs;
use crate::report::model::{Design, Freshness, SOURCE_SERVICES};
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
    /// The kinds of the writes not visible within the limit.
    censored: Vec<&'static str>,
    composer_reads: u64,
    composer_fresh: u64,
    composer_unanswered: u64,
}

/// What a window of writes alone cost each process of the stack.
#[derive(Clone, Debug, Default)]
pub struct WriteWindow {
    pub writes: u64,
    pub seconds: f64,
    pub cpu_seconds_by_process: BTreeMap<String, f64>,
    /// CPU seconds of the source services' librdkafka threads: the relays publishing.
    pub relay_kafka_cpu_seconds: Option<f64>,
}

impl Run {
    /// Writes at the freshness rate for one step, with no reads, and the CPU each process
    /// spent meanwhile.
    pub async fn measure_writes(&self) -> anyhow::Result<WriteWindow> {
        let generator = Arc::new(Mutex::new(Generator::new(self.plan.seed ^ 0xc057, 50)));
        let placed: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let relay_pids: Vec<u32> =
            SOURCE_SERVICES.iter().filter_map(|service| self.pids.get(*service).copied()).collect();
        let relay_cpu = || -> Option<f64> {
            relay_pids.iter().map(|pid| procfs::thread_cpu_seconds(*pid, "rdk:")).sum::<Option<f64>>()
        };
        let cpu_before = procfs::cpu_seconds_by_process(&self.pids);
        let relay_before = relay_cpu();
        let started = Instant::now();
        let measured = load::open_loop(self.plan.write_rate, self.plan.step, 1024, None, |i| {
            let run = self.shared();
            let generator = generator.clone();
            let placed = placed.clone();
            async move {
                match run.write(i, &generator, &placed).await {
                    Ok(_) => Outcome::Ok,
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "cost window write failed");
                        Outcome::Error("write".to_string())
                    }
                }
            }
        })
        .await;
        // the writes' events are projected after their acknowledgements: wait for the view
        // to show the last order before closing the window
        let last_order = placed.lock().expect("no panics while locked").last().cloned();
        if let Some((order_id, _)) = last_order {
            let url = format!("{}/orders/{order_id}", self.stack.design_url(Design::OrderHistory));
            let deadline = Instant::now() + WAIT_LIMIT;
            while Instant::now() < deadline {
                if self.stack.client.get(&url).send().await.is_ok_and(|response| response.status().is_success()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu_seconds_by_process =
            procfs::cpu_seconds_between(&cpu_before, &procfs::cpu_seconds_by_process(&self.pids));
        let relay_kafka_cpu_seconds = relay_before.zip(relay_cpu()).map(|(before, after)| (after - before).max(0.0));
        Ok(WriteWindow { writes: measured.count("ok"), seconds, cpu_seconds_by_process, relay_kafka_cpu_seconds })
    }

    /// Freshness while order-history serves `read_load_rps` GETs by id (0: no other load).
    pub async fn freshness(&self, read_load_rps: f64) -> anyhow::Result<Freshness> {
        self.wait_for_closed_breakers().await;
        let duration = self.plan.step * 2;
        let rate = self.plan.write_rate;
        // a different seed from the seeded data, and customers of their own, so these writes
        // do not change what the other scenarios search
        let seed = if read_load_rps > 0.0 { self.plan.seed ^ 0x10ad } else { self.plan.seed ^ 0x5eed_f00d };
        let generator = Arc::new(Mutex::new(Generator::new(seed, 50)));
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
        let reads_answered = Arc::new(AtomicU64::new(0));
        let read_load = async {
            if read_load_rps <= 0.0 {
                return;
            }
            let urls = Arc::new(self.get_urls(Design::OrderHistory));
            let client = self.stack.client.clone();
            let answered = reads_answered.clone();
            let deadline = Some(self.plan.deadline);
            load::open_loop(read_load_rps, duration, super::MAX_IN_FLIGHT, deadline, move |i| {
                let client = client.clone();
                let urls = urls.clone();
                let answered = answered.clone();
                async move {
                    let outcome = load::get(&client, &urls[i as usize % urls.len()]).await;
                    if outcome == Outcome::Ok {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    outcome
                }
            })
            .await;
        };
        let writes = load::open_loop(rate, duration, 1024, None, |i| {
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
        });
        let (measured, ()) = tokio::join!(writes, read_load);
        bar.finish_and_clear();

        let samples = std::mem::take(&mut *samples.lock().expect("no panics while locked"));
        let mut histogram = load::new_histogram();
        let mut by_kind: BTreeMap<String, hdrhistogram::Histogram<u64>> = BTreeMap::new();
        let limit_ms = WAIT_LIMIT.as_secs_f64() * 1000.0;
        // a write never seen within the limit took at least the limit: it counts there, so
        // the percentiles never look better for what they could not see
        let censored = samples.censored.iter().map(|kind| (*kind, limit_ms));
        let all: Vec<(&'static str, f64)> = samples.staleness_ms.iter().copied().chain(censored).collect();
        for (kind, ms) in &all {
            let micros = ((ms * 1000.0) as u64).max(1);
            histogram.saturating_record(micros);
            by_kind.entry(kind.to_string()).or_insert_with(load::new_histogram).saturating_record(micros);
        }
        let read_load_answered = reads_answered.load(Ordering::Relaxed) as f64 / duration.as_secs_f64();
        if read_load_rps > 0.0 {
            tracing::info!(read_load_rps, answered_per_second = read_load_answered, "freshness under read load");
        }
        Ok(Freshness {
            writes_per_second: rate,
            read_load_rps,
            duration_seconds: duration.as_secs_f64(),
            writes: measured.count("ok"),
            observed: samples.staleness_ms.len() as u64,
            not_visible: samples.censored.len() as u64,
            wait_limit_ms: WAIT_LIMIT.as_millis() as u64,
            staleness_ms: load::percentiles(&histogram),
            cdf: cdf(all.iter().map(|(_, ms)| *ms).collect()),
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

    /// Reads composer once, right after the acknowledgement, while waiting until order-history
    /// shows the write.
    async fn observe(&self, written: &Written, acknowledged: Instant, samples: &Mutex<Samples>) {
        let (seen_after, composer_answer) =
            tokio::join!(self.wait_for_view(written, acknowledged), self.read_composer(written));
        let mut samples = samples.lock().expect("no panics while locked");
        match seen_after {
            Some(after) => samples.staleness_ms.push((written.kind, after.as_secs_f64() * 1000.0)),
            None => samples.censored.push(written.kind),
        }
        match composer_answer {
            Some(document) => {
                samples.composer_reads += 1;
                samples.composer_fresh += u64::from(holds(&document, written));
            }
            None => samples.composer_unanswered += 1,
        }
    }

    /// How long after `acknowledged` order-history showed the write; `None` past the limit.
    async fn wait_for_view(&self, written: &Written, acknowledged: Instant) -> Option<Duration> {
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
        seen_after
    }

    /// composer's whole answer for the written order; only a whole answer says whether
    /// composition is fresh, a failed or degraded one is an availability figure, counted apart.
    async fn read_composer(&self, written: &Written) -> Option<Value> {
        let composer = format!("{}/orders/{}", self.stack.design_url(Design::Composer), written.order_id);
        match self.stack.client.get(&composer).send().await {
            Ok(response) if response.status().is_success() => {
                response.json::<Value>().await.ok().filter(|document| document.get("degraded").is_none())
            }
            _ => None,
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
