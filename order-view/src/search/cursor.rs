//! The `cursor` of a search: where the previous page ended.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::SortOrder;

/// Where a page ended: the sort key of its last hit and the order id that breaks ties.
///
/// Opaque to clients (base64url of JSON, no padding); it names its sort order so a cursor
/// cannot be replayed against another one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub sort: SortOrder,
    /// The score (relevance), epoch millis (newest) or minor units (total) of the last hit.
    pub key: CursorKey,
    pub order_id: Uuid,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorKey {
    Integer(i64),
    Score(f32),
}

/// A cursor that cannot be decoded; it was not passed back unchanged.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("cursor is malformed; pass back the next_cursor of a previous page unchanged")]
pub struct MalformedCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Result<Cursor, MalformedCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| MalformedCursor)?;
        serde_json::from_slice(&bytes).map_err(|_| MalformedCursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_malformed() {
        let cursor =
            Cursor { sort: SortOrder::Newest, key: CursorKey::Integer(1_767_225_600_123), order_id: Uuid::now_v7() };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        let scored = Cursor { sort: SortOrder::Relevance, key: CursorKey::Score(1.5), order_id: Uuid::now_v7() };
        assert_eq!(Cursor::decode(&scored.encode()), Ok(scored));
        assert_eq!(Cursor::decode("not a cursor"), Err(MalformedCursor));
        let incomplete = URL_SAFE_NO_PAD.encode(br#"{"sort": "newest"}"#);
        assert_eq!(Cursor::decode(&incomplete), Err(MalformedCursor));
    }
}
