//! Reconcile, run as `order-history reconcile`: detect drift between the view and the source services, and with
//! `--repair`, have the running order-history re-project the drifting orders.
//!
//! It reads both sides through their HTTP APIs, never their databases or index files: the same
//! command then works against the local profile, compose and production alike, and it can run
//! while order-history serves (tantivy's writer lock keeps any other process from opening the
//! index then).
//! - the view: every document through `GET /orders?include_incomplete=true`, paged with its
//!   cursor, and `GET /orders/{id}` for the re-check;
//! - order-svc: every order through `GET /orders`, paged with its cursor;
//! - payment-svc and shipping-svc list payments and shipments per order only
//!   (`GET /payments?order_id=…`), so they are asked once per order id either side knows. A
//!   payment or shipment whose order neither order-svc nor the view knows is not seen.
//!
//! Writes go on while it runs, so an order can be legitimately behind for a moment. The view is
//! read before the sources, so the view is never ahead by timing alone, and the order ids found
//! drifting are read again, view first, after a grace period (`--settle-ms`); only what still
//! differs then is reported. [`diff`] has the rules of each category.
//!
//! The statistics read model is checked too ([`statistics`]): its `GET /stats` by day for the
//! last `--stats-days` days, once per `group_by`, against a recount of the sources' orders placed
//! in that period.
//!
//! Exit codes: 0 without drift, 1 with drift (after `--repair`: drift that is left), 2 when a
//! service cannot be read.

pub mod diff;
pub mod repair_api;
pub mod report;
pub mod source;
pub mod statistics;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use order_view::OrderHistory;
use order_view::source_merge::document_from_sources;
use order_view::stats::{Granularity, GroupBy, StatsAnswer, StatsQuery};
use platform::auth::Secret;
use reqwest::StatusCode;
use uuid::Uuid;

use self::diff::{Drift, SourceOrder, compare_order};
use self::repair_api::{MAX_REPAIR_IDS, RepairState, RepairStatus};
pub use self::report::{Outcome, Reconciliation, RepairSummary, Report, StatisticsCheck};
use self::source::{Client, Endpoints, SourceError};
use self::statistics::{compare_answers, recount};
use platform::endpoints::SourceServiceUrls;

/// The addresses `stack up` serves on (stack/src/config.rs); compose publishes the same ports.
pub const DEFAULT_ORDER_HISTORY_URL: &str = "http://127.0.0.1:8010";
pub use platform::endpoints::{DEFAULT_ORDER_SVC_URL, DEFAULT_PAYMENT_SVC_URL, DEFAULT_SHIPPING_SVC_URL};

/// How often a running repair is polled.
const REPAIR_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The flags of `order-history reconcile`.
#[derive(Clone, Debug, clap::Args)]
pub struct ReconcileArgs {
    /// The running order-history whose view is checked.
    #[arg(long = "order-history-url", env = "ORDER_HISTORY_URL", default_value = DEFAULT_ORDER_HISTORY_URL)]
    pub order_history_url: String,
    /// The sources of truth the view is checked against.
    #[command(flatten)]
    pub sources: SourceServiceUrls,
    /// A read token with role service, sent as `Authorization: Bearer` on every GET.
    #[arg(long = "read-token", env = "READ_TOKEN", hide_env_values = true)]
    pub read_token: Option<Secret>,
    /// order-history's admin token, for `--repair`.
    #[arg(long = "admin-token", env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// After finding drift, re-project the drifting orders from the topics (`POST
    /// /admin/repair`), then reconcile again; exit 0 only if no drift is left.
    #[arg(long = "repair", env = "RECONCILE_REPAIR")]
    pub repair: bool,
    /// How many example order ids to print per category.
    #[arg(long = "examples", env = "RECONCILE_EXAMPLES", default_value_t = 5)]
    pub examples: usize,
    /// Print the report as JSON instead of a summary.
    #[arg(long = "json", env = "RECONCILE_JSON")]
    pub json: bool,
    /// How long to wait before reading the drifting orders again, in milliseconds; writes in
    /// flight settle meanwhile. 0 reports the first pass as it is.
    #[arg(long = "settle-ms", env = "RECONCILE_SETTLE_MS", default_value_t = 2000)]
    pub settle_ms: u64,
    /// How many orders' payments and shipments are read at the same time.
    #[arg(long = "concurrency", env = "RECONCILE_CONCURRENCY", default_value_t = 8)]
    pub concurrency: usize,
    /// How long `--repair` waits for the repairs to finish, in seconds.
    #[arg(long = "repair-timeout-secs", env = "RECONCILE_REPAIR_TIMEOUT_SECS", default_value_t = 900)]
    pub repair_timeout_secs: u64,
    /// Check the statistics of the orders placed in the last this many days (whole hours, up to
    /// now) against a recount of the sources; 0 skips the check.
    #[arg(long = "stats-days", env = "RECONCILE_STATS_DAYS", default_value_t = 30)]
    pub stats_days: u32,
}

impl ReconcileArgs {
    /// The defaults, against the given services; for tests and other tools.
    pub fn new(order_history_url: &str, order_svc_url: &str, payment_svc_url: &str, shipping_svc_url: &str) -> Self {
        ReconcileArgs {
            order_history_url: order_history_url.to_string(),
            sources: SourceServiceUrls::new(order_svc_url, payment_svc_url, shipping_svc_url),
            read_token: None,
            admin_token: None,
            repair: false,
            examples: 5,
            json: false,
            settle_ms: 2000,
            concurrency: 8,
            repair_timeout_secs: 900,
            stats_days: 30,
        }
    }

    fn client(&self) -> Result<Client, SourceError> {
        let endpoints = Endpoints {
            order_history: self.order_history_url.clone(),
            order_svc: self.sources.order_svc_url.clone(),
            payment_svc: self.sources.payment_svc_url.clone(),
            shipping_svc: self.sources.shipping_svc_url.clone(),
        };
        Client::new(endpoints, self.read_token.clone(), self.admin_token.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("--repair needs order-history's admin token: pass --admin-token or set ADMIN_TOKEN")]
    RepairWithoutAdminToken,
    #[error("repair failed: {0}")]
    RepairFailed(String),
    #[error("repair did not finish within {0} s")]
    RepairTimedOut(u64),
}

/// Runs `order-history reconcile`: prints the report and returns the exit code.
pub async fn main(args: ReconcileArgs) -> i32 {
    match run(&args).await {
        Ok(outcome) => {
            if args.json {
                println!("{:#}", outcome.to_json(args.examples));
            } else {
                print!("{}", outcome.to_text(args.examples));
            }
            outcome.exit_code()
        }
        Err(error) => {
            eprintln!("order-history reconcile: {error}");
            2
        }
    }
}

/// Reconciles, and with `args.repair` repairs what drifts and reconciles again.
pub async fn run(args: &ReconcileArgs) -> Result<Outcome, ReconcileError> {
    // refused before the long read rather than after it
    if args.repair && args.admin_token.is_none() {
        return Err(ReconcileError::RepairWithoutAdminToken);
    }
    let client = args.client()?;
    let reconciliation = reconcile_with(&client, args).await?;
    if !args.repair || !reconciliation.has_drift() {
        return Ok(Outcome { reconciliation, repair: None, after_repair: None });
    }
    let order_ids: Vec<Uuid> = reconciliation.drifting_order_ids().into_iter().collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.repair_timeout_secs);
    let mut summary = RepairSummary::default();
    // each request scans the topics once: the chunks are as large as a request takes
    for chunk in order_ids.chunks(MAX_REPAIR_IDS) {
        let status = repair(&client, chunk, deadline, args.repair_timeout_secs).await?;
        summary.add(&status);
    }
    let after_repair = reconcile_with(&client, args).await?;
    Ok(Outcome { reconciliation, repair: Some(summary), after_repair: Some(after_repair) })
}

/// One reconciliation: both sides in full, then the drifting ids again after the grace period.
pub async fn reconcile(args: &ReconcileArgs) -> Result<Reconciliation, ReconcileError> {
    reconcile_with(&args.client()?, args).await
}

async fn reconcile_with(client: &Client, args: &ReconcileArgs) -> Result<Reconciliation, ReconcileError> {
    // the view first, statistics included: what it holds was then already written to the sources
    let stats_queries = stats_queries(args.stats_days, Utc::now());
    let stats_in_view = view_statistics(client, &stats_queries).await?;
    let documents = client.view_documents().await?;
    let mut orders = client.orders().await?;
    let (documents_in_view, orders_in_source) = (documents.len(), orders.len());
    let order_ids: BTreeSet<Uuid> = documents.keys().chain(orders.keys()).copied().collect();
    tracing::debug!(documents_in_view, orders_in_source, order_ids = order_ids.len(), "reconcile read both lists");
    let mut sources = read_payments_and_shipments(client, &order_ids, args.concurrency).await?;
    let mut drifts = Vec::new();
    let mut source_documents = Vec::new();
    for order_id in &order_ids {
        let mut source = sources.remove(order_id).unwrap_or_default();
        source.order = orders.remove(order_id);
        drifts.extend(compare_order(*order_id, &source, documents.get(order_id)));
        if let Some(order) = &source.order {
            source_documents.push(document_from_sources(order.clone(), source.payments, source.shipments));
        }
    }
    let mut statistics = check_statistics(&stats_queries, &stats_in_view, &source_documents);

    let drifting: BTreeSet<Uuid> = drifts.iter().map(|drift| drift.order_id).collect();
    let statistics_drift = statistics.as_ref().is_some_and(|check| !check.drifts.is_empty());
    let mut rechecked = 0;
    if (!drifting.is_empty() || statistics_drift) && args.settle_ms > 0 {
        tracing::debug!(
            drifting = drifting.len(),
            statistics_drift,
            settle_ms = args.settle_ms,
            "reconcile settling before a re-check"
        );
        tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
        rechecked = drifting.len();
        drifts = recheck(client, &drifting, args.concurrency).await?;
        if statistics_drift {
            statistics = recheck_statistics(client, &stats_queries, args.concurrency).await?;
            if let Some(check) = statistics.as_mut() {
                check.rechecked = true;
            }
        }
    }
    Ok(Reconciliation {
        orders_in_source,
        documents_in_view,
        order_ids_checked: order_ids.len(),
        rechecked,
        settle_ms: args.settle_ms,
        drifts,
        statistics,
    })
}

/// One query per `group_by`, by day, over the last `days` days in whole hours up to `now`;
/// none when `days` is 0.
fn stats_queries(days: u32, now: DateTime<Utc>) -> Vec<StatsQuery> {
    if days == 0 {
        return Vec::new();
    }
    let from = now - chrono::Duration::days(i64::from(days));
    let mut queries = Vec::new();
    for group_by in GroupBy::ALL {
        let params = [
            ("from", from.to_rfc3339()),
            ("to", now.to_rfc3339()),
            ("granularity", "day".to_string()),
            ("group_by", group_by.name().to_string()),
        ];
        let params = params.into_iter().map(|(name, value)| (name.to_string(), value)).collect();
        // from < to and whole days: the parse cannot fail but for a span beyond the day limit
        match StatsQuery::parse(&params) {
            Ok(query) => queries.push(query),
            Err(error) => tracing::warn!(%error, days, "statistics not checked"),
        }
    }
    debug_assert!(queries.iter().all(|query| query.granularity == Granularity::Day));
    queries
}

/// order-history's answer to each query, in the same order.
async fn view_statistics(client: &Client, queries: &[StatsQuery]) -> Result<Vec<StatsAnswer>, SourceError> {
    let mut answers = Vec::with_capacity(queries.len());
    for query in queries {
        answers.push(client.view_statistics(query).await?);
    }
    Ok(answers)
}

/// The view's answers against the recount of `source_documents`; `None` when nothing is checked.
fn check_statistics(
    queries: &[StatsQuery],
    in_view: &[StatsAnswer],
    source_documents: &[OrderHistory],
) -> Option<StatisticsCheck> {
    let first = queries.first()?;
    let in_period: Vec<&OrderHistory> = source_documents
        .iter()
        .filter(|document| document.placed_at.is_some_and(|placed_at| placed_at >= first.from && placed_at < first.to))
        .collect();
    let (rollup, orders_counted) = recount(in_period);
    let mut drifts = Vec::new();
    for (query, view_answer) in queries.iter().zip(in_view) {
        drifts.extend(compare_answers(query.dimension(), &rollup.answer(query), view_answer));
    }
    Some(StatisticsCheck { from: first.from, to: first.to, orders_counted, rechecked: false, drifts })
}

/// The statistics check again, reading both sides anew, the view first.
async fn recheck_statistics(
    client: &Client,
    queries: &[StatsQuery],
    concurrency: usize,
) -> Result<Option<StatisticsCheck>, SourceError> {
    let Some(first) = queries.first() else { return Ok(None) };
    let in_view = view_statistics(client, queries).await?;
    // only the orders placed in the period count: only theirs are read
    let mut orders = client.orders().await?;
    orders.retain(|_, order| order.created_at >= first.from && order.created_at < first.to);
    let order_ids: BTreeSet<Uuid> = orders.keys().copied().collect();
    let mut sources = read_payments_and_shipments(client, &order_ids, concurrency).await?;
    let mut source_documents = Vec::with_capacity(orders.len());
    for (order_id, order) in orders {
        let source = sources.remove(&order_id).unwrap_or_default();
        source_documents.push(document_from_sources(order, source.payments, source.shipments));
    }
    Ok(check_statistics(queries, &in_view, &source_documents))
}

/// The payments and shipments of every order id, `concurrency` orders at a time.
async fn read_payments_and_shipments(
    client: &Client,
    order_ids: &BTreeSet<Uuid>,
    concurrency: usize,
) -> Result<HashMap<Uuid, SourceOrder>, SourceError> {
    futures::stream::iter(order_ids.iter().copied())
        .map(|order_id| async move {
            let (payments, shipments) = tokio::try_join!(client.payments_of(order_id), client.shipments_of(order_id))?;
            Ok::<_, SourceError>((order_id, SourceOrder { order: None, payments, shipments }))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

/// Reads each order again, the view first, and compares.
async fn recheck(client: &Client, order_ids: &BTreeSet<Uuid>, concurrency: usize) -> Result<Vec<Drift>, SourceError> {
    let per_order: Vec<Vec<Drift>> = futures::stream::iter(order_ids.iter().copied())
        .map(|order_id| async move {
            let document: Option<OrderHistory> = client.view_document(order_id).await?;
            let (order, payments, shipments) =
                tokio::try_join!(client.order(order_id), client.payments_of(order_id), client.shipments_of(order_id))?;
            let source = SourceOrder { order, payments, shipments };
            Ok::<_, SourceError>(compare_order(order_id, &source, document.as_ref()))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut drifts: Vec<Drift> = per_order.into_iter().flatten().collect();
    // completion order is arbitrary; the report is not
    drifts.sort_by_key(|drift| drift.order_id);
    Ok(drifts)
}

/// Has order-history repair `order_ids` and waits until it has: the POST answers at once when
/// the repair is quick, else the repair is polled. Another repair running is waited for.
async fn repair(
    client: &Client,
    order_ids: &[Uuid],
    deadline: tokio::time::Instant,
    timeout_secs: u64,
) -> Result<RepairStatus, ReconcileError> {
    loop {
        if tokio::time::Instant::now() >= deadline {
            return Err(ReconcileError::RepairTimedOut(timeout_secs));
        }
        let (code, status) = client.post_repair(order_ids).await?;
        match code {
            StatusCode::OK => return Ok(status),
            StatusCode::INTERNAL_SERVER_ERROR => return Err(failed(&status)),
            StatusCode::ACCEPTED => {
                let finished = wait_for_repair(client, deadline, timeout_secs).await?;
                if finished.state == RepairState::Failed {
                    return Err(failed(&finished));
                }
                return Ok(finished);
            }
            // another repair runs: wait for it, then ask again
            _ => {
                wait_for_repair(client, deadline, timeout_secs).await?;
            }
        }
    }
}

async fn wait_for_repair(
    client: &Client,
    deadline: tokio::time::Instant,
    timeout_secs: u64,
) -> Result<RepairStatus, ReconcileError> {
    loop {
        let status = client.repair_status().await?;
        if status.state != RepairState::Running {
            return Ok(status);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ReconcileError::RepairTimedOut(timeout_secs));
        }
        tokio::time::sleep(REPAIR_POLL_INTERVAL).await;
    }
}

fn failed(status: &RepairStatus) -> ReconcileError {
    ReconcileError::RepairFailed(status.error.clone().unwrap_or_else(|| "no reason given".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback address nothing listens on.
    fn closed_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let address = listener.local_addr().expect("address");
        drop(listener);
        format!("http://{address}")
    }

    #[tokio::test]
    async fn a_service_it_cannot_reach_is_an_error_naming_it_not_a_verdict() {
        let url = closed_url();
        let args = ReconcileArgs::new(&url, &url, &url, &url);
        let error = run(&args).await.expect_err("nothing answers");
        assert!(matches!(error, ReconcileError::Source(SourceError::Unreachable { .. })), "{error:?}");
        assert!(error.to_string().starts_with("cannot reach order-history at"), "{error}");
        assert_eq!(main(args).await, 2);
    }

    #[tokio::test]
    async fn repair_without_the_admin_token_is_refused_before_reading_anything() {
        let url = closed_url();
        let args = ReconcileArgs { repair: true, ..ReconcileArgs::new(&url, &url, &url, &url) };
        let error = run(&args).await.expect_err("refused");
        assert!(matches!(error, ReconcileError::RepairWithoutAdminToken), "{error:?}");
    }
}
