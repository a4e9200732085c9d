//! The read model both designs answer with: the [`OrderHistory`] document and the rules that
//! build it from the source services' events.
//!
//! It lives apart from `order-history` so that `composer` returns the very same JSON shape
//! without depending on a search engine.

mod apply;
mod document;
mod search;
pub mod source_api;

pub use apply::{Applied, SourceEvent};
pub use document::{
    Address, AsOf, Customer, LineItem, Money, OrderHistory, OrderStatus, PaymentMethod, PaymentStatus, PaymentSummary,
    ShipmentStatus, ShipmentSummary, Source, TimelineEntry,
};
pub use search::{Facets, SearchHit, push_html_escaped};
