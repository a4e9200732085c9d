//! W3C trace context: the `traceparent` of the HTTP request that caused a change travels into
//! the outbox, onto the Kafka record, and into the projection's span.

use axum::http::HeaderMap;

pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The request's `traceparent` if it is well formed, or a new one that starts a trace here.
pub fn traceparent_or_new(headers: &HeaderMap) -> String {
    let incoming = headers.get(TRACEPARENT_HEADER).and_then(|value| value.to_str().ok());
    match incoming {
        Some(value) if is_valid_traceparent(value) => value.to_string(),
        _ => new_traceparent(),
    }
}

fn new_traceparent() -> String {
    let trace_id = format!("{:032x}", fastrand::u128(1..));
    let span_id = format!("{:016x}", fastrand::u64(1..));
    format!("00-{trace_id}-{span_id}-01")
}

/// `version-traceid-spanid-flags`, lowercase hex, with non-zero ids (W3C Trace Context §3.2).
pub fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let [version, trace_id, span_id, flags] = parts.as_slice() else {
        return false;
    };
    let is_hex = |text: &str, len: usize| {
        text.len() == len && text.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    };
    is_hex(version, 2)
        && *version != "ff"
        && is_hex(trace_id, 32)
        && trace_id.bytes().any(|byte| byte != b'0')
        && is_hex(span_id, 16)
        && span_id.bytes().any(|byte| byte != b'0')
        && is_hex(flags, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_traceparents_are_kept() {
        let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT_HEADER, value.parse().expect("header value"));
        assert_eq!(traceparent_or_new(&headers), value);
    }

    #[test]
    fn malformed_traceparents_are_replaced_with_valid_ones() {
        for bad in ["", "00-xyz-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"] {
            let mut headers = HeaderMap::new();
            headers.insert(TRACEPARENT_HEADER, bad.parse().expect("header value"));
            let replaced = traceparent_or_new(&headers);
            assert!(is_valid_traceparent(&replaced), "{replaced}");
            assert_ne!(replaced, bad);
        }
        assert!(is_valid_traceparent(&traceparent_or_new(&HeaderMap::new())));
    }
}
