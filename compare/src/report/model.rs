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

    /// The processes that serve the design, whose CPU is charged to it: for CQRS the read model,
    /// the broker and the registry it exists for (and, per write, the relays' Kafka clients,
    /// see [`Costs`]); for composition the composer and the source services' read paths.
    pub fn processes(self) -> &'static [&'static str] {
        match self {
            Design::OrderHistory => &["order-history", "broker", "schema-registry"],
            Design::Composer => &["composer", "order-svc", "payment-svc", "shipping-svc"],
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
    /// The charts written beside `report.json`, in the report's order.
    #[serde(default)]
    pub charts: Vec<Chart>,
    /// Goodput at the SLO of each design and request kind: the first table of the report.
    #[serde(default)]
    pub capacity: Vec<Capacity>,
    /// CPU cores each process of the stack uses with no traffic, per process, never
    /// subtracted from anything.
    #[serde(default)]
    pub standing_cost: Vec<StandingCost>,
    /// CPU charged to each design per 1,000 requests, reads and the writes they imply.
    #[serde(default)]
    pub costs: Option<Costs>,
    pub seeding: Option<Seeding>,
    /// Scenario 1: GET by id at each rate.
    pub get_by_id: Vec<LoadStep>,
    /// Scenario 2: the customer search both can serve, and the global search only CQRS can.
    pub search: Vec<LoadStep>,
    /// Scenario 2b: `GET /stats` for the last 1, 7 and 30 days on both designs.
    #[serde(default)]
    pub statistics: Option<Statistics>,
    /// Scenario 3, with no other load.
    pub freshness: Option<Freshness>,
    /// Scenario 3 again, while order-history serves GET by id at the scenarios' read rate.
    #[serde(default)]
    pub freshness_under_load: Option<Freshness>,
    /// Scenario 4: shipping-svc slowed down.
    pub slow_dependency: Vec<LoadStep>,
    /// Scenario 5: each source service failing in turn.
    pub dependency_down: Vec<LoadStep>,
    /// Scenario 6, derived from the measurements of scenarios 1, 2 and 5.
    pub coupling: Vec<CouplingRow>,
    /// Scenario 7.
    pub cqrs_cost: Option<CqrsCost>,
    /// Scenario 8: change coupling, one row per contract change and design.
    #[serde(default)]
    pub contract_change: Vec<ContractChangeRow>,
}

/// How one design followed one change of payment-svc's contracts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractChangeRow {
    /// `rest-rename`, `rest-versioned`, `event-v2` or `event-v3-incompatible`.
    pub change: String,
    pub design: Design,
    pub reads: u64,
    /// A 200 whose payments match payment-svc's own answer.
    pub correct: u64,
    /// A 200 naming `payments` as left out, or an error: the break is visible to the caller.
    pub degraded: u64,
    /// A 200 whose payments differ from payment-svc's, without saying so.
    pub wrong: u64,
    /// From the switch to the first sign of the break, in milliseconds; none when nothing broke.
    pub visible_after_ms: Option<f64>,
    /// Who sees the break first: the registry at deploy time, composer's error metrics, an end
    /// user, or nobody.
    pub visible_to: String,
    /// What the design had to change to follow the change.
    pub had_to_change: String,
}

impl Report {
    /// A report with no measurement yet.
    pub fn empty(environment: Environment) -> Self {
        Self {
            environment,
            runs: 1,
            verdicts: Vec::new(),
            charts: Vec::new(),
            capacity: Vec::new(),
            standing_cost: Vec::new(),
            costs: None,
            seeding: None,
            get_by_id: Vec::new(),
            search: Vec::new(),
            statistics: None,
            freshness: None,
            freshness_under_load: None,
            slow_dependency: Vec::new(),
            dependency_down: Vec::new(),
            coupling: Vec::new(),
            cqrs_cost: None,
            contract_change: Vec::new(),
        }
    }
}

/// The statistics scenario: each design's `GET /stats` for windows ending at the scenario's
/// start, every window asked with the same parameters of both designs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// The periods asked for: `day`.
    pub granularity: String,
    /// The dimension asked for: `status`.
    pub group_by: String,
    /// The end of every window (RFC 3339); each window starts its length of days before it.
    pub to: String,
    /// Sequential requests per window, design and repetition, each with `--deadline-ms`.
    pub requests_per_repetition: u32,
    pub deadline_ms: u64,
    /// One row per window and design, the windows in ascending length.
    pub rows: Vec<StatisticsRow>,
    /// Per window: whether the two designs' answers agree.
    pub agreement: Vec<StatisticsAgreement>,
}

/// One design's answers for one window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatisticsRow {
    pub window_days: u32,
    pub design: Design,
    /// Requests sent with the deadline, over every repetition.
    pub sent: u64,
    /// Answered within the deadline, whole: composer read every order of the window,
    /// order-history's rollups were not behind the topics.
    pub ok: u64,
    /// Answered within the deadline, not whole: composer's `coverage.complete` false,
    /// order-history's `stale` true.
    pub incomplete: u64,
    /// No answer within the deadline, or not a 2xx.
    pub errors: u64,
    /// Errors by kind: `timeout`, `http_5xx`, `http_4xx`, `connect`, `other`.
    pub error_kinds: BTreeMap<String, u64>,
    /// Latency of the answers within the deadline (whole or not): the median of the
    /// repetitions' p50 and p99; `None` when no request was answered in time.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Requests the source services received per request sent (their own counters), the
    /// median of the repetitions; includes the calls of requests the deadline cut off.
    pub downstream_calls_per_request: Option<f64>,
    /// Request and response body bytes of all five services per request sent, median of the
    /// repetitions.
    pub bytes_per_request: Option<f64>,
    /// Each repetition's figures, in the order they ran.
    pub repetitions: Vec<StatisticsRepetition>,
    /// One more request after the repetitions, given the client's own limit instead of the
    /// deadline: what the design answers when it is waited for.
    pub answer: Option<StatisticsAnswer>,
}

/// One repetition of one design's requests for one window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatisticsRepetition {
    pub sent: u64,
    pub errors: u64,
    /// Percentiles of the answers within the deadline; of N requests, the p99 is the slowest.
    pub latency_ms: Percentiles,
    pub downstream_calls_per_request: Option<f64>,
    pub bytes_per_request: Option<f64>,
}

/// One answer to `GET /stats`, read whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatisticsAnswer {
    /// HTTP status; the fields below are empty unless it is 2xx.
    pub status: u16,
    pub latency_ms: f64,
    /// The response body's length.
    pub response_bytes: u64,
    /// Buckets answered, and the orders and revenue they hold.
    pub buckets: u64,
    pub orders: i64,
    /// Revenue per currency, in minor units, summed over the buckets.
    pub revenue_minor: BTreeMap<String, i64>,
    /// composer: `coverage.complete`; order-history: not `stale`.
    pub complete: bool,
    /// composer only: what it read (`coverage`) and its own count of downstream requests.
    pub orders_read: Option<u64>,
    pub orders_listed: Option<u64>,
    pub pages_listed: Option<u64>,
    pub downstream_calls: Option<u64>,
    pub missing: Vec<String>,
}

/// Whether order-history's and composer's answers for one window hold the same numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatisticsAgreement {
    pub window_days: u32,
    /// Compared only when both answered and composer read every order of the window; an
    /// incomplete answer may undercount and says so.
    pub compared: bool,
    /// Buckets (period and key) compared: the union of both answers'.
    pub buckets_compared: u64,
    /// Buckets whose orders or revenue differ.
    pub buckets_differing: u64,
    /// The buckets whose orders or revenue differ, in words; empty when they agree.
    pub differences: Vec<String>,
    /// Why the answers were not compared.
    pub not_compared_because: Option<String>,
}

impl StatisticsAgreement {
    pub fn agrees(&self) -> bool {
        self.compared && self.buckets_differing == 0
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
    /// CPU time of the processes that serve this design ([`Design::processes`], from /proc)
    /// per 1,000 requests, in ms, nothing subtracted: it includes what they burn while idle.
    pub cpu_ms_per_1000: Option<f64>,
    /// CPU time of every process of the stack per 1,000 requests, in ms, by process.
    #[serde(default)]
    pub cpu_ms_per_1000_by_process: BTreeMap<String, f64>,
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

/// A chart file of the report and its title.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub file: String,
    pub title: String,
}

/// One design's capacity for one request kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub design: Design,
    /// `GET /orders/{id}`, `GET /orders?customer_id&q`, `GET /orders?q`.
    pub kind: String,
    pub slo_ms: f64,
    /// The highest rate that kept the SLO; 0 when none did or the design cannot serve the kind.
    pub rps: f64,
    /// The lowest rate above it that broke the SLO.
    pub failed_at_rps: Option<f64>,
    /// Why the search stopped there; `None` when the design cannot serve the kind at all.
    pub bound: Option<crate::capacity::Bound>,
    /// Every probe of the search, in order.
    pub probes: Vec<crate::capacity::Probe>,
    /// Set when the design refuses the request kind (composer's global search).
    pub not_servable: Option<String>,
}

/// CPU one process uses with no traffic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StandingCost {
    pub process: String,
    pub cores: f64,
    /// The design it is charged to; `None` for a process both need (none today).
    pub design: Option<Design>,
}

/// CPU charged to each design, from the steps' per-process figures and a write window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    /// Writes per read at which CQRS's per-write cost is added to its reads.
    pub write_read_ratio: f64,
    /// The write-only window: writes acknowledged and its length.
    pub writes: u64,
    pub write_seconds: f64,
    /// CPU per 1,000 writes of each process in the write window, in ms.
    pub write_cpu_ms_per_1000_by_process: BTreeMap<String, f64>,
    /// CPU per 1,000 writes of the source services' Kafka clients (librdkafka's threads): the
    /// relays' publishing, which only CQRS needs.
    pub relay_kafka_cpu_ms_per_1000_writes: Option<f64>,
    /// What 1,000 writes cost CQRS alone: the broker, the registry, order-history (projecting)
    /// and the relays' Kafka clients.
    pub cqrs_cpu_ms_per_1000_writes: Option<f64>,
    pub rows: Vec<CostRow>,
}

/// One design's CPU per 1,000 requests of one kind, at the rate the scenarios ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostRow {
    pub design: Design,
    pub endpoint: String,
    pub target_rps: f64,
    /// Cores of the design's processes at rest.
    pub standing_cores: f64,
    /// CPU of the design's processes per 1,000 reads (median of the repetitions).
    pub read_cpu_ms_per_1000: Option<f64>,
    /// CQRS: the writes that 1,000 reads imply at the write:read ratio; 0 for composition.
    pub write_cpu_ms_per_1000_reads: Option<f64>,
    pub total_cpu_ms_per_1000: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Freshness {
    pub writes_per_second: f64,
    /// GET-by-id requests a second order-history served while the writes ran (0: none).
    #[serde(default)]
    pub read_load_rps: f64,
    pub duration_seconds: f64,
    /// Writes acknowledged.
    pub writes: u64,
    /// Writes order-history showed at their version within `wait_limit_ms`.
    pub observed: u64,
    /// Writes still not visible after `wait_limit_ms` (censored): they count in the
    /// percentiles at the limit.
    pub not_visible: u64,
    pub wait_limit_ms: u64,
    /// From the write's acknowledgement until order-history returned that version; a write
    /// not visible within the limit counts as the limit.
    pub staleness_ms: Percentiles,
    /// `(staleness ms, fraction of observed writes at or below it)`, ascending.
    pub cdf: Vec<(f64, f64)>,
    /// Per kind of write (`order_placed`, `payment_captured`, ...), the p50 and p99.
    pub by_write_kind: BTreeMap<String, Percentiles>,
    /// How many of composer's whole answers to a read sent right after the write's
    /// acknowledgement already showed the written version (measured, not assumed).
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
    /// Bytes of the broker's log, which CQRS keeps for as long as it may rebuild: Kafka's
    /// partition directories of the three topics, or tansu's whole store.
    #[serde(default)]
    pub broker_log_bytes: Option<u64>,
    /// Elasticsearch's store size of the live index (primaries and replicas), from its stats API.
    #[serde(default)]
    pub elasticsearch_index_bytes: Option<u64>,
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
