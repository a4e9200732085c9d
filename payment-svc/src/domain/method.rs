//! How a payment is made.

/// The payment methods this service accepts, spelled as in the API and the Avro schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethod {
    Card,
    BankTransfer,
    Wallet,
}

impl PaymentMethod {
    pub const ALL: [Self; 3] = [Self::Card, Self::BankTransfer, Self::Wallet];

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|method| method.as_str() == raw)
            .ok_or_else(|| format!("unknown payment method {raw:?}; use CARD, BANK_TRANSFER or WALLET"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "CARD",
            Self::BankTransfer => "BANK_TRANSFER",
            Self::Wallet => "WALLET",
        }
    }

    pub fn to_event(self) -> events::PaymentMethod {
        match self {
            Self::Card => events::PaymentMethod::Card,
            Self::BankTransfer => events::PaymentMethod::BankTransfer,
            Self::Wallet => events::PaymentMethod::Wallet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_parses_from_its_own_spelling() {
        for method in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(method.as_str()), Ok(method));
        }
    }

    #[test]
    fn the_api_spelling_matches_the_serde_and_avro_spelling() {
        for method in PaymentMethod::ALL {
            let api = serde_json::to_value(method).expect("serializes");
            let event = serde_json::to_value(method.to_event()).expect("serializes");
            assert_eq!(api, serde_json::Value::from(method.as_str()));
            assert_eq!(event, api);
        }
    }

    #[test]
    fn other_spellings_are_refused() {
        for raw in ["", "card", "Card", "CASH", "BANK TRANSFER", " CARD"] {
            assert!(PaymentMethod::parse(raw).is_err(), "{raw:?} must be refused");
        }
    }
}
