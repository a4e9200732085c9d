//! `GET /api/{design}/orders`, `GET /api/{design}/orders/{id}` and `GET /api/{design}/stats`: the
//! read API of order-history or composer, forwarded unchanged, so that the pages show exactly
//! what a client of each design gets: its status, its error message, its `degraded` parts or
//! `coverage`, and its headers.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use platform::http::json_error;
use reqwest::Url;
use uuid::Uuid;

use crate::app::AppState;
use crate::upstream::{relay, url_of};

/// The two designs the pages read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Design {
    /// CQRS: the denormalized view.
    OrderHistory,
    /// API Composition: the source services, called at request time.
    Composer,
}

impl Design {
    fn parse(raw: &str) -> Option<Design> {
        match raw {
            "order-history" => Some(Design::OrderHistory),
            "composer" => Some(Design::Composer),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Design::OrderHistory => "order-history",
            Design::Composer => "composer",
        }
    }

    fn base(self, state: &AppState) -> &Url {
        match self {
            Design::OrderHistory => &state.upstreams.order_history,
            Design::Composer => &state.upstreams.composer,
        }
    }
}

pub async fn search_orders(
    State(state): State<AppState>,
    Path(design): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    read_from(&state, &design, &["orders"], query.as_deref(), &headers).await
}

pub async fn get_order(
    State(state): State<AppState>,
    Path((design, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // checked here, not only by the design: what is relayed is a uuid, never a path segment
    // that a url parser could turn into `..` (`.%0A.` is one)
    if Uuid::parse_str(&id).is_err() {
        return json_error(StatusCode::BAD_REQUEST, &format!("{id:?} is not an order id (a uuid)"), Some("id"));
    }
    read_from(&state, &design, &["orders", &id], query.as_deref(), &headers).await
}

/// The period statistics (`GET /stats`), with the browser's query string as it came: the design
/// checks the parameters and names a bad one in its 400.
pub async fn stats(
    State(state): State<AppState>,
    Path(design): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    read_from(&state, &design, &["stats"], query.as_deref(), &headers).await
}

/// [`read`] from the design named `design`, or a 404 naming it when there is none.
async fn read_from(
    state: &AppState,
    design: &str,
    path: &[&str],
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    match Design::parse(design) {
        Some(design) => read(state, design, path, query, headers).await,
        None => unknown_design(design),
    }
}

fn unknown_design(name: &str) -> Response {
    let message = format!("no design named {name:?}: order-history or composer");
    json_error(StatusCode::NOT_FOUND, &message, Some("design"))
}

/// composer's circuit breakers, shown beside the fault controls.
pub async fn breakers(State(state): State<AppState>) -> Response {
    let url = url_of(&state.upstreams.composer, &["breakers"], None);
    relay("composer", state.upstreams.client.get(url)).await
}

async fn read(state: &AppState, design: Design, path: &[&str], query: Option<&str>, headers: &HeaderMap) -> Response {
    // a caller that brings its own token (a customer's, set by a gateway in front) reads with
    // it and is scoped by the design itself; otherwise the pages read as a service
    let authorization = match headers.get(header::AUTHORIZATION).map(|value| value.to_str()) {
        Some(Ok(presented)) => presented.to_string(),
        // a credential web cannot pass on is refused, never replaced by web's own
        Some(Err(_)) => {
            return json_error(
                StatusCode::UNAUTHORIZED,
                "the authorization header is not ascii",
                Some("authorization"),
            );
        }
        None => format!("Bearer {}", state.upstreams.read_token.bearer()),
    };
    let url = url_of(design.base(state), path, query);
    relay(design.name(), state.upstreams.client.get(url).header(header::AUTHORIZATION, authorization)).await
}
