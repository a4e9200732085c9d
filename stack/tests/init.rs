//! `stack init`, the compose stack's one-shot job, against a real Kafka-protocol broker (tansu)
//! and the project's registry: it creates every topic and registers every value schema, and a
//! second run changes nothing and still succeeds.

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use broker::BrokerInstallArgs;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// A loopback address for the broker, a child process that cannot be handed a bound listener:
/// the port is released here and bound again by tansu, so another process may take it in
/// between, and the broker then fails to start with "address in use" in its log.
fn free_address() -> std::net::SocketAddr {
    TcpListener::bind("127.0.0.1:0").expect("bind port 0").local_addr().expect("local addr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_creates_the_topics_and_registers_the_schemas_idempotently() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tansu = broker::tansu::ensure_installed(&BrokerInstallArgs {
        tansu_bin: std::env::var_os("TANSU_BIN").map(Into::into),
        cache_dir: None,
    })
    .await
    .expect("tansu is installed");
    let listen = free_address();
    let broker = broker::start_broker(&tansu, &dir.path().join("broker"), listen, &dir.path().join("logs"))
        .await
        .expect("the broker starts");
    let registry_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let registry = schema_registry::spawn(dir.path().join("registry"), registry_listener).await.expect("registry");

    for run in 1..=2 {
        let output = tokio::task::spawn_blocking({
            let registry_url = registry.url();
            move || {
                Command::new(env!("CARGO_BIN_EXE_stack"))
                    .arg("init")
                    .env("KAFKA_BOOTSTRAP_SERVERS", listen.to_string())
                    .env("SCHEMA_REGISTRY_URL", registry_url)
                    .env("STACK_PARTITIONS", "2")
                    .output()
                    .expect("stack init runs")
            }
        })
        .await
        .expect("join");
        assert!(output.status.success(), "run {run}: {}", String::from_utf8_lossy(&output.stderr));
    }

    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", listen.to_string()).create().expect("client");
    let metadata = consumer.fetch_metadata(None, Duration::from_secs(10)).expect("metadata");
    let partitions =
        |name: &str| metadata.topics().iter().find(|topic| topic.name() == name).map(|t| t.partitions().len());
    for topic in ["orders", "payments", "shipments"] {
        assert_eq!(partitions(topic), Some(2), "{topic}");
    }
    assert_eq!(partitions("order-history.dlq"), Some(1));

    let subjects: Vec<String> =
        reqwest::get(format!("{}/subjects", registry.url())).await.unwrap().json().await.unwrap();
    for subject in ["orders-value", "payments-value", "shipments-value"] {
        assert!(subjects.contains(&subject.to_string()), "{subjects:?}");
    }
    broker.stop().await;
}
