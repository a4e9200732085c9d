//! The report's charts, drawn as SVG files with plotters.
//!
//! Each chart function returns `false`, and writes nothing, when the report has no data for it,
//! so a partial run still renders. Every figure is checked for finiteness before it reaches
//! plotters, which would otherwise write `NaN` coordinates into the SVG.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::RangedCoordi32;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::model::{Condition, Design, Percentiles, Report, SOURCE_SERVICES};
use super::{
    StepPair, any_answer_share, endpoint_kind, format_count, format_ms, format_percent, format_rate, full_answer_share,
    pair_steps, pair_steps_by_endpoint, refusal,
};

pub const LATENCY_CHART: &str = "latency.svg";
pub const FRESHNESS_CHART: &str = "freshness_cdf.svg";
pub const AVAILABILITY_CHART: &str = "availability.svg";
pub const COUPLING_CHART: &str = "coupling.svg";
pub const CAPACITY_CHART: &str = "capacity.svg";

/// Each chart's title, the alt text of its image wherever it is shown.
pub fn title(chart: &str) -> &'static str {
    match chart {
        CAPACITY_CHART => "p99 against offered rate in the capacity search",
        LATENCY_CHART => "latency percentiles by scenario",
        FRESHNESS_CHART => "order-history staleness CDF",
        AVAILABILITY_CHART => "availability under faults",
        COUPLING_CHART => "coupling matrix",
        _ => "chart",
    }
}

const FONT: &str = "sans-serif";
/// The legend strip beside a plot, when the legend goes beside it.
const LEGEND_WIDTH: u32 = 230;
/// The legend strip above a plot, when the plot needs the full width.
const LEGEND_HEIGHT: u32 = 28;
/// Horizontal room per group of the category charts, so their labels do not run into each other.
const GROUP_WIDTH: u32 = 90;

type SvgArea<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Writes every chart the report has data for into `dir`, and returns the file names written.
pub fn write_charts(report: &Report, dir: &Path) -> anyhow::Result<Vec<&'static str>> {
    type DrawChart = fn(&Report, &Path) -> anyhow::Result<bool>;
    let charts: [(&'static str, DrawChart); 5] = [
        (CAPACITY_CHART, capacity_chart),
        (LATENCY_CHART, latency_chart),
        (FRESHNESS_CHART, freshness_chart),
        (AVAILABILITY_CHART, availability_chart),
        (COUPLING_CHART, coupling_chart),
    ];
    let mut written = Vec::new();
    for (name, draw_chart) in charts {
        if draw_chart(report, &dir.join(name))? {
            written.push(name);
        }
    }
    Ok(written)
}

fn design_colour(design: Design) -> RGBColor {
    match design {
        Design::OrderHistory => RGBColor(31, 119, 180),
        Design::Composer => RGBColor(230, 120, 20),
    }
}

/// The design's colour washed out, for the secondary figure of a pair of bars.
fn design_colour_light(design: Design) -> RGBColor {
    let RGBColor(red, green, blue) = design_colour(design);
    let lighten = |channel: u8| channel + ((255 - channel) as f64 * 0.6) as u8;
    RGBColor(lighten(red), lighten(green), lighten(blue))
}

fn design_title(design: Design) -> String {
    format!("{} ({})", design.name(), design.pattern())
}

fn text_style(size: u32, anchor: Pos) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).pos(anchor)
}

fn centred() -> Pos {
    Pos::new(HPos::Center, VPos::Center)
}

fn left_centred() -> Pos {
    Pos::new(HPos::Left, VPos::Center)
}

/// Category charts place group `i` at `i * GROUP_SPAN` on an integer axis, so a group's designs
/// can sit side by side at fractions of a group. (An integer axis, because plotters formats the
/// labels of a keyed `f64` axis only through its default formatter.)
const GROUP_SPAN: i32 = 1000;

/// The x of a point `offset` groups (a fraction) away from group `index`'s centre.
fn group_x(index: usize, offset: f64) -> i32 {
    index as i32 * GROUP_SPAN + (offset * GROUP_SPAN as f64).round() as i32
}

/// The category axis: the groups' centres are its only ticks.
fn category_axis(count: usize) -> WithKeyPoints<RangedCoordi32> {
    let keys: Vec<i32> = (0..count).map(|index| group_x(index, 0.0)).collect();
    (-GROUP_SPAN / 2..count as i32 * GROUP_SPAN - GROUP_SPAN / 2).with_key_points(keys)
}

fn category_label(labels: &[String], position: i32) -> String {
    if position < 0 || position % GROUP_SPAN != 0 {
        return String::new();
    }
    labels.get((position / GROUP_SPAN) as usize).cloned().unwrap_or_default()
}

/// A condition for an axis: `shipping +250 ms`, `order down`; the `-svc` suffix takes room and
/// says nothing here.
fn short_condition(condition: &Condition) -> String {
    match condition {
        Condition::Healthy => "no fault".to_string(),
        other => other.label().replace("-svc", ""),
    }
}

/// A latency group's axis label, in two short lines: what was read, then at what rate or under
/// what fault. Two lines keep a dozen groups legible at 1,000 px.
fn latency_axis_lines(pair: &StepPair<'_>) -> [String; 2] {
    let what = endpoint_kind(pair.endpoint);
    let how = match pair.scenario {
        "get_by_id" | "customer_search" | "global_search" => format_rate(pair.target_rps),
        _ => short_condition(pair.condition),
    };
    [what, how]
}

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
enum Marker {
    Box,
    Line,
    Circle,
    Triangle,
    Cross,
    /// A hollow square: the mark of a step whose errors exceed [`FAILING_MARK_ABOVE`].
    Outline,
}

/// Above this share of errors a step's latency point is marked: its percentiles are of the
/// successes only, and the reader must see that many requests are not in them.
pub const FAILING_MARK_ABOVE: f64 = 0.01;
/// The colour of that mark.
const FAILING_COLOUR: RGBColor = RGBColor(200, 30, 30);

struct LegendEntry {
    label: String,
    marker: Marker,
    colour: RGBColor,
}

fn draw_marker(area: &SvgArea<'_>, marker: Marker, colour: RGBColor, (x, y): (i32, i32)) -> anyhow::Result<()> {
    match marker {
        Marker::Box => area.draw(&Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()))?,
        Marker::Line => area.draw(&PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(3)))?,
        Marker::Circle => area.draw(&Circle::new((x + 7, y), 5, colour.filled()))?,
        Marker::Triangle => area.draw(&TriangleMarker::new((x + 7, y), 7, colour.filled()))?,
        Marker::Cross => area.draw(&Cross::new((x + 7, y), 5, colour.stroke_width(2)))?,
        Marker::Outline => area.draw(&Rectangle::new([(x, y - 7), (x + 14, y + 7)], colour.stroke_width(2)))?,
    }
    Ok(())
}

/// Draws the legend in its own strip beside the plot, where it can never hide data.
fn draw_legend(area: &SvgArea<'_>, entries: &[LegendEntry]) -> anyhow::Result<()> {
    for (index, entry) in entries.iter().enumerate() {
        let y = 50 + index as i32 * 24;
        draw_marker(area, entry.marker, entry.colour, (10, y))?;
        area.draw(&Text::new(entry.label.clone(), (32, y), text_style(13, left_centred())))?;
    }
    Ok(())
}

/// Draws the legend as one row in a strip above the plot, so the plot keeps the full width.
fn draw_legend_row(area: &SvgArea<'_>, entries: &[LegendEntry]) -> anyhow::Result<()> {
    let y = 14;
    let mut x = 80;
    for entry in entries {
        draw_marker(area, entry.marker, entry.colour, (x, y))?;
        area.draw(&Text::new(entry.label.clone(), (x + 20, y), text_style(13, left_centred())))?;
        // SVG text has no measured width here: 7 px a character is generous at 13 px.
        x += 20 + entry.label.chars().count() as i32 * 7 + 24;
    }
    Ok(())
}

/// One design's latency at one step, all three percentiles finite.
struct LatencyPoint {
    design: Design,
    p50: f64,
    p99: f64,
    p999: f64,
    /// The step's error share when it is above [`FAILING_MARK_ABOVE`].
    failing_share: Option<f64>,
}

struct LatencyGroup {
    axis_lines: [String; 2],
    /// Which of the report's lists the step came from, so the chart can separate them by a rule.
    section: usize,
    points: Vec<LatencyPoint>,
}

fn latency_point(design: Design, latency: &Percentiles, error_rate: f64) -> Option<LatencyPoint> {
    let figures = [latency.p50, latency.p99, latency.p999];
    if figures.iter().any(|figure| !figure.is_finite() || *figure < 0.0) {
        return None;
    }
    let failing_share = (error_rate.is_finite() && error_rate > FAILING_MARK_ABOVE).then_some(error_rate);
    Some(LatencyPoint { design, p50: latency.p50, p99: latency.p99, p999: latency.p999, failing_share })
}

/// The steps of scenarios 1, 2 and 4 that served requests, paired by design.
fn latency_groups(report: &Report) -> Vec<LatencyGroup> {
    let mut groups = Vec::new();
    let scenarios =
        [pair_steps(&report.get_by_id), pair_steps(&report.search), pair_steps_by_endpoint(&report.slow_dependency)];
    for (section, pairs) in scenarios.into_iter().enumerate() {
        for pair in pairs {
            let mut points = Vec::new();
            for design in Design::BOTH {
                let Some(step) = pair.step(design) else { continue };
                // A refused endpoint's latency measures how fast it says no, not serving it.
                if step.not_servable.is_some() || step.sent == 0 {
                    continue;
                }
                if let Some(point) = latency_point(design, &step.latency_ms, step.error_rate) {
                    points.push(point);
                }
            }
            if !points.is_empty() {
                groups.push(LatencyGroup { axis_lines: latency_axis_lines(&pair), section, points });
            }
        }
    }
    groups
}

/// Latency percentiles (p50, p99, p99.9) per step and design, on a logarithmic axis in ms.
pub fn latency_chart(report: &Report, path: &Path) -> anyhow::Result<bool> {
    let groups = latency_groups(report);
    let all_figures: Vec<f64> =
        groups.iter().flat_map(|group| &group.points).flat_map(|point| [point.p50, point.p99, point.p999]).collect();
    let smallest_positive = all_figures.iter().copied().filter(|figure| *figure > 0.0).fold(f64::INFINITY, f64::min);
    let largest = all_figures.iter().copied().fold(0.0, f64::max);
    if groups.is_empty() || !smallest_positive.is_finite() || largest <= 0.0 {
        return Ok(false);
    }
    // A log axis cannot show 0: such figures sit on the axis floor, below every measured one.
    let floor = smallest_positive / 2.0;
    let ceiling = largest * 2.0;
    let on_axis = |ms: f64| ms.max(floor);

    let width = (groups.len() as u32 * GROUP_WIDTH + 100).max(1000);
    let root = SVGBackend::new(path, (width, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let titled = root.titled("Latency by scenario: p50, p99, p99.9 (ms, log scale)", (FONT, 20))?;
    let (legend_area, plot_area) = titled.split_vertically(LEGEND_HEIGHT);

    let mut chart = ChartBuilder::on(&plot_area)
        .margin(10)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(category_axis(groups.len()), (floor..ceiling).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        // The two-line labels are drawn below, by hand: plotters writes one line a tick.
        .x_label_formatter(&|_| String::new())
        .y_desc("latency (ms)")
        .y_label_formatter(&|ms| format_ms(*ms))
        .draw()?;

    let rule_colour = RGBColor(190, 190, 190);
    for (group_index, group) in groups.iter().enumerate() {
        let starts_scenario = group_index > 0 && groups[group_index - 1].section != group.section;
        if starts_scenario {
            let x = group_x(group_index, -0.5);
            chart.draw_series([PathElement::new(vec![(x, floor), (x, ceiling)], rule_colour.stroke_width(1))])?;
        }
        let (label_x, label_y) = chart.backend_coord(&(group_x(group_index, 0.0), floor));
        for (line_index, line) in group.axis_lines.iter().enumerate() {
            let y = label_y + 8 + line_index as i32 * 16;
            root.draw(&Text::new(line.clone(), (label_x, y), text_style(12, Pos::new(HPos::Center, VPos::Top))))?;
        }
        for point in &group.points {
            let offset = match point.design {
                Design::OrderHistory => -0.17,
                Design::Composer => 0.17,
            };
            let x = group_x(group_index, offset);
            let colour = design_colour(point.design);
            chart.draw_series([PathElement::new(
                vec![(x, on_axis(point.p50)), (x, on_axis(point.p999))],
                colour.stroke_width(2),
            )])?;
            chart.draw_series([Circle::new((x, on_axis(point.p50)), 5, colour.filled())])?;
            chart.draw_series([TriangleMarker::new((x, on_axis(point.p99)), 7, colour.filled())])?;
            chart.draw_series([Cross::new((x, on_axis(point.p999)), 5, colour.stroke_width(2))])?;
            // The p99 is the headline figure: write it so the reader need not read the log axis.
            chart.draw_series([Text::new(
                format_ms(point.p99),
                (x + GROUP_SPAN / 20, on_axis(point.p99)),
                text_style(11, left_centred()),
            )])?;
            if let Some(share) = point.failing_share {
                // a box around the whole whisker and the error share above it: these
                // percentiles leave out the failed requests
                let (top_x, top_y) = chart.backend_coord(&(x, on_axis(point.p999)));
                let (_, bottom_y) = chart.backend_coord(&(x, on_axis(point.p50)));
                root.draw(&Rectangle::new(
                    [(top_x - 9, top_y - 9), (top_x + 9, bottom_y + 9)],
                    FAILING_COLOUR.stroke_width(2),
                ))?;
                root.draw(&Text::new(
                    format!("{} errors", format_percent(share)),
                    (top_x, top_y - 12),
                    text_style(11, Pos::new(HPos::Center, VPos::Bottom)).color(&FAILING_COLOUR),
                ))?;
            }
        }
    }

    let marker_colour = RGBColor(80, 80, 80);
    let mut legend = Vec::new();
    for design in Design::BOTH {
        legend.push(LegendEntry { label: design_title(design), marker: Marker::Box, colour: design_colour(design) });
    }
    legend.push(LegendEntry { label: "p50".to_string(), marker: Marker::Circle, colour: marker_colour });
    legend.push(LegendEntry {
        label: "p99 (value written)".to_string(),
        marker: Marker::Triangle,
        colour: marker_colour,
    });
    legend.push(LegendEntry { label: "p99.9".to_string(), marker: Marker::Cross, colour: marker_colour });
    let any_failing = groups.iter().flat_map(|group| &group.points).any(|point| point.failing_share.is_some());
    if any_failing {
        legend.push(LegendEntry {
            label: "over 1% errors: percentiles of successes only".to_string(),
            marker: Marker::Outline,
            colour: FAILING_COLOUR,
        });
    }
    draw_legend_row(&legend_area, &legend)?;
    root.present()?;
    Ok(true)
}

/// The CDF's points that can be drawn: finite, non-negative ms, fractions within 0..1.
fn drawable_cdf(cdf: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    for &(ms, fraction) in cdf {
        if !ms.is_finite() || !fraction.is_finite() || ms < 0.0 {
            continue;
        }
        points.push((ms, fraction.clamp(0.0, 1.0)));
    }
    points
}

/// The CDF as a staircase from (0, 0): the share only changes at a measured staleness.
fn cdf_staircase(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut staircase = vec![(0.0, 0.0)];
    let mut previous_fraction = 0.0;
    for &(ms, fraction) in points {
        staircase.push((ms, previous_fraction));
        staircase.push((ms, fraction));
        previous_fraction = fraction;
    }
    staircase
}

/// The staleness CDF of order-history, with composer's freshness at 0 ms for contrast.
/// The capacity search's probes: p99 against offered rate, one line per design and request
/// kind, both axes logarithmic, the SLO as a horizontal line. A probe that broke the SLO with
/// errors is drawn hollow.
pub fn capacity_chart(report: &Report, path: &Path) -> anyhow::Result<bool> {
    let searched: Vec<&super::model::Capacity> =
        report.capacity.iter().filter(|row| row.probes.iter().any(|probe| drawable(probe.p99_ms))).collect();
    if searched.is_empty() {
        return Ok(false);
    }
    let probes = searched.iter().flat_map(|row| row.probes.iter()).filter(|probe| drawable(probe.p99_ms));
    let (mut x_min, mut x_max, mut y_max) = (f64::MAX, 0.0f64, 0.0f64);
    for probe in probes {
        x_min = x_min.min(probe.rps);
        x_max = x_max.max(probe.rps);
        y_max = y_max.max(probe.p99_ms);
    }
    let slo_ms = searched[0].slo_ms;
    let y_max = y_max.max(slo_ms) * 2.0;
    let y_min = 0.1;
    let root = SVGBackend::new(path, (1000, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let titled = root.titled("Capacity search: p99 against offered rate", (FONT, 20))?;
    let (plot_area, legend_area) = titled.split_horizontally(1000 - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x_min * 0.8..x_max * 1.25).log_scale(), (y_min..y_max).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("offered rate (requests/s, open loop)")
        .y_desc("p99 of successes (ms)")
        .x_label_formatter(&|rps| format_count(*rps))
        .y_label_formatter(&|ms| format_ms(*ms))
        .draw()?;
    chart.draw_series([PathElement::new(
        vec![(x_min * 0.8, slo_ms), (x_max * 1.25, slo_ms)],
        BLACK.mix(0.6).stroke_width(1),
    )])?;
    let mut legend = Vec::new();
    for row in &searched {
        let colour = design_colour(row.design);
        let style = match endpoint_kind(&row.kind).as_str() {
            "get by id" => colour.stroke_width(2),
            _ => colour.mix(0.55).stroke_width(2),
        };
        let mut points: Vec<(f64, f64)> = row
            .probes
            .iter()
            .filter(|probe| drawable(probe.p99_ms))
            .map(|probe| (probe.rps, probe.p99_ms.max(y_min)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart.draw_series(LineSeries::new(points, style))?;
        for probe in row.probes.iter().filter(|probe| drawable(probe.p99_ms)) {
            let at = (probe.rps, probe.p99_ms.max(y_min));
            if probe.passed {
                chart.draw_series([Circle::new(at, 4, colour.filled())])?;
            } else {
                chart.draw_series([Circle::new(at, 4, colour.stroke_width(2))])?;
            }
        }
        legend.push(LegendEntry {
            label: format!("{}, {}", row.design.name(), endpoint_kind(&row.kind)),
            marker: Marker::Line,
            colour,
        });
    }
    draw_legend(&legend_area, &legend)?;
    let note = format!("line: SLO p99 {} ms; hollow: broke it", format_ms(slo_ms));
    legend_area.draw(&Text::new(note, (10, 50 + 24 * legend.len() as i32), text_style(12, left_centred())))?;
    root.present()?;
    Ok(true)
}

fn drawable(value: f64) -> bool {
    value.is_finite() && value > 0.0
}

pub fn freshness_chart(report: &Report, path: &Path) -> anyhow::Result<bool> {
    let Some(freshness) = &report.freshness else { return Ok(false) };
    let points = drawable_cdf(&freshness.cdf);
    if points.is_empty() {
        return Ok(false);
    }
    let largest_ms = points.iter().map(|(ms, _)| *ms).fold(0.0, f64::max);
    // A long tail (a write seen only near the wait limit) would squeeze the body of the curve
    // into the first pixels: the axis stops at three times the p99.9, and the legend says so.
    let p999 = freshness.staleness_ms.p999;
    let body_ms = if p999.is_finite() && p999 > 0.0 { p999 * 3.0 } else { largest_ms };
    let axis_ms = largest_ms.min(body_ms);
    let axis_is_cut = axis_ms < largest_ms;
    let x_max = if axis_ms > 0.0 { axis_ms * 1.05 } else { 1.0 };

    let root = SVGBackend::new(path, (1000, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let titled = root.titled("Freshness: how long until order-history shows a write", (FONT, 20))?;
    let (plot_area, legend_area) = titled.split_horizontally(1000 - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        // Headroom above 100% holds composer's annotation clear of the curve.
        .build_cartesian_2d(0.0..x_max, 0.0..1.12)?;
    chart
        .configure_mesh()
        .x_desc("ms from the write's acknowledgement until order-history returned it")
        .y_desc("share of observed writes")
        .x_label_formatter(&|ms| format_ms(*ms))
        .y_label_formatter(&|fraction| {
            if *fraction <= 1.0 { format!("{:.0}%", fraction * 100.0) } else { String::new() }
        })
        .draw()?;

    let cqrs_colour = design_colour(Design::OrderHistory);
    // Past the cut, the curve rises at the right edge: those writes are later than the axis shows.
    let staircase: Vec<(f64, f64)> =
        cdf_staircase(&points).into_iter().map(|(ms, fraction)| (ms.min(x_max), fraction)).collect();
    chart.draw_series(LineSeries::new(staircase, cqrs_colour.stroke_width(2)))?;
    for (name, ms, fraction) in [("p50", freshness.staleness_ms.p50, 0.5), ("p99", freshness.staleness_ms.p99, 0.99)] {
        if !ms.is_finite() || ms < 0.0 || ms > x_max {
            continue;
        }
        chart.draw_series([Circle::new((ms, fraction), 4, cqrs_colour.filled())])?;
        chart.draw_series([Text::new(
            format!("{name} {} ms", format_ms(ms)),
            (ms + x_max * 0.01, fraction - 0.04),
            text_style(12, left_centred()),
        )])?;
    }

    let composer_colour = design_colour(Design::Composer);
    chart.draw_series([PathElement::new(vec![(0.0, 0.0), (0.0, 1.0)], composer_colour.stroke_width(4))])?;
    let composer_label = composer_freshness_label(freshness.composer_fresh_reads, freshness.composer_reads);
    chart.draw_series([Text::new(composer_label.clone(), (x_max * 0.01, 1.06), text_style(13, left_centred()))])?;

    let legend = [
        LegendEntry { label: "order-history (CQRS)".to_string(), marker: Marker::Line, colour: cqrs_colour },
        LegendEntry { label: "composer (API Composition)".to_string(), marker: Marker::Line, colour: composer_colour },
    ];
    draw_legend(&legend_area, &legend)?;
    if axis_is_cut {
        let note = format!("axis cut at {} ms;", format_ms(x_max));
        legend_area.draw(&Text::new(note, (10, 120), text_style(12, left_centred())))?;
        let slowest = format!("slowest write seen at {} ms", format_ms(largest_ms));
        legend_area.draw(&Text::new(slowest, (10, 138), text_style(12, left_centred())))?;
    }
    root.present()?;
    Ok(true)
}

/// What composer's reads-after-write showed; "always fresh" only when every one of them was.
fn composer_freshness_label(fresh_reads: u64, reads: u64) -> String {
    if reads > 0 && fresh_reads < reads {
        let share = fresh_reads as f64 / reads as f64 * 100.0;
        return format!("composer: {share:.1}% of reads-after-write fresh (reads the systems of record)");
    }
    "composer: always fresh (reads the systems of record)".to_string()
}

struct AvailabilityBar {
    design: Design,
    full_answer: f64,
    any_answer: f64,
}

struct AvailabilityGroup {
    label: String,
    bars: Vec<AvailabilityBar>,
    /// Designs without a step here, with why: `cannot serve` or `not run`.
    missing: Vec<(Design, &'static str)>,
}

/// One endpoint's groups: each endpoint gets its own panel, so a condition's bars stay together.
struct AvailabilityPanel {
    endpoint: String,
    groups: Vec<AvailabilityGroup>,
}

/// The faulted steps of scenarios 5 and 4, by endpoint. Healthy steps are left out: this chart
/// is about faults, and their latency chart shows them.
fn availability_panels(report: &Report) -> Vec<AvailabilityPanel> {
    let mut panels: Vec<AvailabilityPanel> = Vec::new();
    for steps in [&report.dependency_down, &report.slow_dependency] {
        for pair in pair_steps(steps) {
            if *pair.condition == Condition::Healthy {
                continue;
            }
            let mut bars = Vec::new();
            let mut missing = Vec::new();
            for design in Design::BOTH {
                let Some(step) = pair.step(design) else {
                    let why = if refusal(report, design, pair.endpoint).is_some() { "cannot serve" } else { "not run" };
                    missing.push((design, why));
                    continue;
                };
                let (Some(full_answer), Some(any_answer)) = (full_answer_share(step), any_answer_share(step)) else {
                    continue;
                };
                bars.push(AvailabilityBar { design, full_answer, any_answer });
            }
            if bars.is_empty() {
                continue;
            }
            let group = AvailabilityGroup { label: short_condition(pair.condition), bars, missing };
            match panels.iter_mut().find(|panel| panel.endpoint == pair.endpoint) {
                Some(panel) => panel.groups.push(group),
                None => panels.push(AvailabilityPanel { endpoint: pair.endpoint.to_string(), groups: vec![group] }),
            }
        }
    }
    panels
}

/// A percentage short enough to sit above a narrow bar: `100`, `99.6`, `0`.
fn bar_percent(fraction: f64) -> String {
    let percent = fraction * 100.0;
    if (percent - percent.round()).abs() < 0.05 {
        return format!("{percent:.0}");
    }
    format!("{percent:.1}")
}

/// Share of requests answered in full and at all, per fault and design, one panel per endpoint.
pub fn availability_chart(report: &Report, path: &Path) -> anyhow::Result<bool> {
    const PANEL_HEIGHT: u32 = 230;
    let panels = availability_panels(report);
    if panels.is_empty() {
        return Ok(false);
    }
    let most_groups = panels.iter().map(|panel| panel.groups.len()).max().unwrap_or(1);
    let width = (most_groups as u32 * GROUP_WIDTH + 100).max(1000);
    let height = 30 + LEGEND_HEIGHT + PANEL_HEIGHT * panels.len() as u32;
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let titled = root.titled("Availability under faults: share of requests answered", (FONT, 20))?;
    let (legend_area, panels_area) = titled.split_vertically(LEGEND_HEIGHT);

    let panel_areas = panels_area.split_evenly((panels.len(), 1));
    for (panel, panel_area) in panels.iter().zip(&panel_areas) {
        let labels: Vec<String> = panel.groups.iter().map(|group| group.label.clone()).collect();
        let mut chart = ChartBuilder::on(panel_area)
            .caption(&panel.endpoint, (FONT, 15))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(60)
            // Headroom above 100% holds the figures written over the bars.
            // Every panel has room for the most groups, so bars are the same width in all of them.
            .build_cartesian_2d(category_axis(most_groups), 0.0..118.0)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&|position| category_label(&labels, *position))
            .x_label_style((FONT, 13))
            .y_desc("requests (%)")
            .y_labels(6)
            .y_label_formatter(&|percent| if *percent <= 100.0 { format!("{percent:.0}%") } else { String::new() })
            .draw()?;

        const BAR_WIDTH: f64 = 0.17;
        let bar_width = group_x(0, BAR_WIDTH);
        // Each design takes one half of the group: any answer, then full answer.
        let design_start = |design: Design| match design {
            Design::OrderHistory => -0.37,
            Design::Composer => 0.03,
        };
        for (group_index, group) in panel.groups.iter().enumerate() {
            for (design, why) in &group.missing {
                let x = group_x(group_index, design_start(*design) + BAR_WIDTH);
                chart.draw_series([Text::new(*why, (x, 8.0), text_style(12, centred()))])?;
            }
            for bar in &group.bars {
                let design_start = design_start(bar.design);
                let any_start = group_x(group_index, design_start);
                let full_start = any_start + bar_width;
                let shares = [
                    (any_start, bar.any_answer, design_colour_light(bar.design)),
                    (full_start, bar.full_answer, design_colour(bar.design)),
                ];
                for (start, share, colour) in shares {
                    let percent = share * 100.0;
                    chart
                        .draw_series([Rectangle::new([(start, 0.0), (start + bar_width, percent)], colour.filled())])?;
                    chart.draw_series([Text::new(
                        bar_percent(share),
                        (start + bar_width / 2, percent + 6.0),
                        text_style(11, centred()),
                    )])?;
                }
            }
        }
    }

    let mut legend = Vec::new();
    for design in Design::BOTH {
        legend.push(LegendEntry {
            label: format!("{}: any answer", design.name()),
            marker: Marker::Box,
            colour: design_colour_light(design),
        });
        legend.push(LegendEntry {
            label: format!("{}: full answer", design.name()),
            marker: Marker::Box,
            colour: design_colour(design),
        });
    }
    draw_legend_row(&legend_area, &legend)?;
    root.present()?;
    Ok(true)
}

/// Red at 0, through yellow, to green at 1.
fn availability_colour(share: f64) -> HSLColor {
    let hue_degrees = 120.0 * share.clamp(0.0, 1.0);
    HSLColor(hue_degrees / 360.0, 0.6, 0.6)
}

/// The coupling matrix: what each design and endpoint still answers when a source service is down.
pub fn coupling_chart(report: &Report, path: &Path) -> anyhow::Result<bool> {
    if report.coupling.is_empty() {
        return Ok(false);
    }
    const LABEL_WIDTH: i32 = 270;
    const SERVICE_WIDTH: i32 = 150;
    const FIGURE_WIDTH: i32 = 110;
    const ROW_HEIGHT: i32 = 56;
    const HEADER_TOP: i32 = 50;
    const GRID_TOP: i32 = 90;
    let figure_columns = ["calls / request", "KiB / request", "CPU ms / 1,000"];
    let width =
        LABEL_WIDTH + SERVICE_WIDTH * SOURCE_SERVICES.len() as i32 + FIGURE_WIDTH * figure_columns.len() as i32 + 20;
    let height = GRID_TOP + ROW_HEIGHT * report.coupling.len() as i32 + 50;

    let root = SVGBackend::new(path, (width as u32, height as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        "Coupling: share of requests answered while each source service was down",
        (width / 2, 22),
        text_style(20, centred()),
    ))?;

    let column_header = |text: String, left: i32, column_width: i32| {
        Text::new(text, (left + column_width / 2, HEADER_TOP + 20), text_style(14, centred()))
    };
    for (index, service) in SOURCE_SERVICES.iter().enumerate() {
        let left = LABEL_WIDTH + SERVICE_WIDTH * index as i32;
        root.draw(&column_header(format!("{service} down"), left, SERVICE_WIDTH))?;
    }
    let figures_left = LABEL_WIDTH + SERVICE_WIDTH * SOURCE_SERVICES.len() as i32;
    for (index, column) in figure_columns.iter().enumerate() {
        root.draw(&column_header(column.to_string(), figures_left + FIGURE_WIDTH * index as i32, FIGURE_WIDTH))?;
    }

    let missing_colour = RGBColor(225, 225, 225);
    let figure_colour = RGBColor(245, 245, 245);
    for (row_index, row) in report.coupling.iter().enumerate() {
        let top = GRID_TOP + ROW_HEIGHT * row_index as i32;
        let bottom = top + ROW_HEIGHT - 4;
        let middle = (top + bottom) / 2;
        root.draw(&Text::new(design_title(row.design), (10, middle - 9), text_style(14, left_centred())))?;
        root.draw(&Text::new(row.endpoint.clone(), (10, middle + 10), text_style(12, left_centred())))?;

        for (index, service) in SOURCE_SERVICES.iter().enumerate() {
            let left = LABEL_WIDTH + SERVICE_WIDTH * index as i32;
            let cell = [(left + 2, top), (left + SERVICE_WIDTH - 2, bottom)];
            let centre_x = left + SERVICE_WIDTH / 2;
            let any_answer = row.availability_when_down.get(*service).copied().filter(|share| share.is_finite());
            let Some(any_answer) = any_answer else {
                root.draw(&Rectangle::new(cell, missing_colour.filled()))?;
                root.draw(&Text::new("not measured", (centre_x, middle), text_style(12, centred())))?;
                continue;
            };
            root.draw(&Rectangle::new(cell, availability_colour(any_answer).filled()))?;
            root.draw(&Text::new(
                format!("{}%", bar_percent(any_answer)),
                (centre_x, middle - 8),
                text_style(17, centred()),
            ))?;
            let full_answer = row.full_answer_when_down.get(*service).copied().filter(|share| share.is_finite());
            if let Some(full_answer) = full_answer {
                root.draw(&Text::new(
                    format!("full: {}%", bar_percent(full_answer)),
                    (centre_x, middle + 12),
                    text_style(11, centred()),
                ))?;
            }
        }

        let figures =
            [row.downstream_calls_per_request, row.bytes_per_request.map(|bytes| bytes / 1024.0), row.cpu_ms_per_1000];
        for (index, figure) in figures.iter().enumerate() {
            let left = figures_left + FIGURE_WIDTH * index as i32;
            let cell = [(left + 2, top), (left + FIGURE_WIDTH - 2, bottom)];
            root.draw(&Rectangle::new(cell, figure_colour.filled()))?;
            let text = match figure.filter(|value| value.is_finite()) {
                Some(value) => format_count(value),
                None => "n/a".to_string(),
            };
            root.draw(&Text::new(text, (left + FIGURE_WIDTH / 2, middle), text_style(15, centred())))?;
        }
    }

    root.draw(&Text::new(
        "cell: any answer (in full or degraded) while the service was down, full answer below; red 0% to green 100%",
        (10, height - 22),
        text_style(12, left_centred()),
    ))?;
    root.present()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::model::{Condition, Design};
    use super::super::tests::{empty_report, full_report, step};
    use super::*;

    fn assert_valid_svg(path: &Path) {
        let svg = std::fs::read_to_string(path).unwrap();
        assert!(svg.starts_with("<svg"), "{} does not start with <svg", path.display());
        assert!(svg.trim_end().ends_with("</svg>"), "{} is not closed", path.display());
        assert!(svg.contains("<text"), "{} has no text", path.display());
        assert!(!svg.contains("NaN"), "{} contains NaN", path.display());
    }

    #[test]
    fn writes_all_four_charts_as_svg_without_nan() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_charts(&full_report(), dir.path()).unwrap();
        assert_eq!(written, [LATENCY_CHART, FRESHNESS_CHART, AVAILABILITY_CHART, COUPLING_CHART]);
        for name in written {
            assert_valid_svg(&dir.path().join(name));
        }
        let coupling = std::fs::read_to_string(dir.path().join(COUPLING_CHART)).unwrap();
        assert!(coupling.contains("shipping-svc down"));
        let freshness = std::fs::read_to_string(dir.path().join(FRESHNESS_CHART)).unwrap();
        assert!(freshness.contains("composer: always fresh (reads the systems of record)"));
    }

    #[test]
    fn empty_report_writes_no_chart() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_charts(&empty_report(), dir.path()).unwrap();
        assert!(written.is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn non_finite_figures_are_left_out_rather_than_drawn() {
        let mut report = empty_report();
        let mut broken = step("get_by_id", Design::OrderHistory, "GET /orders/{id}", Condition::Healthy, 200.0, 4.0);
        broken.latency_ms.p99 = f64::NAN;
        report.get_by_id.push(broken);
        report.get_by_id.push(step("get_by_id", Design::Composer, "GET /orders/{id}", Condition::Healthy, 200.0, 0.0));
        let mut freshness = full_report().freshness.unwrap();
        freshness.cdf = vec![(f64::NAN, 0.5), (f64::INFINITY, 1.0)];
        report.freshness = Some(freshness);
        let dir = tempfile::tempdir().unwrap();
        let written = write_charts(&report, dir.path()).unwrap();
        // Only zeros remain for latency, which a log axis cannot place: nothing worth a chart.
        assert!(written.is_empty(), "wrote {written:?}");
    }

    #[test]
    fn zero_latency_sits_on_the_axis_floor() {
        let mut report = empty_report();
        let by_id = "GET /orders/{id}";
        report.get_by_id.push(step("get_by_id", Design::OrderHistory, by_id, Condition::Healthy, 200.0, 0.0));
        report.get_by_id.push(step("get_by_id", Design::Composer, by_id, Condition::Healthy, 200.0, 12.0));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LATENCY_CHART);
        assert!(latency_chart(&report, &path).unwrap());
        assert_valid_svg(&path);
    }

    #[test]
    fn a_step_with_more_than_one_percent_errors_is_marked_in_the_latency_chart() {
        let by_id = "GET /orders/{id}";
        let mut report = empty_report();
        report.get_by_id.push(step("get_by_id", Design::OrderHistory, by_id, Condition::Healthy, 200.0, 4.0));
        report.get_by_id.push(step("get_by_id", Design::Composer, by_id, Condition::Healthy, 200.0, 12.0));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LATENCY_CHART);
        assert!(latency_chart(&report, &path).unwrap());
        let healthy = std::fs::read_to_string(&path).unwrap();
        assert!(!healthy.contains("errors"), "no step failed, yet one is marked");

        report.get_by_id[1].error_rate = 0.726;
        assert!(latency_chart(&report, &path).unwrap());
        let failing = std::fs::read_to_string(&path).unwrap();
        assert!(failing.contains("72.6% errors"));
        assert!(failing.contains("over 1% errors: percentiles of successes only"));
    }

    #[test]
    fn composer_is_called_always_fresh_only_when_every_read_was() {
        assert_eq!(composer_freshness_label(10, 10), "composer: always fresh (reads the systems of record)");
        assert!(composer_freshness_label(9, 10).contains("90.0%"));
    }
}
