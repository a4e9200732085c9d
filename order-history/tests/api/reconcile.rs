//! `order-history reconcile` and `POST /admin/repair` against the real source services, broker,
//! registry and a running order-history: orders are written through the services' APIs, the
//! view is corrupted on purpose through the running order-history's own index handle, and
//! reconcile must name each corrupted order in its category, then repair must undo it all.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use order_history::app::Application;
use order_history::index::{Checkpoint, Versioned, WriteToken};
use order_history::projection::LiveView;
use reconcile::diff::Category;
use reconcile::source::SourceError;
use reconcile::{self, ReconcileArgs, ReconcileError};
use serde_json::{Value, json};
use testkit::{ServiceRoutes, SpawnedService, status_and_json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, Backend, TestWorld};
use crate::on_both_backends;

/// The three source services, publishing to the world's broker.
struct Sources {
    orders: SpawnedService,
    payments: SpawnedService,
    shipments: SpawnedService,
}

impl Sources {
    async fn start(world: &TestWorld) -> Sources {
        let args = testkit::source_service_args(&world.infra);
        let orders = testkit::spawn_source_service(
            "order-svc",
            world.infra.sqlite_url("order-svc"),
            sqlx::migrate!("../order-svc/migrations"),
            &args,
            |context| {
                let (reads, writes) = order_svc::routes(context);
                ServiceRoutes::new(reads, writes, order_svc::ApiDoc::openapi())
            },
        )
        .await;
        let payments = testkit::spawn_source_service(
            "payment-svc",
            world.infra.sqlite_url("payment-svc"),
            sqlx::migrate!("../payment-svc/migrations"),
            &args,
            |context| {
                let routes = payment_svc::routes(context, payment_svc::PaymentRules::default());
                ServiceRoutes::new(routes.reads, routes.writes, payment_svc::ApiDoc::openapi())
            },
        )
        .await;
        let shipments = testkit::spawn_source_service(
            "shipping-svc",
            world.infra.sqlite_url("shipping-svc"),
            sqlx::migrate!("../shipping-svc/migrations"),
            &args,
            |context| {
                let (reads, writes) = shipping_svc::routes(context);
                ServiceRoutes::new(reads, writes, shipping_svc::ApiDoc::openapi())
            },
        )
        .await;
        Sources { orders, payments, shipments }
    }

    /// Stops every service, relay and producer flushed, before the broker goes.
    async fn shutdown(self) {
        self.orders.shutdown().await;
        self.payments.shutdown().await;
        self.shipments.shutdown().await;
    }
}

/// `POST path` with `body` (or none) to `service`; the JSON answer of a success.
async fn post(service: &SpawnedService, path: &str, body: Option<Value>) -> Value {
    let response = match body {
        Some(body) => service.post_json(path, &body).await,
        None => service.post_empty(path).await,
    };
    let (status, answer) = status_and_json(response).await;
    assert!(status.is_success(), "POST {path}: {status} {answer}");
    answer
}

fn id_of(answer: &Value) -> Uuid {
    answer["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("an id")
}

fn version_of(answer: &Value) -> i64 {
    answer["version"].as_i64().expect("a version")
}

/// One order written through the services' APIs, and the last version of each aggregate.
struct Written {
    order_id: Uuid,
    /// `(aggregate id, version)` of the order and each payment and shipment, as last written.
    last_versions: Vec<(Uuid, i64)>,
}

/// Places an order for `customer`; with `paid` a payment captured, with `shipped` a shipment
/// dispatched, with `cancelled` then cancelled.
async fn write_order(sources: &Sources, customer: &str, paid: bool, shipped: bool, cancelled: bool) -> Written {
    let placed = post(
        &sources.orders,
        "/orders",
        Some(json!({
            "customer_id": format!("cust-{}", customer.to_lowercase().replace(' ', "-")),
            "customer_name": customer,
            "customer_email": format!("{}@example.com", customer.to_lowercase().replace(' ', ".")),
            "currency": "EUR",
            "items": [{"sku": "SKU-KETTLE-01", "name": "Copper tea kettle", "quantity": 1, "unit_price": 4599},
                      {"sku": "SKU-MUG-07", "name": "Stoneware mug", "quantity": 2, "unit_price": 1250}],
            "shipping_address": {"line1": "Keizersgracht 123", "line2": "3rd floor", "city": "Amsterdam",
                                 "postal_code": "1015 CJ", "country": "NL"},
        })),
    )
    .await;
    let order_id = id_of(&placed);
    let mut order_version = version_of(&placed);
    let mut last_versions = Vec::new();
    if paid {
        let payment = post(
            &sources.payments,
            "/payments",
            Some(json!({"order_id": order_id, "amount": 7099, "currency": "EUR", "method": "CARD"})),
        )
        .await;
        let captured = post(&sources.payments, &format!("/payments/{}/capture", id_of(&payment)), None).await;
        last_versions.push((id_of(&captured), version_of(&captured)));
    }
    if shipped {
        let shipment = post(
            &sources.shipments,
            "/shipments",
            Some(json!({"order_id": order_id, "carrier": "PostNL",
                "address": {"line1": "Prinsengracht 9", "line2": null, "city": "Amsterdam",
                            "postal_code": "1016 GB", "country": "NL"}})),
        )
        .await;
        let dispatched = post(
            &sources.shipments,
            &format!("/shipments/{}/status", id_of(&shipment)),
            Some(json!({"status": "DISPATCHED", "location": "Amsterdam depot"})),
        )
        .await;
        last_versions.push((id_of(&dispatched), version_of(&dispatched)));
    }
    if cancelled {
        let cancel =
            post(&sources.orders, &format!("/orders/{order_id}/cancel"), Some(json!({"reason": "twice"}))).await;
        order_version = version_of(&cancel);
    }
    last_versions.push((order_id, order_version));
    Written { order_id, last_versions }
}

/// An order-history serving on port 0, with the handle of its live view kept for the test.
struct RunningHistory {
    address: SocketAddr,
    view: LiveView,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningHistory {
    async fn start(world: &TestWorld) -> RunningHistory {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let app = Application::start(&world.config("main")).await.expect("order-history starts");
        let view = app.state.view.clone();
        let shutdown = CancellationToken::new();
        let signal = shutdown.clone();
        let task = tokio::spawn(app.serve(listener, async move { signal.cancelled().await }));
        RunningHistory { address, view, shutdown, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("app task").expect("app stops cleanly");
    }
}

/// Waits until the view reflects every version written, with read-your-writes.
async fn wait_until_projected(world: &TestWorld, history: &RunningHistory, written: &[&Written]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for order in written {
        for (aggregate_id, version) in &order.last_versions {
            let path = format!(
                "{}/orders/{}?min_version={aggregate_id}:{version}&wait_ms=2000",
                history.url(),
                order.order_id
            );
            loop {
                let request = world.client.get(&path).bearer_auth(testkit::service_token());
                let (status, body) = status_and_json(request.send().await.expect("order-history answers")).await;
                if status == 200 && body.get("stale").is_none() {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "{path} never got there: {status} {body}");
            }
        }
    }
    // by id an order is read as soon as it is stored; reconcile lists the view by search
    tokio::time::timeout_at(deadline, history.view.wait_until_searchable())
        .await
        .expect("what was stored became searchable");
}

/// Waits until the statistics count `orders` orders over the last day and are not stale.
async fn wait_until_counted(world: &TestWorld, history: &RunningHistory, orders: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let to = chrono::Utc::now() + chrono::Duration::hours(1);
    let from = to - chrono::Duration::days(1);
    let path = format!("{}/stats", history.url());
    let query = [("from", from.to_rfc3339()), ("to", to.to_rfc3339())];
    // polled: the projection publishes its lag about once a second
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        let request = world.client.get(&path).query(&query).bearer_auth(testkit::service_token());
        let (status, body) = status_and_json(request.send().await.expect("order-history answers")).await;
        let counted: i64 =
            body["buckets"].as_array().into_iter().flatten().filter_map(|bucket| bucket["orders"].as_i64()).sum();
        if status == 200 && body["stale"] == false && counted == orders {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the statistics never counted {orders} orders: {status} {body}"
        );
    }
}

fn reconcile_args(sources: &Sources, history: &RunningHistory) -> ReconcileArgs {
    let mut args = ReconcileArgs::new(
        &history.url(),
        &sources.orders.base_url,
        &sources.payments.base_url,
        &sources.shipments.base_url,
    );
    args.read_token = Some(testkit::service_token().as_str().into());
    // the view is corrupted for good, nothing is in flight: a short grace period suffices
    args.settle_ms = 200;
    args
}

async fn reconcile_finds_each_kind_of_drift_and_repair_removes_it(backend: Backend) {
    let world = TestWorld::start(backend).await;
    let sources = Sources::start(&world).await;
    let history = RunningHistory::start(&world).await;
    let paid_and_shipped = write_order(&sources, "Ada Lovelace", true, true, false).await;
    let shipped = write_order(&sources, "Grace Hopper", false, true, false).await;
    let cancelled = write_order(&sources, "Alan Turing", true, false, true).await;
    let just_placed = write_order(&sources, "Edsger Dijkstra", false, false, false).await;
    wait_until_projected(&world, &history, &[&paid_and_shipped, &shipped, &cancelled, &just_placed]).await;

    wait_until_counted(&world, &history, 4).await;

    let args = reconcile_args(&sources, &history);
    let converged = reconcile::run(&args).await.expect("reconcile reads every service");
    assert_eq!(converged.reconciliation.drifts, Vec::new(), "a converged view has no drift");
    assert_eq!(converged.reconciliation.orders_in_source, 4);
    assert_eq!(converged.reconciliation.documents_in_view, 4);
    let statistics = converged.reconciliation.statistics.as_ref().expect("the statistics are checked");
    assert_eq!((statistics.orders_counted, statistics.drifts.len()), (4, 0), "{statistics:#?}");
    assert_eq!(converged.exit_code(), 0);

    // without the read token the services refuse, and reconcile says so instead of judging
    let without_token = ReconcileArgs { read_token: None, ..args.clone() };
    let refused = reconcile::run(&without_token).await;
    assert!(matches!(refused, Err(ReconcileError::Source(SourceError::Refused { status: 401, .. }))), "{refused:?}");

    // corrupt the view as a lost event, a lost update, a bad write and a stray write would
    let unknown_order_id = Uuid::now_v7();
    {
        let _writes = history.view.lock_writes().await;
        let index = history.view.index();
        let loaded = index.load(&[shipped.order_id, cancelled.order_id, just_placed.order_id]).await.expect("load");
        let mut lowered = loaded[&shipped.order_id].clone();
        lowered.document.shipments[0].version -= 1;
        let mut renamed = loaded[&cancelled.order_id].clone();
        renamed.document.customer.as_mut().expect("a customer").name = "Mallory".to_string();
        let mut stray = loaded[&just_placed.order_id].document.clone();
        stray.order_id = unknown_order_id;
        let stray = Versioned { document: stray, token: WriteToken::Absent };
        let outcome = index.store(vec![lowered, renamed, stray]).await.expect("store");
        assert!(outcome.conflicts.is_empty());
        index.delete(&[paid_and_shipped.order_id]).await.expect("delete");
        index.commit(&Checkpoint::default()).await.expect("commit");
        history.view.changed();
    }

    let drifting = reconcile::run(&args).await.expect("reconcile reads every service");
    let found = &drifting.reconciliation;
    assert_eq!(found.order_ids(Category::Missing), BTreeSet::from([paid_and_shipped.order_id]), "{found:#?}");
    assert_eq!(found.order_ids(Category::Stale), BTreeSet::from([shipped.order_id]), "{found:#?}");
    assert_eq!(found.order_ids(Category::Mismatched), BTreeSet::from([cancelled.order_id]), "{found:#?}");
    assert_eq!(found.order_ids(Category::Extra), BTreeSet::from([unknown_order_id]), "{found:#?}");
    let stale_fields: Vec<Option<&str>> =
        found.drifts_of(shipped.order_id).iter().map(|drift| drift.field.as_deref()).collect();
    assert_eq!(stale_fields, vec![Some("shipments.version")]);
    let mismatched_fields: Vec<Option<&str>> =
        found.drifts_of(cancelled.order_id).iter().map(|drift| drift.field.as_deref()).collect();
    assert_eq!(mismatched_fields, vec![Some("customer.name")]);
    assert_eq!(found.rechecked, 4, "every drifting order is read again after the grace period");
    assert_eq!(drifting.exit_code(), 1);

    let repair_args = ReconcileArgs { repair: true, admin_token: Some(ADMIN_TOKEN.into()), ..args.clone() };
    let repaired = reconcile::run(&repair_args).await.expect("reconcile and repair");
    let summary = repaired.repair.as_ref().expect("a repair ran");
    assert_eq!((summary.order_ids, summary.reprojected, summary.deleted), (4, 3, 1), "{summary:?}");
    assert!(summary.records_scanned >= summary.events_applied && summary.events_applied > 0, "{summary:?}");
    let after = repaired.after_repair.as_ref().expect("reconciled after the repair");
    assert_eq!(after.drifts, Vec::new(), "repair removes every drift");
    assert_eq!(after.documents_in_view, 4);
    assert_eq!(repaired.exit_code(), 0);
    let renamed_back = history.view.index().get(cancelled.order_id).await.expect("get").expect("the document");
    assert_eq!(renamed_back.customer.map(|customer| customer.name), Some("Alan Turing".to_string()));

    // corrupt the statistics as a lost retraction would: the cancelled order counted twice
    let stats_store = sqlx::SqlitePool::connect(&world.config("main").stats_database_url()).await.expect("stats store");
    let counted_twice =
        sqlx::query("update stats_rollup set orders = orders + 1 where dimension = 'status' and key = 'CANCELLED'")
            .execute(&stats_store)
            .await
            .expect("update");
    assert_eq!(counted_twice.rows_affected(), 1);
    stats_store.close().await;
    let statistics_drift = reconcile::run(&args).await.expect("reconcile reads every service");
    let found = statistics_drift.reconciliation.statistics.as_ref().expect("the statistics are checked");
    let drifts: Vec<(&str, &str, &str, i64, i64)> = found
        .drifts
        .iter()
        .map(|drift| {
            (drift.group_by.as_str(), drift.key.as_str(), drift.figure.as_str(), drift.in_source, drift.in_view)
        })
        .collect();
    assert_eq!(drifts, vec![("status", "CANCELLED", "orders", 1, 2)], "{found:#?}");
    assert!(found.rechecked, "read again after the grace period");
    assert_eq!(statistics_drift.reconciliation.drifts, Vec::new(), "the documents agree");
    assert_eq!(statistics_drift.exit_code(), 1);
    let text = statistics_drift.to_text(5);
    assert!(text.contains("status") && text.contains("CANCELLED orders: sources 1, view 2"), "{text}");

    history.stop().await;
    sources.shutdown().await;
}
on_both_backends!(reconcile_finds_each_kind_of_drift_and_repair_removes_it);

#[tokio::test(flavor = "multi_thread")]
async fn repair_refuses_a_missing_token_and_bad_bodies_with_json_errors() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let url = format!("http://{}/admin/repair", app.address);
    let send = |token: Option<&'static str>, body: Value| {
        let request = world.client.post(&url).json(&body);
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move { status_and_json(request.send().await.expect("order-history answers")).await }
    };
    let one_id = json!({"order_ids": [Uuid::now_v7()]});
    let (status, body) = send(None, one_id.clone()).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = send(Some("wrong-token-of-enough-length"), one_id).await;
    assert_eq!(status, 401, "{body}");

    let too_many: Vec<String> = (0..10_001).map(|_| Uuid::new_v4().to_string()).collect();
    for (body, field) in [
        (json!({"order_ids": []}), "order_ids"),
        (json!({"order_ids": too_many}), "order_ids"),
        (json!({"order_ids": [Uuid::now_v7().to_string(), "not-a-uuid"]}), "order_ids[1]"),
        (json!({"ids": []}), "ids"),
    ] {
        let (status, answer) = send(Some(ADMIN_TOKEN), body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["field"], field, "{answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }

    // an order nobody wrote: nothing to re-project, nothing to delete, and the topics scanned
    let (status, answer) = send(Some(ADMIN_TOKEN), json!({"order_ids": [Uuid::now_v7()]})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["state"].as_str(), answer["reprojected"].as_u64(), answer["deleted"].as_u64()),
        (Some("done"), Some(0), Some(0))
    );
    let status_url = format!("http://{}/admin/repair", app.address);
    let last = world.client.get(&status_url).bearer_auth(ADMIN_TOKEN).send().await.expect("answers");
    let (status, last) = status_and_json(last).await;
    assert_eq!((status.as_u16(), last["state"].as_str()), (200, Some("done")));
    app.stop().await;
}
