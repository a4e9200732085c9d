//! Verdicts: whether one design is better than the other on a figure, or whether the difference
//! is inside the run-to-run noise. Pure functions, so the rules can be tested on synthetic data.
//!
//! A figure is compared as the ratio order-history ÷ composer of the medians of its
//! repetitions, with a 95% bootstrap confidence interval. Every figure compared here is better
//! when lower (latency, CPU, bytes, calls), so a ratio below 1 favours order-history.
//!
//! The bootstrap resamples the **per-repetition figures** (each repetition's p99, say), not the
//! individual requests. The noise that matters is between runs: one tantivy merge or one broker
//! stall sets a whole step's p99, and the requests of that step all share it. Resampling the
//! requests of one repetition would treat that stall as a fixed fact and give intervals far
//! narrower than the spread the project measured between runs (up to 4× at p99). With three
//! repetitions the interval is coarse, and it is meant to be: a winner is named only when every
//! plausible mix of the repetitions agrees.

use serde::{Deserialize, Serialize};

use crate::report::model::{
    Condition, Design, LoadStep, Repetition, Report, Statistics, StatisticsRepetition, StatisticsRow, Verdict,
};
use crate::report::{format_percent, pair_steps};

/// Bootstrap resamples per interval: enough that the 2.5th and 97.5th percentiles are stable
/// to the second digit.
pub const RESAMPLES: usize = 2000;
/// The fixed seed of the bootstrap, so the same measurements always give the same report.
pub const BOOTSTRAP_SEED: u64 = 18;
/// Above this error rate of either design a step's latencies are not compared: they are the
/// percentiles of the successes only, and too many requests are missing from them.
pub const INVALID_ABOVE_ERROR_RATE: f64 = 0.01;

/// Which design a verdict favours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Winner {
    OrderHistory,
    Composer,
    /// The interval contains 1, or there is no interval: no measurable difference.
    None,
}

/// A ratio order-history ÷ composer and its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatioInterval {
    pub ratio: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The fewer repetitions of the two designs.
    pub repetitions: usize,
}

impl RatioInterval {
    /// The design whose figure is lower, when the interval excludes 1 and rests on at least two
    /// repetitions of each design (one repetition gives a single point, not an interval).
    pub fn winner(&self) -> Winner {
        if self.repetitions < 2 {
            return Winner::None;
        }
        if self.ci_high < 1.0 {
            return Winner::OrderHistory;
        }
        if self.ci_low > 1.0 {
            return Winner::Composer;
        }
        Winner::None
    }
}

/// The median of `values`, `None` when empty or when a value is not finite.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|value| !value.is_finite()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        return Some(sorted[middle]);
    }
    Some((sorted[middle - 1] + sorted[middle]) / 2.0)
}

/// The ratio of the medians of `order_history` and `composer` (one figure per repetition each)
/// and its 95% percentile-bootstrap interval: each resample draws as many repetitions as there
/// are, with replacement, from each design independently.
///
/// `None` when either side is empty or not finite, or a composer median (of the figures or of
/// a resample) is not above 0, so that no ratio exists.
/// Puts `interval` into `verdict`: its ratio, bounds and winner, or why there is no ratio.
fn judge(verdict: &mut Verdict, interval: Option<RatioInterval>) {
    match interval {
        Some(interval) => {
            verdict.ratio = Some(interval.ratio);
            verdict.ci_low = Some(interval.ci_low);
            verdict.ci_high = Some(interval.ci_high);
            verdict.winner = interval.winner();
        }
        None => verdict.invalid = Some("no ratio: composer's figure is not above 0".to_string()),
    }
}

pub fn ratio_interval(order_history: &[f64], composer: &[f64]) -> Option<RatioInterval> {
    let ratio = median(order_history)? / positive(median(composer)?)?;
    let mut rng = fastrand::Rng::with_seed(BOOTSTRAP_SEED);
    let mut resampled_ratios = Vec::with_capacity(RESAMPLES);
    let mut order_history_draw = vec![0.0; order_history.len()];
    let mut composer_draw = vec![0.0; composer.len()];
    for _ in 0..RESAMPLES {
        for slot in order_history_draw.iter_mut() {
            *slot = order_history[rng.usize(..order_history.len())];
        }
        for slot in composer_draw.iter_mut() {
            *slot = composer[rng.usize(..composer.len())];
        }
        let denominator = positive(median(&composer_draw)?)?;
        resampled_ratios.push(median(&order_history_draw)? / denominator);
    }
    resampled_ratios.sort_by(f64::total_cmp);
    let at = |quantile: f64| resampled_ratios[((RESAMPLES - 1) as f64 * quantile).round() as usize];
    // the point estimate lies inside its own interval even when the resamples are lopsided
    let ci_low = at(0.025).min(ratio);
    let ci_high = at(0.975).max(ratio);
    debug_assert!(ci_low <= ratio && ratio <= ci_high);
    Some(RatioInterval { ratio, ci_low, ci_high, repetitions: order_history.len().min(composer.len()) })
}

/// A figure the verdicts compare, read from one repetition.
struct Figure {
    name: &'static str,
    /// Per-request costs are compared on the healthy steps only; under a fault they measure
    /// the fault as much as the design.
    healthy_only: bool,
    read: fn(&Repetition) -> Option<f64>,
}

const FIGURES: [Figure; 5] = [
    Figure { name: "p50_ms", healthy_only: false, read: |repetition| Some(repetition.latency_ms.p50) },
    Figure { name: "p99_ms", healthy_only: false, read: |repetition| Some(repetition.latency_ms.p99) },
    Figure {
        name: "downstream_calls_per_request",
        healthy_only: true,
        read: |repetition| repetition.downstream_calls_per_request,
    },
    Figure { name: "bytes_per_request", healthy_only: true, read: |repetition| repetition.bytes_per_request },
    Figure { name: "cpu_ms_per_1000", healthy_only: true, read: |repetition| repetition.cpu_ms_per_1000 },
];

/// Every verdict of a report: each figure of each step both designs served, in the order of
/// the report's scenarios. A step where either design failed more than
/// [`INVALID_ABOVE_ERROR_RATE`] of its requests is listed as invalid and not compared.
pub fn report_verdicts(report: &Report) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for steps in [&report.get_by_id, &report.search, &report.slow_dependency, &report.dependency_down] {
        for pair in pair_steps(steps) {
            let (Some(order_history), Some(composer)) = (pair.order_history, pair.composer) else { continue };
            let refused = order_history.not_servable.is_some() || composer.not_servable.is_some();
            if refused || order_history.sent == 0 || composer.sent == 0 {
                continue;
            }
            let invalid = invalid_reason(order_history, composer);
            for figure in &FIGURES {
                if figure.healthy_only && *pair.condition != Condition::Healthy {
                    continue;
                }
                let read_all = |step: &LoadStep| -> Option<Vec<f64>> {
                    let values: Option<Vec<f64>> = step.repetitions.iter().map(figure.read).collect();
                    values.filter(|values| !values.is_empty())
                };
                let (Some(order_history_values), Some(composer_values)) = (read_all(order_history), read_all(composer))
                else {
                    continue;
                };
                let mut verdict = Verdict {
                    question: pair.label.clone(),
                    figure: figure.name.to_string(),
                    scenario: pair.scenario.to_string(),
                    endpoint: pair.endpoint.to_string(),
                    condition: pair.condition.clone(),
                    target_rps: pair.target_rps,
                    ratio: None,
                    ci_low: None,
                    ci_high: None,
                    winner: Winner::None,
                    invalid: invalid.clone(),
                };
                if invalid.is_none() {
                    judge(&mut verdict, ratio_interval(&order_history_values, &composer_values));
                }
                verdicts.push(verdict);
            }
        }
    }
    if let Some(statistics) = &report.statistics {
        verdicts.extend(statistics_verdicts(statistics));
    }
    verdicts
}

/// A figure of the statistics scenario, read from one repetition.
struct StatisticsFigure {
    name: &'static str,
    read: fn(&StatisticsRepetition) -> Option<f64>,
}

const STATISTICS_FIGURES: [StatisticsFigure; 4] = [
    StatisticsFigure { name: "p50_ms", read: |repetition| answered(repetition).then_some(repetition.latency_ms.p50) },
    StatisticsFigure { name: "p99_ms", read: |repetition| answered(repetition).then_some(repetition.latency_ms.p99) },
    StatisticsFigure {
        name: "downstream_calls_per_request",
        read: |repetition| repetition.downstream_calls_per_request,
    },
    StatisticsFigure { name: "bytes_per_request", read: |repetition| repetition.bytes_per_request },
];

/// Whether a repetition had any answer in time: one without has no latency to compare.
fn answered(repetition: &StatisticsRepetition) -> bool {
    repetition.errors < repetition.sent
}

/// The verdicts of the statistics scenario: per window, each figure, by the same rules as the
/// load steps' (a winner only when the interval excludes 1; invalid above 1% errors).
pub fn statistics_verdicts(statistics: &Statistics) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for window_days in crate::scenarios::statistics::WINDOWS_DAYS {
        let row =
            |design: Design| statistics.rows.iter().find(|row| row.window_days == window_days && row.design == design);
        let (Some(order_history), Some(composer)) = (row(Design::OrderHistory), row(Design::Composer)) else {
            continue;
        };
        if order_history.sent == 0 || composer.sent == 0 {
            continue;
        }
        let invalid = failing_designs(&[
            (Design::OrderHistory, order_history.errors, order_history.sent),
            (Design::Composer, composer.errors, composer.sent),
        ]);
        for figure in &STATISTICS_FIGURES {
            let read_all = |row: &StatisticsRow| -> Option<Vec<f64>> {
                let values: Option<Vec<f64>> = row.repetitions.iter().map(figure.read).collect();
                values.filter(|values| !values.is_empty())
            };
            let (order_history_values, composer_values) = (read_all(order_history), read_all(composer));
            let mut verdict = Verdict {
                question: statistics_question(window_days),
                figure: figure.name.to_string(),
                scenario: "statistics".to_string(),
                endpoint: crate::scenarios::statistics::STATS_ENDPOINT.to_string(),
                condition: Condition::Healthy,
                target_rps: 0.0,
                ratio: None,
                ci_low: None,
                ci_high: None,
                winner: Winner::None,
                invalid: invalid.clone(),
            };
            if verdict.invalid.is_none() {
                let interval = order_history_values
                    .zip(composer_values)
                    .and_then(|(order_history, composer)| ratio_interval(&order_history, &composer));
                judge(&mut verdict, interval);
            }
            verdicts.push(verdict);
        }
    }
    verdicts
}

/// The question of a statistics verdict: `statistics, last 7 days`.
pub fn statistics_question(window_days: u32) -> String {
    let days = if window_days == 1 { "day".to_string() } else { format!("{window_days} days") };
    format!("statistics, last {days}")
}

/// Why a step's figures cannot be compared: the designs that failed more than
/// [`INVALID_ABOVE_ERROR_RATE`] of their requests.
fn invalid_reason(order_history: &LoadStep, composer: &LoadStep) -> Option<String> {
    failing_designs(&[
        (order_history.design, order_history.errors, order_history.sent),
        (composer.design, composer.errors, composer.sent),
    ])
}

/// The designs of `(design, errors, sent)` that failed more than [`INVALID_ABOVE_ERROR_RATE`]
/// of their requests, in words; `None` when none did.
fn failing_designs(designs: &[(Design, u64, u64)]) -> Option<String> {
    let mut failing = Vec::new();
    for &(design, errors, sent) in designs {
        let error_rate = errors as f64 / sent.max(1) as f64;
        if error_rate > INVALID_ABOVE_ERROR_RATE {
            failing.push(format!("{} failed {}", design.name(), format_percent(error_rate)));
        }
    }
    if failing.is_empty() {
        return None;
    }
    Some(failing.join(" and "))
}

fn positive(value: f64) -> Option<f64> {
    (value > 0.0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_stall_in_one_repetition_names_no_winner() {
        // the same design twice, but one merge stall set order-history's p99 in one repetition
        let order_history_p99 = [9.0, 10.0, 400.0];
        let composer_p99 = [10.0, 11.0, 9.5];
        let interval = ratio_interval(&order_history_p99, &composer_p99).unwrap();
        assert!(interval.ci_low < 1.0 && interval.ci_high > 1.0, "{interval:?}");
        assert_eq!(interval.winner(), Winner::None);
        // and the same stall on the other side
        let interval = ratio_interval(&composer_p99, &order_history_p99).unwrap();
        assert_eq!(interval.winner(), Winner::None);
    }

    #[test]
    fn three_times_faster_in_every_repetition_is_a_winner() {
        let order_history_p99 = [10.0, 12.0, 11.0];
        let composer_p99 = [31.0, 35.0, 33.0];
        let interval = ratio_interval(&order_history_p99, &composer_p99).unwrap();
        assert!(interval.ci_high < 1.0, "{interval:?}");
        assert_eq!(interval.winner(), Winner::OrderHistory);
        let reversed = ratio_interval(&composer_p99, &order_history_p99).unwrap();
        assert_eq!(reversed.winner(), Winner::Composer);
    }

    #[test]
    fn one_repetition_gives_no_interval_and_no_winner() {
        let interval = ratio_interval(&[10.0], &[30.0]).unwrap();
        assert_eq!((interval.ratio, interval.ci_low, interval.ci_high), (10.0 / 30.0, 10.0 / 30.0, 10.0 / 30.0));
        assert_eq!(interval.winner(), Winner::None);
    }

    #[test]
    fn the_interval_holds_the_ratio_and_is_reproducible() {
        let order_history = [4.0, 5.5, 4.2, 6.0, 4.4];
        let composer = [5.0, 4.1, 7.0, 4.8, 5.2];
        let first = ratio_interval(&order_history, &composer).unwrap();
        let second = ratio_interval(&order_history, &composer).unwrap();
        assert_eq!(first, second);
        assert!(first.ci_low <= first.ratio && first.ratio <= first.ci_high, "{first:?}");
        assert_eq!(first.ratio, 4.4 / 5.0);
    }

    #[test]
    fn no_ratio_without_a_positive_composer_figure() {
        assert_eq!(ratio_interval(&[1.0], &[0.0]), None);
        assert_eq!(ratio_interval(&[], &[1.0]), None);
        assert_eq!(ratio_interval(&[f64::NAN], &[1.0]), None);
        // a zero on order-history's side is a ratio of 0: it calls nothing downstream
        let none_called = ratio_interval(&[0.0, 0.0], &[3.0, 3.0]).unwrap();
        assert_eq!(none_called.winner(), Winner::OrderHistory);
    }

    #[test]
    fn a_step_with_errors_above_one_percent_is_invalid_and_names_no_winner() {
        let mut report = crate::report::tests::full_report();
        let composer = report.get_by_id.iter_mut().find(|step| step.design == crate::report::model::Design::Composer);
        let composer = composer.unwrap();
        composer.errors = composer.sent / 50;
        composer.error_rate = 0.02;
        let verdicts = report_verdicts(&report);
        let first_step: Vec<&Verdict> = verdicts.iter().filter(|verdict| verdict.question == "get 200/s").collect();
        assert!(!first_step.is_empty());
        for verdict in first_step {
            assert_eq!(verdict.winner, Winner::None);
            assert_eq!(verdict.ratio, None);
            assert_eq!(verdict.invalid.as_deref(), Some("composer failed 2.0%"));
        }
        // the other rate is still compared: 4 ms against 13.6 ms in every repetition
        let other = verdicts.iter().find(|verdict| verdict.question == "get 1,000/s" && verdict.figure == "p99_ms");
        assert_eq!(other.unwrap().winner, Winner::OrderHistory);
    }

    #[test]
    fn statistics_verdicts_follow_the_same_rules_as_the_load_steps() {
        let report = crate::report::tests::full_report();
        let statistics = statistics_verdicts(report.statistics.as_ref().unwrap());
        // four figures for each of the three windows
        assert_eq!(statistics.len(), 12);
        for verdict in &statistics {
            assert_eq!(verdict.winner, Winner::OrderHistory, "{verdict:?}");
            assert!(verdict.ci_low <= verdict.ratio && verdict.ratio <= verdict.ci_high, "{verdict:?}");
        }
        assert!(report.verdicts.iter().any(|verdict| verdict.question == "statistics, last 30 days"));
    }

    #[test]
    fn one_statistics_repetition_names_no_winner_and_timeouts_are_not_compared() {
        let mut statistics = crate::report::tests::statistics_fixture();
        for row in &mut statistics.rows {
            row.repetitions.truncate(1);
        }
        assert!(statistics_verdicts(&statistics).iter().all(|verdict| verdict.winner == Winner::None));

        let mut statistics = crate::report::tests::statistics_fixture();
        let composer = statistics.rows.iter_mut().find(|row| row.design == Design::Composer).unwrap();
        composer.errors = composer.sent;
        let verdicts = statistics_verdicts(&statistics);
        let first_window: Vec<&Verdict> =
            verdicts.iter().filter(|verdict| verdict.question == "statistics, last day").collect();
        assert_eq!(first_window.len(), 4);
        for verdict in first_window {
            assert_eq!(verdict.invalid.as_deref(), Some("composer failed 100%"));
            assert_eq!((verdict.ratio, verdict.winner), (None, Winner::None));
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
