//! The scenarios. Each one measures both designs on the same requests, one design at a time so
//! that neither steals the other's CPU, through [`Run::measure`].

pub mod capacity;
pub mod contract_change;
pub mod coupling;
pub mod faults;
pub mod freshness;
pub mod reads;
pub mod statistics;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::config::Plan;
use crate::load;
use crate::procfs;
use crate::report::model::{Condition, Design, LoadStep, Percentiles, Repetition, SOURCE_SERVICES};
use crate::seed::Seeded;
use crate::target::{self, HTTP_SERVICES, Stack};
use crate::verdict::median;

/// Requests outstanding at once, per step: far above what any healthy step needs, low enough
/// that a stalled design cannot exhaust the load generator's sockets.
const MAX_IN_FLIGHT: usize = 2048;
/// Time between steps, so one step's tail does not land in the next one's figures.
const SETTLE: Duration = Duration::from_millis(1500);

/// Everything a scenario needs: the plan, the stack, the seeded data and the processes.
pub struct Run {
    pub plan: Plan,
    pub stack: Stack,
    pub seeded: Seeded,
    /// The stack's processes found in /proc, by name (empty when they are out of sight, e.g.
    /// in containers); their CPU time is the cost figure.
    pub pids: BTreeMap<String, u32>,
    /// The rates the read scenarios run at: from the capacities once measured.
    pub rates: Rates,
    /// The write-only window of the freshness scenario, for the cost of writes.
    pub writes: Option<freshness::WriteWindow>,
    pub progress: MultiProgress,
}

/// The arrival rates of the read scenarios.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    /// The GET-by-id scenario's rates.
    pub get_by_id: Vec<f64>,
    /// The rate of each request kind in the search, fault and freshness-under-load scenarios.
    pub by_kind: BTreeMap<&'static str, f64>,
}

impl Rates {
    /// The rates given on the command line, or the fixed defaults when capacity was not measured.
    pub fn fixed(plan: &Plan) -> Self {
        let rate = plan.fault_rate.unwrap_or(plan.fallback_fault_rate);
        Rates {
            get_by_id: plan.rates.clone().unwrap_or_else(|| plan.fallback_rates.clone()),
            by_kind: reads::KINDS.iter().map(|kind| (*kind, rate)).collect(),
        }
    }

    /// `--capacity-fraction` of the lower of the two designs' capacities for each kind (of the
    /// one design that serves it, when only one does); rates given on the command line win.
    pub fn from_capacity(plan: &Plan, capacity: &[crate::report::model::Capacity]) -> Self {
        let fixed = Self::fixed(plan);
        let at_fraction = |kind: &str| {
            let lower = capacity
                .iter()
                .filter(|row| row.kind == kind && row.not_servable.is_none())
                .map(|row| row.rps)
                .min_by(f64::total_cmp)?;
            // a design that kept the SLO at no rate tried still gets a gentle load
            Some((lower * plan.capacity_fraction).round().max(1.0))
        };
        let by_kind = reads::KINDS
            .iter()
            .map(|kind| {
                let rate = plan.fault_rate.or_else(|| at_fraction(kind)).unwrap_or(fixed.by_kind[kind]);
                (*kind, rate)
            })
            .collect();
        let get_by_id = match (&plan.rates, at_fraction(reads::GET_BY_ID)) {
            (Some(rates), _) => rates.clone(),
            (None, Some(rate)) => vec![rate],
            (None, None) => fixed.get_by_id,
        };
        Rates { get_by_id, by_kind }
    }

    pub fn of(&self, kind: &str) -> f64 {
        self.by_kind.get(kind).copied().unwrap_or(1.0)
    }
}

/// One load step to measure.
#[derive(Clone)]
pub struct Step {
    pub scenario: &'static str,
    pub design: Design,
    pub endpoint: &'static str,
    pub condition: Condition,
    pub rate: f64,
    /// The URLs to GET, in turn.
    pub urls: Vec<String>,
}

impl Run {
    /// Measures each of `steps` (the designs' versions of one step) `--repeat` times,
    /// interleaved as A B, B A, A B, … so that neither design always runs first, after the
    /// other's tail, on the same seeded data. Returns one [`LoadStep`] per step, in the order
    /// given, holding its repetitions and their medians.
    pub async fn measure_repeated(&self, steps: Vec<Step>) -> anyhow::Result<Vec<LoadStep>> {
        let mut repetitions: Vec<Vec<LoadStep>> = steps.iter().map(|_| Vec::new()).collect();
        for repetition in 0..self.plan.repeat {
            let mut order: Vec<usize> = (0..steps.len()).collect();
            if repetition % 2 == 1 {
                order.reverse();
            }
            for index in order {
                repetitions[index].push(self.measure(&steps[index]).await?);
            }
        }
        Ok(repetitions.into_iter().map(combine_repetitions).collect())
    }

    /// Runs one open-loop step and turns it into the report's figures, with the downstream
    /// calls, bytes and CPU time it cost the whole stack.
    pub async fn measure(&self, step: &Step) -> anyhow::Result<LoadStep> {
        self.measure_for(step, self.plan.step).await
    }

    /// [`Run::measure`] for a step of `duration`.
    pub async fn measure_for(&self, step: &Step, duration: Duration) -> anyhow::Result<LoadStep> {
        tokio::time::sleep(SETTLE.min(self.plan.step / 4)).await;
        // under a fault the breakers are part of what is measured; otherwise none may be
        // left open by an earlier overload
        if step.condition == Condition::Healthy {
            self.wait_for_closed_breakers().await;
        }
        let not_servable = self.probe_servable(step).await;
        let bar = self.step_bar(step);
        let before = self.stack.scrape_all().await?;
        let cpu_before = procfs::cpu_seconds_by_process(&self.pids);
        let urls = Arc::new(step.urls.clone());
        let client = self.stack.client.clone();
        let ticker = tokio::spawn({
            let bar = bar.clone();
            let total = duration.as_secs_f64();
            async move {
                let started = std::time::Instant::now();
                loop {
                    bar.set_position((started.elapsed().as_secs_f64() / total * 100.0).min(100.0) as u64);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
        let measured = load::open_loop(step.rate, duration, MAX_IN_FLIGHT, Some(self.plan.deadline), |i| {
            let client = client.clone();
            let urls = urls.clone();
            async move { load::get(&client, &urls[i as usize % urls.len()]).await }
        })
        .await;
        ticker.abort();
        let cpu_used = procfs::cpu_seconds_between(&cpu_before, &procfs::cpu_seconds_by_process(&self.pids));
        let after = self.stack.scrape_all().await?;
        bar.finish_and_clear();

        let sent = measured.sent as f64;
        let downstream = target::delta(&before, &after, &SOURCE_SERVICES, "http_server_requests_total", &[]);
        let bytes = target::delta(&before, &after, &HTTP_SERVICES, "http_server_body_bytes_total", &[]);
        let ok = measured.count("ok");
        let degraded = measured.count("degraded");
        let errors = measured.errors();
        let result = LoadStep {
            scenario: step.scenario.to_string(),
            design: step.design,
            endpoint: step.endpoint.to_string(),
            condition: step.condition.clone(),
            target_rps: step.rate,
            duration_seconds: duration.as_secs_f64(),
            sent: measured.sent,
            ok,
            degraded,
            errors,
            outcomes: measured.outcomes.clone(),
            achieved_rps: (ok + degraded) as f64 / measured.elapsed.as_secs_f64(),
            error_rate: errors as f64 / sent,
            degraded_rate: degraded as f64 / sent,
            latency_ms: measured.percentiles(),
            error_latency_ms: load::percentiles(&measured.error_latency),
            error_kinds: measured.error_kinds(),
            generator_lag_ms: measured.generator_lag_ms(),
            send_lag_p99_ms: load::percentiles(&measured.send_lag).p99,
            not_servable,
            // a design that calls nothing shows 0 here, measured like the other's
            downstream_calls_per_request: Some(downstream / sent),
            bytes_per_request: Some(bytes / sent),
            cpu_ms_per_1000: charged_cpu_ms_per_1000(step.design, &cpu_used, sent),
            cpu_ms_per_1000_by_process: cpu_used
                .iter()
                .map(|(process, seconds)| (process.clone(), seconds * 1000.0 / sent * 1000.0))
                .collect(),
            repetitions: Vec::new(),
        };
        tracing::info!(
            scenario = %result.scenario,
            design = result.design.name(),
            condition = %result.condition.label(),
            rate = result.target_rps,
            sent = result.sent,
            ok = result.ok,
            degraded = result.degraded,
            errors = result.errors,
            p50_ms = result.latency_ms.p50,
            p99_ms = result.latency_ms.p99,
            "step measured"
        );
        Ok(result)
    }

    /// composer's breakers stay open for their cool-down after a fault, or after an overload
    /// tripped them; no step may inherit them. Requests let the half-open probes through.
    pub async fn wait_for_closed_breakers(&self) {
        let breakers = format!("{}/breakers", self.stack.design_url(Design::Composer));
        let probe = self.get_urls(Design::Composer).swap_remove(0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let states: Option<serde_json::Value> = match self.stack.client.get(&breakers).send().await {
                Ok(response) => response.json().await.ok(),
                Err(_) => None,
            };
            let all_closed = states
                .as_ref()
                .and_then(|states| states.as_object())
                .is_some_and(|states| states.values().all(|state| state == "closed"));
            if all_closed {
                return;
            }
            let _ = self.stack.client.get(&probe).send().await;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        tracing::warn!("composer's breakers did not all close within 30 s; the next step may see them open");
    }

    /// One request before the load: a design that answers it with a 4xx cannot serve it at all
    /// (composer's global search), and the report says so with the design's own words.
    async fn probe_servable(&self, step: &Step) -> Option<String> {
        let response = self.stack.client.get(&step.urls[0]).send().await.ok()?;
        if !response.status().is_client_error() {
            return None;
        }
        let status = response.status();
        let body: serde_json::Value = response.json().await.ok()?;
        let message = body.get("error").and_then(|error| error.as_str()).unwrap_or("refused");
        Some(format!("{status}: {message}"))
    }

    fn step_bar(&self, step: &Step) -> ProgressBar {
        if !self.plan.progress {
            return ProgressBar::hidden();
        }
        let bar = self.progress.add(ProgressBar::new(100));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>44} [{bar:30}] {elapsed}")
                .expect("static template is valid")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{} {} {} {}/s", step.scenario, step.design.name(), step.condition.label(), step.rate));
        bar
    }

    /// The URL of GET by id for `order_id` on `design`.
    pub fn get_url(&self, design: Design, order_id: &str) -> String {
        format!("{}/orders/{order_id}", self.stack.design_url(design))
    }
}

/// The CPU of `design`'s own processes per 1,000 of `sent` requests, in ms; `None` when none
/// of them was found in /proc.
fn charged_cpu_ms_per_1000(design: Design, cpu_seconds: &BTreeMap<String, f64>, sent: f64) -> Option<f64> {
    let charged: Vec<f64> =
        design.processes().iter().filter_map(|process| cpu_seconds.get(*process).copied()).collect();
    (!charged.is_empty()).then(|| charged.iter().sum::<f64>() * 1000.0 / sent * 1000.0)
}

/// One step from its repetitions: counts are summed, so every request sent is accounted for;
/// latencies, rates and costs are the medians of the repetitions' figures, so one stall in one
/// repetition does not set the step's figure; each repetition's figures are kept for the
/// verdicts. A repetition's error rate is its own; the step's is of all its requests.
pub fn combine_repetitions(measured: Vec<LoadStep>) -> LoadStep {
    debug_assert!(!measured.is_empty(), "a step is measured at least once");
    let mut repetitions = Vec::new();
    for step in &measured {
        repetitions.push(Repetition {
            sent: step.sent,
            errors: step.errors,
            error_rate: step.error_rate,
            achieved_rps: step.achieved_rps,
            latency_ms: step.latency_ms.clone(),
            generator_lag_ms: step.generator_lag_ms,
            downstream_calls_per_request: step.downstream_calls_per_request,
            bytes_per_request: step.bytes_per_request,
            cpu_ms_per_1000: step.cpu_ms_per_1000,
        });
    }
    let median_of = |figure: fn(&LoadStep) -> f64| {
        let values: Vec<f64> = measured.iter().map(figure).collect();
        median(&values).unwrap_or(f64::NAN)
    };
    let median_of_optional = |figure: fn(&LoadStep) -> Option<f64>| {
        let values: Option<Vec<f64>> = measured.iter().map(figure).collect();
        values.and_then(|values| median(&values))
    };
    let median_percentiles = |percentiles: fn(&LoadStep) -> &Percentiles| Percentiles {
        p50: median_of_percentile(&measured, percentiles, |p| p.p50),
        p90: median_of_percentile(&measured, percentiles, |p| p.p90),
        p99: median_of_percentile(&measured, percentiles, |p| p.p99),
        p999: median_of_percentile(&measured, percentiles, |p| p.p999),
        max: median_of_percentile(&measured, percentiles, |p| p.max),
        mean: median_of_percentile(&measured, percentiles, |p| p.mean),
    };
    let latency_ms = median_percentiles(|step| &step.latency_ms);
    let error_latency_ms = median_percentiles(|step| &step.error_latency_ms);
    let achieved_rps = median_of(|step| step.achieved_rps);
    // a lag in any repetition marks the step
    let generator_lag_ms = measured.iter().map(|step| step.generator_lag_ms).fold(0.0, f64::max);
    let send_lag_p99_ms = measured.iter().map(|step| step.send_lag_p99_ms).fold(0.0, f64::max);
    let downstream_calls_per_request = median_of_optional(|step| step.downstream_calls_per_request);
    let bytes_per_request = median_of_optional(|step| step.bytes_per_request);
    let cpu_ms_per_1000 = median_of_optional(|step| step.cpu_ms_per_1000);
    let processes: std::collections::BTreeSet<&String> =
        measured.iter().flat_map(|step| step.cpu_ms_per_1000_by_process.keys()).collect();
    let cpu_ms_per_1000_by_process: BTreeMap<String, f64> = processes
        .into_iter()
        .filter_map(|process| {
            let values: Vec<f64> =
                measured.iter().filter_map(|step| step.cpu_ms_per_1000_by_process.get(process).copied()).collect();
            Some((process.clone(), median(&values)?))
        })
        .collect();

    let mut measured = measured.into_iter();
    let mut combined = measured.next().expect("a step is measured at least once");
    for step in measured {
        combined.sent += step.sent;
        combined.ok += step.ok;
        combined.degraded += step.degraded;
        combined.errors += step.errors;
        for (label, count) in step.outcomes {
            *combined.outcomes.entry(label).or_insert(0) += count;
        }
        for (kind, count) in step.error_kinds {
            *combined.error_kinds.entry(kind).or_insert(0) += count;
        }
        combined.not_servable = combined.not_servable.or(step.not_servable);
    }
    let sent = combined.sent.max(1) as f64;
    combined.error_rate = combined.errors as f64 / sent;
    combined.degraded_rate = combined.degraded as f64 / sent;
    combined.latency_ms = latency_ms;
    combined.error_latency_ms = error_latency_ms;
    combined.achieved_rps = achieved_rps;
    combined.generator_lag_ms = generator_lag_ms;
    combined.send_lag_p99_ms = send_lag_p99_ms;
    combined.downstream_calls_per_request = downstream_calls_per_request;
    combined.bytes_per_request = bytes_per_request;
    combined.cpu_ms_per_1000 = cpu_ms_per_1000;
    combined.cpu_ms_per_1000_by_process = cpu_ms_per_1000_by_process;
    combined.repetitions = repetitions;
    combined
}

fn median_of_percentile(
    measured: &[LoadStep],
    percentiles: fn(&LoadStep) -> &Percentiles,
    figure: fn(&Percentiles) -> f64,
) -> f64 {
    let values: Vec<f64> = measured.iter().map(|step| figure(percentiles(step))).collect();
    median(&values).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::step;

    #[test]
    fn repetitions_sum_their_counts_and_take_the_median_of_their_figures() {
        let by_id = "GET /orders/{id}";
        let mut stalled = step("get_by_id", Design::OrderHistory, by_id, Condition::Healthy, 200.0, 400.0);
        stalled.errors = 20;
        stalled.ok -= 20;
        let measured = vec![
            step("get_by_id", Design::OrderHistory, by_id, Condition::Healthy, 200.0, 10.0),
            stalled,
            step("get_by_id", Design::OrderHistory, by_id, Condition::Healthy, 200.0, 12.0),
        ];
        let combined = combine_repetitions(measured);
        assert_eq!(combined.sent, 6000);
        assert_eq!(combined.errors, 20);
        assert_eq!(combined.ok + combined.degraded + combined.errors, combined.sent);
        // the stall is one repetition's, not the step's
        assert_eq!(combined.latency_ms.p99, 12.0);
        assert_eq!(combined.repetitions.len(), 3);
        assert_eq!(combined.repetitions[1].latency_ms.p99, 400.0);
        assert_eq!(combined.error_rate, 20.0 / 6000.0);
    }
}
