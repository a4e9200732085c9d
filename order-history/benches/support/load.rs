//! The closed-loop load generator of the serve benches (order-history's and composer's): one
//! HTTP/1.1 connection per loop, each sending its next request when the last answer is read,
//! as wrk does; and wrk itself, as the independent cross-check.
//!
//! Included by path (`#[path = ".../support/load.rs"] mod load;`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;

/// Requests sent before this are not counted: connections and caches warm up.
pub const WARM_UP: Duration = Duration::from_secs(1);

/// CPU seconds process `pid` has used (user + system).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    let after_name = &stat[stat.rfind(')').expect("a command name") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// One request a load phase may send: a path and the `Authorization` header, if any.
#[derive(Clone)]
pub struct Planned {
    pub path: Uri,
    pub authorization: Option<HeaderValue>,
}

/// What one closed-loop phase measured.
pub struct PhaseResult {
    pub name: &'static str,
    pub requests: u64,
    pub seconds: f64,
    pub unexpected: u64,
    pub latency_us: Histogram<u64>,
    /// CPU seconds of the process under load (the server, or this process with everything in it).
    pub cpu_seconds: f64,
}

impl PhaseResult {
    pub fn rate(&self) -> f64 {
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

/// `connections` closed loops against `address` for `seconds` after a warm-up, counting
/// `cpu()` (CPU seconds of whatever process is measured) over the measured part.
pub async fn run_phase(
    name: &'static str,
    address: SocketAddr,
    connections: usize,
    seconds: u64,
    requests: &Arc<Vec<Planned>>,
    expected: StatusCode,
    cpu: impl Fn() -> f64,
) -> PhaseResult {
    let measure_from = Instant::now() + WARM_UP;
    let until = measure_from + Duration::from_secs(seconds);
    let mut loops = Vec::with_capacity(connections);
    for _ in 0..connections {
        loops.push(tokio::spawn(connection_loop(address, requests.clone(), expected, measure_from, until)));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = cpu();
    let measuring = Instant::now();
    let mut result = PhaseResult {
        name,
        requests: 0,
        seconds: 0.0,
        unexpected: 0,
        latency_us: Histogram::<u64>::new(3).expect("histogram"),
        cpu_seconds: 0.0,
    };
    for connection in loops {
        let (counted, unexpected, latency_us) = connection.await.expect("connection loop");
        result.requests += counted;
        result.unexpected += unexpected;
        result.latency_us.add(latency_us).expect("histograms add");
    }
    result.seconds = measuring.elapsed().as_secs_f64();
    result.cpu_seconds = cpu() - cpu_before;
    result
}

/// The wrk script: each request is a random line of the file named after `--`, a path and
/// optionally a tab and a bearer token; a second argument is the token of lines without one.
pub const WRK_SCRIPT: &str = r#"-- written by order-history/benches/support/load.rs
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

/// Runs wrk and returns its `Requests/sec`.
pub async fn run_wrk(args: &[String]) -> Option<f64> {
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

/// Whether wrk can be run; when it cannot, says so once instead of printing NaN rates.
pub async fn wrk_installed() -> bool {
    let installed = tokio::process::Command::new("wrk").arg("--version").output().await.is_ok();
    if !installed {
        println!();
        println!("wrk is not installed (Debian: apt-get install wrk): no cross-check");
    }
    installed
}
