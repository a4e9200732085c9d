//! The statistics section of `report.md`: each design's `GET /stats` for the last 1, 7 and 30
//! days, what composer had to read for it, and whether the two designs' numbers agree.

use super::markdown::{format_optional, push_line, push_table, push_verdicts, verdict_words};
use super::model::{Design, Report, Statistics, StatisticsAgreement, StatisticsRow, Verdict};
use super::{format_bytes, format_count, format_ms, format_ms_unit, format_thousands};
use crate::verdict::statistics_question;

pub(super) fn render_statistics(out: &mut String, report: &Report) {
    let Some(statistics) = &report.statistics else {
        return;
    };
    push_line(out, "## Statistics");
    push_line(out, "");
    push_line(
        out,
        &format!(
            "`GET /stats?granularity={}&group_by={}` (orders and revenue per day, by status) for the last 1, 7 and \
             30 days before {}, asked of both designs: {} requests in a row per window and repetition, each with the \
             {} ms deadline, then one more without it, whose answer the last four columns describe. order-history \
             reads its rollups; composer pages through order-svc's orders of the window and fetches each one's \
             payments and shipments.",
            statistics.granularity,
            statistics.group_by,
            statistics.to,
            statistics.requests_per_repetition,
            format_thousands(statistics.deadline_ms as f64),
        ),
    );
    push_line(out, "");
    if let Some(sentence) = windows_sentence(statistics) {
        push_line(out, &sentence);
        push_line(out, "");
    }
    let header = [
        "window",
        "design",
        "in time: whole / incomplete / failed",
        "p50 ms",
        "p99 ms",
        "downstream calls per request",
        "bytes per request (all services)",
        "response bytes",
        "orders read",
        "complete answer",
        "the designs agree",
    ];
    let mut rows = Vec::new();
    for row in &statistics.rows {
        let agreement = statistics.agreement.iter().find(|agreement| agreement.window_days == row.window_days);
        rows.push(table_row(row, agreement));
    }
    push_table(out, &header, &rows);
    let mut verdicts = Vec::new();
    for agreement in &statistics.agreement {
        verdicts.extend(window_sentences(report, statistics, agreement));
    }
    push_verdicts(out, &verdicts);
}

fn window_label(window_days: u32) -> String {
    if window_days == 1 { "1 day".to_string() } else { format!("{window_days} days") }
}

fn table_row(row: &StatisticsRow, agreement: Option<&StatisticsAgreement>) -> Vec<String> {
    let answer = row.answer.as_ref();
    let orders_read = match (row.design, answer) {
        (Design::OrderHistory, _) => "none: it reads rollups".to_string(),
        (Design::Composer, Some(answer)) => match (answer.orders_read, answer.orders_listed) {
            (Some(read), Some(listed)) if listed > read => {
                format!("{} (listed {})", format_thousands(read as f64), format_thousands(listed as f64))
            }
            (Some(read), _) => format_thousands(read as f64),
            _ => "n/a".to_string(),
        },
        (Design::Composer, None) => "n/a".to_string(),
    };
    let complete = match answer {
        None => "no answer".to_string(),
        Some(answer) if !(200..300).contains(&answer.status) => format!("no: {}", answer.status),
        Some(answer) if answer.complete => "yes".to_string(),
        Some(answer) if answer.missing.is_empty() => "no: stale".to_string(),
        Some(answer) => format!("no: misses {}", answer.missing.join("; ")),
    };
    vec![
        window_label(row.window_days),
        row.design.name().to_string(),
        format!("{} / {} / {}", row.ok, row.incomplete, row.errors),
        format_optional(row.p50_ms, format_ms),
        format_optional(row.p99_ms, format_ms),
        format_optional(row.downstream_calls_per_request, format_count),
        format_optional(row.bytes_per_request, format_bytes),
        answer.map_or_else(|| "n/a".to_string(), |answer| format_bytes(answer.response_bytes as f64)),
        orders_read,
        complete,
        agreement.map_or_else(|| "n/a".to_string(), agreement_cell),
    ]
}

fn agreement_cell(agreement: &StatisticsAgreement) -> String {
    if let Some(because) = &agreement.not_compared_because {
        return format!("not compared: {because}");
    }
    if agreement.buckets_differing == 0 {
        return format!("yes, all {} buckets", agreement.buckets_compared);
    }
    format!("no: {} of {} buckets differ", agreement.buckets_differing, agreement.buckets_compared)
}

/// When every window held the same orders, says so and why: the windows then differ in their
/// buckets, not in the orders composer must read.
fn windows_sentence(statistics: &Statistics) -> Option<String> {
    let orders: Vec<i64> = statistics
        .rows
        .iter()
        .filter(|row| row.design == Design::OrderHistory)
        .filter_map(|row| row.answer.as_ref().filter(|answer| answer.status == 200).map(|answer| answer.orders))
        .collect();
    let first = *orders.first()?;
    if orders.iter().all(|count| *count == first) {
        return Some(format!(
            "Every window holds the same {} orders: compare seeds orders through order-svc's API, which stamps \
             each with the time it was placed and takes none from the client, so every order was placed during \
             this run. The windows differ in their buckets, not in the orders composer must read.",
            format_thousands(first as f64)
        ));
    }
    let counts: Vec<String> = orders.iter().map(|count| format_thousands(*count as f64)).collect();
    Some(format!("The windows hold {} orders, in ascending length.", counts.join(", ")))
}

fn find_statistics_verdict<'a>(report: &'a Report, window_days: u32, figure: &str) -> Option<&'a Verdict> {
    let question = statistics_question(window_days);
    report
        .verdicts
        .iter()
        .find(|verdict| verdict.scenario == "statistics" && verdict.question == question && verdict.figure == figure)
}

fn window_sentences(report: &Report, statistics: &Statistics, agreement: &StatisticsAgreement) -> Vec<String> {
    let window_days = agreement.window_days;
    let row =
        |design: Design| statistics.rows.iter().find(|row| row.window_days == window_days && row.design == design);
    let (Some(order_history), Some(composer)) = (row(Design::OrderHistory), row(Design::Composer)) else {
        return Vec::new();
    };
    let context = format!("for the last {}", window_label(window_days));
    let mut sentences = Vec::new();
    let p99_words = find_statistics_verdict(report, window_days, "p99_ms")
        .map_or_else(|| "not compared".to_string(), |verdict| verdict_words(verdict, "faster"));
    sentences.push(format!(
        "p99 {context}: order-history {}, composer {}; {p99_words}",
        format_optional(order_history.p99_ms, format_ms_unit),
        format_optional(composer.p99_ms, format_ms_unit),
    ));
    if let Some(answer) = &composer.answer {
        let read = answer.orders_read.map_or_else(|| "n/a".to_string(), |read| format_thousands(read as f64));
        let calls = answer.downstream_calls.map_or_else(|| "n/a".to_string(), |calls| format_thousands(calls as f64));
        let whole = if answer.complete { "whole" } else { "incomplete" };
        sentences.push(format!(
            "waited for, composer answered {context} {whole} in {}, reading {read} orders with {calls} downstream \
             calls; order-history in {}, with {} downstream calls measured at the source services",
            format_ms_unit(answer.latency_ms),
            order_history.answer.as_ref().map_or_else(|| "n/a".to_string(), |answer| format_ms_unit(answer.latency_ms)),
            format_optional(order_history.downstream_calls_per_request, format_count),
        ));
    }
    sentences.push(match (&agreement.not_compared_because, agreement.buckets_differing == 0) {
        (Some(because), _) => format!("the designs' numbers {context} were not compared: {because}"),
        (None, true) => format!(
            "the designs agree {context}: the same orders and revenue in all {} buckets",
            agreement.buckets_compared
        ),
        (None, false) => format!("the designs disagree {context}: {}", agreement.differences.join("; ")),
    });
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::markdown::render;
    use crate::report::tests::full_report;

    fn statistics_section(report: &Report) -> String {
        let markdown = render(report, &[]);
        let start = markdown.find("## Statistics").expect("a statistics section");
        let rest = &markdown[start..];
        let end = rest[3..].find("\n## ").map_or(rest.len(), |end| end + 3);
        rest[..end].to_string()
    }

    #[test]
    fn the_section_has_a_row_per_window_and_design_and_says_the_windows_hold_the_same_orders() {
        let section = statistics_section(&full_report());
        for window in ["| 1 day | order-history |", "| 7 days | composer |", "| 30 days | order-history |"] {
            assert!(section.contains(window), "{window} missing from:\n{section}");
        }
        assert!(section.contains("Every window holds the same 10,000 orders"), "{section}");
        assert!(section.contains("none: it reads rollups"), "{section}");
        assert!(section.contains("yes, all 2 buckets"), "{section}");
        assert!(section.contains("order-history 167× faster"), "{section}");
        assert!(section.contains("reading 10,000 orders with 20,100 downstream calls"), "{section}");
    }

    #[test]
    fn a_composer_that_answers_nothing_in_time_is_not_compared_on_latency() {
        let mut report = full_report();
        let statistics = report.statistics.as_mut().unwrap();
        for row in statistics.rows.iter_mut().filter(|row| row.design == Design::Composer) {
            row.errors = row.sent;
            row.ok = 0;
            row.p50_ms = None;
            row.p99_ms = None;
            for repetition in &mut row.repetitions {
                repetition.errors = repetition.sent;
            }
        }
        report.verdicts = crate::verdict::report_verdicts(&report);
        let section = statistics_section(&report);
        assert!(section.contains("composer n/a; not compared: composer failed 100%"), "{section}");
    }

    #[test]
    fn disagreement_and_an_incomplete_answer_are_said() {
        let mut report = full_report();
        let statistics = report.statistics.as_mut().unwrap();
        statistics.agreement[0].buckets_differing = 1;
        statistics.agreement[0].differences = vec!["2025-01-01 PLACED: orders 3 vs 2".to_string()];
        statistics.agreement[2] = StatisticsAgreement {
            window_days: 30,
            compared: false,
            buckets_compared: 0,
            buckets_differing: 0,
            differences: Vec::new(),
            not_compared_because: Some("composer's answer was incomplete".to_string()),
        };
        let section = statistics_section(&report);
        assert!(section.contains("no: 1 of 2 buckets differ"), "{section}");
        assert!(
            section.contains("The designs disagree for the last 1 day: 2025-01-01 PLACED: orders 3 vs 2"),
            "{section}"
        );
        assert!(section.contains("not compared: composer's answer was incomplete"), "{section}");
    }
}
