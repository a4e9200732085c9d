//! Reading both sides over HTTP: the source services' REST APIs and order-history's own.
//!
//! The source services' records are [`order_view::source_api`], which composer reads too.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use order_view::OrderHistory;
pub use order_view::source_api::{
    AddressRecord, LineItemRecord, OrderPage, OrderRecord, PaymentList, PaymentRecord, ShipmentList, ShipmentRecord,
};
use order_view::stats::{StatsAnswer, StatsQuery};
use platform::auth::Secret;
use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::repair_api::RepairStatus;

/// The largest page every list API here serves.
const PAGE_SIZE: &str = "100";

/// Every request's limit, connecting included. A repair's POST is answered within the server's
/// own request timeout (10 s), so this leaves room for a slow answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A page of order-history's `GET /orders`; only the documents are of interest.
#[derive(Deserialize)]
struct ViewPage {
    hits: Vec<ViewHit>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct ViewHit {
    document: OrderHistory,
}

/// Which service a request went to, for errors and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    OrderHistory,
    OrderSvc,
    PaymentSvc,
    ShippingSvc,
}

impl fmt::Display for Service {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Service::OrderHistory => "order-history",
            Service::OrderSvc => "order-svc",
            Service::PaymentSvc => "payment-svc",
            Service::ShippingSvc => "shipping-svc",
        })
    }
}

/// Why a side could not be read. Reconcile cannot judge what it cannot read, so each of these
/// ends the run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot reach {service} at {url}: {reason}")]
    Unreachable { service: Service, url: String, reason: String },
    #[error("{service} refused {url} with {status}: {reason} (check --read-token and --admin-token)")]
    Refused { service: Service, url: String, status: u16, reason: String },
    #[error("{service} answered {status} to {url}: {reason}")]
    Failed { service: Service, url: String, status: u16, reason: String },
    #[error("cannot parse the answer of {service} to {url}: {reason}")]
    Malformed { service: Service, url: String, reason: String },
    #[error("{service} pages through {url} without end: a cursor came back")]
    EndlessPages { service: Service, url: String },
    #[error("cannot build the http client: {0}")]
    Client(String),
}

/// The base URLs of the four services reconcile talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub order_history: String,
    pub order_svc: String,
    pub payment_svc: String,
    pub shipping_svc: String,
}

impl Endpoints {
    fn base(&self, service: Service) -> &str {
        let base = match service {
            Service::OrderHistory => &self.order_history,
            Service::OrderSvc => &self.order_svc,
            Service::PaymentSvc => &self.payment_svc,
            Service::ShippingSvc => &self.shipping_svc,
        };
        base.trim_end_matches('/')
    }
}

/// An HTTP client of the four services, bearing the read token on every GET and the admin
/// token on the repair calls.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoints: Endpoints,
    read_token: Option<Secret>,
    admin_token: Option<Secret>,
}

impl Client {
    pub fn new(
        endpoints: Endpoints,
        read_token: Option<Secret>,
        admin_token: Option<Secret>,
    ) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|error| SourceError::Client(platform::errors::error_chain(&error)))?;
        Ok(Client { http, endpoints, read_token, admin_token })
    }

    /// Every document of the view, incomplete ones included, paged through in `newest` order.
    pub async fn view_documents(&self) -> Result<HashMap<Uuid, OrderHistory>, SourceError> {
        let mut documents = HashMap::new();
        let mut cursor: Option<String> = None;
        let mut cursors_seen = HashSet::new();
        loop {
            let mut query = vec![("sort", "newest"), ("include_incomplete", "true"), ("limit", PAGE_SIZE)];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.as_str()));
            }
            let page: ViewPage = self.get_json(Service::OrderHistory, "/orders", &query).await?;
            for hit in page.hits {
                documents.insert(hit.document.order_id, hit.document);
            }
            let Some(next_cursor) = page.next_cursor else {
                return Ok(documents);
            };
            if !cursors_seen.insert(next_cursor.clone()) {
                return Err(self.endless_pages(Service::OrderHistory, "/orders"));
            }
            cursor = Some(next_cursor);
        }
    }

    /// One document of the view; `None` when the view has nothing of the order.
    pub async fn view_document(&self, order_id: Uuid) -> Result<Option<OrderHistory>, SourceError> {
        self.get_optional_json(Service::OrderHistory, &format!("/orders/{order_id}"), &[]).await
    }

    /// order-history's `GET /stats` answer to `query`.
    pub async fn view_statistics(&self, query: &StatsQuery) -> Result<StatsAnswer, SourceError> {
        let (from, to) = (query.from.to_rfc3339(), query.to.to_rfc3339());
        let mut params = vec![("from", from.as_str()), ("to", to.as_str()), ("granularity", query.granularity.name())];
        if let Some(group_by) = query.group_by {
            params.push(("group_by", group_by.name()));
        }
        self.get_json(Service::OrderHistory, "/stats", &params).await
    }

    /// Every order of order-svc, paged through newest first.
    pub async fn orders(&self) -> Result<HashMap<Uuid, OrderRecord>, SourceError> {
        let mut orders = HashMap::new();
        let mut cursor: Option<String> = None;
        let mut cursors_seen = HashSet::new();
        loop {
            let mut query = vec![("limit", PAGE_SIZE)];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.as_str()));
            }
            let page: OrderPage = self.get_json(Service::OrderSvc, "/orders", &query).await?;
            for order in page.orders {
                orders.insert(order.id, order);
            }
            let Some(next_cursor) = page.next_cursor else {
                return Ok(orders);
            };
            if !cursors_seen.insert(next_cursor.clone()) {
                return Err(self.endless_pages(Service::OrderSvc, "/orders"));
            }
            cursor = Some(next_cursor);
        }
    }

    /// One order of order-svc; `None` when it has no such order.
    pub async fn order(&self, order_id: Uuid) -> Result<Option<OrderRecord>, SourceError> {
        self.get_optional_json(Service::OrderSvc, &format!("/orders/{order_id}"), &[]).await
    }

    /// The payments of one order; payment-svc lists payments per order only.
    pub async fn payments_of(&self, order_id: Uuid) -> Result<Vec<PaymentRecord>, SourceError> {
        let order_id = order_id.to_string();
        let list: PaymentList =
            self.get_json(Service::PaymentSvc, "/payments", &[("order_id", order_id.as_str())]).await?;
        Ok(list.payments)
    }

    /// The shipments of one order; shipping-svc lists shipments per order only.
    pub async fn shipments_of(&self, order_id: Uuid) -> Result<Vec<ShipmentRecord>, SourceError> {
        let order_id = order_id.to_string();
        let list: ShipmentList =
            self.get_json(Service::ShippingSvc, "/shipments", &[("order_id", order_id.as_str())]).await?;
        Ok(list.shipments)
    }

    /// `POST /admin/repair`: the status code (200 done, 202 running, 409 another running, 500
    /// failed) and the repair's status that comes with each.
    pub async fn post_repair(&self, order_ids: &[Uuid]) -> Result<(StatusCode, RepairStatus), SourceError> {
        let url = format!("{}/admin/repair", self.endpoints.base(Service::OrderHistory));
        let body = serde_json::json!({ "order_ids": order_ids });
        let request = self.with_admin_token(self.http.post(&url).json(&body));
        let (status, text) = self.send(Service::OrderHistory, &url, request).await?;
        let carries_status =
            [StatusCode::OK, StatusCode::ACCEPTED, StatusCode::CONFLICT, StatusCode::INTERNAL_SERVER_ERROR];
        if !carries_status.contains(&status) {
            return Err(refusal_or_failure(Service::OrderHistory, &url, status, &text));
        }
        Ok((status, parse(Service::OrderHistory, &url, &text)?))
    }

    /// `GET /admin/repair`: the last repair's status.
    pub async fn repair_status(&self) -> Result<RepairStatus, SourceError> {
        let url = format!("{}/admin/repair", self.endpoints.base(Service::OrderHistory));
        let request = self.with_admin_token(self.http.get(&url));
        let (status, text) = self.send(Service::OrderHistory, &url, request).await?;
        if !status.is_success() {
            return Err(refusal_or_failure(Service::OrderHistory, &url, status, &text));
        }
        parse(Service::OrderHistory, &url, &text)
    }

    fn with_admin_token(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.admin_token {
            Some(token) => request.bearer_auth(token.expose()),
            None => request,
        }
    }

    /// `GET` a JSON answer; a 404 is an error, as these paths always exist.
    async fn get_json<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, SourceError> {
        let url = format!("{}{path}", self.endpoints.base(service));
        let (status, text) = self.get(service, &url, query).await?;
        if !status.is_success() {
            return Err(refusal_or_failure(service, &url, status, &text));
        }
        parse(service, &url, &text)
    }

    /// `GET` a JSON answer; `None` for a 404, the answer for an entity that does not exist.
    async fn get_optional_json<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<T>, SourceError> {
        let url = format!("{}{path}", self.endpoints.base(service));
        let (status, text) = self.get(service, &url, query).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(refusal_or_failure(service, &url, status, &text));
        }
        parse(service, &url, &text).map(Some)
    }

    async fn get(
        &self,
        service: Service,
        url: &str,
        query: &[(&str, &str)],
    ) -> Result<(StatusCode, String), SourceError> {
        let mut request = self.http.get(url).query(query);
        if let Some(token) = &self.read_token {
            request = request.bearer_auth(token.expose());
        }
        self.send(service, url, request).await
    }

    async fn send(
        &self,
        service: Service,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, String), SourceError> {
        let unreachable = |error: reqwest::Error| SourceError::Unreachable {
            service,
            url: url.to_string(),
            reason: platform::errors::error_chain(&error),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        Ok((status, text))
    }

    fn endless_pages(&self, service: Service, path: &str) -> SourceError {
        SourceError::EndlessPages { service, url: format!("{}{path}", self.endpoints.base(service)) }
    }
}

fn parse<T: DeserializeOwned>(service: Service, url: &str, text: &str) -> Result<T, SourceError> {
    serde_json::from_str(text).map_err(|error| SourceError::Malformed {
        service,
        url: url.to_string(),
        reason: error.to_string(),
    })
}

/// The error for an answer that is not a success: a refusal of the credentials, or a failure.
fn refusal_or_failure(service: Service, url: &str, status: StatusCode, text: &str) -> SourceError {
    let reason = error_message(text);
    let url = url.to_string();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return SourceError::Refused { service, url, status: status.as_u16(), reason };
    }
    SourceError::Failed { service, url, status: status.as_u16(), reason }
}

/// The `error` of a JSON error body, or the start of whatever else the body is.
fn error_message(text: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|body| body.get("error").and_then(serde_json::Value::as_str).map(str::to_string));
    match from_json {
        Some(message) => message,
        None if text.trim().is_empty() => "no body".to_string(),
        None => text.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_is_summed_up_by_its_error_field() {
        assert_eq!(error_message(r#"{"error": "missing bearer token"}"#), "missing bearer token");
        assert_eq!(error_message("  "), "no body");
        assert_eq!(error_message("<html>bad gateway</html>"), "<html>bad gateway</html>");
        let refused = refusal_or_failure(Service::PaymentSvc, "http://x/payments", StatusCode::UNAUTHORIZED, "");
        assert!(matches!(refused, SourceError::Refused { status: 401, .. }));
        let failed = refusal_or_failure(Service::PaymentSvc, "http://x/payments", StatusCode::SERVICE_UNAVAILABLE, "");
        assert!(matches!(failed, SourceError::Failed { status: 503, .. }));
    }
}
