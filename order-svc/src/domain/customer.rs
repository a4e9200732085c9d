//! Who placed an order.

use platform::http::FieldError;
pub use platform::query::CustomerId;
use source_platform::values::bounded_text;

const MAX_CUSTOMER_NAME_CHARS: usize = 200;
/// The longest address SMTP can carry (RFC 5321 §4.5.3.1.3).
const MAX_EMAIL_CHARS: usize = 254;
const MAX_EMAIL_LOCAL_PART_CHARS: usize = 64;
const MAX_DOMAIN_LABEL_CHARS: usize = 63;

/// The customer's name as it should appear on the order: trimmed, 1 to 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        bounded_text(field, raw, MAX_CUSTOMER_NAME_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address of the shape `local@domain.tld`, trimmed.
///
/// This is a plausibility check, not RFC 5322: it rejects what is certainly not deliverable
/// (no `@`, no dot in the domain, spaces, empty labels) and accepts international text,
/// because only sending a message proves an address works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(field, "must not be blank"));
        }
        if trimmed.chars().count() > MAX_EMAIL_CHARS {
            return Err(FieldError::new(field, format!("must be at most {MAX_EMAIL_CHARS} characters")));
        }
        if !is_plausible_email(trimmed) {
            return Err(FieldError::new(field, "must be an email address such as name@example.com"));
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_plausible_email(address: &str) -> bool {
    if address.chars().any(|character| character.is_whitespace() || character.is_control()) {
        return false;
    }
    let Some((local_part, domain)) = address.split_once('@') else {
        return false;
    };
    if local_part.is_empty() || local_part.chars().count() > MAX_EMAIL_LOCAL_PART_CHARS {
        return false;
    }
    if local_part.starts_with('.') || local_part.ends_with('.') || local_part.contains("..") {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    for label in labels {
        let is_valid_label = !label.is_empty()
            && label.chars().count() <= MAX_DOMAIN_LABEL_CHARS
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|character| character.is_alphanumeric() || character == '-');
        if !is_valid_label {
            return false;
        }
    }
    true
}

/// The customer as recorded on the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub name: CustomerName,
    pub email: Email,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn customer_ids_are_short_visible_ascii_kept_as_sent() {
        assert_eq!(
            CustomerId::parse("customer_id", "cust-0042").map(|id| id.as_str().to_string()),
            Ok("cust-0042".to_string())
        );
        assert!(CustomerId::parse("customer_id", "a@b.c:42/x").is_ok());
        assert!(CustomerId::parse("customer_id", &"c".repeat(64)).is_ok());
        for bad in ["", " cust", "cust 42", "cust\t", "klánt", &"c".repeat(65)] {
            let error = CustomerId::parse("customer_id", bad).expect_err(bad);
            assert_eq!(error.field, "customer_id");
        }
    }

    #[test]
    fn customer_names_are_trimmed_and_bounded() {
        assert_eq!(
            CustomerName::parse("customer_name", "  Zoë Ørsted  ").map(|name| name.0),
            Ok("Zoë Ørsted".to_string())
        );
        assert!(CustomerName::parse("customer_name", &"é".repeat(200)).is_ok());
        for bad in ["", "   ", "line\nbreak", &"é".repeat(201)] {
            let error = CustomerName::parse("customer_name", bad).expect_err(bad);
            assert_eq!(error.field, "customer_name");
        }
    }

    #[test]
    fn plausible_email_addresses_are_accepted_and_trimmed() {
        for good in [
            "zoe@example.com",
            "zoe.orsted+orders@mail.example.co.uk",
            "o'brien@example.ie",
            "zoë@exämple.nl",
            "x@a-b.io",
        ] {
            assert!(Email::parse("customer_email", good).is_ok(), "{good}");
        }
        assert_eq!(
            Email::parse("customer_email", " zoe@example.com ").map(|email| email.0),
            Ok("zoe@example.com".to_string())
        );
    }

    #[test]
    fn implausible_email_addresses_are_rejected() {
        let too_long = format!("{}@example.com", "a".repeat(250));
        let long_local_part = format!("{}@example.com", "a".repeat(65));
        for bad in [
            "",
            "  ",
            "zoe",
            "zoe@",
            "@example.com",
            "zoe@example",
            "zoe@@example.com",
            "zoe@exa@mple.com",
            "zoe @example.com",
            "zoe@example..com",
            "zoe@.example.com",
            "zoe@example.com.",
            "zoe@-example.com",
            "zoe@example-.com",
            ".zoe@example.com",
            "zoe.@example.com",
            "zo..e@example.com",
            "zoe@exa_mple.com",
            too_long.as_str(),
            long_local_part.as_str(),
        ] {
            let error = Email::parse("customer_email", bad).expect_err(bad);
            assert_eq!(error.field, "customer_email");
        }
    }

    proptest! {
        #[test]
        fn accepted_customer_ids_are_exactly_the_input(raw in "\\PC{0,80}") {
            if let Ok(id) = CustomerId::parse("customer_id", &raw) {
                prop_assert_eq!(id.as_str(), raw.as_str());
                prop_assert!(!raw.is_empty() && raw.len() <= platform::query::MAX_CUSTOMER_ID_LEN);
            }
        }

        #[test]
        fn email_parsing_never_panics_and_accepts_only_an_at_sign_and_a_dot(raw in "\\PC{0,300}") {
            if let Ok(email) = Email::parse("customer_email", &raw) {
                prop_assert!(email.as_str().contains('@'));
                prop_assert!(email.as_str().contains('.'));
                prop_assert_eq!(email.as_str(), raw.trim());
            }
        }
    }
}
