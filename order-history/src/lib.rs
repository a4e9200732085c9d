//! order-history: the CQRS read model.
//!
//! Data flows one way: [`projection`] consumes the `orders`, `payments` and `shipments` topics,
//! folds each batch into one [`order_view::OrderHistory`] document per order and writes it to
//! an [`index`]; [`http`] serves GET by id and full-text search from that index and never
//! calls a source service. [`rebuild`] replays the topics into a fresh view and swaps it in.
//! [`reconcile`] compares the view with the source services over HTTP, and [`repair`]
//! re-projects the orders it finds drifting. [`stats`] is a second read model of the same
//! topics: hourly order statistics in a relational store of their own.

pub mod app;
pub mod config;
pub mod http;
pub mod index;
pub mod projection;
pub mod rebuild;
pub mod repair;
pub mod snapshot;
pub mod stats;
