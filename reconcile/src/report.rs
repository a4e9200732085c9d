//! What a reconciliation found, as counts and example ids per category: for people (the
//! default) and as JSON (`--json`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::diff::{Category, Drift};
use super::statistics::StatsDrift;
use crate::repair_api::RepairStatus;

/// The outcome of one pass over both sides, after the grace period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconciliation {
    pub orders_in_source: usize,
    pub documents_in_view: usize,
    /// Every order id either side knows.
    pub order_ids_checked: usize,
    /// Order ids that differed at first; each was read again after the grace period.
    pub rechecked: usize,
    pub settle_ms: u64,
    /// What still differs.
    pub drifts: Vec<Drift>,
    /// The statistics against the sources' recount; `None` with `--stats-days 0`.
    pub statistics: Option<StatisticsCheck>,
}

/// The statistics of a period against a recount of the sources' orders placed in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatisticsCheck {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The sources' orders placed in the period, recounted.
    pub orders_counted: usize,
    /// Whether it differed at first and both sides were read again after the grace period.
    pub rechecked: bool,
    /// What still differs, per query (`group_by`) and bucket.
    pub drifts: Vec<StatsDrift>,
}

impl Reconciliation {
    /// Any drift: of the documents, or of the statistics.
    pub fn has_drift(&self) -> bool {
        !self.drifts.is_empty() || self.statistics.as_ref().is_some_and(|check| !check.drifts.is_empty())
    }

    /// The ids of the orders with a drift of `category`.
    pub fn order_ids(&self, category: Category) -> BTreeSet<Uuid> {
        self.drifts.iter().filter(|drift| drift.category == category).map(|drift| drift.order_id).collect()
    }

    /// The ids of every order that drifts in any way.
    pub fn drifting_order_ids(&self) -> BTreeSet<Uuid> {
        self.drifts.iter().map(|drift| drift.order_id).collect()
    }

    /// The drifts of `order_id`.
    pub fn drifts_of(&self, order_id: Uuid) -> Vec<&Drift> {
        self.drifts.iter().filter(|drift| drift.order_id == order_id).collect()
    }

    /// The report of this pass with at most `examples` example orders per category.
    pub fn report(&self, examples: usize) -> Report {
        let drifting = self.drifting_order_ids();
        let mut categories = BTreeMap::new();
        for category in Category::ALL {
            let order_ids = self.order_ids(category);
            let mut category_examples = Vec::new();
            // the first drift of each example order; ids sorted, so runs compare
            for order_id in order_ids.iter().take(examples) {
                if let Some(drift) =
                    self.drifts.iter().find(|drift| drift.category == category && drift.order_id == *order_id)
                {
                    category_examples.push(Example {
                        order_id: *order_id,
                        field: drift.field.clone(),
                        detail: drift.detail.clone(),
                    });
                }
            }
            categories.insert(category, CategoryReport { count: order_ids.len(), examples: category_examples });
        }
        Report {
            drift: self.has_drift(),
            drifting_orders: drifting.len(),
            orders_in_source: self.orders_in_source,
            documents_in_view: self.documents_in_view,
            order_ids_checked: self.order_ids_checked,
            rechecked_after_settle: self.rechecked,
            caught_up_while_settling: self.rechecked.saturating_sub(drifting.len()),
            settle_ms: self.settle_ms,
            categories,
            statistics: self.statistics.as_ref().map(|check| StatisticsReport {
                from: check.from,
                to: check.to,
                orders_counted: check.orders_counted,
                rechecked_after_settle: check.rechecked,
                drift_count: check.drifts.len(),
                examples: check.drifts.iter().take(examples).cloned().collect(),
            }),
        }
    }
}

/// Counts and examples per category; the JSON of `--json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub drift: bool,
    /// Orders with at least one drift; an order can be both stale and mismatched.
    pub drifting_orders: usize,
    pub orders_in_source: usize,
    pub documents_in_view: usize,
    pub order_ids_checked: usize,
    pub rechecked_after_settle: usize,
    /// Orders that differed at first and agreed once read again: writes in flight.
    pub caught_up_while_settling: usize,
    pub settle_ms: u64,
    #[serde(flatten)]
    pub categories: BTreeMap<Category, CategoryReport>,
    pub statistics: Option<StatisticsReport>,
}

/// The statistics check: the period, what was counted and the first figures that differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatisticsReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub orders_counted: usize,
    pub rechecked_after_settle: bool,
    /// Figures that differ, over every `group_by` and the top products.
    pub drift_count: usize,
    pub examples: Vec<StatsDrift>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CategoryReport {
    /// Orders in this category.
    pub count: usize,
    pub examples: Vec<Example>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Example {
    pub order_id: Uuid,
    pub field: Option<String>,
    pub detail: String,
}

/// A whole run: the reconciliation, and with `--repair` the repair and the reconciliation after.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub reconciliation: Reconciliation,
    pub repair: Option<RepairSummary>,
    pub after_repair: Option<Reconciliation>,
}

impl Outcome {
    /// The last reconciliation: after the repair when there was one.
    pub fn last(&self) -> &Reconciliation {
        self.after_repair.as_ref().unwrap_or(&self.reconciliation)
    }

    /// 0 without drift (left), 1 with drift.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.last().has_drift())
    }

    pub fn to_json(&self, examples: usize) -> serde_json::Value {
        serde_json::json!({
            "drift": self.last().has_drift(),
            "reconcile": self.reconciliation.report(examples),
            "repair": self.repair,
            "after_repair": self.after_repair.as_ref().map(|after| after.report(examples)),
        })
    }

    /// The summary for people.
    pub fn to_text(&self, examples: usize) -> String {
        let mut text = render(&self.reconciliation.report(examples));
        if let Some(repair) = &self.repair {
            let _ = writeln!(
                text,
                "\nrepair: {} orders re-projected, {} documents deleted, {} records scanned, {} events applied",
                repair.reprojected, repair.deleted, repair.records_scanned, repair.events_applied
            );
        }
        if let Some(after) = &self.after_repair {
            text.push_str("\nafter the repair:\n");
            text.push_str(&render(&after.report(examples)));
        }
        text
    }
}

/// What the repairs of one run did, summed over its requests of at most 10,000 ids each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RepairSummary {
    pub order_ids: usize,
    pub reprojected: usize,
    pub deleted: usize,
    pub records_scanned: u64,
    pub events_applied: u64,
}

impl RepairSummary {
    pub fn add(&mut self, status: &RepairStatus) {
        self.order_ids += status.order_ids;
        self.reprojected += status.reprojected;
        self.deleted += status.deleted;
        self.records_scanned += status.records_scanned;
        self.events_applied += status.events_applied;
    }
}

fn render(report: &Report) -> String {
    let mut text = format!(
        "{} orders in order-svc, {} documents in the view, {} order ids checked\n",
        report.orders_in_source, report.documents_in_view, report.order_ids_checked
    );
    if report.rechecked_after_settle > 0 {
        let _ = writeln!(
            text,
            "{} order ids differed at first and were read again after {} ms: {} had caught up",
            report.rechecked_after_settle, report.settle_ms, report.caught_up_while_settling
        );
    }
    if let Some(statistics) = &report.statistics {
        render_statistics(&mut text, statistics);
    }
    if !report.drift {
        text.push_str("no drift\n");
        return text;
    }
    if report.drifting_orders == 0 {
        return text;
    }
    let _ = writeln!(text, "drift in {} orders:", report.drifting_orders);
    for (category, category_report) in &report.categories {
        let _ = writeln!(text, "  {:<11} {}", category.to_string(), category_report.count);
        for example in &category_report.examples {
            let field = example.field.as_deref().map(|field| format!("{field}: ")).unwrap_or_default();
            let _ = writeln!(text, "    {}  {field}{}", example.order_id, example.detail);
        }
        if category_report.count > category_report.examples.len() {
            let _ = writeln!(text, "    … and {} more", category_report.count - category_report.examples.len());
        }
    }
    text
}

fn render_statistics(text: &mut String, statistics: &StatisticsReport) {
    let _ = writeln!(
        text,
        "statistics from {} to {}: {} orders placed in the sources recounted",
        statistics.from.to_rfc3339(),
        statistics.to.to_rfc3339(),
        statistics.orders_counted
    );
    if statistics.drift_count == 0 {
        text.push_str("statistics agree with the sources\n");
        return;
    }
    let _ = writeln!(
        text,
        "statistics drift in {} figures (--repair does not rebuild them: stop order-history, delete its \
         statistics store and start it again, and it replays the topics):",
        statistics.drift_count
    );
    for drift in &statistics.examples {
        let period = drift.period.map(|period| period.format("%Y-%m-%d ").to_string()).unwrap_or_default();
        let _ = writeln!(
            text,
            "    {} {period}{} {}: sources {}, view {}",
            drift.group_by, drift.key, drift.figure, drift.in_source, drift.in_view
        );
    }
    if statistics.drift_count > statistics.examples.len() {
        let _ = writeln!(text, "    … and {} more", statistics.drift_count - statistics.examples.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift(order_id: Uuid, category: Category, field: Option<&str>) -> Drift {
        Drift { order_id, category, field: field.map(str::to_string), detail: "differs".to_string() }
    }

    fn reconciliation(drifts: Vec<Drift>) -> Reconciliation {
        Reconciliation {
            orders_in_source: 4,
            documents_in_view: 4,
            order_ids_checked: 5,
            rechecked: 4,
            settle_ms: 2000,
            drifts,
            statistics: None,
        }
    }

    #[test]
    fn counts_are_per_order_and_examples_are_capped() {
        let (first, second, third) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let found = reconciliation(vec![
            drift(first, Category::Mismatched, Some("status")),
            drift(first, Category::Mismatched, Some("total")),
            drift(second, Category::Mismatched, Some("customer.name")),
            drift(second, Category::Stale, Some("payments.version")),
            drift(third, Category::Missing, None),
        ]);
        let report = found.report(1);
        assert!(report.drift);
        assert_eq!(report.drifting_orders, 3);
        assert_eq!(report.caught_up_while_settling, 1);
        assert_eq!(report.categories[&Category::Mismatched].count, 2, "two orders, three fields");
        assert_eq!(report.categories[&Category::Mismatched].examples.len(), 1);
        assert_eq!(report.categories[&Category::Mismatched].examples[0].field.as_deref(), Some("status"));
        assert_eq!(report.categories[&Category::Extra].count, 0);
        assert_eq!(found.order_ids(Category::Stale), BTreeSet::from([second]));
        let text = render(&report);
        assert!(text.contains("drift in 3 orders"), "{text}");
        assert!(text.contains("… and 1 more"), "{text}");
    }

    #[test]
    fn the_exit_code_follows_the_last_reconciliation() {
        let drifting = reconciliation(vec![drift(Uuid::now_v7(), Category::Extra, None)]);
        let clean = reconciliation(Vec::new());
        let without_repair = Outcome { reconciliation: drifting.clone(), repair: None, after_repair: None };
        assert_eq!(without_repair.exit_code(), 1);
        let repaired =
            Outcome { reconciliation: drifting, repair: Some(RepairSummary::default()), after_repair: Some(clean) };
        assert_eq!(repaired.exit_code(), 0);
        assert_eq!(repaired.to_json(5)["drift"], false);
        assert_eq!(repaired.to_json(5)["reconcile"]["extra"]["count"], 1);
        assert!(repaired.to_text(5).contains("after the repair:\n"), "{}", repaired.to_text(5));
    }
}
