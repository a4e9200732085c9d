//! order-svc's API against a real broker, schema registry and database, started by testkit.
//! One binary with modules links once instead of once per file.

#[path = "../support/mod.rs"]
mod support;

mod helpers;

mod access;
mod cancel;
mod create;
mod events;
mod faults;
mod get;
mod idempotency;
mod list;
mod operational;
