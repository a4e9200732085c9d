//! `stack up` against the real tansu broker and the project's registry: it reaches ready on an
//! empty data dir and again on the same one, keeping topics, messages and schemas; and records
//! cross between this codec and Confluent's Python client in both directions.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use events::samples::{order_event, payment_event, shipment_event};
use events::{
    Event, EventCodec, OrderEvent, OrderEventType, PaymentEvent, PaymentEventType, RegistryConfig, ShipmentEvent,
    ShipmentStatus,
};
use kafka_config::KafkaArgs;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value as Json;
use uuid::Uuid;

const READY_DEADLINE: Duration = Duration::from_secs(120);

struct RunningStack {
    child: Child,
    kafka: KafkaArgs,
    registry_url: String,
    service_urls: Vec<String>,
    _stdout: Receiver<String>,
}

struct Ports {
    broker: u16,
    registry: u16,
    /// order-svc, payment-svc, shipping-svc, order-history, composer, web
    services: [u16; 6],
}

impl Ports {
    fn free() -> Self {
        Self {
            broker: free_port(),
            registry: free_port(),
            services: [free_port(), free_port(), free_port(), free_port(), free_port(), free_port()],
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

impl RunningStack {
    fn start(data_dir: &Path, ports: &Ports) -> Self {
        // the workspace's binaries sit next to this one: `cargo test --workspace` builds the
        // binaries of every package that has integration tests, with the same features
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_stack")).parent().expect("bin dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_stack"))
            .arg("up")
            .arg("--no-build")
            .arg("--bin-dir")
            .arg(bin_dir)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--broker-listen", &format!("127.0.0.1:{}", ports.broker)])
            .args(["--registry-listen", &format!("127.0.0.1:{}", ports.registry)])
            .args(["--order-svc-listen", &format!("127.0.0.1:{}", ports.services[0])])
            .args(["--payment-svc-listen", &format!("127.0.0.1:{}", ports.services[1])])
            .args(["--shipping-svc-listen", &format!("127.0.0.1:{}", ports.services[2])])
            .args(["--order-history-listen", &format!("127.0.0.1:{}", ports.services[3])])
            .args(["--composer-listen", &format!("127.0.0.1:{}", ports.services[4])])
            .args(["--web-listen", &format!("127.0.0.1:{}", ports.services[5])])
            .args(["--report-dir", &data_dir.join("report").display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("stack starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("stack exited before it was ready: {status}; see {}/logs", data_dir.display());
            }
            match lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if line == "stack ready" => break,
                _ if started.elapsed() > READY_DEADLINE => panic!("stack not ready after {READY_DEADLINE:?}"),
                _ => {}
            }
        }
        Self {
            child,
            kafka: KafkaArgs::new(format!("127.0.0.1:{}", ports.broker)),
            registry_url: format!("http://127.0.0.1:{}", ports.registry),
            service_urls: ports.services.iter().map(|port| format!("http://127.0.0.1:{port}")).collect(),
            _stdout: lines,
        }
    }

    /// Stops the stack like Ctrl-C would and checks it exits cleanly.
    fn stop(mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"));
        kill(pid, Signal::SIGTERM).expect("signal stack");
        let status = self.child.wait().expect("stack exits");
        assert!(status.success(), "stack exited with {status}");
    }
}

impl Drop for RunningStack {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn produce<E: Event>(stack: &RunningStack, codec: &EventCodec, event: &E) {
    let producer: FutureProducer = stack.kafka.producer_config("stack-test").create().expect("producer");
    let payload = codec.encode(event).await.expect("encodes");
    let key = event.order_id().to_string();
    let event_id = event.event_id().to_string();
    let headers = OwnedHeaders::new()
        .insert(Header { key: events::headers::EVENT_ID, value: Some(&event_id) })
        .insert(Header { key: events::headers::EVENT_TYPE, value: Some(event.event_type_name()) });
    let record = FutureRecord::to(E::TOPIC).key(&key).payload(&payload).headers(headers);
    producer.send(record, Duration::from_secs(10)).await.map_err(|(error, _)| error).expect("broker acknowledges");
}

/// Reads `topic` from the beginning with a fresh group until `wanted` matches a decoded event.
async fn consume_until<E: Event>(stack: &RunningStack, codec: &EventCodec, wanted: impl Fn(&E) -> bool) -> E {
    let group = format!("stack-test-{}", Uuid::now_v7());
    let consumer: StreamConsumer = stack.kafka.consumer_config("stack-test", &group).create().expect("consumer");
    consumer.subscribe(&[E::TOPIC]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Ok(received) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await else {
            continue;
        };
        let message = received.expect("consume");
        let event: E = codec.decode(message.payload()).await.expect("decodes");
        assert_eq!(message.key(), Some(event.order_id().to_string().as_bytes()), "keyed by order id");
        if wanted(&event) {
            return event;
        }
    }
    panic!("no matching event on {} within the deadline", E::TOPIC);
}

fn python_cross_check(stack: &RunningStack, args: &[&str]) -> Vec<Json> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../avro/tests/python/cross_language.py");
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .args(["--bootstrap", &stack.kafka.bootstrap_servers, "--registry", &stack.registry_url])
        .output()
        .expect("python3 runs (install the test tools with .ci/run)");
    assert!(
        output.status.success(),
        "python cross-check failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("python prints json lines"))
        .collect()
}

async fn registry_json(stack: &RunningStack, path: &str) -> Json {
    reqwest::get(format!("{}{path}", stack.registry_url)).await.expect("registry answers").json().await.expect("json")
}

/// Compares a value decoded by Confluent's client with the event the Rust codec encoded.
fn assert_same_event<E: Event>(decoded_by_python: &Json, event: &E) {
    let expected = serde_json::to_value(event).expect("event serialises");
    assert_eq!(decoded_by_python["key"], Json::String(event.order_id().to_string()));
    assert_eq!(decoded_by_python["value"], expected, "confluent's client decoded a different {}", E::TOPIC);
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_up_reaches_ready_twice_on_one_data_dir_and_keeps_everything() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let ports = Ports::free();
    let stack = RunningStack::start(data_dir.path(), &ports);
    for url in &stack.service_urls {
        let ready = reqwest::get(format!("{url}/readyz")).await.expect("service answers");
        assert!(ready.status().is_success(), "{url} is ready");
    }
    let codec = EventCodec::new(&RegistryConfig::new(&stack.registry_url)).expect("codec");

    let subjects = registry_json(&stack, "/subjects").await;
    assert_eq!(subjects, serde_json::json!(["orders-value", "payments-value", "shipments-value"]));
    let orders_schema_before = registry_json(&stack, "/subjects/orders-value/versions/latest").await;

    // rust encodes, confluent's python client decodes
    let order_id = Uuid::now_v7();
    let placed = order_event(order_id, OrderEventType::OrderPlaced, 1);
    let authorized = payment_event(order_id, Uuid::now_v7(), PaymentEventType::PaymentAuthorized, 1);
    let dispatched = shipment_event(order_id, Uuid::now_v7(), ShipmentStatus::Dispatched, 2);
    produce(&stack, &codec, &placed).await;
    produce(&stack, &codec, &authorized).await;
    produce(&stack, &codec, &dispatched).await;
    let decoded = python_cross_check(&stack, &["consume", "--topic", "orders", "--count", "1"]);
    assert_same_event(&decoded[0], &placed);
    let decoded = python_cross_check(&stack, &["consume", "--topic", "payments", "--count", "1"]);
    assert_same_event(&decoded[0], &authorized);
    let decoded = python_cross_check(&stack, &["consume", "--topic", "shipments", "--count", "1"]);
    assert_same_event(&decoded[0], &dispatched);

    // confluent's python client encodes, rust decodes
    let refunded = payment_event(order_id, authorized.aggregate_id, PaymentEventType::PaymentRefunded, 2);
    let refunded_json = serde_json::to_string(&refunded).expect("serialises");
    python_cross_check(&stack, &["produce", "--topic", "payments", "--json", &refunded_json]);
    let decoded: PaymentEvent =
        consume_until(&stack, &codec, |event: &PaymentEvent| event.event_id == refunded.event_id).await;
    assert_eq!(decoded, refunded);

    // order-history projected all of it into one document
    // `stack up` runs with the local profile's dev credentials
    let credentials = compare::config::Credentials::dev();
    let read_token = credentials.service_token().await.expect("a service token");
    let read_token = read_token.expose();
    let client = reqwest::Client::new();
    let order_history = &stack.service_urls[3];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = client
            .get(format!("{order_history}/orders/{order_id}"))
            .bearer_auth(read_token)
            .send()
            .await
            .expect("order-history answers");
        if response.status().is_success() {
            let document: Json = response.json().await.expect("json");
            if document["payments"][0]["status"] == "REFUNDED" && document["shipments"][0]["status"] == "DISPATCHED" {
                assert_eq!(document["customer"]["name"], serde_json::json!(placed.order.customer.name));
                break;
            }
        }
        assert!(Instant::now() < deadline, "order-history never projected the order");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // composer knows only what the services hold (the events above went straight to the
    // topics), so it is asked about an order placed through order-svc
    let order: Json = client
        .post(format!("{}/orders", stack.service_urls[0]))
        .bearer_auth(credentials.write_token.expose())
        .json(&serde_json::json!({
            "customer_id": "c-stack", "customer_name": "Stack Test", "customer_email": "stack@example.com",
            "currency": "EUR", "items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 2, "unit_price": 1500}],
            "shipping_address": {"line1": "1 Main St", "city": "Utrecht", "postal_code": "3511", "country": "NL"}
        }))
        .send()
        .await
        .expect("order-svc answers")
        .json()
        .await
        .expect("json");
    let composed: Json = client
        .get(format!("{}/orders/{}", stack.service_urls[4], order["id"].as_str().expect("an order id")))
        .bearer_auth(read_token)
        .send()
        .await
        .expect("composer answers")
        .json()
        .await
        .expect("json");
    assert_eq!(composed["total"]["amount_minor"], 3000, "composer answered {composed}");
    assert_eq!(composed["customer"]["name"], "Stack Test");
    // the web pages are up, on the same origin as the API they call, which reads with its own token
    let web = &stack.service_urls[5];
    let page = client.get(format!("{web}/")).send().await.expect("web answers").text().await.expect("html");
    assert!(page.contains("Search orders"), "the search page is served: {page}");
    let through_web: Json = client
        .get(format!("{web}/api/composer/orders/{}", order["id"].as_str().expect("an order id")))
        .send()
        .await
        .expect("web answers")
        .json()
        .await
        .expect("json");
    assert_eq!(through_web, composed, "the pages see composer's answer unchanged");

    stack.stop();

    let stack = RunningStack::start(data_dir.path(), &ports);
    let codec = EventCodec::new(&RegistryConfig::new(&stack.registry_url)).expect("codec");
    assert_eq!(registry_json(&stack, "/subjects").await, subjects, "subjects survive a restart");
    assert_eq!(
        registry_json(&stack, "/subjects/orders-value/versions/latest").await,
        orders_schema_before,
        "the schema keeps its id and version"
    );
    let kept: OrderEvent = consume_until(&stack, &codec, |event: &OrderEvent| event.event_id == placed.event_id).await;
    assert_eq!(kept, placed, "messages survive a restart");
    let kept: ShipmentEvent =
        consume_until(&stack, &codec, |event: &ShipmentEvent| event.event_id == dispatched.event_id).await;
    assert_eq!(kept, dispatched);
    stack.stop();
}
