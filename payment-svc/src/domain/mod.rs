//! The payment domain: values parsed once at the edge, the payment aggregate and its state
//! machine, and the authorization rule. Pure: no I/O, no clock (callers pass the time in).

mod amount;
mod ids;
mod method;
mod payment;
mod rules;

pub use amount::{Amount, MAX_AMOUNT_MINOR};
pub use ids::{OrderId, PaymentId};
pub use method::PaymentMethod;
pub use payment::{NewPayment, Payment, PaymentAction, PaymentStatus, TransitionRefused};
pub use rules::{AMOUNT_ABOVE_LIMIT_REASON, Authorization, DEFAULT_DECLINE_ABOVE_MINOR, PaymentRules};
