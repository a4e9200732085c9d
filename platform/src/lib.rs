//! What every process of the system shares, so that each mechanism lives in one place:
//! the Kafka client configuration, telemetry, and the HTTP bootstrap (health, readiness,
//! metrics, limits and graceful shutdown).

pub mod auth;
pub mod endpoints;
pub mod errors;
pub mod faults;
pub mod http;
pub mod idempotency;
pub mod json;
pub mod outbox;
pub mod query;
pub mod source_service;
pub mod store;
pub mod telemetry;
pub mod trace;
pub mod values;
