//! The report: its data ([`model`]), and its renderings: `report.json`, the SVG [`charts`] and
//! `report.md` ([`markdown`]).

mod capacity_cost;
pub mod charts;
pub mod markdown;
pub mod model;
mod statistics;

use std::path::{Path, PathBuf};

use anyhow::Context;

use model::{Condition, Design, LoadStep, Report};

/// Writes `report.json`, the charts the report has data for, and `report.md` into `dir`, creating
/// it, and returns the paths written.
pub fn write_report(dir: &Path, report: &Report) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create report directory {}", dir.display()))?;
    let mut written = Vec::new();

    let chart_names = charts::write_charts(report, dir)?;
    for name in &chart_names {
        written.push(dir.join(name));
    }
    // report.json names its charts, so a page can show them from it alone
    let mut report = report.clone();
    report.charts = chart_names
        .iter()
        .map(|name| model::Chart { file: name.to_string(), title: charts::title(name).to_string() })
        .collect();
    let report = &report;

    let json_path = dir.join("report.json");
    let json = serde_json::to_string_pretty(report).context("cannot serialise report")?;
    std::fs::write(&json_path, json).with_context(|| format!("cannot write {}", json_path.display()))?;
    written.push(json_path);

    let markdown_path = dir.join("report.md");
    let markdown = markdown::render(report, &chart_names);
    std::fs::write(&markdown_path, markdown).with_context(|| format!("cannot write {}", markdown_path.display()))?;
    written.push(markdown_path);

    Ok(written)
}

/// The two designs' measurements of the same step: same scenario, endpoint, condition and rate.
///
/// Both renderings compare the designs side by side, so they pair the steps the same way.
#[derive(Clone, Debug)]
pub(crate) struct StepPair<'a> {
    /// What the step was, for a reader: `get 200/s`, `customer search 1,000/s`,
    /// `shipping-svc +250 ms`.
    pub(crate) label: String,
    pub(crate) scenario: &'a str,
    pub(crate) endpoint: &'a str,
    pub(crate) condition: &'a Condition,
    pub(crate) target_rps: f64,
    pub(crate) order_history: Option<&'a LoadStep>,
    pub(crate) composer: Option<&'a LoadStep>,
}

impl<'a> StepPair<'a> {
    pub(crate) fn step(&self, design: Design) -> Option<&'a LoadStep> {
        match design {
            Design::OrderHistory => self.order_history,
            Design::Composer => self.composer,
        }
    }

    fn slot(&mut self, design: Design) -> &mut Option<&'a LoadStep> {
        match design {
            Design::OrderHistory => &mut self.order_history,
            Design::Composer => &mut self.composer,
        }
    }

    fn is_same_step(&self, step: &LoadStep) -> bool {
        self.scenario == step.scenario
            && self.endpoint == step.endpoint
            && *self.condition == step.condition
            && self.target_rps == step.target_rps
    }
}

/// Pairs the steps of both designs, in the order the steps were first run.
pub(crate) fn pair_steps(steps: &[LoadStep]) -> Vec<StepPair<'_>> {
    let mut pairs: Vec<StepPair<'_>> = Vec::new();
    for step in steps {
        // A repeated step of the same design starts a new pair rather than hiding the first.
        let existing = pairs.iter_mut().find(|pair| pair.is_same_step(step) && pair.step(step.design).is_none());
        if let Some(pair) = existing {
            *pair.slot(step.design) = Some(step);
            continue;
        }
        let mut pair = StepPair {
            label: step_label(steps, step),
            scenario: &step.scenario,
            endpoint: &step.endpoint,
            condition: &step.condition,
            target_rps: step.target_rps,
            order_history: None,
            composer: None,
        };
        *pair.slot(step.design) = Some(step);
        pairs.push(pair);
    }
    pairs
}

/// Pairs the steps like [`pair_steps`], then gathers each endpoint's steps together, keeping the
/// run's order otherwise: the fault scenarios run every endpoint under one condition before the
/// next, but a reader follows one endpoint across the conditions.
pub(crate) fn pair_steps_by_endpoint(steps: &[LoadStep]) -> Vec<StepPair<'_>> {
    let mut endpoints_in_run_order: Vec<&str> = Vec::new();
    for step in steps {
        if !endpoints_in_run_order.contains(&step.endpoint.as_str()) {
            endpoints_in_run_order.push(&step.endpoint);
        }
    }
    let mut pairs = pair_steps(steps);
    // A stable sort: within an endpoint, the conditions keep their order.
    pairs.sort_by_key(|pair| endpoints_in_run_order.iter().position(|endpoint| *endpoint == pair.endpoint));
    pairs
}

/// The refusal a design gave for an endpoint in any scenario. The fault scenarios skip what a
/// design cannot serve, and a reader should learn why a cell is empty.
pub(crate) fn refusal<'a>(report: &'a Report, design: Design, endpoint: &str) -> Option<&'a str> {
    let every_step =
        report.get_by_id.iter().chain(&report.search).chain(&report.slow_dependency).chain(&report.dependency_down);
    for step in every_step {
        if step.design == design && step.endpoint == endpoint && step.not_servable.is_some() {
            return step.not_servable.as_deref();
        }
    }
    None
}

/// Names a step for a reader, adding the endpoint or the rate only when the scenario varied them.
fn step_label(all_steps: &[LoadStep], step: &LoadStep) -> String {
    let rate = format_rate(step.target_rps);
    match step.scenario.as_str() {
        "get_by_id" => return format!("get {rate}"),
        "customer_search" => return format!("customer search {rate}"),
        "global_search" => return format!("global search {rate}"),
        _ => {}
    }
    let same_scenario = || all_steps.iter().filter(|other| other.scenario == step.scenario);
    let several_endpoints = same_scenario().any(|other| other.endpoint != step.endpoint);
    let several_rates = same_scenario().any(|other| other.target_rps != step.target_rps);
    let mut label = step.condition.label();
    if several_endpoints {
        label.push_str(&format!(", {}", endpoint_kind(&step.endpoint)));
    }
    if several_rates {
        label.push_str(&format!(" at {rate}"));
    }
    label
}

/// A short name for an endpoint: `get by id`, `customer search`, `global search`.
pub(crate) fn endpoint_kind(endpoint: &str) -> String {
    if endpoint.contains("{id}") {
        return "get by id".to_string();
    }
    if endpoint.contains("customer_id") {
        return "customer search".to_string();
    }
    if endpoint.contains("?q") {
        return "global search".to_string();
    }
    endpoint.to_string()
}

/// The share of requests answered in full (`ok / sent`), `None` when nothing was sent.
pub(crate) fn full_answer_share(step: &LoadStep) -> Option<f64> {
    if step.sent == 0 {
        return None;
    }
    Some(step.ok as f64 / step.sent as f64)
}

/// The share of requests answered at all, in full or degraded, `None` when nothing was sent.
pub(crate) fn any_answer_share(step: &LoadStep) -> Option<f64> {
    if step.sent == 0 {
        return None;
    }
    Some((step.ok + step.degraded) as f64 / step.sent as f64)
}

/// Milliseconds for a reader: two decimals below 1, one below 10, whole numbers above.
pub(crate) fn format_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "n/a".to_string();
    }
    if ms == 0.0 {
        return "0".to_string();
    }
    if ms.abs() < 1.0 {
        return format!("{ms:.2}");
    }
    if ms.abs() < 10.0 {
        return format!("{ms:.1}");
    }
    format_thousands(ms.round())
}

/// Milliseconds with their unit: `4.1 ms`.
pub(crate) fn format_ms_unit(ms: f64) -> String {
    if !ms.is_finite() {
        return "n/a".to_string();
    }
    format!("{} ms", format_ms(ms))
}

/// A fraction (0..1) as a percentage, with enough decimals that a small non-zero share does not
/// read as 0 and a near-complete one does not read as 100.
pub(crate) fn format_percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "n/a".to_string();
    }
    let percent = fraction * 100.0;
    if percent == 0.0 || percent == 100.0 {
        return format!("{percent:.0}%");
    }
    if !(0.1..=99.9).contains(&percent) {
        return format!("{percent:.2}%");
    }
    format!("{percent:.1}%")
}

/// A rate of requests: `1,000/s`.
pub(crate) fn format_rate(per_second: f64) -> String {
    format!("{}/s", format_count(per_second))
}

/// A count or a rate without unit: whole numbers with thousands separators, one decimal when
/// the figure has a fraction worth showing.
pub(crate) fn format_count(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    if value.abs() >= 100.0 || value.fract() == 0.0 {
        return format_thousands(value.round());
    }
    format!("{value:.1}")
}

/// A whole number with thousands separators: `12,345`.
pub(crate) fn format_thousands(whole: f64) -> String {
    debug_assert!(whole.is_finite());
    let digits = format!("{:.0}", whole.abs());
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        let digits_left = digits.len() - index;
        if index > 0 && digits_left % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if whole < 0.0 {
        grouped.insert(0, '-');
    }
    grouped
}

/// A ratio of two figures: `3.4×`, `12×`.
pub(crate) fn format_ratio(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "n/a".to_string();
    }
    if ratio < 10.0 {
        return format!("{ratio:.1}×");
    }
    format!("{}×", format_thousands(ratio.round()))
}

/// Bytes in binary units: `45.2 MiB`.
pub(crate) fn format_bytes(bytes: f64) -> String {
    if !bytes.is_finite() {
        return "n/a".to_string();
    }
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        return format!("{} B", format_thousands(value.round()));
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::model::*;
    use super::*;

    /// A load step with plausible figures: latencies scale with `p99`.
    pub(crate) fn step(
        scenario: &str,
        design: Design,
        endpoint: &str,
        condition: Condition,
        rps: f64,
        p99: f64,
    ) -> LoadStep {
        let sent = (rps * 10.0) as u64;
        let mut step = LoadStep {
            scenario: scenario.to_string(),
            design,
            endpoint: endpoint.to_string(),
            condition,
            target_rps: rps,
            duration_seconds: 10.0,
            sent,
            ok: sent,
            degraded: 0,
            errors: 0,
            outcomes: BTreeMap::from([("200".to_string(), sent)]),
            achieved_rps: rps,
            error_rate: 0.0,
            degraded_rate: 0.0,
            latency_ms: Percentiles {
                p50: p99 / 4.0,
                p90: p99 / 2.0,
                p99,
                p999: p99 * 1.5,
                max: p99 * 2.0,
                mean: p99 / 3.0,
            },
            error_latency_ms: Percentiles::default(),
            error_kinds: BTreeMap::new(),
            generator_lag_ms: 0.0,
            send_lag_p99_ms: 0.0,
            not_servable: None,
            downstream_calls_per_request: None,
            bytes_per_request: None,
            cpu_ms_per_1000: None,
            cpu_ms_per_1000_by_process: BTreeMap::new(),
            repetitions: Vec::new(),
        };
        set_repetitions(&mut step);
        step
    }

    /// Three repetitions around the step's own figures (±5%), as a real run gives; call it
    /// again after changing the step's figures.
    pub(crate) fn set_repetitions(step: &mut LoadStep) {
        let mut repetitions = Vec::new();
        for jitter in [0.95, 1.0, 1.05] {
            let scale = |value: f64| value * jitter;
            let latency = &step.latency_ms;
            repetitions.push(Repetition {
                sent: step.sent / 3,
                errors: step.errors / 3,
                error_rate: step.error_rate,
                achieved_rps: step.achieved_rps,
                latency_ms: Percentiles {
                    p50: scale(latency.p50),
                    p90: scale(latency.p90),
                    p99: scale(latency.p99),
                    p999: scale(latency.p999),
                    max: scale(latency.max),
                    mean: scale(latency.mean),
                },
                generator_lag_ms: 0.0,
                downstream_calls_per_request: step.downstream_calls_per_request.map(scale),
                bytes_per_request: step.bytes_per_request.map(scale),
                cpu_ms_per_1000: step.cpu_ms_per_1000.map(scale),
            });
        }
        step.repetitions = repetitions;
    }

    pub(crate) fn empty_report() -> Report {
        Report::empty(Environment {
            started_at: "2025-01-01T10:00:00Z".to_string(),
            finished_at: "2025-01-01T10:20:00Z".to_string(),
            cpus: 2,
            os: "Linux 6.1.0 x86_64".to_string(),
            memory_total_mib: Some(4096),
            idle_cpu_cores: Some(0.1),
            idle_cpu: vec![crate::procfs::ProcessCpu { process: "broker".to_string(), pid: 1, cores: 0.01 }],
            profile: "local".to_string(),
            compare_version: "0.1.0".to_string(),
            versions: BTreeMap::new(),
            parameters: BTreeMap::new(),
            endpoints: BTreeMap::new(),
        })
    }

    /// A report with every scenario, where CQRS is faster and composition is fresher.
    pub(crate) fn full_report() -> Report {
        let by_id = "GET /orders/{id}";
        let customer = "GET /orders?customer_id&q";
        let global = "GET /orders?q";
        let healthy = || Condition::Healthy;
        let shipping_slow = || Condition::Slow { service: "shipping-svc".to_string(), delay_ms: 250 };
        let mut report = empty_report();
        report.environment.versions.insert("order-history".to_string(), "0.1.0".to_string());
        report.environment.parameters.insert("duration".to_string(), "10s".to_string());
        report.environment.endpoints.insert("composer".to_string(), "http://127.0.0.1:8085".to_string());
        report.seeding = Some(Seeding {
            seed: 7,
            orders: 10_000,
            customers: 500,
            payments: 9_000,
            shipments: 8_000,
            writes: 40_000,
            write_errors: 0,
            write_seconds: 80.0,
            converge_seconds: 1.5,
            orders_verified: 10_000,
            mix: BTreeMap::from([("payment_declined".to_string(), 300)]),
        });
        for rps in [200.0, 1000.0] {
            let mut direct = step("get_by_id", Design::OrderHistory, by_id, healthy(), rps, 4.0);
            direct.downstream_calls_per_request = Some(0.0);
            direct.bytes_per_request = Some(1_200.0);
            direct.cpu_ms_per_1000 = Some(300.0);
            set_repetitions(&mut direct);
            report.get_by_id.push(direct);
            let mut composed = step("get_by_id", Design::Composer, by_id, healthy(), rps, 13.6);
            composed.downstream_calls_per_request = Some(3.0);
            composed.bytes_per_request = Some(4_000.0);
            composed.cpu_ms_per_1000 = Some(900.0);
            set_repetitions(&mut composed);
            report.get_by_id.push(composed);
        }
        report.search.push(step("customer_search", Design::OrderHistory, customer, healthy(), 200.0, 9.0));
        report.search.push(step("customer_search", Design::Composer, customer, healthy(), 200.0, 7.0));
        report.search.push(step("global_search", Design::OrderHistory, global, healthy(), 200.0, 12.0));
        let mut refused = step("global_search", Design::Composer, global, healthy(), 200.0, 1.0);
        refused.ok = 0;
        refused.errors = refused.sent;
        refused.not_servable = Some("global search needs a customer_id".to_string());
        report.search.push(refused);
        report.freshness = Some(Freshness {
            read_load_rps: 0.0,
            writes_per_second: 50.0,
            duration_seconds: 10.0,
            writes: 500,
            observed: 498,
            not_visible: 2,
            wait_limit_ms: 10_000,
            staleness_ms: Percentiles { p50: 40.0, p90: 90.0, p99: 180.0, p999: 400.0, max: 900.0, mean: 55.0 },
            cdf: vec![(0.0, 0.0), (20.0, 0.2), (40.0, 0.5), (90.0, 0.9), (180.0, 0.99), (900.0, 1.0)],
            by_write_kind: BTreeMap::from([(
                "order_placed".to_string(),
                Percentiles { p50: 35.0, p90: 80.0, p99: 150.0, p999: 300.0, max: 500.0, mean: 45.0 },
            )]),
            composer_fresh_reads: 500,
            composer_reads: 500,
            composer_unanswered_reads: 0,
        });
        // As the run orders them: every endpoint under one condition, then the next condition.
        for condition in [healthy(), shipping_slow()] {
            for (endpoint, healthy_p99) in [(by_id, 13.6), (customer, 7.0)] {
                let is_slowed = condition != Condition::Healthy;
                let order_history_p99 = if is_slowed { 4.1 } else { 4.0 };
                let composer_p99 = if is_slowed { 262.0 } else { healthy_p99 };
                let slow = "slow_dependency";
                report.slow_dependency.push(step(
                    slow,
                    Design::OrderHistory,
                    endpoint,
                    condition.clone(),
                    200.0,
                    order_history_p99,
                ));
                report.slow_dependency.push(step(
                    slow,
                    Design::Composer,
                    endpoint,
                    condition.clone(),
                    200.0,
                    composer_p99,
                ));
            }
        }
        for service in SOURCE_SERVICES {
            let down = || Condition::Down { service: service.to_string() };
            for endpoint in [by_id, global] {
                report.dependency_down.push(step(
                    "dependency_down",
                    Design::OrderHistory,
                    endpoint,
                    down(),
                    200.0,
                    4.0,
                ));
            }
            // Composer is not asked for what it cannot serve, as in the run.
            let mut composed = step("dependency_down", Design::Composer, by_id, down(), 200.0, 8.0);
            if service == "order-svc" {
                composed.ok = 0;
                composed.errors = composed.sent;
            } else {
                composed.ok = composed.sent / 2;
                composed.degraded = composed.sent - composed.ok;
            }
            report.dependency_down.push(composed);
        }
        for design in Design::BOTH {
            let is_composer = design == Design::Composer;
            let mut availability_when_down = BTreeMap::new();
            let mut full_answer_when_down = BTreeMap::new();
            for service in SOURCE_SERVICES {
                let any = if is_composer && service == "order-svc" { 0.0 } else { 1.0 };
                let full = if is_composer { 0.0 } else { 1.0 };
                availability_when_down.insert(service.to_string(), any);
                full_answer_when_down.insert(service.to_string(), full);
            }
            report.coupling.push(CouplingRow {
                design,
                endpoint: by_id.to_string(),
                needs_for_full_answer: if is_composer {
                    SOURCE_SERVICES.iter().map(|service| service.to_string()).collect()
                } else {
                    Vec::new()
                },
                needs_for_any_answer: if is_composer { vec!["order-svc".to_string()] } else { Vec::new() },
                availability_when_down,
                full_answer_when_down,
                downstream_calls_per_request: Some(if is_composer { 3.0 } else { 0.0 }),
                bytes_per_request: Some(if is_composer { 4_000.0 } else { 1_200.0 }),
                cpu_ms_per_1000: Some(if is_composer { 900.0 } else { 300.0 }),
            });
        }
        report.cqrs_cost = Some(CqrsCost {
            broker_log_bytes: Some(40_000_000),
            elasticsearch_index_bytes: None,
            view_bytes: Some(48 * 1024 * 1024),
            source_bytes: Some(96 * 1024 * 1024),
            orders_in_view: 10_000,
            projection_cpu_seconds: Some(12.0),
            events_applied: 40_000,
            events_applied_per_second: 480.0,
            order_history_rss_mib: Some(120.0),
        });
        report.statistics = Some(statistics_fixture());
        report.runs = 3;
        report.verdicts = crate::verdict::report_verdicts(&report);
        report
    }

    /// Three repetitions of four answers each, around `latency_ms` (±5%).
    fn statistics_batches(latency_ms: f64, downstream_calls: f64) -> Vec<crate::scenarios::statistics::TimedBatch> {
        use crate::scenarios::statistics::{TimedBatch, TimedOutcome};
        [0.95, 1.0, 1.05]
            .into_iter()
            .map(|jitter| TimedBatch {
                outcomes: [1.0, 1.1, 1.2, 1.5].map(|spread| TimedOutcome::Whole(latency_ms * jitter * spread)).into(),
                downstream_calls: Some(downstream_calls * 4.0),
                // the same in every repetition: ratios of jittered floats do not survive report.json's
                // round trip to the last bit
                bytes: Some(if downstream_calls > 0.0 { 90_000.0 } else { 2_000.0 }),
            })
            .collect()
    }

    /// The statistics of 10,000 orders all placed on one day: composer reads them all for every
    /// window, order-history answers from its rollups; both agree.
    pub(crate) fn statistics_fixture() -> Statistics {
        use crate::scenarios::statistics::statistics_row;
        let mut rows = Vec::new();
        let mut agreement = Vec::new();
        for window_days in [1, 7, 30] {
            let answer = |design: Design| StatisticsAnswer {
                status: 200,
                latency_ms: if design == Design::Composer { 600.0 } else { 3.0 },
                response_bytes: 420,
                buckets: 2,
                orders: 10_000,
                revenue_minor: BTreeMap::from([("EUR".to_string(), 12_345_600)]),
                complete: true,
                orders_read: (design == Design::Composer).then_some(10_000),
                orders_listed: (design == Design::Composer).then_some(10_000),
                pages_listed: (design == Design::Composer).then_some(100),
                downstream_calls: (design == Design::Composer).then_some(20_100),
                missing: Vec::new(),
            };
            let order_history = statistics_batches(3.0, 0.0);
            rows.push(statistics_row(
                window_days,
                Design::OrderHistory,
                &order_history,
                Some(answer(Design::OrderHistory)),
            ));
            let composer = statistics_batches(500.0, 20_100.0);
            rows.push(statistics_row(window_days, Design::Composer, &composer, Some(answer(Design::Composer))));
            agreement.push(StatisticsAgreement {
                window_days,
                compared: true,
                buckets_compared: 2,
                buckets_differing: 0,
                differences: Vec::new(),
                not_compared_because: None,
            });
        }
        Statistics {
            granularity: "day".to_string(),
            group_by: "status".to_string(),
            to: "2025-01-01T10:00:00Z".to_string(),
            requests_per_repetition: 4,
            deadline_ms: 1000,
            rows,
            agreement,
        }
    }

    #[test]
    fn pairs_each_step_with_the_other_designs_same_step() {
        let report = full_report();
        let pairs = pair_steps(&report.get_by_id);
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[1].label, "get 1,000/s");
        assert!(pairs.iter().all(|pair| pair.order_history.is_some() && pair.composer.is_some()));
    }

    #[test]
    fn labels_name_the_endpoint_only_when_the_scenario_varied_it() {
        let report = full_report();
        let labels: Vec<String> = pair_steps(&report.get_by_id).into_iter().map(|pair| pair.label).collect();
        assert_eq!(labels, ["get 200/s", "get 1,000/s"]);
        let labels: Vec<String> =
            pair_steps_by_endpoint(&report.dependency_down).into_iter().map(|pair| pair.label).collect();
        assert_eq!(
            labels,
            [
                "order-svc down, get by id",
                "payment-svc down, get by id",
                "shipping-svc down, get by id",
                "order-svc down, global search",
                "payment-svc down, global search",
                "shipping-svc down, global search",
            ]
        );
    }

    #[test]
    fn formats_numbers_for_readers() {
        assert_eq!(format_ms(0.4213), "0.42");
        assert_eq!(format_ms(4.13), "4.1");
        assert_eq!(format_ms(262.4), "262");
        assert_eq!(format_ms(12_345.0), "12,345");
        assert_eq!(format_ms(f64::NAN), "n/a");
        assert_eq!(format_percent(1.0), "100%");
        assert_eq!(format_percent(0.9995), "99.95%");
        assert_eq!(format_percent(0.0002), "0.02%");
        assert_eq!(format_percent(0.5), "50.0%");
        assert_eq!(format_rate(1000.0), "1,000/s");
        assert_eq!(format_ratio(3.44), "3.4×");
        assert_eq!(format_bytes(48.0 * 1024.0 * 1024.0), "48.0 MiB");
        assert_eq!(format_thousands(-1_234_567.0), "-1,234,567");
    }

    #[test]
    fn writes_json_charts_and_markdown() {
        let dir = tempfile::tempdir().unwrap();
        let report_dir = dir.path().join("run");
        let written = write_report(&report_dir, &full_report()).unwrap();
        let names: Vec<String> =
            written.iter().map(|path| path.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(
            names,
            ["latency.svg", "freshness_cdf.svg", "availability.svg", "coupling.svg", "report.json", "report.md"]
        );
        for path in &written {
            assert!(path.is_file(), "{} was not written", path.display());
        }
        let json = std::fs::read_to_string(report_dir.join("report.json")).unwrap();
        let parsed: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.get_by_id.len(), 4);
        // report.json names the charts written beside it, with their titles
        let charts: Vec<(&str, &str)> =
            parsed.charts.iter().map(|chart| (chart.file.as_str(), chart.title.as_str())).collect();
        assert_eq!(charts[0], ("latency.svg", "latency percentiles by scenario"));
        assert_eq!(charts.len(), 4);
        // the verdicts travel in report.json, as the markdown words them
        assert_eq!(parsed.runs, 3);
        assert_eq!(parsed.verdicts, full_report().verdicts);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let first = &value["verdicts"][0];
        assert_eq!(first["figure"], "p50_ms");
        assert_eq!(first["winner"], "order-history");
        assert!(first["ci_low"].as_f64().unwrap() <= first["ratio"].as_f64().unwrap());
        let markdown = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
        assert!(markdown.contains("![latency percentiles by scenario](latency.svg)"));
    }

    #[test]
    fn a_report_json_without_statistics_still_loads() {
        let mut value = serde_json::to_value(full_report()).unwrap();
        value.as_object_mut().unwrap().remove("statistics");
        let parsed: Report = serde_json::from_value(value).unwrap();
        assert_eq!(parsed.statistics, None);
        assert_eq!(parsed.get_by_id.len(), 4);
    }

    #[test]
    fn the_statistics_travel_in_report_json() {
        let json = serde_json::to_string(&full_report()).unwrap();
        let parsed: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.statistics, Some(statistics_fixture()));
    }

    #[test]
    fn empty_report_writes_no_charts() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_report(dir.path(), &empty_report()).unwrap();
        let names: Vec<String> =
            written.iter().map(|path| path.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["report.json", "report.md"]);
    }
}
