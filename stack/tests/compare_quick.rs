//! `compare --quick` against a real local stack (tansu, the registry, the five services): the
//! report's figures must come from real measurements. Request counts match what the services
//! themselves counted, percentiles are of the successes and grow, the verdicts keep to their
//! intervals, and the differences between the designs that the architecture implies show up
//! in the numbers.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use compare::config::CompareArgs;
use compare::report::model::{Condition, Design, LoadStep, Percentiles, Report, StatisticsRow};
use compare::target::Counters;
use compare::verdict::Winner;
use stack::config::UpArgs;
use support::up_args;

fn compare_args(up: &UpArgs, out: &Path) -> CompareArgs {
    CompareArgs {
        endpoints: up.endpoints(),
        credentials: up.credentials.clone(),
        orders: None,
        duration: None,
        rates: None,
        fault_rate: None,
        write_rate: None,
        deadline_ms: None,
        slo_ms: 100.0,
        capacity_fraction: 0.5,
        write_read_ratio: 0.1,
        broker_data_dir: None,
        elasticsearch_url: None,
        elasticsearch_alias: "order-history".to_string(),
        repeat: None,
        quick: true,
        scenarios: None,
        seed: 7,
        out: out.to_path_buf(),
        stack_data_dir: up.data_dir.clone(),
        profile: "local".to_string(),
        converge_timeout: 300.0,
        no_progress: true,
    }
}

async fn composer_requests(url: &str) -> f64 {
    let text = reqwest::get(format!("{url}/metrics")).await.expect("scrape").text().await.expect("metrics text");
    Counters::parse(&text).sum("http_server_requests_total", &[])
}

fn composer_statistics_rows(report: &Report) -> impl Iterator<Item = &StatisticsRow> {
    report.statistics.iter().flat_map(|statistics| &statistics.rows).filter(|row| row.design == Design::Composer)
}

fn all_steps(report: &Report) -> Vec<&LoadStep> {
    report
        .get_by_id
        .iter()
        .chain(&report.search)
        .chain(&report.slow_dependency)
        .chain(&report.dependency_down)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_comparison_reports_real_measurements_of_both_designs() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let up = up_args(data_dir.path());
    let stack = stack::up::start(&up).await.expect("the stack starts");
    let args = compare_args(&up, out.path());
    let composer_url = args.endpoints.composer.clone();

    let composer_before = composer_requests(&composer_url).await;
    let outcome = compare::run(&args).await;
    let composer_after = composer_requests(&composer_url).await;
    let second_seeding = compare::run(&args).await;
    stack.stop().await;
    let outcome = outcome.expect("compare --quick succeeds");
    let report = outcome.report;

    // every file of the report is there
    let charts = ["capacity.svg", "latency.svg", "freshness_cdf.svg", "availability.svg", "coupling.svg"];
    for file in ["report.md", "report.json"].into_iter().chain(charts) {
        let path = out.path().join(file);
        let size = std::fs::metadata(&path).unwrap_or_else(|_| panic!("{file} is written")).len();
        assert!(size > 500, "{file} has {size} bytes");
    }
    let written: Report =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap()).expect("report.json parses");
    assert_eq!(written.get_by_id.len(), report.get_by_id.len());
    // report.json names its charts, the page's only source for them
    let named: Vec<&str> = written.charts.iter().map(|chart| chart.file.as_str()).collect();
    assert_eq!(named, charts);

    // capacity first: every design and kind searched, composer's global search refused
    assert_eq!(written.capacity.len(), 6, "{:?}", written.capacity);
    let capacity = |design: Design, kind: &str| {
        written.capacity.iter().find(|row| row.design == design && row.kind == kind).expect("a capacity row")
    };
    assert!(capacity(Design::Composer, "GET /orders?q").not_servable.is_some());
    for kind in ["GET /orders/{id}", "GET /orders?customer_id&q", "GET /orders?q"] {
        let row = capacity(Design::OrderHistory, kind);
        assert!(row.rps > 0.0 && !row.probes.is_empty(), "{row:?}");
        // the capacity is a rate that passed, and every rate above it that was tried failed
        assert!(row.probes.iter().any(|probe| probe.passed && probe.rps == row.rps), "{row:?}");
        assert!(row.probes.iter().filter(|probe| probe.rps > row.rps).all(|probe| !probe.passed), "{row:?}");
    }
    // the scenarios ran at half the lower capacity, not at fixed rates
    let lower_get =
        capacity(Design::OrderHistory, "GET /orders/{id}").rps.min(capacity(Design::Composer, "GET /orders/{id}").rps);
    let get_rates: Vec<f64> = report.get_by_id.iter().map(|step| step.target_rps).collect();
    assert!(get_rates.iter().all(|rate| *rate == (lower_get * 0.5).round().max(1.0)), "{get_rates:?} for {lower_get}");

    // costs: a standing cost per process, and CPU per 1,000 charged to each design
    assert!(
        written
            .standing_cost
            .iter()
            .any(|process| process.process == "broker" && process.design == Some(Design::OrderHistory))
    );
    let costs = written.costs.as_ref().expect("costs");
    assert!(costs.writes > 0 && costs.cqrs_cpu_ms_per_1000_writes.is_some_and(|ms| ms > 0.0), "{costs:?}");
    assert!(
        costs.rows.iter().any(|row| row.design == Design::Composer && row.write_cpu_ms_per_1000_reads == Some(0.0))
    );
    let cqrs_get = costs
        .rows
        .iter()
        .find(|row| row.design == Design::OrderHistory && row.endpoint == "GET /orders/{id}")
        .expect("a cost row");
    assert!(cqrs_get.write_cpu_ms_per_1000_reads.is_some_and(|ms| ms > 0.0), "{cqrs_get:?}");
    // the broker's log is part of CQRS's storage
    assert!(report.cqrs_cost.as_ref().and_then(|cost| cost.broker_log_bytes).is_some_and(|bytes| bytes > 0));

    // seeding: every order converged at its latest version
    let seeding = report.seeding.as_ref().expect("seeding figures");
    assert_eq!(seeding.orders, 300);
    assert_eq!(seeding.orders_verified, 300);
    assert_eq!(seeding.write_errors, 0);
    assert!(seeding.mix.get("payment_declined").copied().unwrap_or(0) > 0, "{:?}", seeding.mix);

    // --quick measures each step once, with the same deadline for both designs
    assert_eq!(written.runs, 1);
    assert_eq!(written.environment.parameters.get("deadline_ms").map(String::as_str), Some("1000"));
    let steps = all_steps(&report);
    assert!(!steps.is_empty());
    for step in &steps {
        let label = format!("{} {} {}", step.scenario, step.design.name(), step.condition.label());
        assert_eq!(step.repetitions.len(), 1, "{label}");
        // the percentiles are of the successes: a step without any has none
        let p = &step.latency_ms;
        if step.ok + step.degraded == 0 {
            assert_eq!(*p, Percentiles::default(), "{label}");
            continue;
        }
        assert!(p.p50 > 0.0, "{label}");
        assert!(p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.p999 && p.p999 <= p.max, "{label}: {p:?}");
    }

    // report.json carries the verdicts: each ratio inside its interval, and a winner only where
    // the interval excludes 1, which one run never gives
    assert!(!written.verdicts.is_empty());
    assert!(written.verdicts.iter().any(|verdict| verdict.scenario == "get_by_id" && verdict.figure == "p99_ms"));
    for verdict in &written.verdicts {
        let question = format!("{} {}", verdict.question, verdict.figure);
        if verdict.invalid.is_some() {
            assert_eq!(verdict.winner, Winner::None, "{question}");
            continue;
        }
        let (ratio, low, high) =
            (verdict.ratio.expect("a ratio"), verdict.ci_low.expect("a bound"), verdict.ci_high.expect("a bound"));
        assert!(low <= ratio && ratio <= high, "{question}: {low} {ratio} {high}");
        assert_eq!(verdict.winner, Winner::None, "{question}: one run names no winner");
    }

    // statistics: both designs for every window; composer read the orders and called the
    // sources, order-history called nobody; where composer read everything, they agree
    let statistics = written.statistics.as_ref().expect("statistics in report.json");
    let mut windows_compared = 0;
    for window_days in [1, 7, 30] {
        let row = |design: Design| {
            statistics
                .rows
                .iter()
                .find(|row| row.window_days == window_days && row.design == design)
                .unwrap_or_else(|| panic!("no statistics row for {} over {window_days} days", design.name()))
        };
        let (cqrs, composition) = (row(Design::OrderHistory), row(Design::Composer));
        assert!(cqrs.sent > 0 && composition.sent > 0, "{window_days} days");
        assert_eq!(cqrs.errors, 0, "{cqrs:?}");
        assert_eq!(cqrs.downstream_calls_per_request, Some(0.0), "{cqrs:?}");
        assert!(composition.downstream_calls_per_request.is_some_and(|calls| calls > 0.0), "{composition:?}");
        // the windows run before freshness writes any order: they hold the seeded orders
        let cqrs_answer = cqrs.answer.as_ref().expect("order-history's answer");
        assert_eq!((cqrs_answer.status, cqrs_answer.orders), (200, 300), "{cqrs_answer:?}");
        assert_eq!(cqrs_answer.downstream_calls, None);
        let composer_answer = composition.answer.as_ref().expect("composer's answer");
        assert_eq!(composer_answer.status, 200, "{composer_answer:?}");
        assert!(composer_answer.downstream_calls.is_some_and(|calls| calls > 0), "{composer_answer:?}");
        assert!(composer_answer.orders_read.is_some_and(|read| read > 0), "{composer_answer:?}");
        let agreement = statistics
            .agreement
            .iter()
            .find(|agreement| agreement.window_days == window_days)
            .expect("an agreement per window");
        if composer_answer.complete {
            assert_eq!(composer_answer.orders_read, Some(300), "{composer_answer:?}");
            assert!(agreement.compared, "{agreement:?}");
            assert_eq!(agreement.buckets_differing, 0, "{:?}", agreement.differences);
            assert!(agreement.buckets_compared > 0, "{agreement:?}");
            windows_compared += 1;
        }
    }
    assert!(windows_compared > 0, "composer's answer was complete for no window: {statistics:?}");
    let markdown = std::fs::read_to_string(out.path().join("report.md")).expect("report.md");
    assert!(markdown.contains("## Statistics"));

    // composer itself counted the requests the report says it sent: every step's requests and
    // its one probe, every capacity probe's, the freshness reads, and a few probes that wait for
    // its breakers to close
    let capacity_sent: u64 = report
        .capacity
        .iter()
        .filter(|row| row.design == Design::Composer)
        .map(|row| 1 + row.probes.iter().map(|probe| probe.sent + 1).sum::<u64>())
        .sum();
    let composer_sent: u64 = steps
        .iter()
        .filter(|step| step.design == Design::Composer)
        .map(|step| step.sent + step.repetitions.len() as u64)
        .sum::<u64>()
        + capacity_sent
        + report.contract_change.iter().filter(|row| row.design == Design::Composer).map(|row| row.reads).sum::<u64>()
        + report
            .freshness
            .iter()
            .chain(&report.freshness_under_load)
            .map(|f| f.composer_reads + f.composer_unanswered_reads)
            .sum::<u64>()
        + composer_statistics_rows(&report).map(|row| row.sent + u64::from(row.answer.is_some())).sum::<u64>();
    let composer_counted = (composer_after - composer_before) as u64;
    // a capacity probe above composer's capacity gives up on requests at the deadline; the
    // server drops those unanswered and never counts them
    let cut_off: u64 = report
        .capacity
        .iter()
        .filter(|row| row.design == Design::Composer)
        .flat_map(|row| &row.probes)
        .map(|probe| (probe.bad_rate * probe.sent as f64).round() as u64)
        .sum::<u64>()
        + composer_statistics_rows(&report)
            .map(|row| row.error_kinds.get("timeout").copied().unwrap_or(0))
            .sum::<u64>();
    assert!(
        composer_counted + cut_off >= composer_sent && composer_counted <= composer_sent + 200,
        "composer counted {composer_counted} requests, the report accounts for {composer_sent}"
    );

    // what the architectures imply shows up in the figures
    let healthy_get =
        |design| report.get_by_id.iter().find(|step| step.design == design).expect("a healthy get by id step");
    let cqrs = healthy_get(Design::OrderHistory);
    let composition = healthy_get(Design::Composer);
    assert_eq!(cqrs.errors, 0);
    assert_eq!(cqrs.downstream_calls_per_request, Some(0.0));
    let calls = composition.downstream_calls_per_request.expect("measured");
    assert!((3.0..3.5).contains(&calls), "composer calls {calls} services per get");
    let global = |design| {
        report.search.iter().find(|step| step.design == design && step.scenario == "global_search").expect("global")
    };
    assert!(global(Design::Composer).not_servable.is_some());
    assert!(global(Design::OrderHistory).not_servable.is_none());
    assert_eq!(global(Design::OrderHistory).errors, 0);

    let down = |design, service: &str| {
        report
            .dependency_down
            .iter()
            .find(|step| {
                step.design == design
                    && step.endpoint == "GET /orders/{id}"
                    && step.condition == Condition::Down { service: service.to_string() }
            })
            .expect("a down step")
    };
    let composer_without_orders = down(Design::Composer, "order-svc");
    assert_eq!(composer_without_orders.ok + composer_without_orders.degraded, 0);
    // its failures are counted by kind, apart from the (empty) success percentiles
    assert!(composer_without_orders.error_kinds.values().sum::<u64>() > 0);
    assert!(composer_without_orders.error_latency_ms.p50 > 0.0);
    // and no latency comparison is made where composer failed them all
    let down_verdicts = written.verdicts.iter().filter(|verdict| {
        verdict.scenario == "dependency_down"
            && verdict.condition == Condition::Down { service: "order-svc".to_string() }
            && verdict.endpoint == "GET /orders/{id}"
    });
    for verdict in down_verdicts {
        assert!(verdict.invalid.as_deref().is_some_and(|reason| reason.contains("composer failed")), "{verdict:?}");
    }
    assert!(down(Design::Composer, "payment-svc").degraded > 0);
    for service in ["order-svc", "payment-svc", "shipping-svc"] {
        assert_eq!(down(Design::OrderHistory, service).errors, 0, "order-history with {service} down");
    }
    let coupling: BTreeMap<(Design, String), &compare::report::model::CouplingRow> =
        report.coupling.iter().map(|row| ((row.design, row.endpoint.clone()), row)).collect();
    let composer_get = coupling[&(Design::Composer, "GET /orders/{id}".to_string())];
    assert_eq!(composer_get.needs_for_any_answer, vec!["order-svc".to_string()]);
    assert_eq!(composer_get.needs_for_full_answer.len(), 3);
    assert!(coupling[&(Design::OrderHistory, "GET /orders/{id}".to_string())].needs_for_any_answer.is_empty());

    for freshness in [report.freshness.as_ref(), report.freshness_under_load.as_ref()] {
        let freshness = freshness.expect("freshness, alone and under read load");
        assert!(freshness.observed > 0);
        assert_eq!(freshness.observed + freshness.not_visible, freshness.writes);
        assert_eq!(freshness.cdf.last().map(|point| point.1), Some(1.0));
        // every whole answer composer gave right after a write's acknowledgement showed it
        assert!(freshness.composer_reads > 0);
        assert_eq!(freshness.composer_fresh_reads, freshness.composer_reads);
    }
    assert!(report.freshness_under_load.as_ref().is_some_and(|f| f.read_load_rps > 0.0));

    // change coupling: composer never answers a renamed field wrong and silent; order-history
    // follows every change without a wrong answer; the incompatible schema stops at the registry
    let change = |name: &str, design: Design| {
        written.contract_change.iter().find(|row| row.change == name && row.design == design).expect("a change row")
    };
    let renamed = change("rest-rename", Design::Composer);
    assert_eq!(renamed.wrong, 0, "{renamed:?}");
    assert!(renamed.degraded > 0, "{renamed:?}");
    for name in ["rest-rename", "rest-versioned", "event-v2", "event-v3-incompatible"] {
        let row = change(name, Design::OrderHistory);
        assert_eq!(row.wrong, 0, "{row:?}");
        assert_eq!(row.correct + row.degraded, row.reads, "{row:?}");
    }
    assert!(change("event-v3-incompatible", Design::OrderHistory).visible_to.starts_with("the registry"));

    // a second run on the same stack refuses to seed again, naming why
    let refused = second_seeding.err().expect("a second seeding is refused");
    assert!(format!("{refused:#}").contains("already holds seeded orders"), "{refused:#}");
}

#[tokio::test]
async fn an_unreachable_stack_is_a_clear_error() {
    let out = tempfile::tempdir().expect("temp dir");
    let data_dir = tempfile::tempdir().expect("temp dir");
    let up = up_args(data_dir.path());
    let error = compare::run(&compare_args(&up, out.path())).await.err().expect("nothing listens there");
    let message = format!("{error:#}");
    assert!(message.contains("the stack is not reachable"), "{message}");
    assert!(message.contains("order-history"), "{message}");
}
