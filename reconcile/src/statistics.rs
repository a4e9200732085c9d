//! The statistics read model against the sources' totals for a period.
//!
//! The sources keep no statistics, so reconcile recounts them: every order order-svc lists as
//! placed in the period, merged with its payments and shipments by the rules composer serves
//! (`order_view::source_merge`), counted into hourly rollups by the rules the statistics
//! projection applies (`order_view::stats::Contribution`, `Rollup`). That recount and
//! order-history's `GET /stats` then answer the same queries (by day, once per `group_by`), and
//! every bucket, revenue per currency and top product that differs is a drift. Pure, no I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use order_view::OrderHistory;
use order_view::stats::{Contribution, GroupBy, Rollup, StatsAnswer, StatsBucket};
use serde::Serialize;

/// One figure the view's statistics and the sources' recount disagree on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatsDrift {
    /// The `group_by` of the query (`status`, `country`, …), or `top_products`.
    pub group_by: String,
    /// The day, for a bucket; `None` for a top product (it spans the period).
    pub period: Option<DateTime<Utc>>,
    /// The bucket's key (`CANCELLED`, `DE`, …), or the product's SKU.
    pub key: String,
    /// `orders`, `revenue <currency>` or `quantity`.
    pub figure: String,
    pub in_source: i64,
    pub in_view: i64,
}

/// The recount of the sources' orders placed in a period.
pub fn recount<'a>(documents: impl IntoIterator<Item = &'a OrderHistory>) -> (Rollup, usize) {
    let mut rollup = Rollup::default();
    let mut counted = 0;
    for document in documents {
        if let Some(contribution) = Contribution::of(document) {
            rollup.apply(&contribution, 1);
            counted += 1;
        }
    }
    (rollup, counted)
}

/// Every figure of `in_view` that differs from `in_source`, the same query's two answers.
pub fn compare_answers(group_by: GroupBy, in_source: &StatsAnswer, in_view: &StatsAnswer) -> Vec<StatsDrift> {
    let mut drifts = Vec::new();
    let source_buckets = figures_by_bucket(&in_source.buckets);
    let view_buckets = figures_by_bucket(&in_view.buckets);
    let mut buckets: Vec<&(DateTime<Utc>, String)> = source_buckets.keys().chain(view_buckets.keys()).collect();
    buckets.sort();
    buckets.dedup();
    for bucket in buckets {
        let empty = BTreeMap::new();
        let source = source_buckets.get(bucket).unwrap_or(&empty);
        let view = view_buckets.get(bucket).unwrap_or(&empty);
        let mut figures: Vec<&String> = source.keys().chain(view.keys()).collect();
        figures.sort();
        figures.dedup();
        for figure in figures {
            let (in_source, in_view) = (value_of(source, figure), value_of(view, figure));
            if in_source != in_view {
                drifts.push(StatsDrift {
                    group_by: group_by.name().to_string(),
                    period: Some(bucket.0),
                    key: bucket.1.clone(),
                    figure: figure.clone(),
                    in_source,
                    in_view,
                });
            }
        }
    }
    let source_products: BTreeMap<&str, i64> =
        in_source.top_products.iter().map(|product| (product.sku.as_str(), product.quantity)).collect();
    let view_products: BTreeMap<&str, i64> =
        in_view.top_products.iter().map(|product| (product.sku.as_str(), product.quantity)).collect();
    let mut skus: Vec<&&str> = source_products.keys().chain(view_products.keys()).collect();
    skus.sort();
    skus.dedup();
    for sku in skus {
        let in_source = source_products.get(*sku).copied().unwrap_or(0);
        let in_view = view_products.get(*sku).copied().unwrap_or(0);
        if in_source != in_view {
            drifts.push(StatsDrift {
                group_by: "top_products".to_string(),
                period: None,
                key: sku.to_string(),
                figure: "quantity".to_string(),
                in_source,
                in_view,
            });
        }
    }
    drifts
}

/// (period, key) → figure name → value.
fn figures_by_bucket(buckets: &[StatsBucket]) -> BTreeMap<(DateTime<Utc>, String), BTreeMap<String, i64>> {
    let mut by_bucket = BTreeMap::new();
    for bucket in buckets {
        let mut figures = BTreeMap::from([("orders".to_string(), bucket.orders)]);
        for revenue in &bucket.revenue {
            figures.insert(format!("revenue {}", revenue.currency), revenue.amount_minor);
        }
        by_bucket.insert((bucket.period, bucket.key.clone()), figures);
    }
    by_bucket
}

fn value_of(figures: &BTreeMap<String, i64>, figure: &str) -> i64 {
    figures.get(figure).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use order_view::stats::{CurrencyAmount, Granularity, TopProduct};

    use super::*;

    fn day(day: u32) -> DateTime<Utc> {
        format!("2026-11-{day:02}T00:00:00Z").parse().expect("a time")
    }

    fn answer(buckets: Vec<StatsBucket>, top_products: Vec<TopProduct>) -> StatsAnswer {
        StatsAnswer {
            from: day(1),
            to: day(30),
            granularity: Granularity::Day,
            group_by: Some(GroupBy::Status),
            buckets,
            top_products,
        }
    }

    fn bucket(period: u32, key: &str, orders: i64, revenue: &[(&str, i64)]) -> StatsBucket {
        StatsBucket {
            period: day(period),
            key: key.to_string(),
            orders,
            revenue: revenue
                .iter()
                .map(|(currency, amount_minor)| CurrencyAmount {
                    currency: currency.to_string(),
                    amount_minor: *amount_minor,
                })
                .collect(),
        }
    }

    fn product(sku: &str, quantity: i64) -> TopProduct {
        TopProduct { sku: sku.to_string(), quantity }
    }

    #[test]
    fn equal_answers_have_no_drift() {
        let both = answer(vec![bucket(2, "PLACED", 3, &[("EUR", 1_200)])], vec![product("SKU-1", 4)]);
        assert_eq!(compare_answers(GroupBy::Status, &both, &both.clone()), Vec::new());
    }

    #[test]
    fn each_differing_figure_is_one_drift_naming_its_bucket() {
        let in_source = answer(
            vec![bucket(2, "PLACED", 3, &[("EUR", 1_200)]), bucket(3, "CANCELLED", 1, &[])],
            vec![product("SKU-1", 4), product("SKU-2", 1)],
        );
        let in_view = answer(
            vec![bucket(2, "PLACED", 4, &[("EUR", 1_200), ("USD", 50)]), bucket(4, "PAID", 1, &[])],
            vec![product("SKU-1", 5)],
        );
        let drifts = compare_answers(GroupBy::Status, &in_source, &in_view);
        let found: Vec<String> = drifts
            .iter()
            .map(|drift| {
                let period = drift.period.map(|period| period.format("%d").to_string()).unwrap_or_default();
                format!("{period} {} {}: {} vs {}", drift.key, drift.figure, drift.in_source, drift.in_view)
            })
            .collect();
        assert_eq!(
            found,
            vec![
                "02 PLACED orders: 3 vs 4",
                "02 PLACED revenue USD: 0 vs 50",
                "03 CANCELLED orders: 1 vs 0",
                "04 PAID orders: 0 vs 1",
                " SKU-1 quantity: 4 vs 5",
                " SKU-2 quantity: 1 vs 0",
            ]
        );
        assert!(drifts[..4].iter().all(|drift| drift.group_by == "status"));
        assert_eq!(drifts[4].group_by, "top_products");
    }
}
