//! The statistics contract both designs answer `GET /stats` with: what one order contributes
//! to the hourly rollups, how rollups are summed into periods, the query parameters and the
//! response shape.
//!
//! order-history keeps the hourly rollups in a store of their own, fed by events; composer
//! builds [`OrderHistory`] documents from the source services and sums them at query time.
//! Both go through [`Contribution::of`] and [`answer`], so on the same data they give the
//! same answer.
//!
//! **Revenue** is the amount of an order's payments that are captured now: a payment counts
//! from its capture until it is refunded, in its own currency. Authorized, declined and
//! refunded payments count zero, whatever the order's status. Revenue is attributed to the
//! hour the order was placed, not the hour the money moved.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::document::{Address, OrderHistory, OrderStatus, PaymentStatus};

/// How many products `top_products` lists.
pub const TOP_PRODUCTS: usize = 10;
/// The most hours an hour-granularity answer may span: 31 days.
pub const MAX_HOUR_BUCKETS: i64 = 24 * 31;
/// The most days a day-granularity answer may span: about ten years.
pub const MAX_DAY_BUCKETS: i64 = 3660;
/// The key of every bucket when the query has no `group_by`.
pub const ALL_KEY: &str = "ALL";
/// The payment or shipment status of an order that has none.
pub const NONE_KEY: &str = "NONE";

const HOUR_MS: i64 = 3_600_000;

/// The size of the periods buckets are summed into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    Day,
    Month,
}

impl Granularity {
    const ALL: [Granularity; 3] = [Granularity::Hour, Granularity::Day, Granularity::Month];

    /// The name `GET /stats` takes and answers.
    pub fn name(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Month => "month",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Granularity::ALL.into_iter().find(|granularity| granularity.name() == raw)
    }

    /// The start of the period that holds `at`.
    pub fn period_start(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let hour_start = floor_to_hour(at);
        match self {
            Granularity::Hour => hour_start,
            Granularity::Day => hour_start - Duration::hours(i64::from(hour_start.hour())),
            Granularity::Month => {
                Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0).single().unwrap_or(hour_start)
            }
        }
    }
}

/// The dimension buckets are keyed by; also the name each dimension's rollup rows are stored
/// under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Status,
    PaymentStatus,
    ShipmentStatus,
    Country,
    Currency,
}

impl GroupBy {
    pub const ALL: [GroupBy; 5] =
        [GroupBy::Status, GroupBy::PaymentStatus, GroupBy::ShipmentStatus, GroupBy::Country, GroupBy::Currency];

    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Status => "status",
            GroupBy::PaymentStatus => "payment_status",
            GroupBy::ShipmentStatus => "shipment_status",
            GroupBy::Country => "country",
            GroupBy::Currency => "currency",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        GroupBy::ALL.into_iter().find(|group_by| group_by.name() == raw)
    }
}

/// A statistics parameter that cannot be used, and why: a 400 naming `field`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StatsParamError {
    pub field: &'static str,
    pub message: String,
}

impl StatsParamError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        StatsParamError { field, message: message.into() }
    }
}

/// The parameter names `GET /stats` accepts, for strict query parsing.
pub const STATS_PARAMS: [&str; 4] = ["from", "to", "granularity", "group_by"];

/// A validated statistics query. `from` is rounded down and `to` up to whole hours, the
/// rollups' resolution; the answer echoes the range it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub granularity: Granularity,
    pub group_by: Option<GroupBy>,
}

impl StatsQuery {
    /// Parses the query parameters: `from` and `to` (RFC 3339, required), `granularity`
    /// (default `day`) and `group_by` (default: one bucket per period, keyed `ALL`).
    pub fn parse(params: &HashMap<String, String>) -> Result<Self, StatsParamError> {
        let from = parse_time(params, "from")?;
        let to = parse_time(params, "to")?;
        let granularity = match params.get("granularity") {
            None => Granularity::Day,
            Some(raw) => Granularity::parse(raw).ok_or_else(|| {
                StatsParamError::new("granularity", format!("unknown granularity {raw:?}; use hour, day or month"))
            })?,
        };
        let group_by = match params.get("group_by") {
            None => None,
            Some(raw) => Some(GroupBy::parse(raw).ok_or_else(|| {
                StatsParamError::new(
                    "group_by",
                    format!(
                        "unknown group_by {raw:?}; use status, payment_status, shipment_status, country or currency"
                    ),
                )
            })?),
        };
        if from >= to {
            return Err(StatsParamError::new("from", "from must be before to"));
        }
        let from = floor_to_hour(from);
        let to = ceil_to_hour(to);
        let hours = (to - from).num_hours();
        if granularity == Granularity::Hour && hours > MAX_HOUR_BUCKETS {
            return Err(StatsParamError::new(
                "granularity",
                format!("hour granularity spans at most {MAX_HOUR_BUCKETS} hours; use day or month"),
            ));
        }
        if granularity == Granularity::Day && hours > MAX_DAY_BUCKETS * 24 {
            return Err(StatsParamError::new(
                "granularity",
                format!("day granularity spans at most {MAX_DAY_BUCKETS} days; use month"),
            ));
        }
        Ok(StatsQuery { from, to, granularity, group_by })
    }

    /// The dimension whose rollup rows answer this query: without `group_by`, any one serves,
    /// as every order has exactly one key in each.
    pub fn dimension(&self) -> GroupBy {
        self.group_by.unwrap_or(GroupBy::Status)
    }

    pub fn from_ms(&self) -> i64 {
        self.from.timestamp_millis()
    }

    pub fn to_ms(&self) -> i64 {
        self.to.timestamp_millis()
    }
}

fn parse_time(params: &HashMap<String, String>, field: &'static str) -> Result<DateTime<Utc>, StatsParamError> {
    let raw =
        params.get(field).ok_or_else(|| StatsParamError::new(field, format!("{field} is required (RFC 3339)")))?;
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| StatsParamError::new(field, format!("{field} is not an RFC 3339 time: {raw:?}")))?;
    let at = parsed.with_timezone(&Utc);
    // far outside the data and the calendar arithmetic below
    if at.year() < 1970 || at.year() > 9999 {
        return Err(StatsParamError::new(field, format!("{field} must fall between 1970 and 9999")));
    }
    Ok(at)
}

fn floor_to_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    let ms = at.timestamp_millis();
    let floored = ms - ms.rem_euclid(HOUR_MS);
    DateTime::from_timestamp_millis(floored).unwrap_or(at)
}

fn ceil_to_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    let floored = floor_to_hour(at);
    if floored == at { at } else { floored + Duration::hours(1) }
}

/// What one order adds to the rollups, derived from its merged state alone. When the order
/// changes, its old contribution is subtracted and the new one added, so an order that moves
/// from one status to another leaves the first bucket as it enters the second.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// The hour the order was placed in, as Unix milliseconds.
    pub hour_ms: i64,
    pub status: String,
    /// The status of the order's newest payment (by creation time), or `NONE`.
    pub payment_status: String,
    /// The status of the order's newest shipment (by creation time), or `NONE`.
    pub shipment_status: String,
    /// The shipping address's country.
    pub country: String,
    /// The order's currency.
    pub currency: String,
    /// Captured, not refunded, payment amounts per currency.
    pub revenue: BTreeMap<String, i64>,
    /// Quantities per SKU; a cancelled order contributes none.
    pub products: BTreeMap<String, i64>,
}

/// Empties what the statistics never read of an order's merged state, before it is stored
/// between batches: the timeline, the customer, names, free text and every address line but
/// the country. What [`Contribution::of`] reads stays, and so does what
/// [`OrderHistory::apply`]'s version rules compare (ids, versions, creation times), so applying
/// later events to the trimmed state gives the same contribution as to the whole document.
/// The per-order states are most of the statistics store and of its snapshots; trimmed, they
/// are about a third of the bytes.
pub fn trim_for_statistics(order: &mut OrderHistory) {
    order.customer = None;
    order.cancellation_reason = None;
    order.timeline = Vec::new();
    order.as_of = None;
    for item in &mut order.items {
        item.name = String::new();
    }
    if let Some(address) = &mut order.shipping_address {
        keep_only_country(address);
    }
    for payment in &mut order.payments {
        payment.decline_reason = None;
    }
    for shipment in &mut order.shipments {
        shipment.carrier = String::new();
        shipment.tracking_number = String::new();
        shipment.last_location = None;
        keep_only_country(&mut shipment.address);
    }
}

fn keep_only_country(address: &mut Address) {
    address.line1 = String::new();
    address.line2 = None;
    address.city = String::new();
    address.postal_code = String::new();
}

impl Contribution {
    /// The contribution of an order; `None` while the order itself is unknown (only its
    /// payments or shipments arrived), as it has no placement time to count under.
    pub fn of(order: &OrderHistory) -> Option<Contribution> {
        let placed_at = order.placed_at?;
        let status = order.status?;
        let currency = order.currency.clone()?;
        let country = order.shipping_address.as_ref().map_or_else(|| NONE_KEY.to_string(), |a| a.country.clone());
        // payments and shipments are kept by creation time, so the newest is the last
        let payment_status = order.payments.last().map_or(NONE_KEY, |payment| payment.status.symbol()).to_string();
        let shipment_status = order.shipments.last().map_or(NONE_KEY, |shipment| shipment.status.symbol()).to_string();
        let mut revenue = BTreeMap::new();
        for payment in &order.payments {
            if payment.status == PaymentStatus::Captured {
                *revenue.entry(payment.amount.currency.clone()).or_insert(0) += payment.amount.amount_minor;
            }
        }
        let mut products = BTreeMap::new();
        if status != OrderStatus::Cancelled {
            for item in &order.items {
                *products.entry(item.sku.clone()).or_insert(0) += i64::from(item.quantity);
            }
        }
        Some(Contribution {
            hour_ms: floor_to_hour(placed_at).timestamp_millis(),
            status: status.symbol().to_string(),
            payment_status,
            shipment_status,
            country,
            currency,
            revenue,
            products,
        })
    }

    /// The order's key in `dimension`.
    pub fn key(&self, dimension: GroupBy) -> &str {
        match dimension {
            GroupBy::Status => &self.status,
            GroupBy::PaymentStatus => &self.payment_status,
            GroupBy::ShipmentStatus => &self.shipment_status,
            GroupBy::Country => &self.country,
            GroupBy::Currency => &self.currency,
        }
    }
}

/// Where a rollup count lives: an hour, a dimension's key, a currency.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub hour_ms: i64,
    pub dimension: GroupBy,
    pub key: String,
    pub currency: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CellValue {
    pub orders: i64,
    pub revenue_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub at: CellKey,
    pub value: CellValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductCell {
    pub hour_ms: i64,
    pub sku: String,
    pub quantity: i64,
}

/// Hourly rollups in memory: composer's query-time aggregation, and the recount tests compare
/// the stored rollups with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rollup {
    pub cells: BTreeMap<CellKey, CellValue>,
    pub products: BTreeMap<(i64, String), i64>,
}

impl Rollup {
    /// Adds (`sign` +1) or retracts (`sign` -1) a contribution: per dimension, one order in
    /// the order's currency and the revenue in each currency; and its product quantities.
    /// Cells that reach zero go.
    pub fn apply(&mut self, contribution: &Contribution, sign: i64) {
        // the same for every dimension: only the key differs
        let mut per_currency: BTreeMap<&str, CellValue> = BTreeMap::new();
        per_currency.entry(&contribution.currency).or_default().orders += sign;
        for (currency, amount_minor) in &contribution.revenue {
            per_currency.entry(currency).or_default().revenue_minor += sign * amount_minor;
        }
        for dimension in GroupBy::ALL {
            for (currency, change) in &per_currency {
                let at = CellKey {
                    hour_ms: contribution.hour_ms,
                    dimension,
                    key: contribution.key(dimension).to_string(),
                    currency: currency.to_string(),
                };
                let value = self.cells.entry(at.clone()).or_default();
                value.orders += change.orders;
                value.revenue_minor += change.revenue_minor;
                if *value == CellValue::default() {
                    self.cells.remove(&at);
                }
            }
        }
        for (sku, quantity) in &contribution.products {
            let key = (contribution.hour_ms, sku.clone());
            let total = self.products.entry(key.clone()).or_default();
            *total += sign * quantity;
            if *total == 0 {
                self.products.remove(&key);
            }
        }
    }

    /// The answer to `query` from these rollups.
    pub fn answer(&self, query: &StatsQuery) -> StatsAnswer {
        let cells = self.cells.iter().map(|(at, value)| Cell { at: at.clone(), value: *value });
        let products = self.products.iter().map(|((hour_ms, sku), quantity)| ProductCell {
            hour_ms: *hour_ms,
            sku: sku.clone(),
            quantity: *quantity,
        });
        answer(query, cells, products)
    }
}

type BucketSums = (i64, BTreeMap<String, i64>);

/// Sums hourly cells into the query's periods and keys, and product quantities into the top
/// products of the range. Cells outside the range or of another dimension are ignored.
pub fn answer(
    query: &StatsQuery,
    cells: impl IntoIterator<Item = Cell>,
    products: impl IntoIterator<Item = ProductCell>,
) -> StatsAnswer {
    let in_range = |hour_ms: i64| hour_ms >= query.from_ms() && hour_ms < query.to_ms();
    let dimension = query.dimension();
    // (period, key) → (orders, revenue per currency)
    let mut buckets: BTreeMap<(DateTime<Utc>, String), BucketSums> = BTreeMap::new();
    for cell in cells {
        if cell.at.dimension != dimension || !in_range(cell.at.hour_ms) {
            continue;
        }
        let Some(hour) = DateTime::from_timestamp_millis(cell.at.hour_ms) else { continue };
        let period = query.granularity.period_start(hour);
        let key = match query.group_by {
            Some(_) => cell.at.key,
            None => ALL_KEY.to_string(),
        };
        let bucket = buckets.entry((period, key)).or_default();
        bucket.0 += cell.value.orders;
        *bucket.1.entry(cell.at.currency).or_default() += cell.value.revenue_minor;
    }
    let mut answered = Vec::with_capacity(buckets.len());
    for ((period, key), (orders, revenue)) in buckets {
        let revenue: Vec<CurrencyAmount> = revenue
            .into_iter()
            .filter(|(_, amount_minor)| *amount_minor != 0)
            .map(|(currency, amount_minor)| CurrencyAmount { currency, amount_minor })
            .collect();
        if orders == 0 && revenue.is_empty() {
            continue;
        }
        answered.push(StatsBucket { period, key, orders, revenue });
    }
    let mut quantities: BTreeMap<String, i64> = BTreeMap::new();
    for cell in products {
        if in_range(cell.hour_ms) {
            *quantities.entry(cell.sku).or_default() += cell.quantity;
        }
    }
    let mut top_products: Vec<TopProduct> = quantities
        .into_iter()
        .filter(|(_, quantity)| *quantity > 0)
        .map(|(sku, quantity)| TopProduct { sku, quantity })
        .collect();
    // most units first; equal quantities by SKU, so both designs list the same ten
    top_products.sort_by(|a, b| b.quantity.cmp(&a.quantity).then_with(|| a.sku.cmp(&b.sku)));
    top_products.truncate(TOP_PRODUCTS);
    StatsAnswer {
        from: query.from,
        to: query.to,
        granularity: query.granularity,
        group_by: query.group_by,
        buckets: answered,
        top_products,
    }
}

/// The part of a `GET /stats` answer both designs give the same way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatsAnswer {
    /// The range covered, `from` rounded down and `to` up to whole hours.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub granularity: Granularity,
    pub group_by: Option<GroupBy>,
    /// By period, then key; periods and keys without orders or revenue are left out.
    pub buckets: Vec<StatsBucket>,
    /// The most ordered SKUs of the range by units, at most ten.
    pub top_products: Vec<TopProduct>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatsBucket {
    /// The period's start (UTC): the hour, the day at 00:00, or the month's first day.
    pub period: DateTime<Utc>,
    /// The `group_by` key (e.g. `CANCELLED`, `DE`, `EUR`), or `ALL`.
    pub key: String,
    /// Orders placed in the period with this key.
    pub orders: i64,
    /// Their revenue per currency (captured, not refunded payments).
    pub revenue: Vec<CurrencyAmount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CurrencyAmount {
    pub currency: String,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TopProduct {
    pub sku: String,
    /// Units in orders placed in the range and not cancelled.
    pub quantity: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    fn contribution(status: &str, hour_ms: i64) -> Contribution {
        Contribution {
            hour_ms,
            status: status.to_string(),
            payment_status: "CAPTURED".to_string(),
            shipment_status: NONE_KEY.to_string(),
            country: "DE".to_string(),
            currency: "EUR".to_string(),
            revenue: BTreeMap::from([("EUR".to_string(), 1500)]),
            products: BTreeMap::from([("SKU-1".to_string(), 2)]),
        }
    }

    #[test]
    fn a_trimmed_state_gives_the_contribution_of_the_whole_document() {
        use events::samples::{order_event, payment_event, shipment_event};
        use events::{OrderEventType, PaymentEventType, ShipmentStatus};

        use crate::{Applied, SourceEvent};

        let order_id = uuid::Uuid::now_v7();
        let (payment_id, shipment_id) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let story = [
            SourceEvent::Payment(payment_event(order_id, payment_id, PaymentEventType::PaymentAuthorized, 1)),
            SourceEvent::Order(order_event(order_id, OrderEventType::OrderPlaced, 1)),
            SourceEvent::Payment(payment_event(order_id, payment_id, PaymentEventType::PaymentCaptured, 2)),
            SourceEvent::Shipment(shipment_event(order_id, shipment_id, ShipmentStatus::Created, 1)),
            // redelivered: the trimmed state still knows the version it has
            SourceEvent::Payment(payment_event(order_id, payment_id, PaymentEventType::PaymentAuthorized, 1)),
            SourceEvent::Shipment(shipment_event(order_id, shipment_id, ShipmentStatus::Returned, 2)),
            SourceEvent::Payment(payment_event(order_id, payment_id, PaymentEventType::PaymentRefunded, 3)),
            SourceEvent::Order(order_event(order_id, OrderEventType::OrderCancelled, 2)),
        ];
        let mut whole = OrderHistory::empty(order_id);
        let mut trimmed = OrderHistory::empty(order_id);
        for event in &story {
            let applied_to_whole = whole.apply(event);
            let applied_to_trimmed = trimmed.apply(event);
            assert_eq!(
                matches!(applied_to_whole, Applied::Changed),
                matches!(applied_to_trimmed, Applied::Changed),
                "same version rules"
            );
            trim_for_statistics(&mut trimmed);
            assert_eq!(Contribution::of(&trimmed), Contribution::of(&whole));
        }
        assert!(Contribution::of(&whole).is_some(), "the story places the order");
        let bytes = |document: &OrderHistory| serde_json::to_vec(document).expect("json").len();
        assert!(bytes(&trimmed) < bytes(&whole) / 2, "{} of {} bytes", bytes(&trimmed), bytes(&whole));
    }

    #[test]
    fn a_query_names_the_field_it_cannot_use() {
        let field = |pairs: &[(&str, &str)]| StatsQuery::parse(&params(pairs)).map_err(|error| error.field);
        let range = [("from", "2026-01-01T00:00:00Z"), ("to", "2026-01-02T00:00:00Z")];
        assert!(field(&range).is_ok());
        assert_eq!(field(&[("to", "2026-01-02T00:00:00Z")]), Err("from"));
        assert_eq!(field(&[("from", "2026-01-02T00:00:00Z")]), Err("to"));
        assert_eq!(field(&[("from", "yesterday"), ("to", "2026-01-02T00:00:00Z")]), Err("from"));
        assert_eq!(field(&[("from", "2026-01-03T00:00:00Z"), ("to", "2026-01-02T00:00:00Z")]), Err("from"));
        assert_eq!(field(&[range[0], range[1], ("granularity", "week")]), Err("granularity"));
        assert_eq!(field(&[range[0], range[1], ("group_by", "customer")]), Err("group_by"));
        let two_months = [("from", "2026-01-01T00:00:00Z"), ("to", "2026-03-01T00:00:00Z"), ("granularity", "hour")];
        assert_eq!(field(&two_months), Err("granularity"));
    }

    #[test]
    fn a_range_is_widened_to_whole_hours() {
        let query = StatsQuery::parse(&params(&[("from", "2026-01-01T10:30:00Z"), ("to", "2026-01-01T12:00:01Z")]))
            .expect("parses");
        assert_eq!(query.from.to_rfc3339(), "2026-01-01T10:00:00+00:00");
        assert_eq!(query.to.to_rfc3339(), "2026-01-01T13:00:00+00:00");
    }

    #[test]
    fn periods_start_at_the_hour_the_day_and_the_month() {
        let at = DateTime::parse_from_rfc3339("2026-03-17T13:45:12Z").expect("time").with_timezone(&Utc);
        assert_eq!(Granularity::Hour.period_start(at).to_rfc3339(), "2026-03-17T13:00:00+00:00");
        assert_eq!(Granularity::Day.period_start(at).to_rfc3339(), "2026-03-17T00:00:00+00:00");
        assert_eq!(Granularity::Month.period_start(at).to_rfc3339(), "2026-03-01T00:00:00+00:00");
    }

    #[test]
    fn retracting_the_old_contribution_moves_the_order_between_buckets() {
        let hour = 1_767_225_600_000; // 2026-01-01T00:00Z
        let query = StatsQuery::parse(&params(&[
            ("from", "2026-01-01T00:00:00Z"),
            ("to", "2026-01-02T00:00:00Z"),
            ("group_by", "status"),
        ]))
        .expect("parses");
        let placed = contribution("PLACED", hour);
        let mut cancelled = contribution("CANCELLED", hour);
        cancelled.products.clear();
        let mut rollup = Rollup::default();
        rollup.apply(&placed, 1);
        rollup.apply(&placed, -1);
        rollup.apply(&cancelled, 1);
        let answer = rollup.answer(&query);
        assert_eq!(answer.buckets.len(), 1);
        assert_eq!((answer.buckets[0].key.as_str(), answer.buckets[0].orders), ("CANCELLED", 1));
        assert!(answer.top_products.is_empty(), "a cancelled order's products leave the top list");
        let mut only_placed = Rollup::default();
        only_placed.apply(&placed, 1);
        only_placed.apply(&placed, -1);
        assert_eq!(only_placed, Rollup::default(), "a retraction leaves nothing behind");
    }

    #[test]
    fn days_sum_their_hours_and_top_products_rank_by_units() {
        let hour = 1_767_225_600_000;
        let query = StatsQuery::parse(&params(&[("from", "2026-01-01T00:00:00Z"), ("to", "2026-01-03T00:00:00Z")]))
            .expect("parses");
        let mut rollup = Rollup::default();
        rollup.apply(&contribution("PLACED", hour), 1);
        rollup.apply(&contribution("PLACED", hour + 5 * HOUR_MS), 1);
        let mut next_day = contribution("PLACED", hour + 30 * HOUR_MS);
        next_day.products = BTreeMap::from([("SKU-2".to_string(), 1)]);
        rollup.apply(&next_day, 1);
        let answer = rollup.answer(&query);
        let orders: Vec<(String, i64)> =
            answer.buckets.iter().map(|bucket| (bucket.period.to_rfc3339(), bucket.orders)).collect();
        assert_eq!(
            orders,
            vec![("2026-01-01T00:00:00+00:00".to_string(), 2), ("2026-01-02T00:00:00+00:00".to_string(), 1)]
        );
        assert_eq!(answer.buckets[0].revenue, vec![CurrencyAmount { currency: "EUR".to_string(), amount_minor: 3000 }]);
        let top: Vec<(&str, i64)> = answer.top_products.iter().map(|p| (p.sku.as_str(), p.quantity)).collect();
        assert_eq!(top, vec![("SKU-1", 4), ("SKU-2", 1)]);
    }
}
