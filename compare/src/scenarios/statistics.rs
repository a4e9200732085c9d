//! The statistics scenario: `GET /stats` for the last 1, 7 and 30 days (orders and revenue per
//! day, by status), asked of both designs with the same parameters.
//!
//! order-history answers from its rollups; composer pages through order-svc's orders of the
//! window and fetches each one's payments and shipments. For each window and design compare
//! sends a few requests in a row per repetition, each with `--deadline-ms` (latency, bytes,
//! downstream calls), and after the repetitions one more request without that deadline, whose
//! answer says what composer had to read (`coverage`) and lets the two designs' numbers be
//! compared bucket by bucket.
//!
//! Requests go one at a time, not open-loop: a composer answer reads every order of the window,
//! so even a low rate of them would queue behind each other and measure the queue.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use crate::load;
use crate::report::model::{
    Design, Percentiles, SOURCE_SERVICES, Statistics, StatisticsAgreement, StatisticsAnswer, StatisticsRepetition,
    StatisticsRow,
};
use crate::scenarios::Run;
use crate::target::{self, HTTP_SERVICES};
use crate::verdict::median;

pub const STATS_ENDPOINT: &str = "GET /stats";
/// The windows asked for, in days before the scenario's start.
pub const WINDOWS_DAYS: [u32; 3] = [1, 7, 30];
pub const GRANULARITY: &str = "day";
pub const GROUP_BY: &str = "status";
/// How often order-history's statistics are asked whether they caught up with the topics.
const CATCH_UP_POLL: Duration = Duration::from_millis(200);
/// At most this many differing buckets are named in the report; the rest are counted.
const DIFFERENCES_NAMED: usize = 10;

/// How one request sent with the deadline ended.
#[derive(Clone, Debug, PartialEq)]
pub enum TimedOutcome {
    /// Answered in time and whole, after this many milliseconds.
    Whole(f64),
    /// Answered in time, but composer did not read every order (or order-history's rollups
    /// were behind the topics).
    Incomplete(f64),
    /// No 2xx answer in time: an [`load::error_kind`].
    Error(&'static str),
}

/// One repetition of one design's requests for one window, before its figures are computed.
#[derive(Clone, Debug, Default)]
pub struct TimedBatch {
    pub outcomes: Vec<TimedOutcome>,
    /// Requests the source services received during the batch.
    pub downstream_calls: Option<f64>,
    /// Body bytes every service moved during the batch.
    pub bytes: Option<f64>,
}

/// The parts of a `GET /stats` answer compare reads; both designs answer this shape, composer
/// adds `coverage` and `downstream_calls`.
#[derive(Clone, Debug, Deserialize)]
pub struct StatsBody {
    #[serde(default)]
    pub buckets: Vec<Bucket>,
    #[serde(default)]
    pub stale: bool,
    #[serde(default)]
    pub coverage: Option<CoverageBody>,
    #[serde(default)]
    pub downstream_calls: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Bucket {
    pub period: DateTime<Utc>,
    pub key: String,
    pub orders: i64,
    #[serde(default)]
    pub revenue: Vec<Amount>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Amount {
    pub currency: String,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CoverageBody {
    pub complete: bool,
    pub orders_read: u64,
    pub orders_listed: u64,
    pub pages_listed: u64,
    #[serde(default)]
    pub missing: Vec<String>,
}

impl StatsBody {
    /// Whether the answer holds every order of the window: composer's coverage, or
    /// order-history's rollups not behind the topics.
    pub fn complete(&self) -> bool {
        match &self.coverage {
            Some(coverage) => coverage.complete,
            None => !self.stale,
        }
    }
}

impl Run {
    pub async fn statistics(&self) -> anyhow::Result<Statistics> {
        let to = Utc::now();
        self.wait_for_caught_up_statistics(to).await;
        self.wait_for_closed_breakers().await;
        let requests = self.plan.statistics_requests;
        let mut batches: BTreeMap<(u32, Design), Vec<TimedBatch>> = BTreeMap::new();
        for repetition in 0..self.plan.repeat {
            for window_days in WINDOWS_DAYS {
                // the designs take turns, as in every other scenario
                let mut designs = Design::BOTH.to_vec();
                if repetition % 2 == 1 {
                    designs.reverse();
                }
                for design in designs {
                    let url = self.stats_url(design, to, window_days);
                    let batch = self.timed_stats_requests(&url, requests).await?;
                    batches.entry((window_days, design)).or_default().push(batch);
                }
            }
        }
        let mut rows = Vec::new();
        let mut agreement = Vec::new();
        for window_days in WINDOWS_DAYS {
            let mut bodies: BTreeMap<Design, StatsBody> = BTreeMap::new();
            for design in Design::BOTH {
                let url = self.stats_url(design, to, window_days);
                let (answer, body) = self.patient_stats_request(&url).await;
                if let Some(body) = body {
                    bodies.insert(design, body);
                }
                let measured = batches.remove(&(window_days, design)).unwrap_or_default();
                rows.push(statistics_row(window_days, design, &measured, answer));
            }
            agreement.push(agreement_of(window_days, bodies.get(&Design::OrderHistory), bodies.get(&Design::Composer)));
        }
        for row in &rows {
            tracing::info!(
                window_days = row.window_days,
                design = row.design.name(),
                sent = row.sent,
                ok = row.ok,
                incomplete = row.incomplete,
                errors = row.errors,
                p50_ms = row.p50_ms,
                orders_read = row.answer.as_ref().and_then(|answer| answer.orders_read),
                "statistics measured"
            );
        }
        Ok(Statistics {
            granularity: GRANULARITY.to_string(),
            group_by: GROUP_BY.to_string(),
            to: to.to_rfc3339_opts(SecondsFormat::Secs, true),
            requests_per_repetition: requests,
            deadline_ms: self.plan.deadline.as_millis() as u64,
            rows,
            agreement,
        })
    }

    /// `GET /stats` on `design` for the `window_days` days before `to`.
    fn stats_url(&self, design: Design, to: DateTime<Utc>, window_days: u32) -> String {
        let from = to - chrono::Duration::days(i64::from(window_days));
        let base = self.stack.design_url(design);
        let mut url = reqwest::Url::parse(&format!("{base}/stats")).expect("service base urls are valid");
        url.query_pairs_mut()
            .append_pair("from", &from.to_rfc3339_opts(SecondsFormat::Secs, true))
            .append_pair("to", &to.to_rfc3339_opts(SecondsFormat::Secs, true))
            .append_pair("granularity", GRANULARITY)
            .append_pair("group_by", GROUP_BY);
        url.to_string()
    }

    /// Waits until order-history's statistics have caught up with the topics (`stale` false),
    /// at most `--converge-timeout`: its own consumer may still be applying what seeding wrote,
    /// and its numbers would then differ from composer's for that reason alone.
    async fn wait_for_caught_up_statistics(&self, to: DateTime<Utc>) {
        let url = self.stats_url(Design::OrderHistory, to, WINDOWS_DAYS[WINDOWS_DAYS.len() - 1]);
        let give_up = Instant::now() + self.plan.converge_timeout;
        while Instant::now() < give_up {
            let answer = async {
                let response = self.stack.client.get(&url).send().await.ok()?;
                if !response.status().is_success() {
                    return None;
                }
                response.json::<StatsBody>().await.ok()
            }
            .await;
            if answer.is_some_and(|body| !body.stale) {
                return;
            }
            tokio::time::sleep(CATCH_UP_POLL).await;
        }
        tracing::warn!("order-history's statistics did not catch up with the topics; its answers are stale");
    }

    /// `count` requests of `url` one after the other, each cut off at the deadline, with the
    /// downstream calls and bytes the stack counted meanwhile.
    async fn timed_stats_requests(&self, url: &str, count: u32) -> anyhow::Result<TimedBatch> {
        let before = self.stack.scrape_all().await?;
        let mut outcomes = Vec::new();
        for _ in 0..count {
            outcomes.push(self.timed_stats_request(url).await);
        }
        let after = self.stack.scrape_all().await?;
        Ok(TimedBatch {
            outcomes,
            downstream_calls: Some(target::delta(&before, &after, &SOURCE_SERVICES, "http_server_requests_total", &[])),
            bytes: Some(target::delta(&before, &after, &HTTP_SERVICES, "http_server_body_bytes_total", &[])),
        })
    }

    async fn timed_stats_request(&self, url: &str) -> TimedOutcome {
        let sent_at = Instant::now();
        let answer = async {
            let response = self.stack.client.get(url).send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        };
        let (status, body) = match tokio::time::timeout(self.plan.deadline, answer).await {
            Err(_) => return TimedOutcome::Error("timeout"),
            Ok(Err(error)) => return TimedOutcome::Error(load::error_kind(&load::transport_error(&error).label())),
            Ok(Ok(answer)) => answer,
        };
        let latency_ms = sent_at.elapsed().as_secs_f64() * 1000.0;
        if !status.is_success() {
            return TimedOutcome::Error(load::error_kind(status.as_str()));
        }
        match serde_json::from_slice::<StatsBody>(&body) {
            Ok(body) if body.complete() => TimedOutcome::Whole(latency_ms),
            Ok(_) => TimedOutcome::Incomplete(latency_ms),
            // a body that is not a statistics answer: a broken answer, like a broken transport
            Err(_) => TimedOutcome::Error("other"),
        }
    }

    /// One request of `url` given the client's own limit instead of the deadline: the answer
    /// the design gives when it is waited for, and its body.
    async fn patient_stats_request(&self, url: &str) -> (Option<StatisticsAnswer>, Option<StatsBody>) {
        let sent_at = Instant::now();
        let response = match self.stack.client.get(url).send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(url, %error, "no statistics answer");
                return (None, None);
            }
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(url, %error, "the statistics answer broke off");
                return (None, None);
            }
        };
        let latency_ms = sent_at.elapsed().as_secs_f64() * 1000.0;
        let body = if status.is_success() { serde_json::from_slice::<StatsBody>(&bytes).ok() } else { None };
        let answer = statistics_answer(status.as_u16(), latency_ms, bytes.len() as u64, body.as_ref());
        (Some(answer), body)
    }
}

/// The report's figures of one answer; a non-2xx or unreadable answer has only its status,
/// time and size.
pub fn statistics_answer(
    status: u16,
    latency_ms: f64,
    response_bytes: u64,
    body: Option<&StatsBody>,
) -> StatisticsAnswer {
    let mut answer = StatisticsAnswer {
        status,
        latency_ms,
        response_bytes,
        buckets: 0,
        orders: 0,
        revenue_minor: BTreeMap::new(),
        complete: false,
        orders_read: None,
        orders_listed: None,
        pages_listed: None,
        downstream_calls: None,
        missing: Vec::new(),
    };
    let Some(body) = body else {
        return answer;
    };
    answer.buckets = body.buckets.len() as u64;
    for bucket in &body.buckets {
        answer.orders += bucket.orders;
        for amount in &bucket.revenue {
            *answer.revenue_minor.entry(amount.currency.clone()).or_insert(0) += amount.amount_minor;
        }
    }
    answer.complete = body.complete();
    answer.downstream_calls = body.downstream_calls;
    if let Some(coverage) = &body.coverage {
        answer.orders_read = Some(coverage.orders_read);
        answer.orders_listed = Some(coverage.orders_listed);
        answer.pages_listed = Some(coverage.pages_listed);
        answer.missing = coverage.missing.clone();
    }
    answer
}

/// One repetition's figures: percentiles of the answers in time, calls and bytes per request.
pub fn repetition_figures(batch: &TimedBatch) -> StatisticsRepetition {
    let mut histogram = load::new_histogram();
    let mut errors = 0;
    for outcome in &batch.outcomes {
        match outcome {
            TimedOutcome::Whole(ms) | TimedOutcome::Incomplete(ms) => {
                // microseconds, at least one: the histogram's lowest value
                histogram.saturating_record((ms * 1000.0).round().max(1.0) as u64);
            }
            TimedOutcome::Error(_) => errors += 1,
        }
    }
    let sent = batch.outcomes.len() as u64;
    let per_request = |total: Option<f64>| total.filter(|_| sent > 0).map(|total| total / sent as f64);
    StatisticsRepetition {
        sent,
        errors,
        latency_ms: load::percentiles(&histogram),
        downstream_calls_per_request: per_request(batch.downstream_calls),
        bytes_per_request: per_request(batch.bytes),
    }
}

/// One design's row for one window: counts summed over the repetitions, figures the medians of
/// the repetitions' (latencies only of repetitions with an answer in time).
pub fn statistics_row(
    window_days: u32,
    design: Design,
    batches: &[TimedBatch],
    answer: Option<StatisticsAnswer>,
) -> StatisticsRow {
    let mut row = StatisticsRow {
        window_days,
        design,
        sent: 0,
        ok: 0,
        incomplete: 0,
        errors: 0,
        error_kinds: BTreeMap::new(),
        p50_ms: None,
        p99_ms: None,
        downstream_calls_per_request: None,
        bytes_per_request: None,
        repetitions: Vec::new(),
        answer,
    };
    for batch in batches {
        for outcome in &batch.outcomes {
            row.sent += 1;
            match outcome {
                TimedOutcome::Whole(_) => row.ok += 1,
                TimedOutcome::Incomplete(_) => row.incomplete += 1,
                TimedOutcome::Error(kind) => {
                    row.errors += 1;
                    *row.error_kinds.entry(kind.to_string()).or_insert(0) += 1;
                }
            }
        }
        row.repetitions.push(repetition_figures(batch));
    }
    let answered: Vec<&StatisticsRepetition> =
        row.repetitions.iter().filter(|repetition| repetition.errors < repetition.sent).collect();
    let median_latency = |figure: fn(&Percentiles) -> f64| {
        let values: Vec<f64> = answered.iter().map(|repetition| figure(&repetition.latency_ms)).collect();
        median(&values)
    };
    row.p50_ms = median_latency(|latency| latency.p50);
    row.p99_ms = median_latency(|latency| latency.p99);
    let median_optional = |figure: fn(&StatisticsRepetition) -> Option<f64>| {
        let values: Option<Vec<f64>> = row.repetitions.iter().map(figure).collect();
        values.and_then(|values| median(&values))
    };
    row.downstream_calls_per_request = median_optional(|repetition| repetition.downstream_calls_per_request);
    row.bytes_per_request = median_optional(|repetition| repetition.bytes_per_request);
    row
}

/// Whether the two designs' answers for one window hold the same orders and revenue in every
/// bucket. Compared only when composer read every order of the window: an incomplete answer
/// undercounts, and says so.
pub fn agreement_of(
    window_days: u32,
    order_history: Option<&StatsBody>,
    composer: Option<&StatsBody>,
) -> StatisticsAgreement {
    let not_compared = |because: &str| StatisticsAgreement {
        window_days,
        compared: false,
        buckets_compared: 0,
        buckets_differing: 0,
        differences: Vec::new(),
        not_compared_because: Some(because.to_string()),
    };
    let Some(order_history) = order_history else {
        return not_compared("order-history gave no answer");
    };
    let Some(composer) = composer else {
        return not_compared("composer gave no answer");
    };
    if !composer.complete() {
        return not_compared("composer's answer was incomplete");
    }
    let order_history_buckets = buckets_by_period_and_key(&order_history.buckets);
    let composer_buckets = buckets_by_period_and_key(&composer.buckets);
    let keys: BTreeSet<&(DateTime<Utc>, String)> =
        order_history_buckets.keys().chain(composer_buckets.keys()).collect();
    let empty = (0, BTreeMap::new());
    let mut differences = Vec::new();
    let mut differing = 0;
    for key in &keys {
        let left = order_history_buckets.get(*key).unwrap_or(&empty);
        let right = composer_buckets.get(*key).unwrap_or(&empty);
        if left == right {
            continue;
        }
        differing += 1;
        if differences.len() < DIFFERENCES_NAMED {
            differences.push(describe_difference(key, left, right));
        }
    }
    if differing > DIFFERENCES_NAMED {
        differences.push(format!("and {} more buckets", differing - DIFFERENCES_NAMED));
    }
    StatisticsAgreement {
        window_days,
        compared: true,
        buckets_compared: keys.len() as u64,
        buckets_differing: differing as u64,
        differences,
        not_compared_because: None,
    }
}

/// A bucket's orders and its revenue per currency (zero amounts left out, as both designs do).
type BucketFigures = (i64, BTreeMap<String, i64>);

fn buckets_by_period_and_key(buckets: &[Bucket]) -> BTreeMap<(DateTime<Utc>, String), BucketFigures> {
    let mut by_key: BTreeMap<(DateTime<Utc>, String), BucketFigures> = BTreeMap::new();
    for bucket in buckets {
        let figures = by_key.entry((bucket.period, bucket.key.clone())).or_default();
        figures.0 += bucket.orders;
        for amount in &bucket.revenue {
            *figures.1.entry(amount.currency.clone()).or_insert(0) += amount.amount_minor;
        }
    }
    for figures in by_key.values_mut() {
        figures.1.retain(|_, amount| *amount != 0);
    }
    by_key
}

fn describe_difference(
    (period, key): &(DateTime<Utc>, String),
    order_history: &BucketFigures,
    composer: &BucketFigures,
) -> String {
    let revenue = |figures: &BucketFigures| {
        let amounts: Vec<String> = figures.1.iter().map(|(currency, amount)| format!("{currency} {amount}")).collect();
        if amounts.is_empty() { "none".to_string() } else { amounts.join(", ") }
    };
    format!(
        "{} {key}: orders {} vs {}, revenue (minor units) {} vs {}",
        period.format("%Y-%m-%d"),
        order_history.0,
        composer.0,
        revenue(order_history),
        revenue(composer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: serde_json::Value) -> StatsBody {
        serde_json::from_value(value).unwrap()
    }

    fn order_history_answer() -> StatsBody {
        body(json!({
            "buckets": [
                {"period": "2026-12-03T00:00:00Z", "key": "PLACED", "orders": 41,
                 "revenue": [{"currency": "EUR", "amount_minor": 512300}, {"currency": "USD", "amount_minor": 900}]},
                {"period": "2026-12-03T00:00:00Z", "key": "CANCELLED", "orders": 3, "revenue": []}
            ],
            "stale": false
        }))
    }

    fn composer_answer(complete: bool) -> serde_json::Value {
        json!({
            "buckets": [
                {"period": "2026-12-03T00:00:00Z", "key": "CANCELLED", "orders": 3, "revenue": []},
                {"period": "2026-12-03T00:00:00Z", "key": "PLACED", "orders": 41,
                 "revenue": [{"currency": "USD", "amount_minor": 900}, {"currency": "EUR", "amount_minor": 512300}]}
            ],
            "stale": !complete,
            "coverage": {"complete": complete, "orders_read": 44, "orders_listed": 44, "pages_listed": 1,
                         "missing": if complete { json!([]) } else { json!(["payments of 2 orders"]) }},
            "downstream_calls": 89
        })
    }

    #[test]
    fn the_same_buckets_in_another_order_agree() {
        let agreement = agreement_of(7, Some(&order_history_answer()), Some(&body(composer_answer(true))));
        assert!(agreement.compared);
        assert_eq!(agreement.buckets_compared, 2);
        assert!(agreement.differences.is_empty(), "{:?}", agreement.differences);
        assert!(agreement.agrees());
    }

    #[test]
    fn a_different_count_or_revenue_is_named_by_bucket() {
        let mut composer = composer_answer(true);
        composer["buckets"][0]["orders"] = json!(2);
        composer["buckets"][1]["revenue"][1]["amount_minor"] = json!(500000);
        let agreement = agreement_of(30, Some(&order_history_answer()), Some(&body(composer)));
        assert!(agreement.compared && !agreement.agrees());
        assert_eq!(
            agreement.differences,
            [
                "2026-12-03 CANCELLED: orders 3 vs 2, revenue (minor units) none vs none",
                "2026-12-03 PLACED: orders 41 vs 41, revenue (minor units) EUR 512300, USD 900 vs EUR 500000, USD 900",
            ]
        );
    }

    #[test]
    fn a_bucket_only_one_design_answers_is_a_difference() {
        let mut composer = composer_answer(true);
        composer["buckets"].as_array_mut().unwrap().remove(0);
        let agreement = agreement_of(1, Some(&order_history_answer()), Some(&body(composer)));
        assert_eq!(agreement.buckets_compared, 2);
        assert_eq!(agreement.differences.len(), 1);
        assert!(agreement.differences[0].starts_with("2026-12-03 CANCELLED: orders 3 vs 0"));
    }

    #[test]
    fn an_incomplete_composer_answer_is_not_compared() {
        let agreement = agreement_of(30, Some(&order_history_answer()), Some(&body(composer_answer(false))));
        assert!(!agreement.compared && !agreement.agrees());
        assert_eq!(agreement.not_compared_because.as_deref(), Some("composer's answer was incomplete"));
        let no_answer = agreement_of(30, Some(&order_history_answer()), None);
        assert_eq!(no_answer.not_compared_because.as_deref(), Some("composer gave no answer"));
    }

    #[test]
    fn zero_revenue_rows_do_not_make_a_difference() {
        let mut composer = composer_answer(true);
        composer["buckets"][0]["revenue"] = json!([{"currency": "EUR", "amount_minor": 0}]);
        let agreement = agreement_of(7, Some(&order_history_answer()), Some(&body(composer)));
        assert!(agreement.agrees(), "{:?}", agreement.differences);
    }

    #[test]
    fn only_the_first_differences_are_named_and_the_rest_counted() {
        let buckets: Vec<serde_json::Value> = (1..=15)
            .map(|day| json!({"period": format!("2026-11-{day:02}T00:00:00Z"), "key": "PLACED", "orders": 1}))
            .collect();
        let composer = body(json!({"buckets": [], "coverage": {"complete": true, "orders_read": 0,
            "orders_listed": 0, "pages_listed": 1}}));
        let agreement = agreement_of(30, Some(&body(json!({"buckets": buckets}))), Some(&composer));
        assert_eq!(agreement.buckets_differing, 15);
        assert_eq!(agreement.differences.len(), DIFFERENCES_NAMED + 1);
        assert_eq!(agreement.differences.last().map(String::as_str), Some("and 5 more buckets"));
    }

    #[test]
    fn an_answer_says_what_composer_read_and_sums_its_buckets() {
        let composer = body(composer_answer(false));
        let answer = statistics_answer(200, 120.0, 640, Some(&composer));
        assert_eq!((answer.buckets, answer.orders), (2, 44));
        assert_eq!(answer.revenue_minor, BTreeMap::from([("EUR".to_string(), 512300), ("USD".to_string(), 900)]));
        assert!(!answer.complete);
        assert_eq!((answer.orders_read, answer.pages_listed, answer.downstream_calls), (Some(44), Some(1), Some(89)));
        assert_eq!(answer.missing, ["payments of 2 orders"]);
        // order-history reads no orders and calls nobody: those figures are absent, not 0
        let own = statistics_answer(200, 2.0, 400, Some(&order_history_answer()));
        assert!(own.complete);
        assert_eq!((own.orders_read, own.downstream_calls), (None, None));
        let refused = statistics_answer(403, 1.0, 30, None);
        assert_eq!((refused.buckets, refused.complete), (0, false));
    }

    fn batch(outcomes: Vec<TimedOutcome>, downstream_calls: f64) -> TimedBatch {
        TimedBatch { outcomes, downstream_calls: Some(downstream_calls), bytes: Some(1000.0) }
    }

    #[test]
    fn a_row_sums_its_counts_and_takes_the_median_of_its_repetitions() {
        use TimedOutcome::*;
        let batches = [
            batch(vec![Whole(10.0), Whole(12.0), Incomplete(900.0), Error("timeout")], 400.0),
            batch(vec![Whole(11.0), Whole(11.0), Whole(13.0), Whole(14.0)], 200.0),
            batch(vec![Whole(30.0), Whole(31.0), Whole(32.0), Whole(33.0)], 800.0),
        ];
        let row = statistics_row(7, Design::Composer, &batches, None);
        assert_eq!((row.sent, row.ok, row.incomplete, row.errors), (12, 10, 1, 1));
        assert_eq!(row.error_kinds, BTreeMap::from([("timeout".to_string(), 1)]));
        assert_eq!(row.repetitions.len(), 3);
        // the p99 of four answers is the slowest
        assert_eq!(row.repetitions[0].latency_ms.p99.round(), 900.0);
        assert_eq!(row.p99_ms.map(f64::round), Some(33.0));
        assert_eq!(row.downstream_calls_per_request, Some(100.0));
        assert_eq!(row.bytes_per_request, Some(250.0));
    }

    #[test]
    fn a_design_that_answered_nothing_in_time_has_no_latency() {
        let timeouts = vec![TimedOutcome::Error("timeout"); 3];
        let row = statistics_row(30, Design::Composer, &[batch(timeouts, 1200.0)], None);
        assert_eq!((row.sent, row.errors), (3, 3));
        assert_eq!((row.p50_ms, row.p99_ms), (None, None));
        // its calls still count: the deadline cut them off, they were made
        assert_eq!(row.downstream_calls_per_request, Some(400.0));
    }

    #[test]
    fn completeness_is_composers_coverage_or_order_historys_freshness() {
        assert!(order_history_answer().complete());
        assert!(!body(json!({"buckets": [], "stale": true})).complete());
        assert!(body(composer_answer(true)).complete());
        assert!(!body(composer_answer(false)).complete());
    }
}
