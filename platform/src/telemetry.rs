//! Tracing and Prometheus metrics setup.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber.
///
/// The filter comes from `RUST_LOG` (default `info`). `LOG_FORMAT=json` switches to
/// one JSON object per line, which is what log shippers want; the default is human text.
/// Calling it twice is harmless, so tests can call it from every case.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
    // try_init fails only when a subscriber is already installed, which is fine
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
///
/// The `metrics` facade has a single global recorder, so every caller in the process
/// (including every test app in one test binary) shares it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // install_recorder fails only if another recorder was installed first; in that
            // case keep a detached recorder so /metrics still answers
            PrometheusBuilder::new()
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
        })
        .clone()
}
