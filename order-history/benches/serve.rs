//! order-history's reads against the HTTP floor: how close GET by id and search come to the
//! rate at which the same server answers a request it refuses with 401.
//!
//! 1. fill the three topics with `--orders` orders (default 20,000; one ORDER_PLACED, one
//!    PAYMENT_AUTHORIZED and one SHIPMENT_CREATED each), about 20 per customer;
//! 2. start the real `order-history` binary (this bench's build of it) on the seeded topics and
//!    wait until its view holds every order;
//! 3. closed-loop load, `--connections` HTTP/1.1 connections (default 32) each sending its next
//!    request when the last one is answered, for `--seconds` (default 10) per phase:
//!    - the floor: `GET /orders/{id}` without a token, refused with 401 by the read guard;
//!    - `GET /orders/{id}` with a service token, over random seeded ids;
//!    - `GET /orders?q={product word}` with a random customer's token: a customer's search;
//! 4. print req/s, p50 and p99, the server's CPU per request, and each read's ratio to the floor;
//! 5. with `--wrk`, measure the same three with `wrk` as an independent cross-check; with
//!    `--hold-seconds N`, keep the server up for N seconds after that and print the `wrk` and
//!    `perf` command lines that point at it.
//!
//! `--server-bin PATH` runs another build of order-history instead, e.g. one of an earlier
//! commit, so that two versions are measured by the same load generator on the same data.
//!
//! `cargo bench -p order-history --bench serve [-- --orders N --connections C --seconds S --wrk --hold-seconds H]`
//! Everything runs on 127.0.0.1: a real tansu broker, the project's registry, the real server.
//! The load generator shares the machine with the server, as wrk does; the server's CPU per
//! request is read from its own /proc entry, so it is not blurred by the generator's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use hyper::header::HeaderValue;
use platform::auth::Reader;
use testkit::TestInfra;
use uuid::Uuid;

#[path = "support/load.rs"]
mod load;
#[path = "support/seed.rs"]
mod seed;

use load::{PhaseResult, Planned, WRK_SCRIPT, cpu_seconds, run_phase, run_wrk, wrk_installed};
use seed::bar;

struct Options {
    orders: u64,
    connections: usize,
    seconds: u64,
    hold_seconds: u64,
    wrk: bool,
    server_bin: PathBuf,
}

fn options() -> Options {
    let mut options = Options {
        orders: 20_000,
        connections: 32,
        seconds: 10,
        hold_seconds: 0,
        wrk: false,
        server_bin: PathBuf::from(env!("CARGO_BIN_EXE_order-history")),
    };
    let args: Vec<String> = std::env::args().collect();
    for (index, flag) in args.iter().enumerate() {
        let raw_value = args.get(index + 1);
        let value = raw_value.and_then(|value| value.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--orders", Some(value)) => options.orders = value.max(1),
            ("--connections", Some(value)) => options.connections = (value as usize).max(1),
            ("--seconds", Some(value)) => options.seconds = value.max(1),
            ("--hold-seconds", Some(value)) => options.hold_seconds = value,
            ("--wrk", _) => options.wrk = true,
            ("--server-bin", _) => options.server_bin = raw_value.expect("--server-bin takes a path").into(),
            _ => {}
        }
    }
    options
}

/// Orders per customer: a customer's search looks through a realistic handful, not one.
const ORDERS_PER_CUSTOMER: u64 = 20;
/// Customers whose tokens the search phase uses, at most.
const SEARCHING_CUSTOMERS: usize = 500;
fn customer_of(sequence: u64, customers: u64) -> String {
    format!("cust-{}", sequence % customers)
}

/// An order the bench published: its id, and a word its customer can find it by.
struct Seeded {
    order_id: Uuid,
    product_word: String,
}

/// Publishes `orders` orders' events as the outbox relays would, in sequence order.
async fn fill(infra: &TestInfra, orders: u64, customers: u64) -> Vec<Seeded> {
    let mut seeded = Vec::with_capacity(orders as usize);
    let customer_of = |sequence: u64| customer_of(sequence, customers);
    seed::fill(infra, "bench-serve-fill", 0..orders, customer_of, 30_000, |events| {
        let product = events.0.order.items[0].name.as_str();
        let product_word = product.rsplit(' ').next().unwrap_or(product).to_lowercase();
        seeded.push(Seeded { order_id: events.0.order_id, product_word });
    })
    .await;
    seeded
}

/// The order-history binary, serving the seeded topics from a fresh data dir.
struct Server {
    child: tokio::process::Child,
    address: SocketAddr,
    pid: u32,
}

async fn start_server(infra: &TestInfra, server_bin: &Path, out_dir: &Path) -> Server {
    let address = testkit::free_address();
    let log = std::fs::File::create(out_dir.join("order-history.log")).expect("log file");
    let child = tokio::process::Command::new(server_bin)
        .args(["--listen", &address.to_string()])
        .arg("--data-dir")
        .arg(infra.dir.path().join("order-history"))
        .args(["--kafka-bootstrap-servers", &infra.kafka.bootstrap_servers])
        .args(["--schema-registry-url", &infra.registry_url])
        .args(["--group-id", "order-history-serve-bench"])
        .env("JWKS_FILE", testkit::test_jwks_file())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("order-history starts");
    let pid = child.id().expect("a running child has a pid");
    Server { child, address, pid }
}

/// Waits until the view serves all `orders` orders, as a search for everything counts them.
async fn wait_for_view(address: SocketAddr, service_token: &str, orders: u64) {
    let client = reqwest::Client::new();
    let url = format!("http://{address}/orders?include_incomplete=true&limit=1");
    let progress = bar(orders, "project");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        assert!(Instant::now() < deadline, "the view did not reach {orders} orders in time");
        let response = client.get(&url).bearer_auth(service_token).send().await;
        let total = match response {
            Ok(response) if response.status() == 200 => {
                let body: serde_json::Value = response.json().await.expect("search answers json");
                body["total"].as_u64().unwrap_or_default()
            }
            // not listening yet, or not ready
            _ => 0,
        };
        progress.set_position(total);
        if total >= orders {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    progress.finish();
}

fn print_results(results: &[PhaseResult], connections: usize) {
    println!();
    println!("closed loop, {connections} connections, this bench's hyper client:");
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>14} {:>10}",
        "phase", "req/s", "p50 ms", "p99 ms", "server CPU/req", "unexpected"
    );
    for result in results {
        let cpu_per_request_us = result.cpu_seconds * 1e6 / result.requests.max(1) as f64;
        println!(
            "{:<22} {:>9.0} {:>9.2} {:>9.2} {:>11.0} µs {:>10}",
            result.name,
            result.rate(),
            result.latency_us.value_at_quantile(0.5) as f64 / 1000.0,
            result.latency_us.value_at_quantile(0.99) as f64 / 1000.0,
            cpu_per_request_us,
            result.unexpected,
        );
    }
    let floor = results[0].rate();
    for result in &results[1..] {
        println!("{:<22} {:.2}x the 401 floor", result.name, result.rate() / floor);
    }
}

/// The files wrk reads, in `out_dir`: the script, the GET paths and the searches.
struct WrkFiles {
    script: PathBuf,
    get_paths: PathBuf,
    searches: PathBuf,
}

fn write_wrk_files(out_dir: &Path, get_requests: &[String], searches: &[(String, String)]) -> WrkFiles {
    let files = WrkFiles {
        script: out_dir.join("serve.lua"),
        get_paths: out_dir.join("get_by_id.paths"),
        searches: out_dir.join("search.paths"),
    };
    std::fs::write(&files.script, WRK_SCRIPT).expect("write the wrk script");
    std::fs::write(&files.get_paths, get_requests.join("\n") + "\n").expect("write the ids");
    let search_lines: Vec<String> = searches.iter().map(|(path, token)| format!("{path}\t{token}")).collect();
    std::fs::write(&files.searches, search_lines.join("\n") + "\n").expect("write the searches");
    files
}

/// The three wrk command lines, for `server` and `options`, named like the phases.
fn wrk_commands(
    files: &WrkFiles,
    address: SocketAddr,
    options: &Options,
    service_token: &str,
) -> [(&'static str, Vec<String>); 3] {
    let base = |paths: &Path| {
        vec![
            "-t2".to_string(),
            format!("-c{}", options.connections),
            format!("-d{}s", options.seconds),
            "--latency".to_string(),
            "-s".to_string(),
            files.script.display().to_string(),
            format!("http://{address}"),
            "--".to_string(),
            paths.display().to_string(),
        ]
    };
    let mut get_by_id = base(&files.get_paths);
    get_by_id.push(service_token.to_string());
    [
        ("401 floor (no token)", base(&files.get_paths)),
        ("GET /orders/{id}", get_by_id),
        ("search (customer)", base(&files.searches)),
    ]
}

#[tokio::main]
async fn main() {
    let options = options();
    let customers = (options.orders / ORDERS_PER_CUSTOMER).max(1);
    let out_dir = std::env::temp_dir().join("order-history-serve-bench");
    std::fs::create_dir_all(&out_dir).expect("output dir");
    let infra = TestInfra::start().await;
    println!("orders: {}, customers: {customers}, events: {}", options.orders, options.orders * 3);
    let started = Instant::now();
    let seeded = fill(&infra, options.orders, customers).await;
    println!("fill: {:.1}s", started.elapsed().as_secs_f64());

    let issuer = testkit::test_issuer();
    let service_token = issuer.mint(&Reader::Service, Duration::from_secs(24 * 3600));
    println!("server: {}", options.server_bin.display());
    let mut server = start_server(&infra, &options.server_bin, &out_dir).await;
    let started = Instant::now();
    wait_for_view(server.address, &service_token, options.orders).await;
    println!("projected in {:.1}s; server pid {} on {}", started.elapsed().as_secs_f64(), server.pid, server.address);

    let get_paths: Vec<String> = seeded.iter().map(|order| format!("/orders/{}", order.order_id)).collect();
    // customer n placed order n (and every `customers`-th after it): each searches for a
    // product of that first order
    let mut searches = Vec::new();
    for (sequence, order) in seeded.iter().enumerate().take((customers as usize).min(SEARCHING_CUSTOMERS)) {
        let customer = customer_of(sequence as u64, customers);
        let token = issuer.mint(&Reader::Customer(customer), Duration::from_secs(24 * 3600));
        searches.push((format!("/orders?q={}", order.product_word), token));
    }
    let planned = |path: &str, token: Option<&str>| Planned {
        path: path.parse().expect("a path"),
        authorization: token.map(|token| HeaderValue::from_str(&format!("Bearer {token}")).expect("header value")),
    };
    let floor: Vec<Planned> = get_paths.iter().map(|path| planned(path, None)).collect();
    let get_by_id: Vec<Planned> = get_paths.iter().map(|path| planned(path, Some(&service_token))).collect();
    let search: Vec<Planned> = searches.iter().map(|(path, token)| planned(path, Some(token))).collect();

    let (connections, seconds) = (options.connections, options.seconds);
    let phase = |name, requests: Vec<Planned>, expected| {
        let requests = Arc::new(requests);
        let (address, pid) = (server.address, server.pid);
        async move { run_phase(name, address, connections, seconds, &requests, expected, || cpu_seconds(pid)).await }
    };
    let results = vec![
        phase("401 floor (no token)", floor, StatusCode::UNAUTHORIZED).await,
        phase("GET /orders/{id}", get_by_id, StatusCode::OK).await,
        phase("search (customer)", search, StatusCode::OK).await,
    ];
    print_results(&results, connections);

    let files = write_wrk_files(&out_dir, &get_paths, &searches);
    let commands = wrk_commands(&files, server.address, &options, &service_token);
    if options.wrk && wrk_installed().await {
        println!();
        println!("the same with wrk, {connections} connections, 2 threads:");
        let mut rates = Vec::new();
        for (name, args) in &commands {
            let cpu_before = cpu_seconds(server.pid);
            let rate = run_wrk(args).await.unwrap_or(f64::NAN);
            let cpu = cpu_seconds(server.pid) - cpu_before;
            let cpu_per_request_us = cpu * 1e6 / (rate * options.seconds as f64);
            println!("{name:<22} {rate:>9.0} req/s, server CPU {cpu_per_request_us:.0} µs/req");
            rates.push(rate);
        }
        println!("wrk: GET by id {:.2}x the floor, search {:.2}x", rates[1] / rates[0], rates[2] / rates[0]);
    }
    if options.hold_seconds > 0 {
        println!();
        println!(
            "the server stays up for {}s at http://{} (pid {}):",
            options.hold_seconds, server.address, server.pid
        );
        for (name, args) in &commands {
            println!("  {name}: wrk {}", args.join(" "));
        }
        println!("  profile: perf record -F 999 --call-graph dwarf -p {} -- sleep 10", server.pid);
        tokio::time::sleep(Duration::from_secs(options.hold_seconds)).await;
    }
    server.child.kill().await.expect("stop the server");
}
