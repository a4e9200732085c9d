//! A registry on port 0 with its own temporary data dir, and a client that checks every
//! answer has Confluent's media type and a JSON body.

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use schema_registry::RunningRegistry;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;

pub const CONFLUENT_CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

pub const PAYMENT_V1: &str = r#"{"type": "record", "name": "Payment", "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"}]}"#;

/// v1 plus an optional field with a default: compatible under every level.
pub const PAYMENT_V2_WITH_NOTE: &str = r#"{"type": "record", "name": "Payment", "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"},
               {"name": "note", "type": ["null", "string"], "default": null}]}"#;

/// v1 with `amount` turned into a string.
pub const PAYMENT_AMOUNT_AS_STRING: &str = r#"{"type": "record", "name": "Payment", "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "string"}]}"#;

/// v1 with `amount`, which has no default, removed.
pub const PAYMENT_WITHOUT_AMOUNT: &str = r#"{"type": "record", "name": "Payment", "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}]}"#;

/// v1 plus a field without a default.
pub const PAYMENT_WITH_REQUIRED_CURRENCY: &str = r#"{"type": "record", "name": "Payment", "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"},
               {"name": "currency", "type": "string"}]}"#;

pub const SHIPMENT_V1: &str = r#"{"type": "record", "name": "Shipment", "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "carrier", "type": "string"}]}"#;

/// A status code and the JSON body that came with it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// Asserts a success and returns the body.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "expected success, got {self:?}");
        self.body
    }

    /// Asserts a Confluent error with this status and code, and returns its message.
    #[track_caller]
    pub fn error(self, status: StatusCode, error_code: i64) -> String {
        assert_eq!(self.status, status, "unexpected reply {self:?}");
        assert_eq!(self.body["error_code"], json!(error_code), "unexpected reply {self:?}");
        match self.body["message"].as_str() {
            Some(message) => message.to_string(),
            None => panic!("error without a message: {self:?}"),
        }
    }

    /// The `id` of a successful registration.
    #[track_caller]
    pub fn id(self) -> i64 {
        let body = self.ok();
        match body["id"].as_i64() {
            Some(id) => id,
            None => panic!("reply without an id: {body}"),
        }
    }
}

pub struct TestRegistry {
    data_dir: TempDir,
    running: RunningRegistry,
    client: reqwest::Client,
}

impl TestRegistry {
    pub async fn start() -> Self {
        let data_dir = tempfile::tempdir().expect("cannot create a temp dir");
        let running = spawn_on(&data_dir).await;
        Self { data_dir, running, client: reqwest::Client::new() }
    }

    /// Shuts the server down gracefully and starts a new one on the same data dir.
    pub async fn restart(self) -> Self {
        let Self { data_dir, running, client } = self;
        running.shutdown().await.expect("registry did not shut down cleanly");
        let running = spawn_on(&data_dir).await;
        Self { data_dir, running, client }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn register(&self, subject: &str, schema: &str) -> Reply {
        self.post(&format!("/subjects/{subject}/versions"), json!({"schema": schema})).await
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|body| body.to_string().into_bytes());
        self.send_raw(method, path, Some(CONFLUENT_CONTENT_TYPE), body).await
    }

    /// Sends `body` as is, with `content_type` if any.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.running.url()));
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("request failed");
        let status = response.status();
        assert!(!status.is_server_error(), "{path} answered {status}");
        let content_type = response.headers().get(CONTENT_TYPE).cloned();
        let bytes = response.bytes().await.expect("cannot read the body");
        assert_eq!(
            content_type,
            Some(HeaderValue::from_static(CONFLUENT_CONTENT_TYPE)),
            "{path} answered {status} with the wrong content type"
        );
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|error| panic!("{path} answered {status} with a body that is not JSON: {error}"));
        Reply { status, body }
    }

    /// The base URL, for requests outside the Confluent API.
    pub fn url(&self) -> String {
        self.running.url()
    }
}

async fn spawn_on(data_dir: &TempDir) -> RunningRegistry {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("cannot bind port 0");
    schema_registry::spawn(data_dir.path(), listener).await.expect("registry did not start")
}
