//! composer's GET by id against the HTTP floor: how close a read that pays three downstream
//! calls comes to the rate at which the same server answers a request it refuses with 401.
//!
//! 1. the three source services on SQLite and a composer in front of them, all in this
//!    process, on 127.0.0.1; `--orders` orders (default 1,000), each with a captured payment
//!    and a shipment, written through the services' APIs;
//! 2. closed-loop load, `--connections` HTTP/1.1 connections (default 32) each sending its next
//!    request when the last one is answered, for `--seconds` (default 10) per phase:
//!    - the floor: `GET /orders/{id}` without a token, refused with 401 by the read guard;
//!    - `GET /orders/{id}` with a service token, over random orders;
//! 3. req/s, p50 and p99, this process's CPU per request (composer, the three services and
//!    the load generator together), and the read's ratio to the floor;
//! 4. with `--wrk`, the same two with `wrk` as an independent cross-check; with
//!    `--hold-seconds N`, composer stays up N seconds more for other tools.
//!
//! `cargo bench -p composer --bench serve [-- --orders N --connections C --seconds S --wrk --hold-seconds H]`

#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;
// the load generator of order-history's serve bench, so that both designs are measured alike
#[path = "../../order-history/benches/support/load.rs"]
mod load;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use helpers::{Sources, Writer, id_of, spawn_composer};
use hyper::StatusCode;
use hyper::header::HeaderValue;
use load::{Planned, WRK_SCRIPT, cpu_seconds, run_phase, run_wrk, wrk_installed};

struct Options {
    orders: u64,
    connections: usize,
    seconds: u64,
    hold_seconds: u64,
    wrk: bool,
}

fn options() -> Options {
    let mut options = Options { orders: 1_000, connections: 32, seconds: 10, hold_seconds: 0, wrk: false };
    let args: Vec<String> = std::env::args().collect();
    for (index, flag) in args.iter().enumerate() {
        let value = args.get(index + 1).and_then(|value| value.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--orders", Some(value)) => options.orders = value.max(1),
            ("--connections", Some(value)) => options.connections = (value as usize).max(1),
            ("--seconds", Some(value)) => options.seconds = value.max(1),
            ("--hold-seconds", Some(value)) => options.hold_seconds = value,
            ("--wrk", _) => options.wrk = true,
            _ => {}
        }
    }
    options
}

/// Orders per customer, as in the order-history bench.
const ORDERS_PER_CUSTOMER: u64 = 20;
/// Writes the wrk script and the paths into `out_dir`; returns the two wrk command lines.
fn wrk_commands(
    out_dir: &Path,
    paths: &[String],
    address: SocketAddr,
    options: &Options,
    token: &str,
) -> [(&'static str, Vec<String>); 2] {
    let script: PathBuf = out_dir.join("serve.lua");
    let paths_file: PathBuf = out_dir.join("get_by_id.paths");
    std::fs::write(&script, WRK_SCRIPT).expect("write the wrk script");
    std::fs::write(&paths_file, paths.join("\n") + "\n").expect("write the paths");
    let base = vec![
        "-t2".to_string(),
        format!("-c{}", options.connections),
        format!("-d{}s", options.seconds),
        "--latency".to_string(),
        "-s".to_string(),
        script.display().to_string(),
        format!("http://{address}"),
        "--".to_string(),
        paths_file.display().to_string(),
    ];
    let mut get_by_id = base.clone();
    get_by_id.push(token.to_string());
    [("401 floor (no token)", base), ("GET /orders/{id}", get_by_id)]
}

// as the binaries of composer and the services
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let options = options();
    let sources = Sources::start().await;
    let composer = spawn_composer(sources.composer_config()).await;
    let customers = (options.orders / ORDERS_PER_CUSTOMER).max(1);
    let started = Instant::now();
    let writer = Writer { sources: &sources };
    let mut paths = Vec::with_capacity(options.orders as usize);
    for sequence in 0..options.orders {
        let order_id = id_of(&writer.place_simple_order(&format!("cust-{}", sequence % customers)).await);
        let payment = writer.create_payment(&order_id, 4599, "CARD").await;
        writer.change_payment(&id_of(&payment), "capture").await;
        writer.create_shipment(&order_id, "DHL Express", "Utrecht").await;
        paths.push(format!("/orders/{order_id}"));
    }
    println!(
        "{} orders written through the source services in {:.1}s",
        options.orders,
        started.elapsed().as_secs_f64()
    );

    let token = testkit::service_token();
    let planned = |path: &String, token: Option<&str>| Planned {
        path: path.parse().expect("a path"),
        authorization: token.map(|token| HeaderValue::from_str(&format!("Bearer {token}")).expect("header value")),
    };
    let floor = paths.iter().map(|path| planned(path, None)).collect();
    let get_by_id = paths.iter().map(|path| planned(path, Some(&token))).collect();
    // composer, the three services and the load generator are this one process
    let phase = |name, requests: Vec<Planned>, expected| {
        let (address, connections, seconds, requests) =
            (composer.address, options.connections, options.seconds, Arc::new(requests));
        async move {
            run_phase(name, address, connections, seconds, &requests, expected, || cpu_seconds(std::process::id()))
                .await
        }
    };
    let results = [
        phase("401 floor (no token)", floor, StatusCode::UNAUTHORIZED).await,
        phase("GET /orders/{id}", get_by_id, StatusCode::OK).await,
    ];
    println!();
    println!("closed loop, {} connections, this bench's hyper client:", options.connections);
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>15} {:>10}",
        "phase", "req/s", "p50 ms", "p99 ms", "process CPU/req", "unexpected"
    );
    for result in &results {
        println!(
            "{:<22} {:>9.0} {:>9.2} {:>9.2} {:>12.0} µs {:>10}",
            result.name,
            result.rate(),
            result.latency_us.value_at_quantile(0.5) as f64 / 1000.0,
            result.latency_us.value_at_quantile(0.99) as f64 / 1000.0,
            result.cpu_seconds * 1e6 / result.requests.max(1) as f64,
            result.unexpected,
        );
    }
    println!("{:<22} {:.2}x the 401 floor", results[1].name, results[1].rate() / results[0].rate());

    let out_dir = std::env::temp_dir().join("composer-serve-bench");
    std::fs::create_dir_all(&out_dir).expect("output dir");
    let commands = wrk_commands(&out_dir, &paths, composer.address, &options, &token);
    if options.wrk && wrk_installed().await {
        println!();
        println!("the same with wrk, {} connections, 2 threads:", options.connections);
        let mut rates = Vec::new();
        for (name, args) in &commands {
            let rate = run_wrk(args).await.unwrap_or(f64::NAN);
            println!("{name:<22} {rate:>9.0} req/s");
            rates.push(rate);
        }
        println!("wrk: GET by id {:.2}x the floor", rates[1] / rates[0]);
    }
    if options.hold_seconds > 0 {
        println!();
        println!(
            "composer stays up for {}s at http://{} (pid {}):",
            options.hold_seconds,
            composer.address,
            std::process::id()
        );
        for (name, args) in &commands {
            println!("  {name}: wrk {}", args.join(" "));
        }
        tokio::time::sleep(Duration::from_secs(options.hold_seconds)).await;
    }
    composer.stop().await;
    sources.shutdown().await;
}
