//! The pages' API against real services: a payment-svc on a real broker and database, a real
//! composer, and addresses where nothing listens.

mod faults;
mod helpers;
mod pages;
mod reads;
mod report;
