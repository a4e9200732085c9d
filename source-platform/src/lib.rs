//! What only a source service needs, on top of `platform`: the store and its shared
//! migrations, the transactional outbox and its relay, idempotency keys, fault injection, the
//! value objects the three services validate their input with, and the runtime that wires
//! them together.

pub mod faults;
pub mod idempotency;
pub mod outbox;
pub mod source_service;
pub mod store;
pub mod values;
