//! The local Kafka-protocol broker: finds or installs the pinned tansu, and starts it under
//! supervision with the system's topics. `stack up` and the test harness both start brokers
//! through this crate, so a test's broker is started exactly as the local stack's is.

pub mod process;
pub mod start;
pub mod tansu;

pub use start::{start_broker, topic_specs};
pub use tansu::BrokerInstallArgs;
