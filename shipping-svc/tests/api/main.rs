//! shipping-svc against a real broker, schema registry and database (SQLite, and PostgreSQL
//! for everything that touches the store). One test binary with modules, so it links once.

mod access;
mod create;
mod events;
mod faults;
mod helpers;
mod idempotency;
mod read;
mod status;
