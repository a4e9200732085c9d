//! The services behind the pages, and how their answers reach the browser: status, body and the
//! headers the pages read, unchanged, plus how long the service took (`Server-Timing`), so that
//! the page can show each design's own latency without the browser's share in it.

use std::time::{Duration, Instant};

use anyhow::Context;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform::auth::{Secret, ServiceToken};
use platform::http::json_error;
use reqwest::Url;

use crate::config::Config;

/// The headers of an upstream answer that reach the browser; everything else stays behind.
const RELAYED_HEADERS: [&str; 4] = ["content-type", "x-downstream-calls", "x-orders-scanned", "x-scan-truncated"];

/// The source services whose faults the comparison page controls, by name.
pub const SOURCE_SERVICES: [&str; 3] = ["order-svc", "payment-svc", "shipping-svc"];

const UPSTREAM_DURATION: &str = "web_upstream_duration_seconds";
const UPSTREAM_FAILURES: &str = "web_upstream_failures_total";

pub fn describe_metrics() {
    metrics::describe_histogram!(
        UPSTREAM_DURATION,
        metrics::Unit::Seconds,
        "time a call from the pages' API to a service took, body included"
    );
    metrics::describe_counter!(
        UPSTREAM_FAILURES,
        "calls from the pages' API that got no answer: unreachable or timed out"
    );
}

/// Where the services are, and the credentials the pages' API calls them with.
pub struct Upstreams {
    pub client: reqwest::Client,
    pub order_history: Url,
    pub composer: Url,
    /// In [`SOURCE_SERVICES`] order.
    pub sources: [Url; 3],
    pub read_token: ServiceToken,
    /// `None` turns the fault controls off.
    pub admin_token: Option<Secret>,
}

impl Upstreams {
    pub fn new(config: &Config, read_token: ServiceToken, admin_token: Option<Secret>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(config.upstream_timeout())
            .connect_timeout(Duration::from_secs(2))
            .no_proxy()
            .build()
            .context("cannot build the http client")?;
        Ok(Upstreams {
            client,
            order_history: base_url("--order-history-url", &config.order_history_url)?,
            composer: base_url("--composer-url", &config.composer_url)?,
            sources: [
                base_url("--order-svc-url", &config.sources.order_svc_url)?,
                base_url("--payment-svc-url", &config.sources.payment_svc_url)?,
                base_url("--shipping-svc-url", &config.sources.shipping_svc_url)?,
            ],
            read_token,
            admin_token,
        })
    }

    /// The base URL of a source service named in [`SOURCE_SERVICES`].
    pub fn source(&self, name: &str) -> Option<(&'static str, &Url)> {
        SOURCE_SERVICES.iter().zip(&self.sources).find(|(known, _)| **known == name).map(|(known, url)| (*known, url))
    }
}

fn base_url(flag: &str, raw: &str) -> anyhow::Result<Url> {
    let url = Url::parse(raw).with_context(|| format!("{flag} {raw:?} is not a url"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        anyhow::bail!("{flag} {raw:?} must be an http or https base url");
    }
    Ok(url)
}

/// `base` with `segments` appended, each percent-encoded as one path segment, and `query` as
/// it came from the browser.
pub fn url_of(base: &Url, segments: &[&str], query: Option<&str>) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url.set_query(query);
    url
}

/// Sends `request` to the service `name` and answers with what it answered. A service that does
/// not answer becomes a 502 (unreachable) or 504 (too slow) whose message names it.
pub async fn relay(name: &'static str, request: reqwest::RequestBuilder) -> Response {
    let started = Instant::now();
    let outcome = async {
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, body))
    }
    .await;
    let elapsed = started.elapsed();
    metrics::histogram!(UPSTREAM_DURATION, "upstream" => name).record(elapsed.as_secs_f64());
    let mut response = match outcome {
        Ok((status, headers, body)) => {
            let mut response = (status, body).into_response();
            for name in RELAYED_HEADERS {
                if let Some(value) = headers.get(name) {
                    response.headers_mut().insert(HeaderName::from_static(name), value.clone());
                }
            }
            response
        }
        Err(error) => {
            metrics::counter!(UPSTREAM_FAILURES, "upstream" => name).increment(1);
            tracing::warn!(upstream = name, error = %platform::errors::error_chain(&error), "upstream call failed");
            if error.is_timeout() {
                json_error(StatusCode::GATEWAY_TIMEOUT, &format!("{name} did not answer in time"), None)
            } else {
                json_error(StatusCode::BAD_GATEWAY, &format!("{name} is unreachable: {}", root_cause(&error)), None)
            }
        }
    };
    let timing = format!("upstream;dur={:.3};desc=\"{name}\"", elapsed.as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&timing) {
        response.headers_mut().insert(HeaderName::from_static("server-timing"), value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The innermost cause, e.g. "connection refused", without the url the outer error repeats.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_one_each() {
        let base = Url::parse("http://127.0.0.1:8010").expect("url");
        assert_eq!(url_of(&base, &["orders", "a/b?c"], None).as_str(), "http://127.0.0.1:8010/orders/a%2Fb%3Fc");
        assert_eq!(
            url_of(&base, &["orders"], Some("q=tea&limit=5")).as_str(),
            "http://127.0.0.1:8010/orders?q=tea&limit=5"
        );
        let prefixed = Url::parse("http://history.internal/api/").expect("url");
        assert_eq!(url_of(&prefixed, &["orders", "x"], None).as_str(), "http://history.internal/api/orders/x");
        // a dot segment never climbs out of the base path
        assert!(url_of(&prefixed, &["..", ".."], None).path().starts_with("/api"));
    }

    #[test]
    fn base_urls_must_be_http() {
        assert!(base_url("--composer-url", "ftp://x").is_err());
        assert!(base_url("--composer-url", "not a url").is_err());
        assert!(base_url("--composer-url", "https://composer:8020").is_ok());
    }
}
