//! Scenarios 4 and 5: a slow dependency, and each dependency down, through the source services'
//! fault injection (`PUT /admin/faults`). Faults touch only the services' read routes, so the
//! write path and the event flow keep going, as they would with a slow or failing read replica
//! behind a service. Faults are always cleared afterwards, even when a step fails.

use crate::report::model::{Condition, Design, LoadStep, SOURCE_SERVICES};
use crate::scenarios::reads::{CUSTOMER_SEARCH, GET_BY_ID, GLOBAL_SEARCH};
use crate::scenarios::{Run, Step};

/// The service that is slowed down: composition waits for it on every GET by id.
pub const SLOW_SERVICE: &str = "shipping-svc";

impl Run {
    pub async fn slow_dependency(&self) -> anyhow::Result<Vec<LoadStep>> {
        let mut conditions = vec![Condition::Healthy];
        conditions.extend(
            self.plan
                .slow_delays_ms
                .iter()
                .map(|&delay_ms| Condition::Slow { service: SLOW_SERVICE.to_string(), delay_ms }),
        );
        self.under_conditions("slow_dependency", &conditions, &[GET_BY_ID, CUSTOMER_SEARCH]).await
    }

    pub async fn dependency_down(&self) -> anyhow::Result<Vec<LoadStep>> {
        let conditions: Vec<Condition> =
            SOURCE_SERVICES.iter().map(|service| Condition::Down { service: service.to_string() }).collect();
        self.under_conditions("dependency_down", &conditions, &[GET_BY_ID, CUSTOMER_SEARCH, GLOBAL_SEARCH]).await
    }

    async fn under_conditions(
        &self,
        scenario: &'static str,
        conditions: &[Condition],
        endpoints: &[&'static str],
    ) -> anyhow::Result<Vec<LoadStep>> {
        let mut steps = Vec::new();
        for condition in conditions {
            self.apply(condition).await?;
            let measured = self.each_design(scenario, condition, endpoints).await;
            let cleared = self.stack.clear_faults().await;
            steps.extend(measured?);
            cleared?;
            self.wait_for_closed_breakers().await;
        }
        Ok(steps)
    }

    /// composer's breakers stay open for their cool-down after a fault ends; the next step must
    /// not inherit them. Requests let the half-open probes through.
    async fn wait_for_closed_breakers(&self) {
        let breakers = format!("{}/breakers", self.stack.url_of("composer"));
        let probe = self.get_urls(Design::Composer).swap_remove(0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let states: Option<serde_json::Value> = match self.stack.client.get(&breakers).send().await {
                Ok(response) => response.json().await.ok(),
                Err(_) => None,
            };
            let all_closed = states
                .as_ref()
                .and_then(|states| states.as_object())
                .is_some_and(|states| states.values().all(|state| state == "closed"));
            if all_closed {
                return;
            }
            let _ = self.stack.client.get(&probe).send().await;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        tracing::warn!("composer's breakers did not all close within 30 s; the next step may see them open");
    }

    async fn each_design(
        &self,
        scenario: &'static str,
        condition: &Condition,
        endpoints: &[&'static str],
    ) -> anyhow::Result<Vec<LoadStep>> {
        let mut steps = Vec::new();
        for &endpoint in endpoints {
            for design in Design::BOTH {
                // composer cannot serve a global search at all; scenario 2 shows that once
                if endpoint == GLOBAL_SEARCH && design == Design::Composer {
                    continue;
                }
                let step = Step {
                    scenario,
                    design,
                    endpoint,
                    condition: condition.clone(),
                    rate: self.plan.fault_rate,
                    urls: self.urls(design, endpoint),
                };
                steps.push(self.measure(step).await?);
            }
        }
        Ok(steps)
    }

    async fn apply(&self, condition: &Condition) -> anyhow::Result<()> {
        self.stack.clear_faults().await?;
        match condition {
            Condition::Healthy => Ok(()),
            Condition::Slow { service, delay_ms } => self.stack.set_fault(service, *delay_ms, 0.0).await,
            Condition::Down { service } => self.stack.set_fault(service, 0, 1.0).await,
        }
    }
}
