//! `GET /stats`: order statistics by period from the statistics read model.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use order_view::stats::{STATS_PARAMS, StatsAnswer, StatsParamError, StatsQuery};
use platform::http::{json_error, unexpected_error_response};
use platform::query::parse_query;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;

/// The rollups for the asked range, with how fresh they are.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatsResponse {
    #[serde(flatten)]
    pub answer: StatsAnswer,
    /// The newest event time (`occurred_at`) the statistics cover; `null` before the first.
    pub as_of: Option<DateTime<Utc>>,
    /// True while the statistics projection is behind the topics (or has not measured yet):
    /// events already published may be missing from the buckets.
    pub stale: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; they are parsed by hand for precise errors
pub struct StatsParams {
    /// Start of the range (RFC 3339), rounded down to the hour; orders placed from then.
    from: String,
    /// End of the range (RFC 3339, exclusive), rounded up to the hour.
    to: String,
    /// `hour` (at most 744 hours), `day` (the default, at most 3660 days) or `month`.
    granularity: Option<String>,
    /// `status`, `payment_status`, `shipment_status`, `country` or `currency`; without it each
    /// period has one bucket keyed `ALL`.
    group_by: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("{message}")]
    BadRequest { field: &'static str, message: String },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StatsParamError> for StatsError {
    fn from(error: StatsParamError) -> Self {
        StatsError::BadRequest { field: error.field, message: error.message }
    }
}

impl From<platform::query::ParamError> for StatsError {
    fn from(error: platform::query::ParamError) -> Self {
        StatsError::BadRequest { field: error.field, message: error.message }
    }
}

impl IntoResponse for StatsError {
    fn into_response(self) -> Response {
        match &self {
            StatsError::BadRequest { field, message } => json_error(StatusCode::BAD_REQUEST, message, Some(field)),
            StatsError::Unexpected(error) => unexpected_error_response(error),
        }
    }
}

/// Orders and revenue per period and key, and the top products, from the hourly rollups the
/// statistics projection keeps. Service tokens only: the numbers span every customer.
#[utoipa::path(get, path = "/stats", tag = "stats",
    params(StatsParams),
    responses(
        (status = 200, body = StatsResponse),
        (status = 400, body = platform::json::ErrorBody, description = "a parameter cannot be used; `field` names it"),
        (status = 403, body = platform::json::ErrorBody, description = "not a service token")))]
pub async fn get_stats(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Json<StatsResponse>, StatsError> {
    let params = parse_query(query.as_deref(), &STATS_PARAMS)?;
    let query = StatsQuery::parse(&params)?;
    // staleness is read before the rollups, so `stale: false` never claims more than was read
    let stale = state.stats.status.stale();
    let as_of = state.stats.store.as_of().await?;
    let answer = state.stats.store.answer(&query).await?;
    Ok(Json(StatsResponse { answer, as_of, stale }))
}
