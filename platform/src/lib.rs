//! What every HTTP process of the system shares, so that each mechanism lives in one place:
//! telemetry, the HTTP bootstrap (health, readiness, metrics, limits and graceful shutdown),
//! access control, strict query parameters, the `traceparent` header, and the list of services
//! with their default ports. What only the source services need is in `source-platform`; the
//! Kafka client configuration is in `kafka-config`.

pub mod auth;
pub mod endpoints;
pub mod errors;
pub mod http;
pub mod json;
pub mod query;
pub mod services;
pub mod telemetry;
pub mod trace;
