//! order-history against a real broker and registry, on both backends.

mod access;
mod helpers;
mod poison;
mod projection;
mod reconcile;
mod search;
mod snapshots;
mod stats;
mod stories;
