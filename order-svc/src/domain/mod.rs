//! The order domain: values parsed once at the edge, and the order's state machine.
//!
//! Everything here is pure: no I/O, no clock and no randomness. Callers pass ids and times in,
//! so every rule can be unit-tested exactly.

mod customer;
mod item;
mod order;
mod pagination;

pub use customer::{Customer, CustomerId, CustomerName, Email};
pub use item::{
    ItemName, LineItem, LineItems, MAX_ITEMS, MAX_QUANTITY, MAX_UNIT_PRICE_MINOR, Quantity, Sku, UnitPrice,
};
pub use order::{
    CancellationReason, InvalidOrderId, NewOrder, Order, OrderId, OrderState, OrderTotal, OrderVersion,
    ShippingAddress, TotalTooLarge, TransitionError,
};
pub use pagination::{DEFAULT_PAGE_LIMIT, InvalidCursor, MAX_PAGE_LIMIT, OrderCursor, PageLimit};
