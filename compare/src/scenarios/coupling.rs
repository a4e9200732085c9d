//! Scenario 6: the coupling matrix, derived from what was measured, never declared. A service
//! is needed for an answer when taking it down (scenario 5) took that answer away; the calls,
//! bytes and CPU per request come from the healthy steps of scenarios 1 and 2.

use std::collections::BTreeMap;

use crate::report::model::{Condition, CouplingRow, Design, LoadStep, SOURCE_SERVICES};
use crate::scenarios::reads::{CUSTOMER_SEARCH, GET_BY_ID, GLOBAL_SEARCH};

/// Below this share of answers, a service counts as needed: a design that loses more than 1% of
/// its answers without a service depends on it.
const NEEDED_BELOW: f64 = 0.99;

pub fn matrix(healthy: &[LoadStep], down: &[LoadStep]) -> Vec<CouplingRow> {
    let mut rows = Vec::new();
    for design in Design::BOTH {
        for endpoint in [GET_BY_ID, CUSTOMER_SEARCH, GLOBAL_SEARCH] {
            let baseline = healthy
                .iter()
                .filter(|step| {
                    step.design == design && step.endpoint == endpoint && step.condition == Condition::Healthy
                })
                .min_by(|a, b| a.target_rps.total_cmp(&b.target_rps));
            let Some(baseline) = baseline else { continue };
            if baseline.not_servable.is_some() {
                continue;
            }
            let mut availability = BTreeMap::new();
            let mut full = BTreeMap::new();
            for service in SOURCE_SERVICES {
                let step = down.iter().find(|step| {
                    step.design == design
                        && step.endpoint == endpoint
                        && step.condition == Condition::Down { service: service.to_string() }
                });
                if let Some(step) = step {
                    let sent = step.sent.max(1) as f64;
                    availability.insert(service.to_string(), (step.ok + step.degraded) as f64 / sent);
                    full.insert(service.to_string(), step.ok as f64 / sent);
                }
            }
            let needed = |shares: &BTreeMap<String, f64>| {
                shares.iter().filter(|(_, share)| **share < NEEDED_BELOW).map(|(service, _)| service.clone()).collect()
            };
            rows.push(CouplingRow {
                design,
                endpoint: endpoint.to_string(),
                needs_for_full_answer: needed(&full),
                needs_for_any_answer: needed(&availability),
                availability_when_down: availability,
                full_answer_when_down: full,
                downstream_calls_per_request: baseline.downstream_calls_per_request,
                bytes_per_request: baseline.bytes_per_request,
                cpu_ms_per_1000: baseline.cpu_ms_per_1000,
            });
        }
    }
    rows
}
