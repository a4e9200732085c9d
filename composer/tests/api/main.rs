//! composer against real source services: each test starts its own on port 0.

mod access;
mod contract;
mod equivalence;
mod failures;
mod get_order;
mod helpers;
mod search;
mod stats;
