//! The outbox's promise, proven on the real binary: every committed change is published, a
//! crash anywhere loses nothing, and the only thing a crash can add is a duplicate that carries
//! the same `event_id`.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use events::{OrderEvent, OrderEventType, OrderStatus};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use source_platform::store::Store;
use testkit::{Received, TEST_ADMIN_TOKEN, TestInfra, read_topic};
use tokio::process::{Child, Command};
use uuid::Uuid;

use support::{count, order_body, topic_record_count, wait_until_outbox_is_published};

const DEADLINE: Duration = Duration::from_secs(60);

/// How a run of the binary publishes its outbox.
#[derive(Clone, Copy, Debug)]
enum Relay {
    /// `OUTBOX_RELAY_ENABLED=false`: changes are committed and stay unpublished.
    Disabled,
    Enabled,
    /// `OUTBOX_CRASH_AFTER_PUBLISH=true`: abort after the broker acknowledged a batch and
    /// before the rows are marked published.
    CrashAfterPublish,
}

/// One run of the order-svc binary, configured only through its environment.
struct ServiceProcess {
    child: Child,
    base_url: String,
    client: reqwest::Client,
    log: PathBuf,
}

impl ServiceProcess {
    async fn start(infra: &TestInfra, database_url: &str, relay: Relay, run: &str) -> Self {
        let listen = testkit::free_address();
        let log = infra.dir.path().join(format!("order-svc-{run}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let stderr = log_file.try_clone().expect("log file handle");
        let (relay_enabled, crash_after_publish) = match relay {
            Relay::Disabled => (false, false),
            Relay::Enabled => (true, false),
            Relay::CrashAfterPublish => (true, true),
        };
        let child = Command::new(env!("CARGO_BIN_EXE_order-svc"))
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", listen.to_string())
            .env("KAFKA_BOOTSTRAP_SERVERS", &infra.kafka.bootstrap_servers)
            .env("SCHEMA_REGISTRY_URL", &infra.registry_url)
            .env("ADMIN_TOKEN", TEST_ADMIN_TOKEN)
            .env("WRITE_TOKEN", testkit::TEST_WRITE_TOKEN)
            .env("JWKS_FILE", testkit::test_jwks_file())
            .env("OUTBOX_RELAY_ENABLED", relay_enabled.to_string())
            .env("OUTBOX_CRASH_AFTER_PUBLISH", crash_after_publish.to_string())
            .env("OUTBOX_POLL_INTERVAL_MS", "200")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true)
            .spawn()
            .expect("order-svc starts");
        let client =
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().expect("http client");
        let mut process = Self { child, base_url: format!("http://{listen}"), client, log };
        process.wait_until_ready().await;
        process
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_until_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                panic!("order-svc exited with {status} before it was ready:\n{}", self.log_text());
            }
            let readiness = self.client.get(format!("{}/readyz", self.base_url)).send().await;
            if readiness.is_ok_and(|response| response.status() == 200) {
                return;
            }
            assert!(started.elapsed() < DEADLINE, "order-svc not ready after {DEADLINE:?}:\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Places an order; `None` when the process is gone before it answered.
    async fn try_place_order(&self, customer_id: &str) -> Option<Value> {
        let response = self
            .client
            .post(format!("{}/orders", self.base_url))
            .bearer_auth(testkit::TEST_WRITE_TOKEN)
            .json(&order_body(customer_id))
            .send()
            .await;
        let response = response.ok()?;
        assert_eq!(response.status(), 201, "order placed");
        Some(response.json().await.expect("order json"))
    }

    /// Cancels an order; `None` when the process is gone before it answered.
    async fn try_cancel_order(&self, id: &str) -> Option<Value> {
        let url = format!("{}/orders/{id}/cancel", self.base_url);
        let response = self
            .client
            .post(url)
            .bearer_auth(testkit::TEST_WRITE_TOKEN)
            .json(&json!({"reason": "durability test"}))
            .send()
            .await
            .ok()?;
        assert_eq!(response.status(), 200, "order cancelled");
        Some(response.json().await.expect("order json"))
    }

    /// SIGKILL: no graceful shutdown and no flush, so only what was committed survives.
    async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL delivered");
    }

    async fn wait_for_exit(&mut self) -> ExitStatus {
        let exited = tokio::time::timeout(DEADLINE, self.child.wait()).await;
        exited
            .unwrap_or_else(|_| panic!("order-svc still runs after {DEADLINE:?}:\n{}", self.log_text()))
            .expect("exit status")
    }
}

fn sqlite_url(infra: &TestInfra) -> String {
    format!("sqlite://{}", infra.dir.path().join("order-svc").join("order-svc.db").display())
}

fn id_of(order: &Value) -> String {
    order["id"].as_str().expect("order id").to_string()
}

/// `(event_id, order id, version)` of every event committed to the outbox.
async fn committed_events(store: &Store) -> Vec<(Uuid, Uuid, i64)> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("select event_id, aggregate_id, aggregate_version from outbox order by id")
            .fetch_all(&store.pool)
            .await
            .expect("outbox rows");
    let mut events = Vec::with_capacity(rows.len());
    for (event_id, order_id, version) in rows {
        events.push((Uuid::parse_str(&event_id).expect("uuid"), Uuid::parse_str(&order_id).expect("uuid"), version));
    }
    events
}

/// Waits until the relay has published the whole outbox, then reads every record the topic
/// holds; the watermark count makes "every record" exact.
async fn read_every_published_record(infra: &TestInfra, store: &Store) -> Vec<Received<OrderEvent>> {
    wait_until_outbox_is_published(store).await;
    let records_on_topic = topic_record_count(infra, "orders").await;
    let expected = usize::try_from(records_on_topic).expect("record count");
    let received = read_topic::<OrderEvent>(infra, DEADLINE, |received| received.len() >= expected).await;
    assert_eq!(received.len(), expected, "read every record on the topic");
    received
}

/// Per order, the versions in the order a consumer reads them, after dropping repeated
/// event ids (keeping the first copy).
fn versions_per_order_after_dedup(received: &[Received<OrderEvent>]) -> BTreeMap<Uuid, Vec<i64>> {
    let mut seen = HashSet::new();
    let mut versions: BTreeMap<Uuid, Vec<i64>> = BTreeMap::new();
    for record in received {
        if seen.insert(record.event.event_id) {
            versions.entry(record.event.order_id).or_default().push(record.event.aggregate_version);
        }
    }
    versions
}

/// The event matches the change its version stands for.
fn assert_event_matches_its_version(event: &OrderEvent) {
    let (event_type, status) = match event.aggregate_version {
        1 => (OrderEventType::OrderPlaced, OrderStatus::Placed),
        2 => (OrderEventType::OrderCancelled, OrderStatus::Cancelled),
        other => panic!("unexpected version {other} of order {}", event.order_id),
    };
    assert_eq!((event.event_type, event.order.status), (event_type, status), "{event:?}");
    assert_eq!(event.order.total.amount_minor, 9599);
    if status == OrderStatus::Cancelled {
        assert_eq!(event.order.cancellation_reason.as_deref(), Some("durability test"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_committed_with_the_relay_off_are_published_exactly_once_after_a_kill_and_restart() {
    let infra = TestInfra::start().await;
    let database_url = sqlite_url(&infra);

    let unpublishing = ServiceProcess::start(&infra, &database_url, Relay::Disabled, "relay-off").await;
    let mut final_versions: BTreeMap<Uuid, i64> = BTreeMap::new();
    for index in 0..30 {
        let order = unpublishing.try_place_order(&format!("cust-{index}")).await.expect("service is up");
        let id = id_of(&order);
        let mut version = 1;
        if index % 3 == 0 {
            let cancelled = unpublishing.try_cancel_order(&id).await.expect("service is up");
            version = cancelled["version"].as_i64().expect("version");
        }
        final_versions.insert(Uuid::parse_str(&id).expect("uuid"), version);
    }
    unpublishing.kill().await;

    let store =
        source_platform::store::connect_and_migrate(&database_url, sqlx::migrate!()).await.expect("database survives");
    let committed = committed_events(&store).await;
    assert_eq!(committed.len(), 40, "30 placements and 10 cancellations were committed");
    assert_eq!(count(&store, "select count(*) from outbox where published_at_ms is null").await, 40);
    assert_eq!(topic_record_count(&infra, "orders").await, 0, "nothing was published with the relay off");

    let _publishing = ServiceProcess::start(&infra, &database_url, Relay::Enabled, "relay-on").await;
    let received = read_every_published_record(&infra, &store).await;

    assert_eq!(received.len(), committed.len(), "exactly one record per committed event");
    let received_ids: HashSet<Uuid> = received.iter().map(|record| record.event.event_id).collect();
    let committed_ids: HashSet<Uuid> = committed.iter().map(|(event_id, _, _)| *event_id).collect();
    assert_eq!(received_ids, committed_ids, "every committed event arrives, once");
    for record in &received {
        assert_eq!(record.key, record.event.order_id.to_string());
        assert_event_matches_its_version(&record.event);
    }
    let versions = versions_per_order_after_dedup(&received);
    for (order_id, final_version) in &final_versions {
        let expected: Vec<i64> = (1..=*final_version).collect();
        assert_eq!(versions.get(order_id), Some(&expected), "versions of order {order_id} in order");
    }
    assert_eq!(versions.len(), final_versions.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_publish_and_mark_only_duplicates_events_with_the_same_event_id() {
    let infra = TestInfra::start().await;
    let database_url = sqlite_url(&infra);

    // the relay wakes on the first commit, publishes, and aborts; keep writing until it has
    let mut crashing = ServiceProcess::start(&infra, &database_url, Relay::CrashAfterPublish, "crash").await;
    let mut acknowledged: Vec<(Uuid, i64)> = Vec::new();
    for index in 0..30 {
        let Some(order) = crashing.try_place_order(&format!("cust-{index}")).await else {
            break;
        };
        let id = Uuid::parse_str(&id_of(&order)).expect("uuid");
        acknowledged.push((id, 1));
        if index % 2 == 0 {
            if crashing.try_cancel_order(&id.to_string()).await.is_none() {
                break;
            }
            acknowledged.push((id, 2));
        }
    }
    let status = crashing.wait_for_exit().await;
    assert_eq!(status.signal(), Some(Signal::SIGABRT as i32), "the relay aborted the process: {status}");
    assert!(!acknowledged.is_empty(), "at least the first order was answered before the abort");

    let store =
        source_platform::store::connect_and_migrate(&database_url, sqlx::migrate!()).await.expect("database survives");
    let committed = committed_events(&store).await;
    let committed_changes: HashSet<(Uuid, i64)> =
        committed.iter().map(|(_, order_id, version)| (*order_id, *version)).collect();
    for change in &acknowledged {
        assert!(committed_changes.contains(change), "acknowledged change {change:?} was committed");
    }
    assert_eq!(
        count(&store, "select count(*) from outbox where published_at_ms is null").await,
        i64::try_from(committed.len()).expect("count"),
        "the abort came before any row was marked published"
    );
    assert!(topic_record_count(&infra, "orders").await > 0, "the broker had acknowledged records before the abort");

    let _restarted = ServiceProcess::start(&infra, &database_url, Relay::Enabled, "restarted").await;
    let received = read_every_published_record(&infra, &store).await;

    let committed_ids: HashSet<Uuid> = committed.iter().map(|(event_id, _, _)| *event_id).collect();
    let received_ids: HashSet<Uuid> = received.iter().map(|record| record.event.event_id).collect();
    assert_eq!(received_ids, committed_ids, "every committed event arrives, and nothing else");
    assert!(received.len() > committed.len(), "the abort left at least one event to be published again");

    let mut first_copy: HashMap<Uuid, &OrderEvent> = HashMap::new();
    let mut event_ids_per_change: HashMap<(Uuid, i64), HashSet<Uuid>> = HashMap::new();
    for record in &received {
        let event = &record.event;
        assert_eq!(record.key, event.order_id.to_string());
        assert_event_matches_its_version(event);
        let first = *first_copy.entry(event.event_id).or_insert(event);
        assert_eq!(first, event, "a duplicate is the same event");
        event_ids_per_change.entry((event.order_id, event.aggregate_version)).or_default().insert(event.event_id);
    }
    for (change, event_ids) in &event_ids_per_change {
        assert_eq!(event_ids.len(), 1, "every copy of change {change:?} has the same event_id");
    }

    let mut final_versions: BTreeMap<Uuid, i64> = BTreeMap::new();
    for (_, order_id, version) in &committed {
        let latest = final_versions.entry(*order_id).or_insert(0);
        *latest = (*latest).max(*version);
    }
    let versions = versions_per_order_after_dedup(&received);
    for (order_id, final_version) in &final_versions {
        let expected: Vec<i64> = (1..=*final_version).collect();
        assert_eq!(versions.get(order_id), Some(&expected), "versions of order {order_id} in order after dedup");
    }
}
