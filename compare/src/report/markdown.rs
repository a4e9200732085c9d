//! `report.md`: the summary table first, then one section per scenario, each with its figures
//! and a verdict.
//!
//! Every verdict is computed from the figures, never written in advance: the run decides which
//! design wins each comparison, and a sentence says so whichever way it goes.

use super::charts::{AVAILABILITY_CHART, COUPLING_CHART, FRESHNESS_CHART, LATENCY_CHART};
use super::model::{
    Condition, CouplingRow, Design, Freshness, LoadStep, Percentiles, Report, SOURCE_SERVICES, Verdict,
};
use super::{
    StepPair, any_answer_share, endpoint_kind, format_bytes, format_count, format_ms, format_ms_unit, format_percent,
    format_ratio, format_thousands, full_answer_share, pair_steps, pair_steps_by_endpoint, refusal,
};
use crate::verdict::{INVALID_ABOVE_ERROR_RATE, Winner};

/// Renders the report as markdown, embedding only the charts in `charts` (file names written).
pub fn render(report: &Report, charts: &[&str]) -> String {
    let mut out = String::new();
    render_title_and_intro(&mut out, report);
    super::capacity_cost::render_capacity(&mut out, report, charts);
    render_summary(&mut out, report, charts);
    render_get_by_id(&mut out, report);
    render_search(&mut out, report);
    super::statistics::render_statistics(&mut out, report);
    render_freshness(&mut out, report, charts);
    render_slow_dependency(&mut out, report, charts);
    render_dependency_down(&mut out, report, charts);
    render_coupling(&mut out, report, charts);
    render_change_coupling(&mut out, report);
    super::capacity_cost::render_costs(&mut out, report);
    render_cqrs_cost(&mut out, report);
    render_seeding(&mut out, report);
    render_environment(&mut out, report);
    render_how_to_read(&mut out);
    out
}

pub(super) fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

pub(super) fn push_chart(out: &mut String, charts: &[&str], name: &str) {
    if !charts.contains(&name) {
        return;
    }
    push_line(out, &format!("![{}]({name})", super::charts::title(name)));
    push_line(out, "");
}

/// A markdown table: a header row, a separator, then the rows, each cell escaped.
pub(super) fn push_table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let header_cells: Vec<String> = header.iter().map(|cell| escape_cell(cell)).collect();
    push_line(out, &format!("| {} |", header_cells.join(" | ")));
    let separators: Vec<&str> = header.iter().map(|_| "---").collect();
    push_line(out, &format!("| {} |", separators.join(" | ")));
    for row in rows {
        debug_assert_eq!(row.len(), header.len(), "a table row has as many cells as the header");
        let cells: Vec<String> = row.iter().map(|cell| escape_cell(cell)).collect();
        push_line(out, &format!("| {} |", cells.join(" | ")));
    }
    push_line(out, "");
}

/// Keeps a cell on its row: error messages from services may hold pipes or newlines.
fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

pub(super) fn push_verdicts(out: &mut String, verdicts: &[String]) {
    if verdicts.is_empty() {
        return;
    }
    push_line(out, "**Verdict**");
    push_line(out, "");
    for verdict in verdicts {
        push_line(out, &format!("- {}", capitalise(verdict)));
    }
    push_line(out, "");
}

fn capitalise(sentence: &str) -> String {
    let mut characters = sentence.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// A rate in prose: `1,000 req/s`.
fn format_request_rate(per_second: f64) -> String {
    format!("{} req/s", format_count(per_second))
}

fn error_share(step: &LoadStep) -> Option<f64> {
    if step.sent == 0 {
        return None;
    }
    Some(step.errors as f64 / step.sent as f64)
}

fn degraded_share(step: &LoadStep) -> Option<f64> {
    if step.sent == 0 {
        return None;
    }
    Some(step.degraded as f64 / step.sent as f64)
}

fn format_share(share: Option<f64>) -> String {
    match share {
        Some(share) => format_percent(share),
        None => "n/a".to_string(),
    }
}

pub(super) fn format_optional(value: Option<f64>, format: fn(f64) -> String) -> String {
    match value.filter(|value| value.is_finite()) {
        Some(value) => format(value),
        None => "n/a".to_string(),
    }
}

/// Above this share of errors a design's latencies no longer measure serving requests: failures
/// (an open breaker answers in microseconds) would pass for speed.
const FAILING_ABOVE: f64 = INVALID_ABOVE_ERROR_RATE;

/// When either design failed more than [`FAILING_ABOVE`] of its requests, the verdict on the
/// pair is about answering at all, not about latency.
fn failing_verdict(order_history: &LoadStep, composer: &LoadStep) -> Option<String> {
    let errors = |step: &LoadStep| error_share(step).unwrap_or(0.0);
    let (oh, co) = (errors(order_history), errors(composer));
    if oh.max(co) <= FAILING_ABOVE {
        return None;
    }
    let part = |step: &LoadStep, share: f64| {
        if share <= FAILING_ABOVE {
            format!("{} answered {}", step.design.name(), format_percent(1.0 - share))
        } else {
            format!("{} failed {}", step.design.name(), format_percent(share))
        }
    };
    Some(format!(
        "{}; {} (latencies of failing requests are not compared)",
        part(order_history, oh),
        part(composer, co)
    ))
}

/// The step if its latencies measure serving the endpoint: it was sent to and not refused.
fn served(step: Option<&LoadStep>) -> Option<&LoadStep> {
    step.filter(|step| step.not_servable.is_none() && step.sent > 0)
}

/// The report's verdict on `figure` (`p99_ms`) for the step of `pair`.
fn find_verdict<'a>(report: &'a Report, pair: &StepPair<'_>, figure: &str) -> Option<&'a Verdict> {
    report.verdicts.iter().find(|verdict| {
        verdict.figure == figure
            && verdict.scenario == pair.scenario
            && verdict.endpoint == pair.endpoint
            && verdict.condition == *pair.condition
            && verdict.target_rps == pair.target_rps
    })
}

/// A ratio order-history ÷ composer as a plain number: `0.29`, `1.04`, `12`.
fn format_ratio_figure(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "n/a".to_string();
    }
    if ratio < 10.0 {
        return format!("{ratio:.2}");
    }
    format_thousands(ratio.round())
}

/// A verdict in a few words: the winner and by how much, or no measurable difference, with the
/// ratio order-history ÷ composer and its 95% interval either way. `lower_is` names the
/// winner's advantage: `faster`, `fewer calls`.
pub(super) fn verdict_words(verdict: &Verdict, lower_is: &str) -> String {
    if let Some(reason) = &verdict.invalid {
        return format!("not compared: {reason}");
    }
    let (Some(ratio), Some(low), Some(high)) = (verdict.ratio, verdict.ci_low, verdict.ci_high) else {
        return "not compared".to_string();
    };
    let interval = format!(
        "ratio {} (95% CI {}–{})",
        format_ratio_figure(ratio),
        format_ratio_figure(low),
        format_ratio_figure(high)
    );
    match verdict.winner {
        Winner::OrderHistory if ratio > 0.0 => {
            format!("order-history {} {lower_is}; {interval}", format_ratio(1.0 / ratio))
        }
        Winner::OrderHistory => format!("order-history {lower_is}; {interval}"),
        Winner::Composer => format!("composer {} {lower_is}; {interval}", format_ratio(ratio)),
        Winner::None if low == high => format!("no measurable difference: one run gives no interval; {interval}"),
        Winner::None => format!("no measurable difference; {interval}"),
    }
}

/// A sentence on one figure of one step: both designs' medians and the verdict.
fn figure_sentence(
    what: &str,
    context: &str,
    (order_history, composer): (f64, f64),
    format: fn(f64) -> String,
    verdict: Option<&Verdict>,
    lower_is: &str,
) -> String {
    let words = verdict.map_or_else(|| "not compared".to_string(), |verdict| verdict_words(verdict, lower_is));
    format!("{what} {context}: order-history {}, composer {}; {words}", format(order_history), format(composer))
}

/// The verdict on a per-request figure of `endpoint`, from the healthy step its figures come
/// from: the lowest rate when the coupling matrix was derived (as it is), else the highest.
fn per_request_verdict<'a>(report: &'a Report, endpoint: &str, figure: &str) -> Option<&'a Verdict> {
    let candidates = report.verdicts.iter().filter(|verdict| {
        verdict.figure == figure && verdict.endpoint == endpoint && verdict.condition == Condition::Healthy
    });
    if report.coupling.is_empty() {
        return candidates.max_by(|left, right| left.target_rps.total_cmp(&right.target_rps));
    }
    candidates.min_by(|left, right| left.target_rps.total_cmp(&right.target_rps))
}

/// The summary's verdict when one design may not serve the endpoint at all.
fn servability_verdict(pair: &StepPair<'_>) -> Option<String> {
    let refused = |design: Design| pair.step(design).is_some_and(|step| step.not_servable.is_some());
    match (refused(Design::OrderHistory), refused(Design::Composer)) {
        (false, false) => None,
        (false, true) => Some("only order-history can serve it".to_string()),
        (true, false) => Some("only composer can serve it".to_string()),
        (true, true) => Some("neither can serve it".to_string()),
    }
}

/// The summary cell of a design that has no step in a pair.
fn missing_step_cell(report: &Report, design: Design, endpoint: &str) -> String {
    if refusal(report, design, endpoint).is_some() {
        return "cannot serve".to_string();
    }
    "not run".to_string()
}

/// The verdict when only one design has a step in the pair, `None` when both have one.
fn one_sided_verdict(report: &Report, pair: &StepPair<'_>) -> Option<String> {
    let (present, missing) = match (pair.order_history, pair.composer) {
        (Some(_), Some(_)) | (None, None) => return None,
        (Some(_), None) => (Design::OrderHistory, Design::Composer),
        (None, Some(_)) => (Design::Composer, Design::OrderHistory),
    };
    if refusal(report, missing, pair.endpoint).is_some() {
        return Some(format!("only {} can serve it", present.name()));
    }
    Some(format!("not compared: {} was not measured", missing.name()))
}

/// A summary cell for a step's p99, with its errors when there were any worth noting.
fn p99_cell(report: &Report, pair: &StepPair<'_>, design: Design) -> String {
    let Some(step) = pair.step(design) else { return missing_step_cell(report, design, pair.endpoint) };
    if step.not_servable.is_some() {
        return "cannot serve".to_string();
    }
    let p99 = format_ms_unit(step.latency_ms.p99);
    match error_share(step) {
        Some(errors) if errors > 0.0 => format!("{p99} ({} errors)", format_percent(errors)),
        _ => p99,
    }
}

fn p99_verdict(report: &Report, pair: &StepPair<'_>) -> String {
    if let Some(verdict) = servability_verdict(pair).or_else(|| one_sided_verdict(report, pair)) {
        return verdict;
    }
    let (Some(order_history), Some(composer)) = (served(pair.order_history), served(pair.composer)) else {
        return "not compared: one design was not measured".to_string();
    };
    if let Some(verdict) = failing_verdict(order_history, composer) {
        return verdict;
    }
    find_verdict(report, pair, "p99_ms")
        .map_or_else(|| "not compared".to_string(), |verdict| verdict_words(verdict, "faster"))
}

/// Where a fault scenario's step ran, for a sentence: `with shipping-svc +250 ms (get by id)`.
fn fault_context(pair: &StepPair<'_>) -> String {
    let condition = match pair.condition {
        Condition::Healthy => "without a fault".to_string(),
        faulted => format!("with {}", faulted.label()),
    };
    format!("{condition} ({})", endpoint_kind(pair.endpoint))
}

/// How a headline latency question is asked for a step.
fn latency_question(pair: &StepPair<'_>) -> String {
    let rate = format_request_rate(pair.target_rps);
    match pair.scenario {
        "get_by_id" => format!("GET by id p99 at {rate}"),
        "customer_search" => format!("customer search p99 at {rate}"),
        "global_search" => format!("global search (no customer) p99 at {rate}"),
        "slow_dependency" => format!("p99 {}", fault_context(pair)),
        _ => format!("{} p99", pair.label),
    }
}

fn render_title_and_intro(out: &mut String, report: &Report) {
    push_line(out, "# CQRS vs API Composition: order history");
    push_line(out, "");
    let scenarios = [
        ("GET by id under open-loop load", !report.get_by_id.is_empty()),
        ("search", !report.search.is_empty()),
        ("freshness of reads after writes", report.freshness.is_some()),
        ("a slowed-down dependency", !report.slow_dependency.is_empty()),
        ("each source service down", !report.dependency_down.is_empty()),
        ("coupling to the source services", !report.coupling.is_empty()),
        ("the cost of keeping the CQRS view", report.cqrs_cost.is_some()),
    ];
    let run: Vec<&str> = scenarios.iter().filter(|(_, ran)| *ran).map(|(name, _)| *name).collect();
    let not_run: Vec<&str> = scenarios.iter().filter(|(_, ran)| !*ran).map(|(name, _)| *name).collect();
    let mut intro = format!(
        "This report compares two designs of the same order-history read API, measured on one stack \
         ({} profile) in one run: **order-history** (CQRS), which answers from a view projected from the \
         source services' events, and **composer** (API Composition), which calls {} at request time. ",
        report.environment.profile,
        SOURCE_SERVICES.join(", "),
    );
    if run.is_empty() {
        intro.push_str("No scenario was run.");
    } else {
        intro.push_str(&format!("It measured {}.", run.join("; ")));
    }
    if !run.is_empty() && !not_run.is_empty() {
        intro.push_str(&format!(" Not run: {}.", not_run.join("; ")));
    }
    if report.runs > 1 {
        intro.push_str(&format!(
            " Each compared step was measured {} times, the designs taking turns; its figures are the medians.",
            report.runs
        ));
    } else {
        intro.push_str(" Each step was measured once: the verdicts name no winner, as one run gives no interval.");
    }
    push_line(out, &intro);
    push_line(out, "");
}

fn render_summary(out: &mut String, report: &Report, charts: &[&str]) {
    push_line(out, "## Summary");
    push_line(out, "");
    let rows = summary_rows(report);
    if rows.is_empty() {
        push_line(out, "No scenario was run, so there is nothing to compare.");
        push_line(out, "");
        return;
    }
    push_table(out, &["question", "order-history (CQRS)", "composer (API Composition)", "verdict"], &rows);
    push_chart(out, charts, LATENCY_CHART);
}

fn summary_rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for steps in [&report.get_by_id, &report.search] {
        for pair in pair_steps(steps) {
            rows.push(vec![
                latency_question(&pair),
                p99_cell(report, &pair, Design::OrderHistory),
                p99_cell(report, &pair, Design::Composer),
                p99_verdict(report, &pair),
            ]);
        }
    }
    for freshness in report.freshness.iter().chain(&report.freshness_under_load) {
        rows.push(freshness_summary_row(freshness));
    }
    for pair in pair_steps_by_endpoint(&report.slow_dependency) {
        // The healthy baseline is in the section; the summary asks what the fault did.
        if *pair.condition == Condition::Healthy {
            continue;
        }
        rows.push(vec![
            latency_question(&pair),
            p99_cell(report, &pair, Design::OrderHistory),
            p99_cell(report, &pair, Design::Composer),
            p99_verdict(report, &pair),
        ]);
    }
    for pair in pair_steps_by_endpoint(&report.dependency_down) {
        rows.push(vec![
            format!("{} ({}): any answer / full answer", pair.condition.label(), endpoint_kind(pair.endpoint)),
            availability_cell(report, &pair, Design::OrderHistory),
            availability_cell(report, &pair, Design::Composer),
            availability_verdict(report, &pair),
        ]);
    }
    for figure in per_request_figures().iter().filter(|figure| figure.in_summary) {
        for figures in per_endpoint_figures(report, figure.from_coupling, figure.from_step) {
            let verdict = match per_request_verdict(report, &figures.endpoint, figure.key) {
                Some(verdict) => verdict_words(verdict, figure.lower_is),
                None => "not compared: one design was not measured".to_string(),
            };
            rows.push(vec![
                format!("{} ({})", figure.name, endpoint_kind(&figures.endpoint)),
                format_optional(figures.order_history, figure.format),
                format_optional(figures.composer, figure.format),
                verdict,
            ]);
        }
    }
    if let Some(cost) = &report.cqrs_cost
        && let Some(view_bytes) = cost.elasticsearch_index_bytes.or(cost.view_bytes)
    {
        rows.push(view_storage_row(view_bytes, cost.broker_log_bytes, cost.source_bytes));
    }
    rows
}

/// A per-request cost both designs report, where lower is better.
struct PerRequestFigure {
    name: &'static str,
    /// The verdicts' name of the figure.
    key: &'static str,
    /// The summary's words for the design with the lower figure: `fewer calls`.
    lower_is: &'static str,
    /// Whether the summary table has a row for it; the coupling section shows them all.
    in_summary: bool,
    from_coupling: fn(&CouplingRow) -> Option<f64>,
    from_step: fn(&LoadStep) -> Option<f64>,
    format: fn(f64) -> String,
}

fn per_request_figures() -> [PerRequestFigure; 3] {
    [
        PerRequestFigure {
            name: "downstream calls per request",
            key: "downstream_calls_per_request",
            lower_is: "fewer calls",
            in_summary: true,
            from_coupling: |row| row.downstream_calls_per_request,
            from_step: |step| step.downstream_calls_per_request,
            format: format_count_precise,
        },
        PerRequestFigure {
            name: "bytes per request",
            key: "bytes_per_request",
            lower_is: "fewer bytes",
            in_summary: false,
            from_coupling: |row| row.bytes_per_request,
            from_step: |step| step.bytes_per_request,
            format: format_bytes,
        },
        PerRequestFigure {
            name: "CPU ms per 1,000 requests",
            key: "cpu_ms_per_1000",
            lower_is: "less CPU",
            in_summary: true,
            from_coupling: |row| row.cpu_ms_per_1000,
            from_step: |step| step.cpu_ms_per_1000,
            format: format_ms,
        },
    ]
}

/// Calls per request keep one decimal: 3.0 and 3.4 calls differ in what they say.
fn format_count_precise(value: f64) -> String {
    if value.abs() >= 100.0 {
        return format_thousands(value.round());
    }
    format!("{value:.1}")
}

fn freshness_summary_row(freshness: &Freshness) -> Vec<String> {
    let staleness = &freshness.staleness_ms;
    let mut order_history = format!("p50 {} / p99 {}", format_ms_unit(staleness.p50), format_ms_unit(staleness.p99));
    if freshness.not_visible > 0 {
        order_history.push_str(&format!(
            "; {} of {} writes not visible within {} (counted at the limit)",
            format_thousands(freshness.not_visible as f64),
            format_thousands(freshness.writes as f64),
            format_ms_unit(freshness.wait_limit_ms as f64),
        ));
    }
    let composer = if freshness.composer_reads == 0 {
        "not measured: no whole answer".to_string()
    } else {
        format!(
            "{} of {} reads right after the write showed it",
            format_percent(freshness.composer_fresh_reads as f64 / freshness.composer_reads as f64),
            format_thousands(freshness.composer_reads as f64)
        )
    };
    let composer_all_fresh = freshness.composer_reads > 0 && freshness.composer_fresh_reads == freshness.composer_reads;
    let verdict = if freshness.composer_reads == 0 {
        format!("order-history lags {} at p99; composer's freshness was not measured", format_ms_unit(staleness.p99))
    } else if !composer_all_fresh {
        format!("composer not always fresh; order-history lags {} at p99", format_ms_unit(staleness.p99))
    } else if staleness.p99 > 0.0 {
        format!("composer fresher: order-history lags {} at p99", format_ms_unit(staleness.p99))
    } else {
        "even: both showed every write at once".to_string()
    };
    let question = if freshness.read_load_rps > 0.0 {
        format!(
            "freshness under {} of GET by id: staleness after a write, p50 / p99",
            format_request_rate(freshness.read_load_rps)
        )
    } else {
        "freshness: staleness after a write, p50 / p99".to_string()
    };
    vec![question, order_history, composer, verdict]
}

fn availability_cell(report: &Report, pair: &StepPair<'_>, design: Design) -> String {
    let Some(step) = pair.step(design) else { return missing_step_cell(report, design, pair.endpoint) };
    format!("{} / {}", format_share(any_answer_share(step)), format_share(full_answer_share(step)))
}

fn availability_verdict(report: &Report, pair: &StepPair<'_>) -> String {
    if let Some(verdict) = one_sided_verdict(report, pair) {
        return verdict;
    }
    let (Some(order_history), Some(composer)) = (pair.order_history, pair.composer) else {
        return "not compared: neither design was measured".to_string();
    };
    let (Some(order_history_any), Some(composer_any)) = (any_answer_share(order_history), any_answer_share(composer))
    else {
        return "not compared: nothing was sent".to_string();
    };
    let order_history_full = full_answer_share(order_history).unwrap_or(0.0);
    let composer_full = full_answer_share(composer).unwrap_or(0.0);
    if order_history_any > composer_any {
        return format!(
            "order-history answers more ({} vs {})",
            format_percent(order_history_any),
            format_percent(composer_any)
        );
    }
    if composer_any > order_history_any {
        return format!(
            "composer answers more ({} vs {})",
            format_percent(composer_any),
            format_percent(order_history_any)
        );
    }
    if order_history_full > composer_full {
        return format!(
            "same share answered; order-history answers more in full ({} vs {})",
            format_percent(order_history_full),
            format_percent(composer_full)
        );
    }
    if composer_full > order_history_full {
        return format!(
            "same share answered; composer answers more in full ({} vs {})",
            format_percent(composer_full),
            format_percent(order_history_full)
        );
    }
    "even".to_string()
}

fn view_storage_row(view_bytes: u64, broker_log_bytes: Option<u64>, source_bytes: Option<u64>) -> Vec<String> {
    // the log is what CQRS keeps to rebuild the view: its storage as much as the view is
    let stored = view_bytes + broker_log_bytes.unwrap_or(0);
    let mut order_history = format!("{} of view", format_bytes(view_bytes as f64));
    if let Some(log) = broker_log_bytes {
        order_history.push_str(&format!(" + {} of broker log", format_bytes(log as f64)));
    }
    let mut verdict = format!("CQRS stores {} that composition does not", format_bytes(stored as f64));
    if let Some(source_bytes) = source_bytes.filter(|bytes| *bytes > 0) {
        let share = stored as f64 / source_bytes as f64;
        order_history.push_str(&format!(" (the sources hold {})", format_bytes(source_bytes as f64)));
        let relative = if share >= 1.0 { format_ratio(share) } else { format_percent(share) };
        verdict = format!("CQRS stores {} more, {relative} of the source databases", format_bytes(stored as f64));
    }
    vec!["storage beyond the sources".to_string(), order_history, "none: no copy of the data".to_string(), verdict]
}

/// One figure of both designs for one endpoint.
struct EndpointFigures {
    endpoint: String,
    order_history: Option<f64>,
    composer: Option<f64>,
}

/// A per-request figure per endpoint, from the coupling rows; from the healthy load steps when
/// the coupling scenario was not derived, taking each design's highest measured rate.
fn per_endpoint_figures(
    report: &Report,
    from_coupling: fn(&CouplingRow) -> Option<f64>,
    from_step: fn(&LoadStep) -> Option<f64>,
) -> Vec<EndpointFigures> {
    let mut figures: Vec<EndpointFigures> = Vec::new();
    let mut record = |endpoint: &str, design: Design, value: Option<f64>| {
        let Some(value) = value.filter(|value| value.is_finite()) else { return };
        let index = match figures.iter().position(|figure| figure.endpoint == endpoint) {
            Some(index) => index,
            None => {
                figures.push(EndpointFigures { endpoint: endpoint.to_string(), order_history: None, composer: None });
                figures.len() - 1
            }
        };
        let slot = match design {
            Design::OrderHistory => &mut figures[index].order_history,
            Design::Composer => &mut figures[index].composer,
        };
        *slot = Some(value);
    };
    if !report.coupling.is_empty() {
        for row in &report.coupling {
            record(&row.endpoint, row.design, from_coupling(row));
        }
        return figures;
    }
    let mut healthy_steps: Vec<&LoadStep> = report
        .get_by_id
        .iter()
        .chain(&report.search)
        .filter(|step| step.condition == Condition::Healthy && served(Some(step)).is_some())
        .collect();
    // Ascending rate, so the highest rate's figure is recorded last and kept.
    healthy_steps.sort_by(|left, right| left.target_rps.total_cmp(&right.target_rps));
    for step in healthy_steps {
        record(&step.endpoint, step.design, from_step(step));
    }
    figures
}

fn load_table_header() -> [&'static str; 10] {
    [
        "step",
        "design",
        "p50 (ms)",
        "p90 (ms)",
        "p99 (ms)",
        "p99.9 (ms)",
        "max (ms)",
        "achieved rps",
        "errors",
        "degraded",
    ]
}

fn load_table_rows(pairs: &[StepPair<'_>]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for pair in pairs {
        for design in Design::BOTH {
            let Some(step) = pair.step(design) else { continue };
            let latency = &step.latency_ms;
            let latencies = if step.not_servable.is_some() {
                vec!["cannot serve".to_string(), "–".to_string(), "–".to_string(), "–".to_string(), "–".to_string()]
            } else {
                vec![
                    format_ms(latency.p50),
                    format_ms(latency.p90),
                    format_ms(latency.p99),
                    format_ms(latency.p999),
                    format_ms(latency.max),
                ]
            };
            let mut row = vec![pair.label.clone(), design.name().to_string()];
            row.extend(latencies);
            row.push(format!("{} of {}", format_count(step.achieved_rps), format_count(step.target_rps)));
            row.push(format_share(error_share(step)));
            row.push(format_share(degraded_share(step)));
            rows.push(row);
        }
    }
    rows
}

fn push_load_table(out: &mut String, pairs: &[StepPair<'_>]) {
    push_table(out, &load_table_header(), &load_table_rows(pairs));
}

/// Sentences on what went wrong in a step beyond its latency: refusals, errors, missed rate.
fn step_health_sentences(context: &str, step: &LoadStep) -> Vec<String> {
    let design = step.design.name();
    let mut sentences = Vec::new();
    // A refusal is told by the servability sentence; its errors are the refusal itself.
    if step.not_servable.is_some() {
        return sentences;
    }
    if let Some(errors) = error_share(step).filter(|errors| *errors > 0.0) {
        let mut kinds = Vec::new();
        for (kind, count) in &step.error_kinds {
            kinds.push(format!(
                "{} {}",
                kind.replace('_', " "),
                format_percent(*count as f64 / step.sent.max(1) as f64)
            ));
        }
        let kinds = if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) };
        sentences.push(format!(
            "{design} answered {} of requests {context} with an error{kinds}; its percentiles are of the successes only",
            format_percent(errors)
        ));
    }
    if step.generator_lagged() {
        sentences.push(format!(
            "the load generator fell behind its schedule {context} while measuring {design}: the successes' p99 is {} \
             later from the due time than from the send, so this step's figures include the generator's own lag",
            format_ms_unit(step.generator_lag_ms)
        ));
    }
    if let Some(degraded) = degraded_share(step).filter(|degraded| *degraded > 0.0) {
        sentences
            .push(format!("{design} answered {} of requests {context} with parts missing", format_percent(degraded)));
    }
    // Below 95% of the asked rate the load generator, not the design, may be the limit.
    if step.target_rps > 0.0 && step.achieved_rps < step.target_rps * 0.95 {
        sentences.push(format!(
            "{design} achieved {} of the {} asked {context}",
            format_request_rate(step.achieved_rps),
            format_request_rate(step.target_rps),
        ));
    }
    sentences
}

/// Sentences comparing the designs' latency at one step, plus each design's health.
fn latency_sentences(report: &Report, pair: &StepPair<'_>, context: &str) -> Vec<String> {
    let mut sentences = Vec::new();
    if let (Some(order_history), Some(composer)) = (served(pair.order_history), served(pair.composer))
        && let Some(verdict) = failing_verdict(order_history, composer)
    {
        sentences.push(format!("{context}: {verdict}"));
    } else if let (Some(order_history), Some(composer)) = (served(pair.order_history), served(pair.composer)) {
        for (what, figure, read) in [
            ("p99", "p99_ms", (|latency: &Percentiles| latency.p99) as fn(&Percentiles) -> f64),
            ("p50", "p50_ms", |latency: &Percentiles| latency.p50),
        ] {
            sentences.push(figure_sentence(
                what,
                context,
                (read(&order_history.latency_ms), read(&composer.latency_ms)),
                format_ms_unit,
                find_verdict(report, pair, figure),
                "faster",
            ));
        }
    }
    if let Some(only) = servability_verdict(pair) {
        let mut refusals = Vec::new();
        for design in Design::BOTH {
            let Some(message) = pair.step(design).and_then(|step| step.not_servable.as_ref()) else { continue };
            refusals.push(format!("{} answered every request with \"{}\"", design.name(), escape_cell(message)));
        }
        sentences.push(format!("{context}, {only}: {}", refusals.join(", and ")));
    }
    for design in Design::BOTH {
        if let Some(step) = pair.step(design) {
            sentences.extend(step_health_sentences(context, step));
        }
    }
    sentences
}

/// How each design's p99 changed from its lowest to its highest measured rate.
fn rate_trend_sentences(pairs: &[StepPair<'_>]) -> Vec<String> {
    let mut sentences = Vec::new();
    for design in Design::BOTH {
        let mut served_steps: Vec<&LoadStep> = pairs.iter().filter_map(|pair| served(pair.step(design))).collect();
        served_steps.sort_by(|left, right| left.target_rps.total_cmp(&right.target_rps));
        let (Some(lowest), Some(highest)) = (served_steps.first(), served_steps.last()) else { continue };
        if lowest.target_rps == highest.target_rps {
            continue;
        }
        let reference = format!("at {}", format_request_rate(lowest.target_rps));
        let movement = p99_movement(highest.latency_ms.p99, Some(lowest.latency_ms.p99), &reference);
        sentences.push(format!("at {}, {} p99 {movement}", format_request_rate(highest.target_rps), design.name()));
    }
    sentences
}

fn render_get_by_id(out: &mut String, report: &Report) {
    push_line(out, "## GET by id");
    push_line(out, "");
    if report.get_by_id.is_empty() {
        push_line(out, "Not run.");
        push_line(out, "");
        return;
    }
    push_line(out, "`GET /orders/{id}` at each rate, the same ids for both designs.");
    push_line(out, "");
    let pairs = pair_steps(&report.get_by_id);
    push_load_table(out, &pairs);
    let mut verdicts = Vec::new();
    for pair in &pairs {
        verdicts.extend(latency_sentences(report, pair, &format!("at {}", format_request_rate(pair.target_rps))));
    }
    verdicts.extend(rate_trend_sentences(&pairs));
    push_verdicts(out, &verdicts);
}

fn render_search(out: &mut String, report: &Report) {
    push_line(out, "## Search");
    push_line(out, "");
    if report.search.is_empty() {
        push_line(out, "Not run.");
        push_line(out, "");
        return;
    }
    push_line(
        out,
        "A customer's orders matching a query, which both designs can serve, and a search across all \
         customers, which needs an index over every order.",
    );
    push_line(out, "");
    let pairs = pair_steps(&report.search);
    push_load_table(out, &pairs);
    let mut verdicts = Vec::new();
    for pair in &pairs {
        verdicts.extend(latency_sentences(report, pair, &format!("for {}", pair.label)));
    }
    push_verdicts(out, &verdicts);
}

fn percentiles_row(name: &str, percentiles: &Percentiles) -> Vec<String> {
    vec![
        name.to_string(),
        format_ms(percentiles.p50),
        format_ms(percentiles.p90),
        format_ms(percentiles.p99),
        format_ms(percentiles.p999),
        format_ms(percentiles.max),
        format_ms(percentiles.mean),
    ]
}

fn render_freshness(out: &mut String, report: &Report, charts: &[&str]) {
    push_line(out, "## Freshness");
    push_line(out, "");
    let Some(freshness) = &report.freshness else {
        push_line(out, "Not run.");
        push_line(out, "");
        return;
    };
    push_line(
        out,
        &format!(
            "{} writes/s for {} s. Right after each write's acknowledgement composer was read once, and \
             order-history was read until it showed the write (for at most {}; a write not shown by then counts \
             at the limit). The run was repeated while order-history served GET by id at the read scenarios' rate.",
            format_count(freshness.writes_per_second),
            format_count(freshness.duration_seconds),
            format_ms_unit(freshness.wait_limit_ms as f64),
        ),
    );
    push_line(out, "");
    let mut rows = vec![percentiles_row("every write", &freshness.staleness_ms)];
    for (kind, percentiles) in &freshness.by_write_kind {
        rows.push(percentiles_row(kind, percentiles));
    }
    if let Some(loaded) = &report.freshness_under_load {
        rows.push(percentiles_row(
            &format!("every write, under {} of GET by id", format_request_rate(loaded.read_load_rps)),
            &loaded.staleness_ms,
        ));
    }
    push_table(
        out,
        &["order-history staleness", "p50 (ms)", "p90 (ms)", "p99 (ms)", "p99.9 (ms)", "max (ms)", "mean (ms)"],
        &rows,
    );
    let counts = vec![
        vec!["writes acknowledged".to_string(), format_thousands(freshness.writes as f64)],
        vec!["seen by order-history".to_string(), format_thousands(freshness.observed as f64)],
        vec![
            format!("not visible within {}", format_ms_unit(freshness.wait_limit_ms as f64)),
            format_thousands(freshness.not_visible as f64),
        ],
        vec!["composer reads-after-write".to_string(), format_thousands(freshness.composer_reads as f64)],
        vec!["of which at the written version".to_string(), format_thousands(freshness.composer_fresh_reads as f64)],
        vec![
            "composer reads failed or degraded (not counted above)".to_string(),
            format_thousands(freshness.composer_unanswered_reads as f64),
        ],
    ];
    push_table(out, &["count", "value"], &counts);
    push_chart(out, charts, FRESHNESS_CHART);
    push_verdicts(out, &freshness_verdicts(freshness));
}

fn freshness_verdicts(freshness: &Freshness) -> Vec<String> {
    let mut verdicts = Vec::new();
    let staleness = &freshness.staleness_ms;
    if freshness.writes > 0 {
        let observed_share = freshness.observed as f64 / freshness.writes as f64;
        verdicts.push(format!(
            "order-history showed {} of {} writes within {}; half of them after {} or less, 99% after {} or less",
            format_percent(observed_share),
            format_thousands(freshness.writes as f64),
            format_ms_unit(freshness.wait_limit_ms as f64),
            format_ms_unit(staleness.p50),
            format_ms_unit(staleness.p99),
        ));
    }
    if freshness.composer_reads > 0 {
        let fresh_share = freshness.composer_fresh_reads as f64 / freshness.composer_reads as f64;
        verdicts.push(format!(
            "composer answered {} of {} reads-after-write at the written version, reading the systems of record",
            format_percent(fresh_share),
            format_thousands(freshness.composer_reads as f64),
        ));
    }
    let composer_all_fresh =
        freshness.composer_reads == 0 || freshness.composer_fresh_reads == freshness.composer_reads;
    if composer_all_fresh && staleness.p99 > 0.0 {
        verdicts.push(format!(
            "the price of CQRS here: a reader may see an order up to {} old at p99 ({} at the worst), where composer shows it at once",
            format_ms_unit(staleness.p99),
            format_ms_unit(staleness.max),
        ));
    }
    let mut slowest: Option<(&String, &Percentiles)> = None;
    for (kind, percentiles) in &freshness.by_write_kind {
        if !percentiles.p99.is_finite() {
            continue;
        }
        if slowest.is_none_or(|(_, slowest_so_far)| percentiles.p99 > slowest_so_far.p99) {
            slowest = Some((kind, percentiles));
        }
    }
    if freshness.by_write_kind.len() > 1
        && let Some((kind, percentiles)) = slowest
    {
        verdicts
            .push(format!("the slowest kind of write to appear is {kind}, at p99 {}", format_ms_unit(percentiles.p99)));
    }
    verdicts
}

/// The healthy measurement of the same design and endpoint at the closest rate, to show what
/// a slowed dependency changed.
fn healthy_baseline<'a>(report: &'a Report, slowed: &LoadStep) -> Option<&'a LoadStep> {
    let mut best: Option<&LoadStep> = None;
    for candidate in report.slow_dependency.iter().chain(&report.get_by_id).chain(&report.search) {
        let comparable = candidate.design == slowed.design
            && candidate.endpoint == slowed.endpoint
            && candidate.condition == Condition::Healthy
            && served(Some(candidate)).is_some();
        if !comparable {
            continue;
        }
        let distance = (candidate.target_rps - slowed.target_rps).abs();
        if best.is_none_or(|best| distance < (best.target_rps - slowed.target_rps).abs()) {
            best = Some(candidate);
        }
    }
    best
}

/// `rises to 262 ms (healthy: 14 ms)`, or `stays at`, or `falls to`, from the two figures;
/// `reference` names the earlier one.
fn p99_movement(now: f64, before: Option<f64>, reference: &str) -> String {
    let Some(before) = before.filter(|before| before.is_finite()) else {
        return format!("is {}", format_ms_unit(now));
    };
    // A change must be both relative and absolute to count: 0.2 ms to 0.3 ms is noise.
    let verb = if now > before * 1.2 && now - before > 1.0 {
        "rises to"
    } else if now < before / 1.2 && before - now > 1.0 {
        "falls to"
    } else {
        "stays at"
    };
    format!("{verb} {} ({reference}: {})", format_ms_unit(now), format_ms_unit(before))
}

fn slow_dependency_sentence(report: &Report, pair: &StepPair<'_>) -> Option<String> {
    // The healthy step is the baseline itself: there is no change to tell.
    if *pair.condition == Condition::Healthy {
        return None;
    }
    let order_history = served(pair.order_history)?;
    let composer = served(pair.composer)?;
    let order_history_before = healthy_baseline(report, order_history).map(|step| step.latency_ms.p99);
    let composer_before = healthy_baseline(report, composer).map(|step| step.latency_ms.p99);
    let growth =
        |now: f64, before: Option<f64>| before.filter(|before| *before > 0.0).map_or(1.0, |before| now / before);
    // The design the fault moved most comes first: that is the news.
    let composer_moved_more =
        growth(composer.latency_ms.p99, composer_before) >= growth(order_history.latency_ms.p99, order_history_before);
    let composer_clause = format!("composer p99 {}", p99_movement(composer.latency_ms.p99, composer_before, "healthy"));
    let order_history_clause =
        format!("order-history p99 {}", p99_movement(order_history.latency_ms.p99, order_history_before, "healthy"));
    let (first, second) = if composer_moved_more {
        (composer_clause, order_history_clause)
    } else {
        (order_history_clause, composer_clause)
    };
    Some(format!("{}, {first} while {second}", fault_context(pair)))
}

fn render_slow_dependency(out: &mut String, report: &Report, charts: &[&str]) {
    push_line(out, "## Slow dependency");
    push_line(out, "");
    if report.slow_dependency.is_empty() {
        push_line(out, "Not run.");
        push_line(out, "");
        return;
    }
    push_line(out, "Every read of a source service delayed by fault injection, both designs under the same load.");
    push_line(out, "");
    let pairs = pair_steps_by_endpoint(&report.slow_dependency);
    push_load_table(out, &pairs);
    if report.dependency_down.is_empty() {
        push_chart(out, charts, AVAILABILITY_CHART);
    }
    let mut verdicts = Vec::new();
    for pair in &pairs {
        verdicts.extend(slow_dependency_sentence(report, pair));
        verdicts.extend(latency_sentences(report, pair, &fault_context(pair)));
    }
    push_verdicts(out, &verdicts);
}

fn outcomes_cell(step: &LoadStep) -> String {
    let mut outcomes: Vec<(&String, &u64)> = step.outcomes.iter().collect();
    outcomes.sort_by(|left, right| right.1.cmp(left.1).then(left.0.cmp(right.0)));
    let shown: Vec<String> = outcomes
        .iter()
        .take(4)
        .map(|(outcome, count)| format!("{outcome}: {}", format_thousands(**count as f64)))
        .collect();
    if shown.is_empty() {
        return "–".to_string();
    }
    shown.join(", ")
}

fn render_dependency_down(out: &mut String, report: &Report, charts: &[&str]) {
    push_line(out, "## Dependency down");
    push_line(out, "");
    if report.dependency_down.is_empty() {
        push_line(out, "Not run.");
        push_line(out, "");
        return;
    }
    push_line(out, "Every read of one source service answered 503 by fault injection, one service at a time.");
    push_line(out, "");
    let pairs = pair_steps_by_endpoint(&report.dependency_down);
    let mut rows = Vec::new();
    for pair in &pairs {
        for design in Design::BOTH {
            let Some(step) = pair.step(design) else { continue };
            rows.push(vec![
                pair.label.clone(),
                design.name().to_string(),
                format_share(full_answer_share(step)),
                format_share(any_answer_share(step)),
                format_share(degraded_share(step)),
                format_share(error_share(step)),
                outcomes_cell(step),
                format_ms(step.latency_ms.p50),
                format_ms(step.latency_ms.p99),
            ]);
        }
    }
    push_table(
        out,
        &["condition", "design", "full answer", "any answer", "degraded", "errors", "outcomes", "p50 (ms)", "p99 (ms)"],
        &rows,
    );
    push_chart(out, charts, AVAILABILITY_CHART);
    let mut verdicts = Vec::new();
    for pair in &pairs {
        verdicts.push(dependency_down_sentence(report, pair));
    }
    push_verdicts(out, &verdicts);
}

fn dependency_down_sentence(report: &Report, pair: &StepPair<'_>) -> String {
    let mut described = Vec::new();
    for design in Design::BOTH {
        let Some(step) = pair.step(design) else { continue };
        described.push(format!(
            "{} answered {} of requests ({} in full)",
            design.name(),
            format_share(any_answer_share(step)),
            format_share(full_answer_share(step)),
        ));
    }
    format!("{}, {}: {}", fault_context(pair), described.join(" and "), availability_verdict(report, pair))
}

fn services_or_none(services: &[String]) -> String {
    if services.is_empty() {
        return "no source service".to_string();
    }
    services.join(", ")
}

fn share_when_down(shares: &std::collections::BTreeMap<String, f64>, service: &str) -> String {
    format_optional(shares.get(service).copied(), format_percent)
}

fn render_coupling(out: &mut String, report: &Report, charts: &[&str]) {
    push_line(out, "## Coupling");
    push_line(out, "");
    if report.coupling.is_empty() {
        push_line(out, "Not derived: it needs the dependency-down scenario.");
        push_line(out, "");
        return;
    }
    push_line(
        out,
        "What each design needs from the source services at request time, from the dependency-down \
         measurements, and what a request costs.",
    );
    push_line(out, "");
    let mut header = vec!["design", "endpoint", "needs for any answer", "needs for a full answer"];
    let down_headers: Vec<String> =
        SOURCE_SERVICES.iter().map(|service| format!("any / full with {service} down")).collect();
    header.extend(down_headers.iter().map(String::as_str));
    header.extend(["calls / request", "bytes / request", "CPU ms / 1,000 requests"]);
    let mut rows = Vec::new();
    for row in &report.coupling {
        let mut cells = vec![
            row.design.name().to_string(),
            row.endpoint.clone(),
            services_or_none(&row.needs_for_any_answer),
            services_or_none(&row.needs_for_full_answer),
        ];
        for service in SOURCE_SERVICES {
            cells.push(format!(
                "{} / {}",
                share_when_down(&row.availability_when_down, service),
                share_when_down(&row.full_answer_when_down, service)
            ));
        }
        cells.push(format_optional(row.downstream_calls_per_request, format_count_precise));
        cells.push(format_optional(row.bytes_per_request, format_bytes));
        cells.push(format_optional(row.cpu_ms_per_1000, format_ms));
        rows.push(cells);
    }
    push_table(out, &header, &rows);
    push_chart(out, charts, COUPLING_CHART);

    let mut verdicts = Vec::new();
    for row in &report.coupling {
        verdicts.push(coupling_sentence(row));
    }
    for figure in per_request_figures() {
        for figures in per_endpoint_figures(report, figure.from_coupling, figure.from_step) {
            let (Some(order_history), Some(composer)) = (figures.order_history, figures.composer) else { continue };
            let context = format!("for {}", figures.endpoint);
            verdicts.push(figure_sentence(
                figure.name,
                &context,
                (order_history, composer),
                figure.format,
                per_request_verdict(report, &figures.endpoint, figure.key),
                figure.lower_is,
            ));
        }
    }
    push_verdicts(out, &verdicts);
}

fn coupling_sentence(row: &CouplingRow) -> String {
    let subject = format!("{} ({})", row.design.name(), row.endpoint);
    if row.needs_for_any_answer.is_empty() && row.needs_for_full_answer.is_empty() {
        return format!("{subject} answered in full with any one source service down: it needs none of them");
    }
    format!(
        "{subject} needs {} for any answer and {} for a full answer",
        services_or_none(&row.needs_for_any_answer),
        services_or_none(&row.needs_for_full_answer),
    )
}

/// The change-coupling table: how each design followed each change of payment-svc's contracts.
fn render_change_coupling(out: &mut String, report: &Report) {
    if report.contract_change.is_empty() {
        return;
    }
    push_line(out, "## Change coupling");
    push_line(out, "");
    push_line(
        out,
        "payment-svc's contracts changed under the running stack through its admin switch, one at a time, then reverted. \
         Each answer is sorted against payment-svc's own: correct, degraded (the caller sees the break) or wrong \
         (a 200 with other amounts, which nobody is told about).",
    );
    push_line(out, "");
    let header =
        ["change", "design", "reads", "correct", "degraded", "wrong", "visible after", "visible to", "had to change"];
    let rows: Vec<Vec<String>> = report
        .contract_change
        .iter()
        .map(|row| {
            let share = |count: u64| format_share(Some(count as f64 / row.reads.max(1) as f64));
            vec![
                row.change.clone(),
                row.design.name().to_string(),
                row.reads.to_string(),
                share(row.correct),
                share(row.degraded),
                share(row.wrong),
                row.visible_after_ms.map_or_else(|| "-".to_string(), |ms| format!("{ms:.0} ms")),
                row.visible_to.clone(),
                row.had_to_change.clone(),
            ]
        })
        .collect();
    push_table(out, &header, &rows);
}

fn render_cqrs_cost(out: &mut String, report: &Report) {
    push_line(out, "## Cost of CQRS");
    push_line(out, "");
    let Some(cost) = &report.cqrs_cost else {
        push_line(out, "Not run.");
        push_line(out, "");
        return;
    };
    push_line(out, "What order-history spends to keep its view; composer keeps no copy of the data.");
    push_line(out, "");
    let rows = vec![
        vec!["view size".to_string(), format_optional(cost.view_bytes.map(|bytes| bytes as f64), format_bytes)],
        vec![
            "Elasticsearch index (store size)".to_string(),
            format_optional(cost.elasticsearch_index_bytes.map(|bytes| bytes as f64), format_bytes),
        ],
        vec![
            "broker log (kept to rebuild)".to_string(),
            format_optional(cost.broker_log_bytes.map(|bytes| bytes as f64), format_bytes),
        ],
        vec![
            "source databases' size".to_string(),
            format_optional(cost.source_bytes.map(|bytes| bytes as f64), format_bytes),
        ],
        vec!["orders in the view".to_string(), format_thousands(cost.orders_in_view as f64)],
        vec!["events applied while seeding".to_string(), format_thousands(cost.events_applied as f64)],
        vec!["events applied per second".to_string(), format_count(cost.events_applied_per_second)],
        vec![
            "projection CPU while seeding (s)".to_string(),
            format_optional(cost.projection_cpu_seconds, format_count_precise),
        ],
        vec![
            "order-history resident memory".to_string(),
            format_optional(cost.order_history_rss_mib.map(|mib| mib * 1024.0 * 1024.0), format_bytes),
        ],
    ];
    push_table(out, &["figure", "value"], &rows);
    push_verdicts(out, &cqrs_cost_verdicts(cost));
}

fn cqrs_cost_verdicts(cost: &super::model::CqrsCost) -> Vec<String> {
    let mut verdicts = Vec::new();
    if let Some(view_bytes) = cost.view_bytes {
        let mut sentence = format!("the view takes {}", format_bytes(view_bytes as f64));
        if let Some(source_bytes) = cost.source_bytes.filter(|bytes| *bytes > 0) {
            let ratio = view_bytes as f64 / source_bytes as f64;
            // "0.5× the size" reads worse than "50.0% of the size".
            let relative = if ratio >= 1.0 { format_ratio(ratio) } else { format!("{} of", format_percent(ratio)) };
            sentence.push_str(&format!(
                ", {relative} the size of the source databases ({})",
                format_bytes(source_bytes as f64)
            ));
        }
        if cost.orders_in_view > 0 {
            sentence.push_str(&format!(
                ", about {} per order",
                format_bytes(view_bytes as f64 / cost.orders_in_view as f64)
            ));
        }
        verdicts.push(sentence);
    }
    if let Some(cpu_seconds) = cost.projection_cpu_seconds.filter(|seconds| seconds.is_finite())
        && cost.events_applied > 0
    {
        let microseconds_per_event = cpu_seconds * 1_000_000.0 / cost.events_applied as f64;
        verdicts.push(format!(
            "projecting {} events cost {} s of CPU, {} µs per event",
            format_thousands(cost.events_applied as f64),
            format_count_precise(cpu_seconds),
            format_count(microseconds_per_event),
        ));
    }
    verdicts
}

fn render_seeding(out: &mut String, report: &Report) {
    push_line(out, "## Seeding");
    push_line(out, "");
    let Some(seeding) = &report.seeding else {
        push_line(out, "Not run.");
        push_line(out, "");
        return;
    };
    let mut rows = vec![
        vec!["seed".to_string(), seeding.seed.to_string()],
        vec!["orders".to_string(), format_thousands(seeding.orders as f64)],
        vec!["customers".to_string(), format_thousands(seeding.customers as f64)],
        vec!["payments".to_string(), format_thousands(seeding.payments as f64)],
        vec!["shipments".to_string(), format_thousands(seeding.shipments as f64)],
        vec!["writes acknowledged".to_string(), format_thousands(seeding.writes as f64)],
        vec!["writes refused".to_string(), format_thousands(seeding.write_errors as f64)],
        vec!["writing took (s)".to_string(), format_count_precise(seeding.write_seconds)],
        vec!["convergence after the last write (s)".to_string(), format_count_precise(seeding.converge_seconds)],
        vec!["orders verified".to_string(), format_thousands(seeding.orders_verified as f64)],
    ];
    for (kind, count) in &seeding.mix {
        rows.push(vec![format!("mix: {kind}"), format_thousands(*count as f64)]);
    }
    push_table(out, &["figure", "value"], &rows);

    let mut verdicts = Vec::new();
    if seeding.write_seconds > 0.0 {
        verdicts.push(format!(
            "the source services acknowledged {} writes in {} s ({} writes/s)",
            format_thousands(seeding.writes as f64),
            format_count_precise(seeding.write_seconds),
            format_count(seeding.writes as f64 / seeding.write_seconds),
        ));
    }
    if seeding.write_errors == 0 {
        verdicts.push("no write was refused while seeding".to_string());
    } else {
        verdicts.push(format!("{} writes were refused while seeding", format_thousands(seeding.write_errors as f64)));
    }
    let verified = if seeding.orders_verified == seeding.orders {
        "every order verified by id and version".to_string()
    } else {
        format!(
            "{} of {} orders verified by id and version",
            format_thousands(seeding.orders_verified as f64),
            format_thousands(seeding.orders as f64)
        )
    };
    verdicts.push(format!(
        "order-history held every order at its latest version {} s after the last write ({verified})",
        format_count_precise(seeding.converge_seconds),
    ));
    push_verdicts(out, &verdicts);
}

/// How long the run took, when both ends parse as RFC 3339.
fn run_duration(started_at: &str, finished_at: &str) -> Option<String> {
    let started = chrono::DateTime::parse_from_rfc3339(started_at).ok()?;
    let finished = chrono::DateTime::parse_from_rfc3339(finished_at).ok()?;
    let seconds = (finished - started).num_seconds();
    if seconds < 0 {
        return None;
    }
    Some(format!("{} min {} s", seconds / 60, seconds % 60))
}

fn push_map_table(out: &mut String, title: &str, entries: &std::collections::BTreeMap<String, String>) {
    if entries.is_empty() {
        return;
    }
    push_line(out, &format!("**{title}**"));
    push_line(out, "");
    let rows: Vec<Vec<String>> = entries.iter().map(|(name, value)| vec![name.clone(), value.clone()]).collect();
    push_table(out, &["name", "value"], &rows);
}

fn render_environment(out: &mut String, report: &Report) {
    let environment = &report.environment;
    push_line(out, "## Environment");
    push_line(out, "");
    let mut started = format!("- started {}, finished {}", environment.started_at, environment.finished_at);
    if let Some(duration) = run_duration(&environment.started_at, &environment.finished_at) {
        started.push_str(&format!(" ({duration})"));
    }
    push_line(out, &started);
    push_line(out, &format!("- {} CPUs, {}", environment.cpus, environment.os));
    let memory = format_optional(environment.memory_total_mib.map(|mib| mib as f64 * 1024.0 * 1024.0), format_bytes);
    push_line(out, &format!("- memory: {memory}"));
    if let Some(idle) = environment.idle_cpu_cores {
        push_line(
            out,
            &format!(
                "- the stack's processes used {idle:.2} CPU cores while idle (the standing cost, charged per design above; nothing is subtracted from any step)"
            ),
        );
    }
    push_line(out, &format!("- profile: {}", environment.profile));
    push_line(out, &format!("- compare {}", environment.compare_version));
    push_line(out, "");
    if !environment.idle_cpu.is_empty() {
        push_line(out, "### CPU of the idle stack, per process");
        push_line(out, "");
        push_line(out, "| process | cores |");
        push_line(out, "|---|---:|");
        for process in &environment.idle_cpu {
            push_line(out, &format!("| {} | {:.3} |", process.process, process.cores));
        }
        push_line(out, "");
    }
    push_map_table(out, "Versions", &environment.versions);
    push_map_table(out, "Parameters", &environment.parameters);
    push_map_table(out, "Endpoints", &environment.endpoints);
}

fn render_how_to_read(out: &mut String) {
    push_line(out, "## How to read this");
    push_line(out, "");
    push_line(
        out,
        "- Latencies are measured from each request's intended send time on an open-loop schedule, so a \
         design that stalls is charged for the requests queued behind the stall (coordinated omission \
         avoided).",
    );
    push_line(out, "- An error is a non-2xx answer or no answer at all (timeout, refused connection).");
    push_line(
        out,
        "- Degraded is a 200 with parts of the answer missing, as composer answers when a dependency fails.",
    );
    push_line(
        out,
        "- Every request has the same deadline, whichever design answers; a later answer is a timeout error. \
         Percentiles are of the successes only; the errors, by kind, are beside them, and a step where either \
         design failed more than 1% is not compared on latency.",
    );
    push_line(
        out,
        "- Each compared step is measured several times, the designs interleaved (A B, B A, …); a figure is \
         the median of its repetitions. A ratio is order-history ÷ composer (below 1 favours order-history), \
         with a 95% bootstrap interval over the repetitions' figures (fixed seed, so the same measurements \
         give the same report). A design wins only when the interval excludes 1; otherwise there is no \
         measurable difference. One run gives no interval, so a --quick report names no winner.",
    );
}

#[cfg(test)]
mod tests {
    use super::super::tests::{empty_report, full_report, set_repetitions};
    use super::*;

    fn position(markdown: &str, needle: &str) -> usize {
        markdown.find(needle).unwrap_or_else(|| panic!("{needle:?} not found in:\n{markdown}"))
    }

    #[test]
    fn summary_table_comes_before_the_first_scenario_section() {
        let markdown = render(&full_report(), &[]);
        let title = position(&markdown, "# CQRS vs API Composition: order history");
        let summary = position(&markdown, "## Summary");
        let table_header =
            position(&markdown, "| question | order-history (CQRS) | composer (API Composition) | verdict |");
        let first_section = position(&markdown, "## GET by id");
        assert!(title < summary && summary < table_header && table_header < first_section);
    }

    #[test]
    fn verdicts_state_ratios_computed_from_the_figures() {
        let markdown = render(&full_report(), &[]);
        // 13.6 ms against 4.0 ms in each of three repetitions (±5%)
        assert!(
            markdown.contains("P99 at 200 req/s: order-history 4.0 ms, composer 14 ms; order-history 3.4× faster; ratio 0.29 (95% CI 0.27–0.33)"),
            "{markdown}"
        );
        assert!(markdown.contains(
            "| GET by id p99 at 1,000 req/s | 4.0 ms | 14 ms | order-history 3.4× faster; ratio 0.29 (95% CI 0.27–0.33) |"
        ));
    }

    #[test]
    fn says_so_when_composer_is_faster() {
        let mut report = full_report();
        for step in report.search.iter_mut().filter(|step| step.design == Design::OrderHistory) {
            step.latency_ms.p99 = 18.0;
            set_repetitions(step);
        }
        report.verdicts = crate::verdict::report_verdicts(&report);
        let markdown = render(&report, &[]);
        // Customer search: composer 7 ms, order-history 18 ms.
        assert!(
            markdown.contains("| customer search p99 at 200 req/s | 18 ms | 7.0 ms | composer 2.6× faster"),
            "{markdown}"
        );
        assert!(
            markdown
                .contains("P99 for customer search 200/s: order-history 18 ms, composer 7.0 ms; composer 2.6× faster")
        );
    }

    #[test]
    fn one_stall_in_one_repetition_is_no_measurable_difference() {
        let mut report = full_report();
        // customer search: 9 ms and 7 ms, but one merge stall in one of order-history's runs
        let order_history =
            report.search.iter_mut().find(|step| step.design == Design::OrderHistory).expect("a customer search");
        order_history.repetitions[1].latency_ms.p99 = 400.0;
        order_history.repetitions[0].latency_ms.p99 = 6.0;
        report.verdicts = crate::verdict::report_verdicts(&report);
        let markdown = render(&report, &[]);
        assert!(
            markdown.contains("| customer search p99 at 200 req/s | 9.0 ms | 7.0 ms | no measurable difference; ratio"),
            "{markdown}"
        );
    }

    #[test]
    fn the_intro_says_how_often_each_step_was_measured() {
        let markdown = render(&full_report(), &[]);
        assert!(markdown.contains("Each compared step was measured 3 times"), "{markdown}");
        let mut once = full_report();
        once.runs = 1;
        assert!(render(&once, &[]).contains("Each step was measured once"));
    }

    #[test]
    fn one_run_names_no_winner() {
        let mut report = full_report();
        for step in report.get_by_id.iter_mut() {
            step.repetitions.truncate(1);
        }
        report.runs = 1;
        report.verdicts = crate::verdict::report_verdicts(&report);
        let markdown = render(&report, &[]);
        assert!(
            markdown.contains("| GET by id p99 at 200 req/s | 4.0 ms | 14 ms | no measurable difference: one run gives no interval; ratio 0.29 (95% CI 0.29–0.29) |"),
            "{markdown}"
        );
    }

    #[test]
    fn a_slowed_dependency_is_compared_with_the_healthy_run() {
        let markdown = render(&full_report(), &[]);
        assert!(markdown.contains(
            "With shipping-svc +250 ms (get by id), composer p99 rises to 262 ms (healthy: 14 ms) while order-history p99 stays at 4.1 ms (healthy: 4.0 ms)"
        ), "{markdown}");
    }

    #[test]
    fn summary_names_what_composer_cannot_serve_and_its_freshness() {
        let markdown = render(&full_report(), &[]);
        assert!(markdown.contains("| global search (no customer) p99 at 200 req/s | 12 ms | cannot serve | only order-history can serve it |"), "{markdown}");
        // composer's freshness is the share it measured, never a constant
        assert!(markdown.contains(
            "| 100% of 500 reads right after the write showed it | composer fresher: order-history lags 180 ms at p99 |"
        ), "{markdown}");
        assert!(markdown.contains("| order-svc down (get by id): any answer / full answer | 100% / 100% | 0% / 0% | order-history answers more (100% vs 0%) |"));
        // Composer is not asked for a global search under faults: the summary says why.
        assert!(markdown.contains("| order-svc down (global search): any answer / full answer | 100% / 100% | cannot serve | only order-history can serve it |"));
        assert!(markdown.contains(
            "| p99 with shipping-svc +250 ms (customer search) | 4.1 ms | 262 ms | order-history 64× faster; ratio 0.02 (95% CI 0.01–0.02) |"
        ));
        assert!(markdown.contains(
            "| downstream calls per request (get by id) | 0.0 | 3.0 | order-history fewer calls; ratio 0.00 (95% CI 0.00–0.00) |"
        ));
        assert!(
            markdown.contains("| CPU ms per 1,000 requests (get by id) | 300 | 900 | order-history 3.0× less CPU; ratio 0.33 (95% CI 0.30–0.37) |")
        );
        // the broker's log is CQRS's storage as much as the view is
        assert!(
            markdown.contains("| storage beyond the sources | 48.0 MiB of view + 38.1 MiB of broker log (the sources hold 96.0 MiB) | none: no copy of the data | CQRS stores 86.1 MiB more, 89.7% of the source databases |"),
            "{markdown}"
        );
    }

    #[test]
    fn embeds_only_the_charts_written() {
        let markdown = render(&full_report(), &[FRESHNESS_CHART]);
        assert!(markdown.contains("![order-history staleness CDF](freshness_cdf.svg)"));
        assert!(!markdown.contains("latency.svg"));
        assert!(!markdown.contains("coupling.svg"));
    }

    #[test]
    fn empty_report_renders_every_section_as_not_run() {
        let markdown = render(&empty_report(), &[]);
        assert!(markdown.contains("No scenario was run, so there is nothing to compare."));
        assert!(markdown.contains("## GET by id\n\nNot run."));
        assert!(markdown.contains("## Environment"));
        assert!(markdown.contains("## How to read this"));
        assert!(!markdown.contains("NaN"));
    }

    #[test]
    fn missing_other_design_is_not_compared() {
        let mut report = full_report();
        report.get_by_id.retain(|step| step.design == Design::OrderHistory);
        let markdown = render(&report, &[]);
        assert!(
            markdown.contains(
                "| GET by id p99 at 200 req/s | 4.0 ms | not run | not compared: composer was not measured |"
            )
        );
    }

    #[test]
    fn degenerate_figures_render_as_not_available() {
        let mut report = full_report();
        for step in report.get_by_id.iter_mut().chain(&mut report.dependency_down) {
            step.latency_ms.p99 = f64::NAN;
            step.sent = 0;
        }
        report.coupling.clear();
        let markdown = render(&report, &[]);
        assert!(!markdown.contains("NaN"), "{markdown}");
        assert!(!markdown.contains(" inf"), "{markdown}");
        assert!(markdown.contains("Not derived: it needs the dependency-down scenario."));
    }

    #[test]
    fn without_coupling_the_per_request_costs_come_from_the_load_steps() {
        let mut report = full_report();
        report.coupling.clear();
        let markdown = render(&report, &[]);
        // the figures and the verdict of the highest rate's steps
        assert!(
            markdown.contains(
                "| downstream calls per request (get by id) | 0.0 | 3.0 | order-history fewer calls; ratio 0.00 (95% CI 0.00–0.00) |"
            ),
            "{markdown}"
        );
    }

    #[test]
    fn a_fast_design_that_fails_says_so() {
        let mut report = full_report();
        for step in report.get_by_id.iter_mut().filter(|step| step.design == Design::Composer) {
            step.latency_ms.p99 = 1.0;
            step.errors = step.sent / 5;
            step.ok = step.sent - step.errors;
        }
        let markdown = render(&report, &[]);
        assert!(
            markdown.contains(
                "| 1.0 ms (20.0% errors) | order-history answered 100%; composer failed 20.0% (latencies of failing requests are not compared) |"
            ),
            "{markdown}"
        );
        assert!(markdown.contains("Composer answered 20.0% of requests at 200 req/s with an error"));
    }

    #[test]
    fn run_duration_reads_rfc3339() {
        assert_eq!(run_duration("2025-01-01T10:00:00Z", "2025-01-01T10:20:05Z").as_deref(), Some("20 min 5 s"));
        assert_eq!(run_duration("yesterday", "2025-01-01T10:20:05Z"), None);
    }

    #[test]
    fn table_cells_keep_to_their_row() {
        assert_eq!(escape_cell("a | b\nc"), "a \\| b c");
    }
}
