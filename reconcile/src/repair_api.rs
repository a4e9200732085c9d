//! The wire contract of order-history's `POST` and `GET /admin/repair`, which reconcile drives and
//! order-history serves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most order ids one repair takes: each holds a document in memory until the end.
pub const MAX_REPAIR_IDS: usize = 10_000;

/// What a repair is doing or did, for `POST` and `GET /admin/repair`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RepairStatus {
    pub state: RepairState,
    /// How many distinct order ids were asked for.
    pub order_ids: usize,
    /// Records read from the topics, all keys included.
    pub records_scanned: u64,
    /// Records in the topics when the repair began.
    pub records_total: u64,
    /// Events of the asked-for orders applied to their fresh documents.
    pub events_applied: u64,
    /// Orders whose document was rebuilt from its events and stored.
    pub reprojected: usize,
    /// Orders without a single event whose document was deleted.
    pub deleted: usize,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RepairState {
    #[default]
    Idle,
    Running,
    Done,
    Failed,
}
