//! Records shared by more than one topic. They live in the `orderhistory.common` namespace, so
//! each topic's schema defines them under the same full name.

use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

/// An amount of money in integer minor units (cents, pence, yen) of an ISO 4217 currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "orderhistory.common")]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

/// A postal address; `country` is an ISO 3166-1 alpha-2 code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "orderhistory.common")]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}
