//! Scenarios 1 and 2: GET by id, and the searches, at the rates of [`super::Rates`].

use crate::report::model::{Condition, Design, LoadStep};
use crate::scenarios::{Run, Step};

pub const GET_BY_ID: &str = "GET /orders/{id}";
pub const CUSTOMER_SEARCH: &str = "GET /orders?customer_id&q";
pub const GLOBAL_SEARCH: &str = "GET /orders?q";
/// The request kinds whose capacity is measured, in the report's order.
pub const KINDS: [&str; 3] = [GET_BY_ID, CUSTOMER_SEARCH, GLOBAL_SEARCH];

/// How many distinct URLs a step cycles through: enough that caches do not flatter either
/// design, few enough to build in a blink.
const URLS_PER_STEP: usize = 5000;

impl Run {
    /// The GET-by-id URLs for `design`: the same ids, in the same seeded order, for both.
    pub fn get_urls(&self, design: Design) -> Vec<String> {
        self.seeded.sample_order_ids(self.plan.seed, URLS_PER_STEP).iter().map(|id| self.get_url(design, id)).collect()
    }

    /// The customer search both designs can serve: one customer's orders (the filter) that
    /// match a word of one of their items (the text), newest first, the sort both support.
    pub fn customer_search_urls(&self, design: Design) -> Vec<String> {
        let base = self.stack.design_url(design);
        self.seeded
            .sample_customer_queries(self.plan.seed, URLS_PER_STEP)
            .into_iter()
            .map(|(customer_id, word)| {
                search_url(base, &[("customer_id", &customer_id), ("q", &word), ("sort", "newest")])
            })
            .collect()
    }

    /// A full-text search across every customer: what an order-history search box does. Only a
    /// global index can answer it; composition refuses it, and the report shows that refusal.
    pub fn global_search_urls(&self, design: Design) -> Vec<String> {
        let base = self.stack.design_url(design);
        self.seeded
            .sample_global_queries(self.plan.seed, URLS_PER_STEP)
            .into_iter()
            .map(|words| search_url(base, &[("q", &words)]))
            .collect()
    }

    pub async fn get_by_id(&self) -> anyhow::Result<Vec<LoadStep>> {
        let mut steps = Vec::new();
        for &rate in &self.rates.get_by_id {
            let both = Design::BOTH.map(|design| self.healthy_step("get_by_id", design, GET_BY_ID, rate));
            steps.extend(self.measure_repeated(both.into()).await?);
        }
        Ok(steps)
    }

    pub async fn search(&self) -> anyhow::Result<Vec<LoadStep>> {
        let mut steps = Vec::new();
        let rate = self.rates.of(CUSTOMER_SEARCH);
        let customer = Design::BOTH.map(|design| self.healthy_step("customer_search", design, CUSTOMER_SEARCH, rate));
        steps.extend(self.measure_repeated(customer.into()).await?);
        let rate = self.rates.of(GLOBAL_SEARCH);
        let global = Design::BOTH.map(|design| self.healthy_step("global_search", design, GLOBAL_SEARCH, rate));
        steps.extend(self.measure_repeated(global.into()).await?);
        Ok(steps)
    }

    /// The URLs of `endpoint` for `design`.
    pub fn urls(&self, design: Design, endpoint: &str) -> Vec<String> {
        match endpoint {
            GET_BY_ID => self.get_urls(design),
            CUSTOMER_SEARCH => self.customer_search_urls(design),
            GLOBAL_SEARCH => self.global_search_urls(design),
            other => unreachable!("no endpoint {other}"),
        }
    }

    pub fn healthy_step(&self, scenario: &'static str, design: Design, endpoint: &'static str, rate: f64) -> Step {
        Step { scenario, design, endpoint, condition: Condition::Healthy, rate, urls: self.urls(design, endpoint) }
    }
}

fn search_url(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse(&format!("{base}/orders")).expect("service base urls are valid");
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}
