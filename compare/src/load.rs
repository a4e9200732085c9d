//! The open-loop load: requests are due at fixed times (`start + i / rate`) whether or not the
//! earlier ones have answered, and each latency is measured from the time its request was due.
//! A closed loop (send, wait, send) slows down with the system under test and so under-reports
//! exactly the stalls that matter (coordinated omission); this does not.
//!
//! Every request has the same deadline, whichever design answers it: an answer after the
//! deadline is a `timeout` error. Successes and errors go into separate histograms, so a design
//! that fails fast cannot pass its failures off as speed, and a late answer never counts as a
//! slow success.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::{Semaphore, mpsc};

use crate::report::model::Percentiles;

/// How one request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx and whole.
    Ok,
    /// 2xx with parts missing.
    Degraded,
    /// A non-2xx status (`"502"`), or no answer (`"timeout"`, `"connect"`, `"transport"`).
    Error(String),
}

impl Outcome {
    pub fn label(&self) -> String {
        match self {
            Outcome::Ok => "ok".to_string(),
            Outcome::Degraded => "degraded".to_string(),
            Outcome::Error(label) => label.clone(),
        }
    }
}

/// The outcome of a request whose status and body are known: 2xx is ok unless the body's
/// top-level `degraded` names missing parts.
pub fn classify(status: reqwest::StatusCode, body: &[u8]) -> Outcome {
    #[derive(serde::Deserialize)]
    struct Degraded {
        #[serde(default)]
        degraded: Option<Vec<String>>,
    }
    if !status.is_success() {
        return Outcome::Error(status.as_u16().to_string());
    }
    match serde_json::from_slice::<Degraded>(body) {
        Ok(Degraded { degraded: Some(parts) }) if !parts.is_empty() => Outcome::Degraded,
        Ok(_) => Outcome::Ok,
        Err(_) => Outcome::Error("malformed body".to_string()),
    }
}

/// The outcome of a request that got no answer.
pub fn transport_error(error: &reqwest::Error) -> Outcome {
    let label = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "transport"
    };
    Outcome::Error(label.to_string())
}

/// The kind of an error outcome, as the report counts them: `timeout` (no answer before the
/// deadline), `http_5xx`, `http_4xx`, `connect`, and `other` (a broken transport or body).
pub fn error_kind(label: &str) -> &'static str {
    if label == "timeout" {
        return "timeout";
    }
    if label == "connect" {
        return "connect";
    }
    match label.parse::<u16>() {
        Ok(status) if (500..600).contains(&status) => "http_5xx",
        Ok(status) if (400..500).contains(&status) => "http_4xx",
        _ => "other",
    }
}

/// Sends a GET and classifies its answer.
pub async fn get(client: &reqwest::Client, url: &str) -> Outcome {
    match client.get(url).send().await {
        Ok(response) => {
            let status = response.status();
            match response.bytes().await {
                Ok(body) => classify(status, &body),
                Err(error) => transport_error(&error),
            }
        }
        Err(error) => transport_error(&error),
    }
}

/// What a load step measured.
pub struct Measured {
    pub sent: u64,
    pub outcomes: BTreeMap<String, u64>,
    /// Latency of the successes (ok and degraded), from each request's due time.
    pub success_latency: Histogram<u64>,
    /// Latency of the successes from the moment each was actually sent: what a closed-loop
    /// client would report. Far below `success_latency` only when the generator itself lagged.
    pub success_latency_from_send: Histogram<u64>,
    /// Latency of the errors, from each request's due time.
    pub error_latency: Histogram<u64>,
    /// How late each request was sent after its due time: the generator's own lag, including
    /// waits for a free slot.
    pub send_lag: Histogram<u64>,
    /// From the first due time until the last answer.
    pub elapsed: Duration,
    /// The first error answer's label, kept to explain a design that cannot serve a request.
    pub first_error: Option<String>,
}

impl Measured {
    pub fn count(&self, label: &str) -> u64 {
        self.outcomes.get(label).copied().unwrap_or(0)
    }

    pub fn errors(&self) -> u64 {
        self.sent - self.count("ok") - self.count("degraded")
    }

    /// Percentiles of the successes only.
    pub fn percentiles(&self) -> Percentiles {
        percentiles(&self.success_latency)
    }

    /// Errors per [`error_kind`].
    pub fn error_kinds(&self) -> BTreeMap<String, u64> {
        let mut kinds = BTreeMap::new();
        for (label, count) in &self.outcomes {
            if label == "ok" || label == "degraded" {
                continue;
            }
            *kinds.entry(error_kind(label).to_string()).or_insert(0) += count;
        }
        kinds
    }

    /// The successes' p99 from the due time minus their p99 from the actual send, in ms: above
    /// [`GENERATOR_LAG_LIMIT_MS`] the load generator could not keep to the schedule.
    pub fn generator_lag_ms(&self) -> f64 {
        if self.success_latency.is_empty() {
            return 0.0;
        }
        let corrected = percentiles(&self.success_latency).p99;
        let uncorrected = percentiles(&self.success_latency_from_send).p99;
        corrected - uncorrected
    }
}

/// A step whose successes' p99 moves by more than this between due time and send time was
/// shaped by the generator's own lag, not only by the design it measured.
pub const GENERATOR_LAG_LIMIT_MS: f64 = 1.0;

/// p50 … max in milliseconds of a histogram recorded in microseconds.
pub fn percentiles(histogram: &Histogram<u64>) -> Percentiles {
    if histogram.is_empty() {
        return Percentiles::default();
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    Percentiles {
        p50: ms(histogram.value_at_quantile(0.50)),
        p90: ms(histogram.value_at_quantile(0.90)),
        p99: ms(histogram.value_at_quantile(0.99)),
        p999: ms(histogram.value_at_quantile(0.999)),
        max: ms(histogram.max()),
        mean: histogram.mean() / 1000.0,
    }
}

/// A histogram of microseconds from 1 µs to 10 minutes, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("static histogram bounds are valid")
}

/// Runs `request(i)` for i = 0, 1, … at `rate` per second for `duration`.
///
/// At most `max_in_flight` requests are outstanding; beyond that the next request waits for a
/// slot, and the wait counts in its latency because latency runs from the due time. With a
/// `deadline`, a request without an answer that long after it was sent is a `timeout` error.
pub async fn open_loop<F, Fut>(
    rate: f64,
    duration: Duration,
    max_in_flight: usize,
    deadline: Option<Duration>,
    request: F,
) -> Measured
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    struct Answer {
        outcome: Outcome,
        from_due: Duration,
        from_send: Duration,
        send_lag: Duration,
    }
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let (results, mut received) = mpsc::unbounded_channel::<Answer>();
    let start = tokio::time::Instant::now();
    let started = Instant::now();
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let slot = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let pending = request(i);
        let results = results.clone();
        tokio::spawn(async move {
            let sent_at = tokio::time::Instant::now();
            let outcome = match deadline {
                None => pending.await,
                Some(deadline) => match tokio::time::timeout(deadline, pending).await {
                    Ok(outcome) => outcome,
                    Err(_) => Outcome::Error("timeout".to_string()),
                },
            };
            let answered_at = tokio::time::Instant::now();
            drop(slot);
            let _ = results.send(Answer {
                outcome,
                from_due: answered_at.saturating_duration_since(due),
                from_send: answered_at.saturating_duration_since(sent_at),
                send_lag: sent_at.saturating_duration_since(due),
            });
        });
    }
    drop(results);
    let mut success_latency = new_histogram();
    let mut success_latency_from_send = new_histogram();
    let mut error_latency = new_histogram();
    let mut send_lag = new_histogram();
    let mut outcomes = BTreeMap::new();
    let mut first_error = None;
    let micros = |duration: Duration| (duration.as_micros() as u64).max(1);
    while let Some(answer) = received.recv().await {
        send_lag.saturating_record(micros(answer.send_lag));
        match &answer.outcome {
            Outcome::Ok | Outcome::Degraded => {
                success_latency.saturating_record(micros(answer.from_due));
                success_latency_from_send.saturating_record(micros(answer.from_send));
            }
            Outcome::Error(label) => {
                error_latency.saturating_record(micros(answer.from_due));
                if first_error.is_none() {
                    first_error = Some(label.clone());
                }
            }
        }
        *outcomes.entry(answer.outcome.label()).or_insert(0) += 1;
    }
    Measured {
        sent: total,
        outcomes,
        success_latency,
        success_latency_from_send,
        error_latency,
        send_lag,
        elapsed: started.elapsed(),
        first_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_degraded_answer_is_a_success_with_parts_missing() {
        let ok = reqwest::StatusCode::OK;
        assert_eq!(classify(ok, br#"{"order_id": "x"}"#), Outcome::Ok);
        assert_eq!(classify(ok, br#"{"order_id": "x", "degraded": ["payments"]}"#), Outcome::Degraded);
        assert_eq!(classify(ok, br#"{"degraded": []}"#), Outcome::Ok);
        assert_eq!(classify(reqwest::StatusCode::BAD_GATEWAY, b"{}"), Outcome::Error("502".into()));
        assert_eq!(classify(ok, b"not json"), Outcome::Error("malformed body".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_request_counts_from_its_due_time() {
        // every request takes 100 ms, one slot: a closed loop would report 100 ms each; the
        // open loop reports the queueing too, so the later ones wait longer
        let measured = open_loop(100.0, Duration::from_millis(100), 1, None, |_| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Outcome::Ok
        })
        .await;
        assert_eq!(measured.sent, 10);
        assert_eq!(measured.count("ok"), 10);
        let p = measured.percentiles();
        assert!(p.p50 >= 100.0);
        // the tenth request was due at 90 ms and answered at 1000 ms
        assert!(p.max >= 900.0, "max {}", p.max);
        assert!(p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max);
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_enters_the_error_histogram_not_the_success_percentiles() {
        // every other request never answers: the deadline turns it into a timeout
        let measured = open_loop(100.0, Duration::from_millis(100), 64, Some(Duration::from_secs(1)), |i| async move {
            if i % 2 == 1 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            Outcome::Ok
        })
        .await;
        assert_eq!(measured.sent, 10);
        assert_eq!(measured.count("ok"), 5);
        assert_eq!(measured.errors(), 5);
        assert_eq!(measured.error_kinds(), BTreeMap::from([("timeout".to_string(), 5)]));
        assert_eq!(measured.success_latency.len(), 5);
        assert_eq!(measured.error_latency.len(), 5);
        // the successes' tail is theirs alone: no second-long timeout leaks into it
        assert!(measured.percentiles().max < 100.0, "{:?}", measured.percentiles());
        assert!(percentiles(&measured.error_latency).p50 >= 1000.0);
        assert!(measured.generator_lag_ms() <= GENERATOR_LAG_LIMIT_MS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_generator_that_cannot_keep_to_the_schedule_is_flagged() {
        // one slot and 100 ms answers at 100/s: the later requests are sent long after due
        let measured = open_loop(100.0, Duration::from_millis(100), 1, None, |_| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Outcome::Ok
        })
        .await;
        assert!(measured.generator_lag_ms() > GENERATOR_LAG_LIMIT_MS, "{}", measured.generator_lag_ms());
        assert!(percentiles(&measured.send_lag).max >= 800.0);
    }

    #[test]
    fn error_kinds_group_the_outcomes() {
        assert_eq!(error_kind("timeout"), "timeout");
        assert_eq!(error_kind("connect"), "connect");
        assert_eq!(error_kind("503"), "http_5xx");
        assert_eq!(error_kind("504"), "http_5xx");
        assert_eq!(error_kind("400"), "http_4xx");
        assert_eq!(error_kind("transport"), "other");
        assert_eq!(error_kind("malformed body"), "other");
    }

    /// An HTTP server on 127.0.0.1:0 that answers every request with `{}` after `delay`.
    async fn slow_server(delay: Duration) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = socket.read(&mut buffer).await;
                    tokio::time::sleep(delay).await;
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        format!("http://{address}/orders/1")
    }

    #[tokio::test]
    async fn the_deadline_turns_a_late_answer_into_a_timeout() {
        let url = slow_server(Duration::from_millis(300)).await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let request = |deadline: Duration| {
            let client = client.clone();
            let url = url.clone();
            open_loop(20.0, Duration::from_millis(100), 8, Some(deadline), move |_| {
                let client = client.clone();
                let url = url.clone();
                async move { get(&client, &url).await }
            })
        };
        let late = request(Duration::from_millis(50)).await;
        assert_eq!(late.count("timeout"), late.sent);
        assert!(late.success_latency.is_empty());
        let in_time = request(Duration::from_secs(5)).await;
        assert_eq!(in_time.count("ok"), in_time.sent);
        assert_eq!(in_time.errors(), 0);
    }
}
