//! The report's first table, capacity at the SLO, and the costs section: what each design
//! carries, and what it costs per request with every process that serves it charged to it.

use super::charts::CAPACITY_CHART;
use super::markdown::{format_optional, push_chart, push_line, push_table, push_verdicts};
use super::model::{Capacity, Design, Report};
use super::{endpoint_kind, format_count, format_ms, format_rate, format_ratio};
use crate::capacity::Bound;

/// The capacity of `design` for `kind`, as a cell.
fn capacity_cell(row: Option<&Capacity>) -> String {
    let Some(row) = row else { return "not measured".to_string() };
    if let Some(refused) = &row.not_servable {
        return format!("cannot serve ({refused})");
    }
    match row.bound {
        Some(Bound::Ceiling) => format!("≥ {} (the generator's ceiling)", format_rate(row.rps)),
        Some(Bound::BelowStart) => format!("< {}", format_rate(row.failed_at_rps.unwrap_or(0.0))),
        Some(Bound::Probes) => format!("≥ {} (search cut short)", format_rate(row.rps)),
        _ => match row.failed_at_rps {
            Some(failed) => format!("{} (fails at {})", format_rate(row.rps), format_rate(failed)),
            None => format_rate(row.rps),
        },
    }
}

/// Capacities side by side, one row per request kind.
pub(super) fn render_capacity(out: &mut String, report: &Report, charts: &[&str]) {
    if report.capacity.is_empty() {
        return;
    }
    push_line(out, "## Capacity at the SLO");
    push_line(out, "");
    let slo_ms = report.capacity[0].slo_ms;
    push_line(
        out,
        &format!(
            "The highest open-loop rate each design served with its p99 within {} ms and under 1% of its \
             requests failed or degraded, found by doubling the rate until a probe broke the SLO and then \
             bisecting. Each probe is one step; the edge is within the search's precision, not an interval.",
            format_ms(slo_ms)
        ),
    );
    push_line(out, "");
    let mut kinds: Vec<&str> = Vec::new();
    for row in &report.capacity {
        if !kinds.contains(&row.kind.as_str()) {
            kinds.push(&row.kind);
        }
    }
    let find = |design: Design, kind: &str| report.capacity.iter().find(|row| row.design == design && row.kind == kind);
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    for kind in kinds {
        let (cqrs, composition) = (find(Design::OrderHistory, kind), find(Design::Composer, kind));
        fn carried(row: Option<&Capacity>) -> Option<&Capacity> {
            row.filter(|row| row.not_servable.is_none() && row.rps > 0.0)
        }
        let ratio = match (carried(cqrs), carried(composition)) {
            (Some(cqrs), Some(composition)) => {
                let ratio = cqrs.rps / composition.rps;
                verdicts.push(capacity_sentence(kind, cqrs, composition, ratio));
                format_ratio(ratio)
            }
            (Some(_), None) if composition.is_some_and(|row| row.not_servable.is_some()) => {
                verdicts.push(format!("only order-history can serve {} at all", endpoint_kind(kind)));
                "only CQRS serves it".to_string()
            }
            _ => "n/a".to_string(),
        };
        rows.push(vec![endpoint_kind(kind), capacity_cell(cqrs), capacity_cell(composition), ratio]);
    }
    push_table(out, &["request", "order-history (CQRS)", "composer (API Composition)", "CQRS ÷ composition"], &rows);
    push_chart(out, charts, CAPACITY_CHART);
    push_verdicts(out, &verdicts);
}

fn capacity_sentence(kind: &str, cqrs: &Capacity, composition: &Capacity, ratio: f64) -> String {
    let (more, fewer, factor) =
        if ratio >= 1.0 { ("order-history", "composer", ratio) } else { ("composer", "order-history", 1.0 / ratio) };
    let lagged = cqrs.probes.iter().chain(&composition.probes).any(|probe| {
        probe.generator_lag_ms > crate::load::GENERATOR_LAG_LIMIT_MS
            && (probe.rps - cqrs.rps.max(composition.rps)).abs() < 1.0
    });
    let mut sentence = format!(
        "{}: {more} carries {} the rate {fewer} does within the SLO",
        endpoint_kind(kind),
        format_ratio(factor)
    );
    if cqrs.bound == Some(Bound::Ceiling) || composition.bound == Some(Bound::Ceiling) {
        sentence.push_str(" (at least: the load generator's ceiling was reached first)");
    }
    if lagged {
        sentence.push_str("; the generator lagged at the higher capacity, so it may be understated");
    }
    sentence
}

/// Standing cost per process, then CPU per 1,000 requests charged to each design.
pub(super) fn render_costs(out: &mut String, report: &Report) {
    if report.standing_cost.is_empty() && report.costs.is_none() {
        return;
    }
    push_line(out, "## Cost per design");
    push_line(out, "");
    push_line(
        out,
        "Every process's CPU is charged to the design it serves, and nothing is subtracted: the broker, the \
         registry and the read model to CQRS; the composer and the source services' read paths to composition. \
         The source services' handling of writes is paid by both alike and charged to neither.",
    );
    push_line(out, "");
    let mut verdicts = Vec::new();
    if !report.standing_cost.is_empty() {
        let charged = |design: Option<Design>| match design {
            Some(design) => format!("{} ({})", design.name(), design.pattern()),
            None => "both (system of record)".to_string(),
        };
        let mut rows: Vec<Vec<String>> = report
            .standing_cost
            .iter()
            .map(|process| vec![process.process.clone(), format!("{:.3}", process.cores), charged(process.design)])
            .collect();
        for design in Design::BOTH {
            let cores: f64 =
                report.standing_cost.iter().filter(|process| process.design == Some(design)).map(|p| p.cores).sum();
            rows.push(vec![
                format!("**{} in all**", design.pattern()),
                format!("{cores:.3}"),
                design.name().to_string(),
            ]);
        }
        push_line(out, "### Standing cost: cores used with no traffic");
        push_line(out, "");
        push_table(out, &["process", "cores", "charged to"], &rows);
    }
    if let Some(costs) = &report.costs {
        push_line(out, "### CPU per 1,000 requests");
        push_line(out, "");
        push_line(
            out,
            &format!(
                "Reads: the design's processes during each healthy step (median of the repetitions), their resting \
                 CPU included. Writes: a window of {} writes alone cost CQRS {} ms of CPU per 1,000 (broker, registry, \
                 projection and the relays' Kafka clients, {} ms of it); charged at {} writes per read.",
                format_count(costs.writes as f64),
                format_optional(costs.cqrs_cpu_ms_per_1000_writes, format_ms),
                format_optional(costs.relay_kafka_cpu_ms_per_1000_writes, format_ms),
                costs.write_read_ratio,
            ),
        );
        push_line(out, "");
        let rows: Vec<Vec<String>> = costs
            .rows
            .iter()
            .map(|row| {
                vec![
                    endpoint_kind(&row.endpoint),
                    format!("{} ({})", row.design.name(), row.design.pattern()),
                    format_rate(row.target_rps),
                    format_optional(row.read_cpu_ms_per_1000, format_ms),
                    format_optional(row.write_cpu_ms_per_1000_reads, format_ms),
                    format_optional(row.total_cpu_ms_per_1000, format_ms),
                ]
            })
            .collect();
        push_table(
            out,
            &["request", "design", "rate", "reads (ms)", "writes they imply (ms)", "total (ms per 1,000)"],
            &rows,
        );
        for row in costs.rows.iter().filter(|row| row.design == Design::OrderHistory) {
            let Some(other) = costs.rows.iter().find(|other| {
                other.design == Design::Composer && other.endpoint == row.endpoint && other.target_rps == row.target_rps
            }) else {
                continue;
            };
            if let (Some(cqrs), Some(composition)) = (row.total_cpu_ms_per_1000, other.total_cpu_ms_per_1000)
                && composition > 0.0
            {
                verdicts.push(format!(
                    "{} at {}: CQRS costs {} composition's CPU per request, writes included at {} per read",
                    endpoint_kind(&row.endpoint),
                    format_rate(row.target_rps),
                    format_ratio(cqrs / composition),
                    costs.write_read_ratio
                ));
            }
        }
        let shared: Vec<String> = crate::report::model::SOURCE_SERVICES
            .iter()
            .filter_map(|service| {
                costs.write_cpu_ms_per_1000_by_process.get(*service).map(|ms| format!("{service} {}", format_ms(*ms)))
            })
            .collect();
        if !shared.is_empty() {
            verdicts.push(format!(
                "both designs also pay the source services' writes, per 1,000 writes: {} ms (the relays' outbox reads \
                 and updates are inside these figures)",
                shared.join(", ")
            ));
        }
    }
    push_verdicts(out, &verdicts);
}
