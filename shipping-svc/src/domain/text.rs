//! Free-text values: trimmed, not blank, bounded, without control characters.

use std::fmt;

use source_platform::values::bounded_text;

const MAX_CARRIER_CHARS: usize = 50;
const MAX_LOCATION_CHARS: usize = 200;
const MAX_NOTE_CHARS: usize = 500;

/// Validates with the platform's rules and returns only the message: the caller names the field,
/// because it knows where the text came from.
fn parse_bounded(raw: &str, max_chars: usize) -> Result<String, String> {
    bounded_text("", raw, max_chars).map_err(|error| error.message)
}

/// The carrier's name, e.g. `DHL Express` or `PostNL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carrier(String);

impl Carrier {
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_bounded(raw, MAX_CARRIER_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Where a shipment was last seen, e.g. `Amsterdam sorting centre`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location(String);

impl Location {
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_bounded(raw, MAX_LOCATION_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A remark on the latest change, e.g. `left with the neighbour at 12`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_bounded(raw, MAX_NOTE_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed() {
        assert_eq!(
            Carrier::parse("  DHL Express ").map(|carrier| carrier.as_str().to_string()),
            Ok("DHL Express".into())
        );
        assert_eq!(Location::parse("\tHub 7\n").map(|location| location.as_str().to_string()), Ok("Hub 7".into()));
        assert_eq!(Note::parse(" fragile ").map(|note| note.as_str().to_string()), Ok("fragile".into()));
    }

    #[test]
    fn blank_text_is_rejected() {
        for raw in ["", " ", "\t\n"] {
            assert_eq!(Carrier::parse(raw), Err("must not be blank".to_string()));
            assert!(Location::parse(raw).is_err());
            assert!(Note::parse(raw).is_err());
        }
    }

    #[test]
    fn each_kind_of_text_has_its_own_bound_counted_in_characters() {
        type Accepts = fn(&str) -> bool;
        let cases: [(Accepts, usize); 3] = [
            (|raw| Carrier::parse(raw).is_ok(), MAX_CARRIER_CHARS),
            (|raw| Location::parse(raw).is_ok(), MAX_LOCATION_CHARS),
            (|raw| Note::parse(raw).is_ok(), MAX_NOTE_CHARS),
        ];
        for (accepts, max_chars) in cases {
            // 'é' is two bytes: the bound is on characters, not bytes
            assert!(accepts(&"é".repeat(max_chars)), "{max_chars} characters are allowed");
            assert!(!accepts(&"é".repeat(max_chars + 1)), "{} characters are too many", max_chars + 1);
        }
    }

    #[test]
    fn control_characters_are_rejected() {
        assert!(Carrier::parse("DHL\u{0}").is_err());
        assert!(Location::parse("Hub\u{7}7").is_err());
        assert!(Note::parse("line\nbreak").is_err());
    }
}
