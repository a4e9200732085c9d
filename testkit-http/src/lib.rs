//! The broker-free half of the test harness: the test token issuer and its JWKS file, the
//! access-control checks every service's tests run, and HTTP and tracing helpers. It links no
//! broker, database or source service, so a crate whose tests need only HTTP (web) depends on
//! this and not on `testkit`.

pub mod access;
mod tokens;

pub use tokens::{
    TEST_ADMIN_TOKEN, TEST_ISSUER_KEY_BODY, TEST_WRITE_TOKEN, customer_token, service_token, test_issuer,
    test_jwks_file, test_read_auth,
};

/// Installs a tracing subscriber whose output the test harness captures (shown only for a
/// failing test). `RUST_LOG` sets the filter, default `warn`.
pub fn init_test_tracing() {
    init_test_tracing_with_default_filter("warn");
}

/// [`init_test_tracing`] with another filter for when `RUST_LOG` is unset, for a suite that
/// wants a failing test to show more. The first subscriber installed in a test binary stays.
pub fn init_test_tracing_with_default_filter(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    // fails only when a subscriber is already installed, which is the point
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// The status and JSON body of a response; a body that is not JSON fails the test and shows it.
pub async fn status_and_json(response: reqwest::Response) -> (reqwest::StatusCode, serde_json::Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|error| panic!("json body ({error}): {text}"));
    (status, body)
}

/// The status and JSON body of a response built in process (by a handler or an error type),
/// for unit tests that need no server.
pub async fn status_and_json_of_axum_response(
    response: axum::response::Response,
) -> (axum::http::StatusCode, serde_json::Value) {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.expect("body");
    (status, serde_json::from_slice(&bytes).expect("json body"))
}

/// An address nothing listens on, for tests of a refused connection: a loopback port the OS
/// picked, released again. Another process may take it in the meantime; the test then gets an
/// answer where it expected a refusal, and fails saying so.
pub fn unused_address() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local address")
}
