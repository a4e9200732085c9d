//! The HTTP API: one file per resource, and the error enum they share.

pub mod error;
pub mod payments;
