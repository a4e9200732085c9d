//! composer: API Composition of order history.
//!
//! Each request is answered by calling the source services at request time: [`downstream`]
//! makes the calls (one pooled client; per dependency a deadline, a retry budget and a
//! circuit breaker), [`compose`] merges the answers into the shared
//! [`order_view::OrderHistory`] document, [`search`] filters and pages composed documents in
//! memory, and [`http`] serves it all. [`equivalence`] defines when its documents equal
//! order-history's.

pub mod app;
pub mod compose;
pub mod config;
pub mod downstream;
pub mod equivalence;
pub mod http;
pub mod search;
pub mod telemetry;
