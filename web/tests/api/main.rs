//! The pages' API against a real composer in process and addresses where nothing listens. The
//! fault controls against a real payment-svc are tested in payment-svc's suite
//! (`payment-svc/tests/api/web_faults.rs`), so that these tests link no broker.

mod faults;
mod helpers;
mod pages;
mod reads;
mod report;
mod stats;
