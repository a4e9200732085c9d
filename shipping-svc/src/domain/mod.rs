//! The shipment domain: values that parse, the shipment aggregate and its state machine, and
//! tracking-number generation. Pure: no I/O, no clock, no randomness of its own; callers pass
//! the current time and random numbers in, so every rule here is unit-tested exhaustively.

mod ids;
mod shipment;
mod text;
mod tracking_number;

pub use ids::{OrderId, ShipmentId};
pub use shipment::{NewShipment, Shipment, ShipmentStatus, StatusChange, TransitionError, Version};
pub use text::{Carrier, Location, Note};
pub use tracking_number::TrackingNumber;
