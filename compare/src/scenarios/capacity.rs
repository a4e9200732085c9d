//! Scenario 0: capacity. For each request kind and each design, the highest open-loop rate at
//! which the design keeps the SLO ([`crate::capacity`]). The other scenarios then run at a
//! fraction of the lower capacity ([`super::Rates::from_capacity`]).

use crate::capacity::{self, Probe};
use crate::report::model::{Capacity, Design};
use crate::scenarios::Run;
use crate::scenarios::reads::KINDS;

impl Run {
    pub async fn capacity(&self) -> anyhow::Result<Vec<Capacity>> {
        let mut found = Vec::new();
        for kind in KINDS {
            for design in Design::BOTH {
                found.push(self.capacity_of(design, kind).await?);
            }
        }
        Ok(found)
    }

    async fn capacity_of(&self, design: Design, kind: &'static str) -> anyhow::Result<Capacity> {
        let slo_ms = self.plan.slo.p99_ms;
        let step = self.healthy_step("capacity", design, kind, 1.0);
        if let Some(refused) = self.probe_servable(&step).await {
            return Ok(Capacity {
                design,
                kind: kind.to_string(),
                slo_ms,
                rps: 0.0,
                failed_at_rps: None,
                bound: None,
                probes: Vec::new(),
                not_servable: Some(refused),
            });
        }
        let step = &step;
        let found = capacity::search(&self.plan.capacity_limits, |rps| async move {
            let mut probe = step.clone();
            probe.rate = rps;
            let measured = self.measure_for(&probe, self.plan.probe).await?;
            let bad_rate = (measured.errors + measured.degraded) as f64 / measured.sent.max(1) as f64;
            Ok(Probe::judged(
                &self.plan.slo,
                rps,
                measured.sent,
                measured.latency_ms.p99,
                bad_rate,
                measured.generator_lag_ms,
            ))
        })
        .await?;
        tracing::info!(design = design.name(), kind, rps = found.rps, bound = ?found.bound, "capacity found");
        Ok(Capacity {
            design,
            kind: kind.to_string(),
            slo_ms,
            rps: found.rps,
            failed_at_rps: found.failed_at_rps,
            bound: Some(found.bound),
            probes: found.probes,
            not_servable: None,
        })
    }
}
