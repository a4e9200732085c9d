//! The limits every service's HTTP layer enforces, against a real server on port 0: body size,
//! query length, request timeout and concurrent requests. Each over-limit request gets a JSON
//! error, and the server keeps serving.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use platform::http::{HttpLimits, serve, with_operational_routes};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::{Notify, Semaphore};

/// Starts the routes under `limits`; a `GET /hold` waits until `release` is notified.
async fn spawn(limits: HttpLimits, release: Arc<Notify>, entered: Arc<Semaphore>) -> String {
    let app = Router::new()
        .route("/echo", post(|body: String| async move { body.len().to_string() }))
        .route("/query", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route(
            "/hold",
            get(move || {
                let (release, entered) = (release.clone(), entered.clone());
                async move {
                    // registered before it says it entered, so the release cannot be missed
                    let released = release.notified();
                    tokio::pin!(released);
                    released.as_mut().enable();
                    entered.add_permits(1);
                    released.await;
                    "released"
                }
            }),
        );
    let app = with_operational_routes(app, Vec::new(), platform::telemetry::metrics_handle(), &limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(serve(listener, app, std::future::pending()));
    format!("http://{address}")
}

fn limits() -> HttpLimits {
    HttpLimits {
        request_timeout: Duration::from_millis(300),
        max_body_bytes: 1024,
        max_query_bytes: 64,
        max_concurrent_requests: 2,
        ..HttpLimits::default()
    }
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("a json error body");
    (status, body["error"].as_str().expect("an error message").to_string())
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_one_under_it_is_served() {
    let base = spawn(limits(), Arc::new(Notify::new()), Arc::new(Semaphore::new(0))).await;
    let client = reqwest::Client::new();
    let fits = client.post(format!("{base}/echo")).body("x".repeat(1024)).send().await.expect("answers");
    assert_eq!(fits.status(), StatusCode::OK);
    let too_big = client.post(format!("{base}/echo")).body("x".repeat(1025)).send().await.expect("answers");
    let (status, error) = error_of(too_big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error.contains("too large"), "{error}");
}

#[tokio::test]
async fn a_query_over_the_limit_is_414() {
    let base = spawn(limits(), Arc::new(Notify::new()), Arc::new(Semaphore::new(0))).await;
    let fits = reqwest::get(format!("{base}/query?q={}", "a".repeat(62))).await.expect("answers");
    assert_eq!(fits.status(), StatusCode::OK);
    let (status, error) =
        error_of(reqwest::get(format!("{base}/query?q={}", "a".repeat(63))).await.expect("answers")).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert_eq!(error, "query string too long: 65 bytes, at most 64");
}

#[tokio::test]
async fn a_request_over_its_time_is_cut_with_503() {
    let base = spawn(limits(), Arc::new(Notify::new()), Arc::new(Semaphore::new(0))).await;
    let started = std::time::Instant::now();
    let (status, error) = error_of(reqwest::get(format!("{base}/slow")).await.expect("answers")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error.contains("timed out"), "{error}");
    // cut by the limit, not by the handler finishing (it sleeps 30 s)
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn requests_over_the_concurrency_limit_are_shed_and_probes_still_answer() {
    let release = Arc::new(Notify::new());
    let entered = Arc::new(Semaphore::new(0));
    // the held requests must outlast the checks below however slow the machine: no 300 ms cut
    let patient = HttpLimits { request_timeout: Duration::from_secs(60), ..limits() };
    let base = spawn(patient, release.clone(), entered.clone()).await;
    let client = reqwest::Client::new();
    let held: Vec<_> = (0..2).map(|_| tokio::spawn(client.get(format!("{base}/hold")).send())).collect();
    // both are inside their handler: the limit of 2 is used up
    let _both = entered.acquire_many(2).await.expect("two requests entered");

    let (status, error) = error_of(client.get(format!("{base}/query")).send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error, "too many requests in flight, retry shortly");
    let probe = client.get(format!("{base}/healthz")).send().await.expect("answers");
    assert_eq!(probe.status(), StatusCode::OK, "liveness is not shed");

    release.notify_waiters();
    for request in held {
        assert_eq!(request.await.expect("task").expect("answers").status(), StatusCode::OK);
    }
    let after = client.get(format!("{base}/query")).send().await.expect("answers");
    assert_eq!(after.status(), StatusCode::OK, "served again once the load is gone");
}

#[tokio::test]
async fn a_request_for_a_host_outside_pages_cannot_hold_is_refused_with_421() {
    let url = spawn(limits(), Arc::new(Notify::new()), Arc::new(Semaphore::new(0))).await;
    let client = reqwest::Client::new();
    let with_host = |host: &'static str, path: &str| client.get(format!("{url}{path}")).header("host", host).send();

    // a page that rebinds its own name to 127.0.0.1 still sends that name
    for path in ["/query", "/metrics", "/healthz"] {
        let (status, body) = error_of(with_host("attacker.example:8080", path).await.expect("answers")).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{path}: {body}");
        assert!(body.contains("attacker.example"), "{body}");
    }
    for host in ["127.0.0.1", "localhost:3000", "order-svc:8081"] {
        let response = with_host(host, "/query").await.expect("answers");
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
}
