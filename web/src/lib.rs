//! The three pages people look at, served on one origin with the small API they call:
//!
//! - `/`: order-history search, for people looking for their orders (`pages`);
//! - `/compare`: one request sent to both designs, side by side, with fault controls;
//! - `/stats`: revenue per day, the status mix and the top products, from either design,
//!   refreshed while it is open.
//!
//! The browser never talks to the services directly. `reads` forwards the read API of
//! order-history and composer unchanged, with a read token the browser never sees; `faults`
//! drives the source services' fault injection with the admin token; `report` serves the
//! charts of the latest `compare` report; `upstream` is how every one of them calls a service
//! and hands its answer to the browser. Everything the pages need is embedded in the binary.

pub mod app;
pub mod config;
mod faults;
mod pages;
mod reads;
mod report;
mod upstream;
