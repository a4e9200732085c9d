//! The projection's internal events, each behind one metric, so the names and labels live in
//! one place and `/metrics` documents the pipeline.

use std::time::Duration;

use super::decode::RejectionKind;

pub fn batch_applied(records: usize, events_applied: usize, duration: Duration) {
    metrics::histogram!("order_history_batch_records").record(records as f64);
    metrics::histogram!("order_history_batch_seconds").record(duration.as_secs_f64());
    metrics::counter!("order_history_events_applied_total").increment(events_applied as u64);
}

pub fn stale_events_ignored(count: usize) {
    metrics::counter!("order_history_events_stale_total").increment(count as u64);
}

/// From an event's `occurred_at` until it is readable by id (stored).
pub fn projection_delay(delay: Duration) {
    metrics::histogram!("order_history_projection_delay_seconds").record(delay.as_secs_f64());
}

/// `topic` is one of the source topics projection subscribes to, `kind` one of a fixed set:
/// the series stay few whatever the records hold.
pub fn dead_lettered(topic: &str, kind: RejectionKind) {
    metrics::counter!("order_history_dead_letters_total", "topic" => topic.to_string(), "kind" => kind.label())
        .increment(1);
}

pub fn write_conflicts(count: usize) {
    metrics::counter!("order_history_write_conflicts_total").increment(count as u64);
}

pub fn index_retry() {
    metrics::counter!("order_history_index_retries_total").increment(1);
}

pub fn rebuild_progress(done: u64, total: u64) {
    metrics::gauge!("order_history_rebuild_records_done").set(done as f64);
    metrics::gauge!("order_history_rebuild_records_total").set(total as f64);
}
