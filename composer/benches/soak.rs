//! Soak: composer under a steady request rate while one dependency flaps, reporting memory,
//! open file descriptors and live tokio tasks at the start, middle and end, to show that no
//! connection or task leaks.
//!
//! ```sh
//! cargo bench -p composer --bench soak                      # 10 minutes, payment-svc flapping
//! cargo bench -p composer --bench soak -- --seconds 30 --rate 100 --flap-seconds 3 --flapping shipping-svc
//! ```
//!
//! Everything runs in this one process (the three source services on SQLite, composer, and the
//! load), so the figures from `/proc/self` cover all of it: a leak in any of them shows. The
//! flapping dependency cycles through: stopped (connections refused, pooled ones reset),
//! running, slowed past the call deadline (requests cut mid-flight), running, failing half of
//! its reads with 503, running; one phase every `--flap-seconds`.

#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use helpers::{Source, Sources, Writer, id_of, spawn_composer};
use tokio::sync::{Mutex, Semaphore};

struct Options {
    seconds: u64,
    rate: u64,
    flap_seconds: u64,
    flapping: Source,
}

fn options() -> Options {
    let mut options = Options { seconds: 600, rate: 50, flap_seconds: 5, flapping: Source::Payments };
    let args: Vec<String> = std::env::args().collect();
    let value_of = |index: usize| -> &str { args.get(index + 1).map(String::as_str).unwrap_or_default() };
    for (index, arg) in args.iter().enumerate() {
        match arg.as_str() {
            "--seconds" => options.seconds = value_of(index).parse().expect("--seconds takes a number"),
            "--rate" => options.rate = value_of(index).parse().expect("--rate takes requests per second"),
            "--flap-seconds" => options.flap_seconds = value_of(index).parse().expect("--flap-seconds takes a number"),
            "--flapping" => {
                options.flapping = match value_of(index) {
                    "order-svc" => Source::Orders,
                    "payment-svc" => Source::Payments,
                    "shipping-svc" => Source::Shipments,
                    other => panic!("--flapping takes order-svc, payment-svc or shipping-svc, not {other:?}"),
                }
            }
            _ => {} // cargo passes --bench; the values of the flags above
        }
    }
    assert!(options.seconds > 0 && options.rate > 0 && options.flap_seconds > 0, "positive numbers");
    options
}

/// What `/proc/self` says about this process.
struct ProcessFigures {
    rss_kib: u64,
    open_fds: usize,
}

fn process_figures() -> ProcessFigures {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_default();
    let open_fds = std::fs::read_dir("/proc/self/fd").map(|entries| entries.count()).unwrap_or_default();
    ProcessFigures { rss_kib, open_fds }
}

/// Outcomes of the requests of one reporting period.
#[derive(Default)]
struct Tally {
    full: AtomicU64,
    degraded: AtomicU64,
    bad_gateway_or_timeout: AtomicU64,
    other: AtomicU64,
}

impl Tally {
    fn take(&self) -> [u64; 4] {
        [
            self.full.swap(0, Ordering::Relaxed),
            self.degraded.swap(0, Ordering::Relaxed),
            self.bad_gateway_or_timeout.swap(0, Ordering::Relaxed),
            self.other.swap(0, Ordering::Relaxed),
        ]
    }
}

#[tokio::main]
async fn main() {
    let options = options();
    let mut sources = Sources::start().await;
    let mut config = sources.composer_config();
    config.call_deadline_ms = 300;
    config.request_deadline_ms = 600;
    config.breaker_cooldown_ms = 1000;
    let composer = Arc::new(spawn_composer(config).await);

    // the data: 40 customers with 5 orders each, every order with a payment and a shipment
    let mut order_ids = Vec::new();
    let mut customers = Vec::new();
    {
        let writer = Writer { sources: &sources };
        for customer_index in 0..40 {
            let customer = format!("soak-{customer_index}");
            for _ in 0..5 {
                let order_id = id_of(&writer.place_simple_order(&customer).await);
                let payment = writer.create_payment(&order_id, 4599, "CARD").await;
                writer.change_payment(&id_of(&payment), "capture").await;
                writer.create_shipment(&order_id, "DHL Express", "Utrecht").await;
                order_ids.push(order_id);
            }
            customers.push(customer);
        }
    }
    let order_ids = Arc::new(order_ids);
    let customers = Arc::new(customers);

    println!(
        "soak of composer: {} s at {} requests/s (90% GET /orders/{{id}}, 10% customer search), {} flapping every {} s",
        options.seconds,
        options.rate,
        options.flapping.dependency(),
        options.flap_seconds
    );
    println!(
        "| elapsed s | RSS MiB | open fds | live tasks | requests | 200 full | 200 degraded | 502/504 | other | p50 ms | p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");

    let tally = Arc::new(Tally::default());
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram")));
    let running = Arc::new(AtomicBool::new(true));
    // bounds the requests in flight, so that a stall shows as lost throughput, not memory
    let in_flight = Arc::new(Semaphore::new(512));

    let load = {
        let (composer, tally, latencies, running) =
            (composer.clone(), tally.clone(), latencies.clone(), running.clone());
        let (order_ids, customers, in_flight) = (order_ids.clone(), customers.clone(), in_flight.clone());
        let period = Duration::from_nanos(1_000_000_000 / options.rate);
        let token = testkit::service_token();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut sequence: u64 = 0;
            while running.load(Ordering::Relaxed) {
                ticks.tick().await;
                sequence += 1;
                let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                    tally.other.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let path = if sequence.is_multiple_of(10) {
                    format!("/orders?customer_id={}", customers[fastrand::usize(..customers.len())])
                } else {
                    format!("/orders/{}", order_ids[fastrand::usize(..order_ids.len())])
                };
                let (composer, tally, latencies, token) =
                    (composer.clone(), tally.clone(), latencies.clone(), token.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    let started = Instant::now();
                    let response = composer.client.get(composer.url(&path)).bearer_auth(&token).send().await;
                    let elapsed_us = started.elapsed().as_micros() as u64;
                    let counter = match response {
                        Ok(response) if response.status() == 200 => {
                            let degraded = response.text().await.is_ok_and(|body| body.contains("\"degraded\""));
                            if degraded { &tally.degraded } else { &tally.full }
                        }
                        Ok(response) if matches!(response.status().as_u16(), 502 | 504) => {
                            &tally.bad_gateway_or_timeout
                        }
                        _ => &tally.other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    latencies.lock().await.saturating_record(elapsed_us.max(1));
                });
            }
        })
    };

    let flapping = options.flapping;
    let flap_period = Duration::from_secs(options.flap_seconds);
    let started = Instant::now();
    let total = Duration::from_secs(options.seconds);
    let report_every = Duration::from_secs((options.seconds / 10).max(1));
    let mut next_report = Duration::ZERO;
    let mut next_flap = flap_period;
    let mut phase = 0usize;
    let mut reports = Vec::new();
    loop {
        let elapsed = started.elapsed();
        if elapsed >= next_report {
            let figures = process_figures();
            let live_tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
            let [full, degraded, failed, other] = tally.take();
            let mut histogram = latencies.lock().await;
            let (p50, p99) =
                (histogram.value_at_quantile(0.5) as f64 / 1000.0, histogram.value_at_quantile(0.99) as f64 / 1000.0);
            histogram.reset();
            drop(histogram);
            println!(
                "| {:.0} | {:.1} | {} | {} | {} | {full} | {degraded} | {failed} | {other} | {p50:.1} | {p99:.1} |",
                elapsed.as_secs_f64(),
                figures.rss_kib as f64 / 1024.0,
                figures.open_fds,
                live_tasks,
                full + degraded + failed + other,
            );
            reports.push((elapsed, figures, live_tasks));
            next_report += report_every;
        }
        if elapsed >= total {
            break;
        }
        if elapsed >= next_flap {
            // stopped, running, slowed, running, failing, running
            match phase % 6 {
                0 => sources.stop(flapping).await,
                1 => sources.restart(flapping).await,
                2 => sources.set_faults(flapping, 1000, 0.0).await,
                3 | 5 => sources.set_faults(flapping, 0, 0.0).await,
                4 => sources.set_faults(flapping, 0, 0.5).await,
                _ => unreachable!("phase is taken modulo 6"),
            }
            phase += 1;
            next_flap += flap_period;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.store(false, Ordering::Relaxed);
    let _ = load.await;

    let first = reports.get(1).unwrap_or(&reports[0]);
    let middle = &reports[reports.len() / 2];
    let last = &reports[reports.len() - 1];
    println!();
    println!("| point | elapsed s | RSS MiB | open fds | live tasks |");
    println!("|---|---|---|---|---|");
    for (name, (elapsed, figures, tasks)) in [("start", first), ("middle", middle), ("end", last)] {
        println!(
            "| {name} | {:.0} | {:.1} | {} | {tasks} |",
            elapsed.as_secs_f64(),
            figures.rss_kib as f64 / 1024.0,
            figures.open_fds
        );
    }
    // every request has finished once all permits are back
    let _all = in_flight.acquire_many(512).await.expect("the semaphore is never closed");
    if let Ok(composer) = Arc::try_unwrap(composer) {
        composer.stop().await;
    }
    sources.shutdown().await;
}
