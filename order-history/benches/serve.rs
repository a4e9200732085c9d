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

use bytes::Bytes;
use events::{
    Address, Customer, Event, LineItem, Money, Order, OrderEvent, OrderEventType, OrderStatus, Payment, PaymentEvent,
    PaymentEventType, PaymentMethod, PaymentStatus, Shipment, ShipmentEvent, ShipmentEventType, ShipmentStatus,
};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use indicatif::{ProgressBar, ProgressStyle};
use platform::auth::{JwtKeys, Reader};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use testkit::TestInfra;
use uuid::Uuid;

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
/// Requests before each phase's measurement starts: connections open, caches warm.
const WARM_UP: Duration = Duration::from_secs(1);

const FIRST_NAMES: [&str; 12] =
    ["Amara", "Bjorn", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kenji", "Lucia"];
const LAST_NAMES: [&str; 12] = [
    "Okafor",
    "Lindqvist",
    "Romano",
    "Petrov",
    "Yilmaz",
    "Haddad",
    "Novak",
    "Sato",
    "Moreau",
    "Weber",
    "Tanaka",
    "Silva",
];
/// Product names; the last word of each is what a customer searches for.
const PRODUCTS: [&str; 16] = [
    "Copper tea kettle",
    "Stoneware mug",
    "Linen tablecloth",
    "Walnut cutting board",
    "Cast iron skillet",
    "Ceramic pour over",
    "Wool throw blanket",
    "Bamboo steamer",
    "Glass storage jar",
    "Oak serving tray",
    "Enamel dutch oven",
    "Marble mortar",
    "Cotton apron",
    "Brass candle holder",
    "Porcelain teapot",
    "Chef knife",
];
const CITIES: [&str; 8] = ["Amsterdam", "Lisbon", "Berlin", "Turin", "Gdansk", "Lyon", "Uppsala", "Porto"];

fn at(millis: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

fn customer_of(sequence: u64, customers: u64) -> String {
    format!("cust-{}", sequence % customers)
}

/// One order's three events, varied enough that text search selects realistic subsets.
fn order_events(sequence: u64, customers: u64, occurred_at_ms: i64) -> (OrderEvent, PaymentEvent, ShipmentEvent) {
    let order_id = Uuid::now_v7();
    let pick = |modulus: usize, salt: u64| {
        ((sequence.wrapping_mul(2_654_435_761).wrapping_add(salt)) % modulus as u64) as usize
    };
    let first = FIRST_NAMES[pick(FIRST_NAMES.len(), 1)];
    let last = LAST_NAMES[pick(LAST_NAMES.len(), 7)];
    let money = |amount_minor: i64| Money { amount_minor, currency: "EUR".to_string() };
    let items: Vec<LineItem> = (0..1 + pick(3, 17))
        .map(|index| LineItem {
            sku: format!("SKU-{:05}", pick(5000, 41 + index as u64)),
            name: PRODUCTS[pick(PRODUCTS.len(), 31 + index as u64)].to_string(),
            quantity: 1 + pick(3, 43) as i32,
            unit_price: money(500 + pick(20_000, 47 + index as u64) as i64),
        })
        .collect();
    let total: i64 = items.iter().map(|item| item.unit_price.amount_minor * i64::from(item.quantity)).sum();
    let address = Address {
        line1: format!("{} Market Street", 1 + pick(300, 53)),
        line2: None,
        city: CITIES[pick(CITIES.len(), 13)].to_string(),
        postal_code: format!("{:05}", pick(99_999, 59)),
        country: "NL".to_string(),
    };
    let placed_at = at(occurred_at_ms);
    let order = OrderEvent {
        event_id: Uuid::now_v7(),
        event_type: OrderEventType::OrderPlaced,
        occurred_at: placed_at,
        order_id,
        aggregate_id: order_id,
        aggregate_version: 1,
        order: Order {
            order_id,
            customer: Customer {
                customer_id: customer_of(sequence, customers),
                name: format!("{first} {last}"),
                email: format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), sequence % 97),
            },
            items,
            total: money(total),
            shipping_address: address.clone(),
            status: OrderStatus::Placed,
            placed_at,
            cancelled_at: None,
            cancellation_reason: None,
        },
    };
    let payment_id = Uuid::now_v7();
    let payment = PaymentEvent {
        event_id: Uuid::now_v7(),
        event_type: PaymentEventType::PaymentAuthorized,
        occurred_at: placed_at,
        order_id,
        aggregate_id: payment_id,
        aggregate_version: 1,
        payment: Payment {
            payment_id,
            order_id,
            amount: money(total),
            method: PaymentMethod::Card,
            status: PaymentStatus::Authorized,
            decline_reason: None,
            created_at: placed_at,
            updated_at: placed_at,
        },
    };
    let shipment_id = Uuid::now_v7();
    let shipment = ShipmentEvent {
        event_id: Uuid::now_v7(),
        event_type: ShipmentEventType::ShipmentCreated,
        occurred_at: placed_at,
        order_id,
        aggregate_id: shipment_id,
        aggregate_version: 1,
        shipment: Shipment {
            shipment_id,
            order_id,
            carrier: "PostNL".to_string(),
            tracking_number: format!("3S{sequence:013}"),
            address,
            status: ShipmentStatus::Created,
            last_location: None,
            note: None,
            created_at: placed_at,
            updated_at: placed_at,
        },
    };
    (order, payment, shipment)
}

fn bar(length: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} ({{per_sec}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// An order the bench published: its id, and a word its customer can find it by.
struct Seeded {
    order_id: Uuid,
    product_word: String,
}

/// Publishes `orders` orders' events as the outbox relays would, in sequence order.
async fn fill(infra: &TestInfra, orders: u64, customers: u64) -> Vec<Seeded> {
    let codec = infra.codec();
    let producer: FutureProducer = infra
        .kafka
        .producer_config("bench-serve-fill")
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "500000")
        .create()
        .expect("producer");
    let progress = bar(orders * 3, "fill   ");
    let base_ms = chrono::Utc::now().timestamp_millis() - 86_400_000 * 365;
    let mut seeded = Vec::with_capacity(orders as usize);
    let mut in_flight = futures::stream::FuturesUnordered::new();
    for sequence in 0..orders {
        let (order, payment, shipment) = order_events(sequence, customers, base_ms + sequence as i64 * 90_000);
        let product = order.order.items[0].name.as_str();
        let product_word = product.rsplit(' ').next().unwrap_or(product).to_lowercase();
        seeded.push(Seeded { order_id: order.order_id, product_word });
        let key = order.order_id.to_string();
        let values = [
            (OrderEvent::TOPIC, codec.encode(&order).await.expect("encodes")),
            (PaymentEvent::TOPIC, codec.encode(&payment).await.expect("encodes")),
            (ShipmentEvent::TOPIC, codec.encode(&shipment).await.expect("encodes")),
        ];
        for (topic, value) in values {
            let producer = producer.clone();
            let key = key.clone();
            in_flight.push(async move {
                let record = FutureRecord::to(topic).key(&key).payload(&value);
                producer.send(record, Duration::from_secs(60)).await.map_err(|(error, _)| error).expect("delivered");
            });
        }
        // a bounded number of deliveries outstanding
        while in_flight.len() > 30_000 {
            futures::StreamExt::next(&mut in_flight).await;
            progress.inc(1);
        }
    }
    while futures::StreamExt::next(&mut in_flight).await.is_some() {
        progress.inc(1);
    }
    producer.flush(Duration::from_secs(60)).expect("flushed");
    progress.finish();
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
        .env("JWT_SECRET", platform::auth::dev::JWT_SECRET)
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

/// CPU seconds process `pid` has used (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    let after_name = &stat[stat.rfind(')').expect("a command name") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// One request a load phase may send: a path and the `Authorization` header, if any.
#[derive(Clone)]
struct Planned {
    path: Uri,
    authorization: Option<HeaderValue>,
}

/// What one closed-loop phase measured.
struct PhaseResult {
    name: &'static str,
    requests: u64,
    seconds: f64,
    unexpected: u64,
    latency_us: Histogram<u64>,
    server_cpu_seconds: f64,
}

impl PhaseResult {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// One connection's loop: the next request as soon as the last answer's body is read. Requests
/// that start after `measure_from` are counted; the loop ends at `until`.
async fn connection_loop(
    address: SocketAddr,
    requests: Arc<Vec<Planned>>,
    expected: StatusCode,
    measure_from: Instant,
    until: Instant,
) -> (u64, u64, Histogram<u64>) {
    let stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let host = HeaderValue::from_str(&address.to_string()).expect("host header");
    let mut latency_us = Histogram::<u64>::new(3).expect("histogram");
    let (mut counted, mut unexpected) = (0u64, 0u64);
    loop {
        let started = Instant::now();
        if started >= until {
            break;
        }
        let planned = &requests[fastrand::usize(..requests.len())];
        let mut request = Request::get(planned.path.clone()).header(HOST, host.clone());
        if let Some(authorization) = &planned.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let request = request.body(Empty::new()).expect("request");
        sender.ready().await.expect("connection ready");
        let response = sender.send_request(request).await.expect("response");
        let status = response.status();
        response.into_body().collect().await.expect("body");
        if started < measure_from {
            continue;
        }
        counted += 1;
        if status != expected {
            unexpected += 1;
        }
        latency_us.record(started.elapsed().as_micros() as u64).expect("record");
    }
    (counted, unexpected, latency_us)
}

async fn run_phase(
    name: &'static str,
    server: &Server,
    connections: usize,
    seconds: u64,
    requests: &Arc<Vec<Planned>>,
    expected: StatusCode,
) -> PhaseResult {
    let measure_from = Instant::now() + WARM_UP;
    let until = measure_from + Duration::from_secs(seconds);
    let mut loops = Vec::with_capacity(connections);
    for _ in 0..connections {
        loops.push(tokio::spawn(connection_loop(server.address, requests.clone(), expected, measure_from, until)));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = cpu_seconds(server.pid);
    let measuring = Instant::now();
    let mut result = PhaseResult {
        name,
        requests: 0,
        seconds: 0.0,
        unexpected: 0,
        latency_us: Histogram::<u64>::new(3).expect("histogram"),
        server_cpu_seconds: 0.0,
    };
    for connection in loops {
        let (counted, unexpected, latency_us) = connection.await.expect("connection loop");
        result.requests += counted;
        result.unexpected += unexpected;
        result.latency_us.add(latency_us).expect("histograms add");
    }
    result.seconds = measuring.elapsed().as_secs_f64();
    result.server_cpu_seconds = cpu_seconds(server.pid) - cpu_before;
    result
}

fn print_results(results: &[PhaseResult], connections: usize) {
    println!();
    println!("closed loop, {connections} connections, this bench's hyper client:");
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>14} {:>10}",
        "phase", "req/s", "p50 ms", "p99 ms", "server CPU/req", "unexpected"
    );
    for result in results {
        let cpu_per_request_us = result.server_cpu_seconds * 1e6 / result.requests.max(1) as f64;
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

/// The wrk script: each request is a random line of the file named after `--`, a path and
/// optionally a tab and a bearer token; a second argument is the token of lines without one.
const WRK_SCRIPT: &str = r#"-- written by order-history/benches/serve.rs
local requests = {}

function init(args)
  local default_token = args[2]
  for line in io.lines(args[1]) do
    local path, token = line:match("^([^\t]+)\t?(.*)$")
    if token == "" then token = default_token end
    local headers = {}
    if token then headers["Authorization"] = "Bearer " .. token end
    requests[#requests + 1] = wrk.format("GET", path, headers)
  end
  math.randomseed(os.time() + #requests)
end

function request()
  return requests[math.random(#requests)]
end
"#;

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

/// Runs wrk and returns its `Requests/sec`.
async fn run_wrk(args: &[String]) -> Option<f64> {
    let output = tokio::process::Command::new("wrk").args(args).output().await.ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Non-2xx") || line.starts_with("Socket errors") {
            println!("  wrk: {line}");
        }
        if line.starts_with("50%") || line.starts_with("99%") {
            println!("  wrk latency {line}");
        }
    }
    let rate = text.lines().find_map(|line| line.trim().strip_prefix("Requests/sec:"))?;
    rate.trim().parse().ok()
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

    let keys = JwtKeys::new(&platform::auth::dev::JWT_SECRET.into()).expect("keys");
    let service_token = keys.mint(&Reader::Service, Duration::from_secs(24 * 3600));
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
        let token = keys.mint(&Reader::Customer(customer), Duration::from_secs(24 * 3600));
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
    let results = vec![
        run_phase("401 floor (no token)", &server, connections, seconds, &Arc::new(floor), StatusCode::UNAUTHORIZED)
            .await,
        run_phase("GET /orders/{id}", &server, connections, seconds, &Arc::new(get_by_id), StatusCode::OK).await,
        run_phase("search (customer)", &server, connections, seconds, &Arc::new(search), StatusCode::OK).await,
    ];
    print_results(&results, connections);

    let files = write_wrk_files(&out_dir, &get_paths, &searches);
    let commands = wrk_commands(&files, server.address, &options, &service_token);
    // a missing wrk is said once, not printed as NaN rates
    let wrk_missing = options.wrk && tokio::process::Command::new("wrk").arg("--version").output().await.is_err();
    if wrk_missing {
        println!();
        println!("wrk is not installed (Debian: apt-get install wrk): no cross-check");
    }
    if options.wrk && !wrk_missing {
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
