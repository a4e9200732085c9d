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

    async fn each_design(
        &self,
        scenario: &'static str,
        condition: &Condition,
        endpoints: &[&'static str],
    ) -> anyhow::Result<Vec<LoadStep>> {
        let mut steps = Vec::new();
        for &endpoint in endpoints {
            let mut each_design = Vec::new();
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
                    rate: self.rates.of(endpoint),
                    urls: self.urls(design, endpoint),
                };
                each_design.push(step);
            }
            steps.extend(self.measure_repeated(each_design).await?);
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
