//! payment-svc against the real thing: a tansu broker, the schema registry and a fresh SQLite
//! or PostgreSQL database per test, all started by `testkit`. One binary with modules, so the
//! suite links once.

mod helpers;

mod access;
mod contract;
mod create;
mod events;
mod faults;
mod idempotency;
mod reads;
mod transitions;
mod web_faults;
