//! The documented equality of the two designs (docs/composer.md, "Documented equality"): for
//! an order that has converged, composer's answer and order-history's are equal field by
//! field, apart from the fields only the event log can fill and the flags of one answer.
//!
//! One definition for every comparison of the two: composer's equivalence test
//! (`composer/tests/api/equivalence.rs`) compares with [`comparable`], and the live comparison
//! page (`web/assets/compare.js`) leaves out [`NOT_COMPARED`], which a test of `web` checks.

use serde::Serialize;
use serde_json::Value;

/// The fields of the document that only order-history can know, by JSON name: composer reads
/// the services' current state, which names no events.
pub const EVENT_LOG_ONLY_FIELDS: [&str; 2] = ["timeline", "as_of"];

/// The flags one design's answer adds beside the document: order-history's `stale` (a
/// read-your-writes wait ran out) and composer's `degraded` (parts left out).
pub const ANSWER_FLAGS: [&str; 2] = ["stale", "degraded"];

/// Every top-level field an answer is compared without: [`EVENT_LOG_ONLY_FIELDS`] and
/// [`ANSWER_FLAGS`].
pub const NOT_COMPARED: [&str; 4] = ["timeline", "as_of", "stale", "degraded"];

/// `answer` (a document, or a design's answer for one) as JSON without [`NOT_COMPARED`]: two
/// answers are equal under the documented equality when these values are equal.
pub fn comparable(answer: &impl Serialize) -> Value {
    let mut json = serde_json::to_value(answer).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut json {
        for name in NOT_COMPARED {
            fields.remove(name);
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::OrderHistory;

    #[test]
    fn not_compared_is_the_event_log_fields_and_the_answer_flags() {
        let both: Vec<&str> = EVENT_LOG_ONLY_FIELDS.iter().chain(ANSWER_FLAGS.iter()).copied().collect();
        assert_eq!(both, NOT_COMPARED);
    }

    #[test]
    fn only_the_event_log_fields_are_left_out_of_a_document() {
        let document = OrderHistory::empty(Uuid::now_v7());
        let json = comparable(&document);
        let names: Vec<&String> = json.as_object().expect("an object").keys().collect();
        assert!(!names.iter().any(|name| NOT_COMPARED.contains(&name.as_str())));
        let all = serde_json::to_value(&document).expect("serializes");
        assert_eq!(names.len() + EVENT_LOG_ONLY_FIELDS.len(), all.as_object().expect("an object").len());
    }

    #[test]
    fn the_flags_of_an_answer_are_left_out() {
        let answer = serde_json::json!({"order_id": "x", "stale": true, "degraded": ["payments"], "timeline": []});
        assert_eq!(comparable(&answer), serde_json::json!({"order_id": "x"}));
    }
}
