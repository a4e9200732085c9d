//! Every cost charged to the design that causes it, nothing subtracted.
//!
//! - **Standing cost**: the cores each process burns at rest, reported per process and summed
//!   per design (the read model, the broker and the registry exist only for CQRS; the composer
//!   only for composition; the source services are the system of record both read).
//! - **Reads**: each healthy step's CPU of the design's own processes ([`Design::processes`])
//!   per 1,000 requests, gross: the step's window includes what those processes burn at rest,
//!   as a bill would.
//! - **Writes**: CQRS also pays, for every write, the broker, the registry, the projection and
//!   the relays' publishing; composition pays nothing extra. Measured in a write-only window
//!   and charged to CQRS's reads at the stated write:read ratio.
//!
//! What both designs pay alike (the source services handling a write, and the relays' reads
//! and updates of their outbox table, which run on the services' own threads and cannot be told
//! apart from the write handling) is left out of both.

use std::collections::BTreeMap;

use crate::report::model::{Condition, CostRow, Costs, Design, LoadStep, Report};
use crate::scenarios::freshness::WriteWindow;

pub fn charge(report: &Report, writes: &WriteWindow, write_read_ratio: f64) -> Costs {
    let per_1000_writes = |seconds: f64| seconds * 1000.0 / writes.writes.max(1) as f64 * 1000.0;
    let write_cpu_ms_per_1000_by_process: BTreeMap<String, f64> = writes
        .cpu_seconds_by_process
        .iter()
        .map(|(process, seconds)| (process.clone(), per_1000_writes(*seconds)))
        .collect();
    let relay_kafka_cpu_ms_per_1000_writes = writes.relay_kafka_cpu_seconds.map(per_1000_writes);
    // a write costs CQRS the processes that serve it, as a read does
    let cqrs_processes: Vec<f64> = Design::OrderHistory
        .processes()
        .iter()
        .filter_map(|process| write_cpu_ms_per_1000_by_process.get(*process).copied())
        .collect();
    let cqrs_cpu_ms_per_1000_writes = (writes.writes > 0 && !cqrs_processes.is_empty())
        .then(|| cqrs_processes.iter().sum::<f64>() + relay_kafka_cpu_ms_per_1000_writes.unwrap_or(0.0));

    let standing = |design: Design| {
        report.standing_cost.iter().filter(|process| process.design == Some(design)).map(|process| process.cores).sum()
    };
    let healthy = report.get_by_id.iter().chain(&report.search).filter(|step| step.condition == Condition::Healthy);
    let rows = healthy
        .filter(|step| step.not_servable.is_none())
        .map(|step| row(step, standing(step.design), cqrs_cpu_ms_per_1000_writes, write_read_ratio))
        .collect();
    Costs {
        write_read_ratio,
        writes: writes.writes,
        write_seconds: writes.seconds,
        write_cpu_ms_per_1000_by_process,
        relay_kafka_cpu_ms_per_1000_writes,
        cqrs_cpu_ms_per_1000_writes,
        rows,
    }
}

fn row(step: &LoadStep, standing_cores: f64, cqrs_per_1000_writes: Option<f64>, write_read_ratio: f64) -> CostRow {
    let write_cpu_ms_per_1000_reads = match step.design {
        // 1,000 reads at r writes per read imply 1,000 × r writes
        Design::OrderHistory => cqrs_per_1000_writes.map(|per_1000| per_1000 * write_read_ratio),
        Design::Composer => Some(0.0),
    };
    let total_cpu_ms_per_1000 =
        step.cpu_ms_per_1000.zip(write_cpu_ms_per_1000_reads).map(|(reads, writes)| reads + writes);
    CostRow {
        design: step.design,
        endpoint: step.endpoint.clone(),
        target_rps: step.target_rps,
        standing_cores,
        read_cpu_ms_per_1000: step.cpu_ms_per_1000,
        write_cpu_ms_per_1000_reads,
        total_cpu_ms_per_1000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::StandingCost;
    use crate::report::tests::{empty_report, step};

    #[test]
    fn cqrs_pays_for_its_writes_at_the_ratio_and_composition_does_not() {
        let by_id = "GET /orders/{id}";
        let mut cqrs = step("get_by_id", Design::OrderHistory, by_id, Condition::Healthy, 100.0, 5.0);
        cqrs.cpu_ms_per_1000 = Some(200.0);
        let mut composition = step("get_by_id", Design::Composer, by_id, Condition::Healthy, 100.0, 5.0);
        composition.cpu_ms_per_1000 = Some(900.0);
        let mut report = empty_report();
        report.get_by_id = vec![cqrs, composition];
        report.standing_cost = vec![
            StandingCost { process: "broker".into(), cores: 0.02, design: Some(Design::OrderHistory) },
            StandingCost { process: "order-history".into(), cores: 0.01, design: Some(Design::OrderHistory) },
            StandingCost { process: "composer".into(), cores: 0.001, design: Some(Design::Composer) },
            StandingCost { process: "order-svc".into(), cores: 0.008, design: None },
        ];
        // 500 writes: broker 1 s, registry 0.1 s, order-history 0.4 s, relays' clients 0.25 s
        let writes = WriteWindow {
            writes: 500,
            seconds: 10.0,
            cpu_seconds_by_process: BTreeMap::from([
                ("broker".to_string(), 1.0),
                ("schema-registry".to_string(), 0.1),
                ("order-history".to_string(), 0.4),
                ("order-svc".to_string(), 3.0),
            ]),
            relay_kafka_cpu_seconds: Some(0.25),
        };
        let costs = charge(&report, &writes, 0.1);
        // (1 + 0.1 + 0.4 + 0.25) s per 500 writes = 3,500 ms per 1,000 writes
        assert!((costs.cqrs_cpu_ms_per_1000_writes.unwrap() - 3500.0).abs() < 1e-6, "{costs:?}");
        let cqrs = costs.rows.iter().find(|row| row.design == Design::OrderHistory).unwrap();
        assert!((cqrs.write_cpu_ms_per_1000_reads.unwrap() - 350.0).abs() < 1e-6);
        assert!((cqrs.total_cpu_ms_per_1000.unwrap() - 550.0).abs() < 1e-6);
        assert!((cqrs.standing_cores - 0.03).abs() < 1e-9);
        let composition = costs.rows.iter().find(|row| row.design == Design::Composer).unwrap();
        assert_eq!(composition.total_cpu_ms_per_1000, Some(900.0));
        assert!((composition.standing_cores - 0.001).abs() < 1e-9, "the sources are shared, not composition's");
        // the source services' write handling is shown but charged to neither
        assert!((costs.write_cpu_ms_per_1000_by_process["order-svc"] - 6000.0).abs() < 1e-6);
    }

    #[test]
    fn no_writes_measured_means_no_write_charge() {
        let report = empty_report();
        let costs = charge(&report, &WriteWindow::default(), 0.1);
        assert_eq!(costs.cqrs_cpu_ms_per_1000_writes, None);
        assert!(costs.rows.is_empty());
    }
}
