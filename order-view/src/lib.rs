//! The read model both designs answer with: the [`OrderHistory`] document and the rules that
//! build it from the source services' events; the [`search`] contract both keep; and the
//! documented [`equality`] of their answers.
//!
//! It lives apart from `order-history` so that `composer` returns the very same JSON shape,
//! and searches by the same rules, without depending on a search engine.

mod apply;
mod document;
pub mod equality;
pub mod search;
pub mod source_api;
pub mod source_merge;
pub mod stats;

pub use apply::{Applied, SourceEvent};
pub use document::{
    Address, AsOf, Customer, LineItem, Money, OrderHistory, OrderStatus, PaymentMethod, PaymentStatus, PaymentSummary,
    ShipmentStatus, ShipmentSummary, Source, TimelineEntry,
};
pub use search::{Facets, SearchHit, push_html_escaped};
