//! The parts of a search answer both designs share, so a hit and its facets have one JSON
//! shape whichever design answered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::OrderHistory;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    pub document: OrderHistory,
    /// Matched fragments per text field, with matches in `<em>…</em>`.
    pub highlights: BTreeMap<String, Vec<String>>,
    /// The relevance score when sorting by relevance, only comparable within one response;
    /// null otherwise, and always null from composer, which has no ranking.
    pub score: Option<f32>,
}

/// Counts of matching documents per status symbol (e.g. `"CAPTURED": 12`). A document with
/// two payments in different states counts once under each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Facets {
    pub status: BTreeMap<String, u64>,
    pub payment_status: BTreeMap<String, u64>,
    pub shipment_status: BTreeMap<String, u64>,
}
