//! What every process of the system shares, so that each mechanism lives in one place:
//! the Kafka client configuration, telemetry, and the HTTP bootstrap (health, readiness,
//! metrics, limits and graceful shutdown).

pub mod http;
pub mod kafka;
pub mod telemetry;
