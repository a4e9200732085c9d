//! The open-loop load: requests are due at fixed times (`start + i / rate`) whether or not the
//! earlier ones have answered, and each latency is measured from the time its request was due.
//! A closed loop (send, wait, send) slows down with the system under test and so under-reports
//! exactly the stalls that matter (coordinated omission); this does not.

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
    pub latency: Histogram<u64>,
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

    pub fn percentiles(&self) -> Percentiles {
        percentiles(&self.latency)
    }
}

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
/// slot, and the wait counts in its latency because latency runs from the due time.
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, max_in_flight: usize, request: F) -> Measured
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let (results, mut received) = mpsc::unbounded_channel::<(Outcome, Duration)>();
    let start = tokio::time::Instant::now();
    let started = Instant::now();
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let slot = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let pending = request(i);
        let results = results.clone();
        tokio::spawn(async move {
            let outcome = pending.await;
            let latency = tokio::time::Instant::now().saturating_duration_since(due);
            drop(slot);
            let _ = results.send((outcome, latency));
        });
    }
    drop(results);
    let mut latency = new_histogram();
    let mut outcomes = BTreeMap::new();
    let mut first_error = None;
    while let Some((outcome, took)) = received.recv().await {
        latency.saturating_record((took.as_micros() as u64).max(1));
        if first_error.is_none()
            && let Outcome::Error(label) = &outcome
        {
            first_error = Some(label.clone());
        }
        *outcomes.entry(outcome.label()).or_insert(0) += 1;
    }
    Measured { sent: total, outcomes, latency, elapsed: started.elapsed(), first_error }
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
        let measured = open_loop(100.0, Duration::from_millis(100), 1, |_| async {
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
}
