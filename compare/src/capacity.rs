//! Capacity at an SLO: the highest open-loop arrival rate at which a design answers with its
//! p99 within the SLO and fewer than 1% of its requests failed or degraded (its goodput at the
//! SLO). Comparing latencies at fixed rates says little when one design is saturated at a rate
//! the other barely notices; capacity says how much each can carry, and every other scenario
//! then runs at a stated fraction of the lower capacity, so no baseline is saturated.
//!
//! The search is the classic one for a monotone pass/fail: double the rate from a start until a
//! probe fails (or the generator's ceiling is reached), then bisect between the last pass and
//! the first fail, geometrically, until they are within the precision. Each probe is one
//! open-loop step, so a probe above capacity queues and its p99 grows with the step's length;
//! that makes the edge sharp. It is pure logic over a probe function, so it is tested against a
//! server of known capacity.

use std::future::Future;

use serde::{Deserialize, Serialize};

/// The service level a rate must meet to count as carried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slo {
    /// The highest p99 of the successes, in milliseconds.
    pub p99_ms: f64,
    /// The highest share of requests that failed or came back degraded.
    pub max_bad_rate: f64,
}

/// The share of bad answers a carried rate may have: one in a hundred.
pub const MAX_BAD_RATE: f64 = 0.01;

/// Where the search starts and stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub start_rps: f64,
    /// The ceiling: the load generator shares the machine, and above a few thousand requests a
    /// second it lags its own schedule (the report flags that per probe).
    pub max_rps: f64,
    /// The search stops when the failing rate is within this factor of the passing one.
    pub precision: f64,
    /// The most probes one search may take.
    pub max_probes: usize,
}

/// What one probe measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub rps: f64,
    /// Requests sent.
    #[serde(default)]
    pub sent: u64,
    /// The successes' p99, milliseconds.
    pub p99_ms: f64,
    /// Errors and degraded answers over requests sent.
    pub bad_rate: f64,
    /// The generator's own lag at the successes' p99 (see [`crate::load::Measured::generator_lag_ms`]).
    pub generator_lag_ms: f64,
    pub passed: bool,
}

impl Probe {
    pub fn judged(slo: &Slo, rps: f64, sent: u64, p99_ms: f64, bad_rate: f64, generator_lag_ms: f64) -> Self {
        // a probe with no success at all has no p99: it failed
        let passed = bad_rate < slo.max_bad_rate && p99_ms.is_finite() && p99_ms > 0.0 && p99_ms <= slo.p99_ms;
        Probe { rps, sent, p99_ms, bad_rate, generator_lag_ms, passed }
    }
}

/// Why the search stopped where it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// A passing and a failing rate within the precision: the capacity lies between them.
    Slo,
    /// Every probe passed up to the ceiling: the capacity is at least that.
    Ceiling,
    /// Even the lowest rate tried failed.
    BelowStart,
    /// The probes ran out before the precision was reached.
    Probes,
}

/// The outcome of one search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The highest rate that passed; 0 when none did.
    pub rps: f64,
    /// The lowest rate that failed above it, when one did.
    pub failed_at_rps: Option<f64>,
    pub bound: Bound,
    /// Every probe, in the order taken.
    pub probes: Vec<Probe>,
}

/// The rates below the start tried before giving up, each a quarter of the last.
const STEPS_DOWN: usize = 2;

/// Searches for the highest rate `probe` passes. `probe(rate)` measures one step at `rate` and
/// judges it with [`Probe::judged`].
pub async fn search<F, Fut>(limits: &Limits, mut probe: F) -> anyhow::Result<Found>
where
    F: FnMut(f64) -> Fut,
    Fut: Future<Output = anyhow::Result<Probe>>,
{
    let mut probes = Vec::new();
    let mut passed: Option<f64> = None;
    let mut failed: f64;
    let mut rate = limits.start_rps.min(limits.max_rps);
    // up: double until a failure or the ceiling
    loop {
        let measured = probe(rate).await?;
        probes.push(measured);
        if !measured.passed {
            failed = rate;
            break;
        }
        passed = Some(rate);
        if rate >= limits.max_rps || probes.len() >= limits.max_probes {
            let bound = if rate >= limits.max_rps { Bound::Ceiling } else { Bound::Probes };
            return Ok(Found { rps: rate, failed_at_rps: None, bound, probes });
        }
        rate = (rate * 2.0).min(limits.max_rps);
    }
    // the start itself failed: a few steps down before giving up
    if passed.is_none() {
        for _ in 0..STEPS_DOWN {
            if probes.len() >= limits.max_probes {
                break;
            }
            rate /= 4.0;
            let measured = probe(rate).await?;
            probes.push(measured);
            if measured.passed {
                passed = Some(rate);
                break;
            }
            failed = rate;
        }
    }
    let Some(mut low) = passed else {
        return Ok(Found { rps: 0.0, failed_at_rps: Some(failed), bound: Bound::BelowStart, probes });
    };
    let mut high = failed;
    // bisect, geometrically: the rates span orders of magnitude
    while high / low > 1.0 + limits.precision {
        if probes.len() >= limits.max_probes {
            return Ok(Found { rps: low, failed_at_rps: Some(high), bound: Bound::Probes, probes });
        }
        let middle = (low * high).sqrt();
        let measured = probe(middle).await?;
        probes.push(measured);
        if measured.passed {
            low = middle;
        } else {
            high = middle;
        }
    }
    Ok(Found { rps: low, failed_at_rps: Some(high), bound: Bound::Slo, probes })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::load;

    const SLO: Slo = Slo { p99_ms: 100.0, max_bad_rate: MAX_BAD_RATE };

    fn limits() -> Limits {
        Limits { start_rps: 50.0, max_rps: 20_000.0, precision: 0.1, max_probes: 16 }
    }

    /// A probe of a system that carries exactly `capacity` requests a second.
    fn exact(capacity: f64) -> impl FnMut(f64) -> std::future::Ready<anyhow::Result<Probe>> {
        move |rps| {
            let p99 = if rps <= capacity { 10.0 } else { 500.0 };
            std::future::ready(Ok(Probe::judged(&SLO, rps, 100, p99, 0.0, 0.0)))
        }
    }

    #[tokio::test]
    async fn finds_a_known_edge_within_the_precision() {
        for capacity in [75.0, 333.0, 1234.0, 9000.0] {
            let found = search(&limits(), exact(capacity)).await.unwrap();
            assert_eq!(found.bound, Bound::Slo, "{capacity}: {found:?}");
            assert!(found.rps <= capacity && found.rps >= capacity / 1.1, "{capacity}: {found:?}");
            let failed = found.failed_at_rps.unwrap();
            assert!(failed > capacity && failed <= found.rps * 1.1, "{capacity}: {found:?}");
        }
    }

    #[tokio::test]
    async fn a_system_that_never_fails_is_bounded_by_the_ceiling() {
        let found = search(&limits(), exact(f64::INFINITY)).await.unwrap();
        assert_eq!(found.bound, Bound::Ceiling);
        assert_eq!(found.rps, 20_000.0);
    }

    #[tokio::test]
    async fn a_system_below_the_start_is_searched_downwards_then_given_up() {
        let found = search(&limits(), exact(10.0)).await.unwrap();
        assert_eq!(found.bound, Bound::Slo, "{found:?}");
        assert!(found.rps <= 10.0 && found.rps >= 9.0, "{found:?}");
        let found = search(&limits(), exact(1.0)).await.unwrap();
        assert_eq!(found.bound, Bound::BelowStart);
        assert_eq!(found.rps, 0.0);
        assert_eq!(found.probes.len(), 1 + STEPS_DOWN);
    }

    #[tokio::test]
    async fn errors_fail_a_probe_even_when_fast() {
        assert!(!Probe::judged(&SLO, 100.0, 100, 5.0, 0.02, 0.0).passed);
        assert!(Probe::judged(&SLO, 100.0, 100, 5.0, 0.005, 0.0).passed);
        assert!(!Probe::judged(&SLO, 100.0, 100, 0.0, 1.0, 0.0).passed, "no success, no p99");
        assert!(!Probe::judged(&SLO, 100.0, 100, 101.0, 0.0, 0.0).passed);
    }

    /// An HTTP server that serves `workers` requests at a time, each taking `service`: its
    /// capacity is `workers / service` requests a second, and above it the queue grows.
    async fn server_of_known_capacity(workers: usize, service: Duration) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let permits = Arc::new(tokio::sync::Semaphore::new(workers));
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let permits = permits.clone();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    loop {
                        // one request per read is enough for the client's small GETs
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let permit = permits.acquire().await.unwrap();
                        // a busy wait would be the truer model of CPU work, but it would
                        // compete with the client for the same two cores
                        tokio::time::sleep(service).await;
                        drop(permit);
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        format!("http://{address}/orders/1")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn finds_the_capacity_of_a_semaphore_server_within_15_percent() {
        // 8 workers × 20 ms: 400 requests a second
        let service = Duration::from_millis(20);
        let url = server_of_known_capacity(8, service).await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let limits = Limits { start_rps: 50.0, max_rps: 5_000.0, precision: 0.05, max_probes: 14 };
        let found = search(&limits, |rps| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let measured =
                    load::open_loop(rps, Duration::from_secs(2), 2048, Some(Duration::from_secs(1)), move |_| {
                        let client = client.clone();
                        let url = url.clone();
                        async move { load::get(&client, &url).await }
                    })
                    .await;
                let bad = measured.sent - measured.count("ok");
                Ok(Probe::judged(
                    &SLO,
                    rps,
                    measured.sent,
                    measured.percentiles().p99,
                    bad as f64 / measured.sent as f64,
                    measured.generator_lag_ms(),
                ))
            }
        })
        .await
        .unwrap();
        // a timer's sleep overshoots by up to a millisecond, so the true capacity is a little
        // under 400/s; ±15% holds either way
        let known = 8.0 / service.as_secs_f64();
        assert_eq!(found.bound, Bound::Slo, "{found:?}");
        assert!((found.rps - known).abs() <= 0.15 * known, "found {} for a capacity of {known}: {found:?}", found.rps);
    }
}
