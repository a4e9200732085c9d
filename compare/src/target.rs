//! The stack under measurement, seen from outside: its HTTP endpoints, the fault injection of
//! the source services, and the counters they publish on `/metrics`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use platform::services::Service;

use crate::config::{Credentials, Endpoints};
use crate::report::model::{Design, SOURCE_SERVICES};

/// Every HTTP service of the stack, by name, in a fixed order.
pub const HTTP_SERVICES: [&str; 5] = ["order-svc", "payment-svc", "shipping-svc", "order-history", "composer"];

#[derive(Clone)]
pub struct Stack {
    pub endpoints: Endpoints,
    /// For the load: a large pool, short timeouts, no proxy.
    pub client: reqwest::Client,
    credentials: Credentials,
    write_patience: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error("{0}")]
    Unreachable(String),
    #[error("{message}")]
    Refused { status: reqwest::StatusCode, message: String },
}

impl Stack {
    /// Every request bears a service read token unless it sets its own (writes, admin calls).
    pub async fn new(
        endpoints: Endpoints,
        credentials: Credentials,
        request_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let service_token = credentials.service_token().await?;
        let mut read_token = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", service_token.expose()))?;
        read_token.set_sensitive(true);
        let client = reqwest::Client::builder()
            .default_headers([(reqwest::header::AUTHORIZATION, read_token)].into_iter().collect())
            .no_proxy()
            .timeout(request_timeout)
            .connect_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self { endpoints, client, credentials, write_patience: None })
    }

    /// The base URL of the service named `name`; an unknown name, or web, is an error.
    pub fn url_of(&self, name: &str) -> anyhow::Result<&str> {
        let service = Service::from_name(name).with_context(|| format!("no service named {name}"))?;
        self.endpoints.url_of(service).with_context(|| format!("compare is not told where {name} is"))
    }

    /// The base URL of the service that serves `design`'s reads.
    pub fn design_url(&self, design: Design) -> &str {
        match design {
            Design::OrderHistory => &self.endpoints.order_history,
            Design::Composer => &self.endpoints.composer,
        }
    }

    /// Fails with one line per service that does not answer `/readyz`, so a user sees at once
    /// which part of the stack is missing.
    pub async fn check_reachable(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        for service in HTTP_SERVICES {
            let url = format!("{}/readyz", self.url_of(service)?);
            match self.client.get(&url).timeout(Duration::from_secs(3)).send().await {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => problems.push(format!("{service} at {url} is not ready ({})", response.status())),
                Err(error) => {
                    problems.push(format!("{service} at {url} is not reachable: {:#}", anyhow::Error::new(error)))
                }
            }
        }
        if !problems.is_empty() {
            bail!(
                "the stack is not reachable:\n  {}\nstart it with `cargo run --release -p stack -- up`, or point compare at yours (see `compare --help`)",
                problems.join("\n  ")
            );
        }
        Ok(())
    }

    /// Sets a source service's read faults; `None` clears them.
    pub async fn set_fault(&self, service: &str, delay_ms: u64, error_rate: f64) -> anyhow::Result<()> {
        let url = format!("{}/admin/faults", self.url_of(service)?);
        let response = self
            .client
            .put(&url)
            .bearer_auth(self.credentials.admin_token.expose())
            .json(&json!({"delay_ms": delay_ms, "error_rate": error_rate}))
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            bail!(
                "{service} refused the fault injection ({status}): {body}; is --admin-token the stack's admin token?"
            );
        }
        Ok(())
    }

    /// `method` on a service's admin route with the admin token: the status and the JSON body
    /// (null when there is none).
    pub async fn admin_call(
        &self,
        method: reqwest::Method,
        service: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.url_of(service)?);
        let request = self.client.request(method, &url).bearer_auth(self.credentials.admin_token.expose());
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        let response = request.send().await.with_context(|| format!("cannot reach {url}"))?;
        let status = response.status().as_u16();
        let answer = response.json::<Value>().await.unwrap_or(Value::Null);
        if status == 401 {
            bail!("{service} refused the admin call ({status}): {answer}; is --admin-token the stack's admin token?");
        }
        Ok((status, answer))
    }

    pub async fn clear_faults(&self) -> anyhow::Result<()> {
        for service in SOURCE_SERVICES {
            self.set_fault(service, 0, 0.0).await?;
        }
        Ok(())
    }

    /// Writes retry for up to `patience` while the service is unreachable or answers 5xx, as a
    /// client riding out a restart would; each write keeps one `Idempotency-Key` across its
    /// attempts, so a create whose answer was lost is not made twice.
    pub fn retrying_writes(mut self, patience: Duration) -> Self {
        self.write_patience = Some(patience);
        self
    }

    /// POSTs `body` (none when `None`) to a service, as a client's write, and returns the answer
    /// and when it was acknowledged. A refusal is an error naming the status and the body.
    pub async fn write(&self, service: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(Value, Instant)> {
        let url = format!("{}{path}", self.url_of(service)?);
        let key = uuid::Uuid::now_v7().to_string();
        let give_up = self.write_patience.map(|patience| Instant::now() + patience);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.write_once(&url, body, &key).await;
            let transient = match &outcome {
                Err(WriteError::Unreachable(_)) => true,
                Err(WriteError::Refused { status, .. }) => status.is_server_error(),
                Ok(_) => false,
            };
            match give_up {
                Some(give_up) if transient && Instant::now() < give_up => {
                    tracing::debug!(%url, attempt, "write failed, retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10)))).await;
                }
                _ => return outcome.map_err(anyhow::Error::from),
            }
        }
    }

    async fn write_once(&self, url: &str, body: Option<&Value>, key: &str) -> Result<(Value, Instant), WriteError> {
        let request = self
            .client
            .post(url)
            .bearer_auth(self.credentials.write_token.expose())
            .header(platform::http::IDEMPOTENCY_KEY_HEADER, key);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        let response =
            request.send().await.map_err(|error| WriteError::Unreachable(format!("cannot reach {url}: {error}")))?;
        let acknowledged = Instant::now();
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .map_err(|error| WriteError::Unreachable(format!("{url} answered {status} without json: {error}")))?;
        if !status.is_success() {
            return Err(WriteError::Refused { status, message: format!("{url} answered {status}: {answer}") });
        }
        Ok((answer, acknowledged))
    }

    /// The counters of one service, read from its `/metrics`.
    pub async fn scrape(&self, service: &str) -> anyhow::Result<Counters> {
        let url = format!("{}/metrics", self.url_of(service)?);
        let text = self
            .client
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("cannot read {url}"))?
            .text()
            .await?;
        Ok(Counters::parse(&text))
    }

    /// The counters of every HTTP service.
    pub async fn scrape_all(&self) -> anyhow::Result<BTreeMap<&'static str, Counters>> {
        let mut all = BTreeMap::new();
        for service in HTTP_SERVICES {
            all.insert(service, self.scrape(service).await?);
        }
        Ok(all)
    }
}

/// The sums of a Prometheus text exposition's samples, by metric name and by full series.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    series: BTreeMap<String, f64>,
}

impl Counters {
    pub fn parse(text: &str) -> Self {
        let mut series = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((name, value)) = line.rsplit_once(' ') else { continue };
            if let Ok(value) = value.trim().parse::<f64>() {
                series.insert(name.trim().to_string(), value);
            }
        }
        Self { series }
    }

    /// The sum over every series of `metric` whose labels contain each of `labels`
    /// (`direction="out"`).
    pub fn sum(&self, metric: &str, labels: &[&str]) -> f64 {
        self.series
            .iter()
            .filter(|(series, _)| {
                let name = series.split('{').next().unwrap_or_default();
                name == metric && labels.iter().all(|label| series.contains(label))
            })
            .map(|(_, value)| value)
            .sum()
    }
}

/// The change of one metric between two scrapes, summed over `services`.
pub fn delta(
    before: &BTreeMap<&'static str, Counters>,
    after: &BTreeMap<&'static str, Counters>,
    services: &[&str],
    metric: &str,
    labels: &[&str],
) -> f64 {
    services
        .iter()
        .map(|service| {
            let of =
                |scrape: &BTreeMap<&'static str, Counters>| scrape.get(service).map_or(0.0, |c| c.sum(metric, labels));
            of(after) - of(before)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_series_by_name_and_labels() {
        let text = "# TYPE x counter\nhttp_server_requests_total{class=\"2xx\"} 7\nhttp_server_requests_total{class=\"5xx\"} 3\nhttp_server_body_bytes_total{direction=\"out\"} 100\nother 1\n";
        let counters = Counters::parse(text);
        assert_eq!(counters.sum("http_server_requests_total", &[]), 10.0);
        assert_eq!(counters.sum("http_server_requests_total", &["class=\"5xx\""]), 3.0);
        assert_eq!(counters.sum("http_server_body_bytes_total", &["direction=\"in\""]), 0.0);
        assert_eq!(counters.sum("other", &[]), 1.0);
    }
}
