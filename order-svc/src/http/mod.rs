//! The HTTP surface of order-svc: one file per resource, and the one error enum they share.

pub mod error;
pub mod orders;
