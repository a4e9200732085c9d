//! The chaos run's verdict and figures: `chaos.json` (everything) and `chaos.md` (for people).

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use reconcile::Reconciliation;
use reconcile::report::Report as DriftReport;
use serde::Serialize;

use super::{ChaosArgs, FaultKind, FaultRecord, WriteTally};

#[derive(Clone, Debug, Serialize)]
pub struct ChaosReport {
    /// No drift left, and every fault recovered.
    pub passed: bool,
    pub duration_s: f64,
    pub write_rate: f64,
    pub seed: u64,
    pub faults: Vec<FaultRecord>,
    /// Whether every process answered ready once the faults were over.
    pub all_ready_after: bool,
    pub writes: WriteTally,
    /// Reconciliation passes until no drift was left (or time ran out).
    pub reconcile_passes: u32,
    /// From the end of the writes until reconcile found no drift.
    pub converged_after_s: f64,
    pub drift: DriftReport,
    #[serde(skip)]
    pub files: Vec<PathBuf>,
}

impl ChaosReport {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        args: &ChaosArgs,
        wrote_for: Duration,
        faults: Vec<FaultRecord>,
        all_ready_after: bool,
        writes: WriteTally,
        reconciliation: &Reconciliation,
        reconcile_passes: u32,
        converged_after: Duration,
    ) -> Self {
        let recovered = faults.iter().all(|fault| fault.recovered_after_s.is_some());
        ChaosReport {
            passed: !reconciliation.has_drift() && recovered && all_ready_after,
            duration_s: wrote_for.as_secs_f64(),
            write_rate: args.write_rate,
            seed: args.seed,
            faults,
            all_ready_after,
            writes,
            reconcile_passes,
            converged_after_s: converged_after.as_secs_f64(),
            drift: reconciliation.report(5),
            files: Vec::new(),
        }
    }

    /// Writes `chaos.json` and `chaos.md` into `out`.
    pub fn write(&self, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let json = out.join("chaos.json");
        std::fs::write(&json, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("cannot write {}", json.display()))?;
        let markdown = out.join("chaos.md");
        std::fs::write(&markdown, self.markdown()).with_context(|| format!("cannot write {}", markdown.display()))?;
        Ok(vec![markdown, json])
    }

    /// The faults that killed a process: all but the registry pauses.
    pub fn kills(&self) -> usize {
        self.faults.iter().filter(|fault| fault.kind != FaultKind::PauseRegistry).count()
    }

    pub fn markdown(&self) -> String {
        let mut text = String::new();
        let verdict = if self.passed { "PASSED" } else { "FAILED" };
        let _ = writeln!(text, "# Chaos run: {verdict}\n");
        let _ = writeln!(
            text,
            "{:.0} s of writes ({} order life cycles started at {}/s, {} writes acknowledged, {} refused) under {} faults \
             ({} kills or restarts); seed {}.\n",
            self.duration_s,
            self.writes.life_cycles_started,
            self.write_rate,
            self.writes.writes_acknowledged,
            self.writes.writes_refused,
            self.faults.len(),
            self.kills(),
            self.seed
        );
        let _ = writeln!(
            text,
            "After the faults: every process ready again: {}. Reconcile passes: {}; converged {:.1} s after the writes stopped.\n",
            if self.all_ready_after { "yes" } else { "no" },
            self.reconcile_passes,
            self.converged_after_s
        );
        let _ = writeln!(text, "| drift | orders |\n|---|---|");
        for (category, found) in &self.drift.categories {
            let _ = writeln!(
                text,
                "| {} | {} |",
                serde_json::to_value(category).unwrap_or_default().as_str().unwrap_or("?"),
                found.count
            );
        }
        let _ = writeln!(
            text,
            "\n{} orders in the sources, {} documents in the view.\n",
            self.drift.orders_in_source, self.drift.documents_in_view
        );
        let _ = writeln!(
            text,
            "| at (s) | fault | target | pid | ready again after (s) | note |\n|---|---|---|---|---|---|"
        );
        for fault in &self.faults {
            let _ = writeln!(
                text,
                "| {:.1} | {} | {} | {} | {} | {} |",
                fault.at_s,
                serde_json::to_value(fault.kind).unwrap_or_default().as_str().unwrap_or("?"),
                fault.target,
                fault.pid.map_or("-".to_string(), |pid| pid.to_string()),
                fault.recovered_after_s.map_or("not recovered".to_string(), |seconds| format!("{seconds:.2}")),
                fault.note.as_deref().unwrap_or("")
            );
        }
        text
    }
}
