//! The Confluent REST API over real HTTP: each test starts its own registry on port 0 with a
//! fresh data dir, so tests run in parallel without seeing each other.

mod bad_input;
mod compatibility;
mod config;
mod deletion;
mod durability;
mod rust_client;
mod schemas;
mod subjects;
mod support;
