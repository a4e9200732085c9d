//! The documented equality of the two designs: for an order that has converged, composer's
//! document and order-history's are equal field by field, apart from the fields only the event
//! log can fill (docs/composer.md, "Documented equality").
//!
//! Public so that the equivalence test (`composer/tests/api/equivalence.rs`) and anyone
//! comparing the two designs use one definition.

use order_view::OrderHistory;
use serde_json::Value;

/// The fields of the document that only order-history can know, by JSON name.
pub const EVENT_LOG_ONLY_FIELDS: [&str; 2] = ["timeline", "as_of"];

/// `document` as JSON with [`EVENT_LOG_ONLY_FIELDS`] removed: two documents are equal under
/// the documented equality when these values are equal.
pub fn comparable(document: &OrderHistory) -> Value {
    let mut json = serde_json::to_value(document).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut json {
        for name in EVENT_LOG_ONLY_FIELDS {
            fields.remove(name);
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn only_the_event_log_fields_are_left_out() {
        let document = OrderHistory::empty(Uuid::now_v7());
        let json = comparable(&document);
        let names: Vec<&String> = json.as_object().expect("an object").keys().collect();
        assert!(!names.iter().any(|name| EVENT_LOG_ONLY_FIELDS.contains(&name.as_str())));
        let all = serde_json::to_value(&document).expect("serializes");
        assert_eq!(names.len() + EVENT_LOG_ONLY_FIELDS.len(), all.as_object().expect("an object").len());
    }
}
