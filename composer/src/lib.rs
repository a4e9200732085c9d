//! composer: API Composition of order history.
//!
//! Each request is answered by calling the source services at request time: [`downstream`]
//! makes the calls (one pooled client; per dependency a deadline, a retry budget and a
//! circuit breaker), [`compose`] merges the answers into the shared
//! [`order_view::OrderHistory`] document, [`search`] filters and pages composed documents in
//! memory, and [`http`] serves it all. When its answers equal order-history's is defined
//! once, in [`order_view::equality`].

pub mod app;
pub mod compose;
pub mod config;
pub mod downstream;
pub mod http;
pub mod search;
pub mod telemetry;
