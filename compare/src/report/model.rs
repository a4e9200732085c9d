//! The report's data: every figure of a run, as written to `report.json`. The markdown and the
//! charts are rendered from this and nothing else, so the two can never disagree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The two designs under comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Design {
    /// CQRS: the read model projected from events.
    #[serde(rename = "order-history")]
    OrderHistory,
    /// API Composition: calls the owning services at request time.
    #[serde(rename = "composer")]
    Composer,
}

impl Design {
    pub const BOTH: [Design; 2] = [Design::OrderHistory, Design::Composer];

    pub fn name(self) -> &'static str {
        match self {
            Design::OrderHistory => "order-history",
            Design::Composer => "composer",
        }
    }

    /// The design's pattern, for readers who know the patterns and not the binaries.
    pub fn pattern(self) -> &'static str {
        match self {
            Design::OrderHistory => "CQRS",
            Design::Composer => "API Composition",
        }
    }
}

/// The three source services, the dependencies of composition and the event sources of CQRS.
pub const SOURCE_SERVICES: [&str; 3] = ["order-svc", "payment-svc", "shipping-svc"];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub environment: Environment,
    /// How many times each compared step was measured (`--repeat`); each step's figures are the
    /// medians of its repetitions.
    #[serde(default)]
    pub runs: u32,
    /// Every comparison of the two designs, computed from the repetitions by
    /// [`crate::verdict::report_verdicts`]; `report.md` words these and nothing else.
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    pub seeding: Option<Seeding>,
    /// Scenario 1: GET by id at each rate.
    pub get_by_id: Vec<LoadStep>,
    /// Scenario 2: the customer search both can serve, and the global search only CQRS can.
    pub search: Vec<LoadStep>,
    /// Scenario 3.
    pub freshness: Option<Freshness>,
    /// Scenario 4: shipping-svc slowed down.
    pub slow_dependency: Vec<LoadStep>,
    /// Scenario 5: each source service failing in turn.
    pub dependency_down: Vec<LoadStep>,
    /// Scenario 6, derived from the measurements of scenarios 1, 2 and 5.
    pub coupling: Vec<CouplingRow>,
    /// Scenario 7.
    pub cqrs_cost: Option<CqrsCost>,
}

impl Report {
    /// A report with no measurement yet.
    pub fn empty(environment: Environment) -> Self {
        Self {
            environment,
            runs: 1,
            verdicts: Vec::new(),
            seeding: None,
            get_by_id: Vec::new(),
            search: Vec::new(),
            freshness: None,
            slow_dependency: Vec::new(),
            dependency_down: Vec::new(),
            coupling: Vec::new(),
            cqrs_cost: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Environment {
    /// RFC 3339, when the run started.
    pub started_at: String,
    pub finished_at: String,
    pub cpus: usize,
    /// `Linux 6.1.0 x86_64`, or what could be found out.
    pub os: String,
    pub memory_total_mib: Option<u64>,
    /// CPU cores the stack's processes used with no load at all (polling consumers, relays,
    /// the broker), measured before the scenarios; the CPU figures of each step are above it.
    #[serde(default)]
    pub idle_cpu_cores: Option<f64>,
    /// The same, per process.
    #[serde(default)]
    pub idle_cpu: Vec<crate::procfs::ProcessCpu>,
    /// `local` (tansu, SQLite, tantivy) or `compose` (Kafka, PostgreSQL, Elasticsearch), as
    /// configured for the run.
    pub profile: String,
    pub compare_version: String,
    /// Free-form versions of what was measured: each service's `/openapi.json` version, etc.
    pub versions: BTreeMap<String, String>,
    /// Every parameter of the run, as `name → value`.
    pub parameters: BTreeMap<String, String>,
    /// The endpoints measured.
    pub endpoints: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Seeding {
    pub seed: u64,
    pub orders: u64,
    pub customers: u64,
    pub payments: u64,
    pub shipments: u64,
    /// Writes acknowledged by the source services (creates and state changes).
    pub writes: u64,
    /// Writes refused (4xx/5xx) while seeding; expected 0.
    pub write_errors: u64,
    pub write_seconds: f64,
    /// From the last acknowledged write until order-history held every order at its latest
    /// version.
    pub converge_seconds: f64,
    /// How many of the orders were checked for convergence (all of them, by id and version).
    pub orders_verified: u64,
    /// Counts of the mix: `payment_declined`, `payment_refunded`, `order_cancelled`,
    /// `shipment_returned`, `shipment_delivered`, ...
    pub mix: BTreeMap<String, u64>,
}

/// What was done to the system while a step ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    Healthy,
    /// Every read of `service` delayed by `delay_ms` (fault injection).
    Slow {
        service: String,
        delay_ms: u64,
    },
    /// Every read of `service` answered 503 (fault injection, `error_rate` 1).
    Down {
        service: String,
    },
}

impl Condition {
    pub fn label(&self) -> String {
        match self {
            Condition::Healthy => "healthy".to_string(),
            Condition::Slow { service, delay_ms } => format!("{service} +{delay_ms} ms"),
            Condition::Down { service } => format!("{service} down"),
        }
    }
}

/// Latency percentiles in milliseconds, measured from each request's intended send time (so a
/// stalled system is not hidden by coordinated omission).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

/// One design under one open-loop load for one duration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadStep {
    /// `get_by_id`, `customer_search`, `global_search`, `slow_dependency`, `dependency_down`.
    pub scenario: String,
    pub design: Design,
    /// `GET /orders/{id}`, `GET /orders?customer_id&q`, `GET /orders?q`.
    pub endpoint: String,
    pub condition: Condition,
    pub target_rps: f64,
    pub duration_seconds: f64,
    /// Requests whose send time came (each is counted in exactly one of the outcomes below).
    pub sent: u64,
    /// 2xx and whole.
    pub ok: u64,
    /// 2xx with parts missing (composer's `degraded`).
    pub degraded: u64,
    /// Everything else: non-2xx answers, timeouts, refused connections.
    pub errors: u64,
    /// `"200"`, `"502"`, `"timeout"`, `"connect"`, ... → count.
    pub outcomes: BTreeMap<String, u64>,
    pub achieved_rps: f64,
    pub error_rate: f64,
    pub degraded_rate: f64,
    /// Latency of the successes (ok and degraded) only, from each request's due time; the
    /// errors are in `error_latency_ms`, so a fast failure never passes for speed.
    pub latency_ms: Percentiles,
    /// Latency of the errors (a timeout is the deadline), from each request's due time.
    #[serde(default)]
    pub error_latency_ms: Percentiles,
    /// Errors by kind: `timeout`, `http_5xx`, `http_4xx`, `connect`, `other`.
    #[serde(default)]
    pub error_kinds: BTreeMap<String, u64>,
    /// The successes' p99 from the due time minus their p99 from the actual send time, in ms.
    /// Above 1 ms the load generator itself fell behind its schedule (see [`LoadStep::generator_lagged`]).
    #[serde(default)]
    pub generator_lag_ms: f64,
    /// The p99 of how late requests were sent after their due time, in ms.
    #[serde(default)]
    pub send_lag_p99_ms: f64,
    /// Set when the design cannot serve the endpoint at all (every answer was the same 4xx),
    /// with its error message; the step's latencies are then not a measure of serving it.
    pub not_servable: Option<String>,
    /// Requests the source services received per request sent (from their `/metrics`).
    pub downstream_calls_per_request: Option<f64>,
    /// Request and response body bytes moved by every service of the stack per request sent.
    pub bytes_per_request: Option<f64>,
    /// CPU time of every process of the stack (from /proc) per 1,000 requests, in ms.
    pub cpu_ms_per_1000: Option<f64>,
    /// Each repetition's own figures, in the order they ran; the figures above are their
    /// medians (latencies, rates, costs) or sums (counts).
    #[serde(default)]
    pub repetitions: Vec<Repetition>,
}

/// One repetition of a step: the figures a verdict resamples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Repetition {
    pub sent: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub achieved_rps: f64,
    /// Percentiles of the successes.
    pub latency_ms: Percentiles,
    pub generator_lag_ms: f64,
    pub downstream_calls_per_request: Option<f64>,
    pub bytes_per_request: Option<f64>,
    pub cpu_ms_per_1000: Option<f64>,
}

/// One comparison of the two designs on one figure of one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The step, for a reader: `get 1,000/s`, `shipping-svc +250 ms, get by id`.
    pub question: String,
    /// `p50_ms`, `p99_ms`, `downstream_calls_per_request`, `bytes_per_request`, `cpu_ms_per_1000`.
    pub figure: String,
    pub scenario: String,
    pub endpoint: String,
    pub condition: Condition,
    pub target_rps: f64,
    /// order-history's figure ÷ composer's (medians of the repetitions); below 1 favours
    /// order-history, as every figure compared is better when lower. `None` when not compared.
    pub ratio: Option<f64>,
    /// The 95% bootstrap confidence interval of the ratio.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// A design only when the interval excludes 1 (and rests on two or more repetitions).
    pub winner: crate::verdict::Winner,
    /// Why the step was not compared: a design failed more than 1% of its requests.
    #[serde(default)]
    pub invalid: Option<String>,
}

impl LoadStep {
    /// Whether the load generator could not keep to its schedule in this step: its figures then
    /// measure the generator's lag too.
    pub fn generator_lagged(&self) -> bool {
        self.generator_lag_ms > crate::load::GENERATOR_LAG_LIMIT_MS
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Freshness {
    pub writes_per_second: f64,
    pub duration_seconds: f64,
    /// Writes acknowledged.
    pub writes: u64,
    /// Writes order-history showed at their version within `wait_limit_ms`.
    pub observed: u64,
    /// Writes still not visible after `wait_limit_ms`.
    pub not_visible: u64,
    pub wait_limit_ms: u64,
    /// From the write's acknowledgement until order-history returned that version.
    pub staleness_ms: Percentiles,
    /// `(staleness ms, fraction of observed writes at or below it)`, ascending.
    pub cdf: Vec<(f64, f64)>,
    /// Per kind of write (`order_placed`, `payment_captured`, ...), the p50 and p99.
    pub by_write_kind: BTreeMap<String, Percentiles>,
    /// Composition reads the systems of record, so a write is readable once acknowledged:
    /// this is how many reads-after-write composer answered at the written version.
    pub composer_fresh_reads: u64,
    /// composer's whole answers (200 without `degraded`) to a read right after a write.
    pub composer_reads: u64,
    /// Reads after a write that composer failed or answered with parts missing: they say
    /// nothing about freshness, and are counted apart.
    #[serde(default)]
    pub composer_unanswered_reads: u64,
}

/// One endpoint of one design, as measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CouplingRow {
    pub design: Design,
    pub endpoint: String,
    /// Services whose failure took away the full answer (measured in scenario 5).
    pub needs_for_full_answer: Vec<String>,
    /// Services whose failure took away every answer (measured in scenario 5).
    pub needs_for_any_answer: Vec<String>,
    /// Per source service, the share of requests answered in full / at all while it was down.
    pub availability_when_down: BTreeMap<String, f64>,
    pub full_answer_when_down: BTreeMap<String, f64>,
    pub downstream_calls_per_request: Option<f64>,
    pub bytes_per_request: Option<f64>,
    pub cpu_ms_per_1000: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CqrsCost {
    /// Bytes of the view (the tantivy directory, or the Elasticsearch indices' store size).
    pub view_bytes: Option<u64>,
    /// Bytes of the three source services' databases, for scale.
    pub source_bytes: Option<u64>,
    pub orders_in_view: u64,
    /// order-history's CPU while seeding (the projection, mostly), in seconds.
    pub projection_cpu_seconds: Option<f64>,
    /// `order_history_events_applied_total` gained while seeding.
    pub events_applied: u64,
    /// Events applied per second from the first write until convergence.
    pub events_applied_per_second: f64,
    /// Resident memory of order-history at the end of seeding.
    pub order_history_rss_mib: Option<f64>,
}
