//! `compare chaos` at CI size against a real local stack, supervised as `stack up` supervises
//! it: steady writes while order-history and the source services are SIGKILLed (at random and
//! right after acknowledging a write), the broker is killed and started again and the schema
//! registry is paused. Then reconcile must find every order in the view, at its latest version.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;

use compare::chaos::{ChaosArgs, FaultKind};
use support::up_args;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_loses_nothing_when_processes_are_killed_and_the_broker_restarted() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let up = up_args(data_dir.path());
    let mut stack = stack::up::start(&up).await.expect("the stack starts");
    let args = ChaosArgs {
        endpoints: up.endpoints(),
        credentials: up.credentials.clone(),
        duration: 40.0,
        faults: 10,
        write_rate: 4.0,
        pause_secs: 2.0,
        settle_timeout: 120.0,
        seed: 11,
        out: out.path().to_path_buf(),
    };
    // supervised: what the chaos kills is started again, as `stack up` does
    let report = stack.watch(compare::chaos::run(&args)).await;
    stack.stop().await;
    let report = report.expect("the chaos run completes");
    let summary = report.markdown();

    for kind in [
        FaultKind::KillOrderHistory,
        FaultKind::KillSourceAfterCommit,
        FaultKind::KillSourceAtRandom,
        FaultKind::RestartBroker,
        FaultKind::PauseRegistry,
    ] {
        let faults: Vec<_> = report.faults.iter().filter(|fault| fault.kind == kind).collect();
        assert_eq!(faults.len(), 2, "{kind:?} twice:\n{summary}");
        for fault in faults {
            let pid = fault.pid.unwrap_or_else(|| panic!("{kind:?} found its process:\n{summary}"));
            assert!(fault.recovered_after_s.is_some(), "{kind:?} recovered:\n{summary}");
            if kind != FaultKind::PauseRegistry {
                assert!(!Path::new(&format!("/proc/{pid}")).exists(), "{kind:?} really killed pid {pid}");
            }
        }
    }
    assert!(report.writes.writes_acknowledged >= 150, "steady writes went on:\n{summary}");
    assert!(
        report.drift.orders_in_source
            >= report.writes.life_cycles_started as usize - report.writes.life_cycles_failed as usize
    );
    assert!(!report.drift.drift, "no drift after recovery:\n{summary}");
    assert!(report.passed, "{summary}");
    // `cargo test -p stack --test chaos -- --nocapture` shows the figures
    println!("{summary}");
    assert!(out.path().join("chaos.md").exists() && out.path().join("chaos.json").exists());
}
