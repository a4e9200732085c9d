//! A document as the JSON GET by id answers with, so that a backend that keeps that JSON can
//! hand it over without decoding it and encoding it again.

use anyhow::Context;
use order_view::OrderHistory;
use serde::Deserialize;

use crate::index::IndexError;

/// An [`OrderHistory`] as `serde_json` writes it: the body of `GET /orders/{id}`.
///
/// The tantivy view stores exactly this JSON and serves it as stored. A view written by a
/// version of this code whose `OrderHistory` had other fields serves them as written until a
/// rebuild, where decoding and encoding would have filled or dropped them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentJson(String);

/// The one part of a document a read needs before it may answer: who owns it.
#[derive(Deserialize)]
struct Owner {
    customer: Option<OwnerId>,
}

#[derive(Deserialize)]
struct OwnerId {
    customer_id: String,
}

impl DocumentJson {
    pub fn of(document: &OrderHistory) -> Result<DocumentJson, IndexError> {
        Ok(DocumentJson(serde_json::to_string(document).context("cannot serialize a document")?))
    }

    /// JSON that [`DocumentJson::of`] wrote, e.g. read back from where it was stored.
    pub(crate) fn stored(json: String) -> DocumentJson {
        DocumentJson(json)
    }

    /// The document's `customer.customer_id`, read without decoding the rest of it.
    pub fn customer_id(&self) -> Result<Option<String>, IndexError> {
        let owner: Owner = serde_json::from_str(&self.0).context("cannot parse a stored document")?;
        Ok(owner.customer.map(|customer| customer.customer_id))
    }

    pub fn decode(&self) -> Result<OrderHistory, IndexError> {
        Ok(serde_json::from_str(&self.0).context("cannot parse a stored document")?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use order_view::Customer;
    use uuid::Uuid;

    use super::*;

    fn document(customer_id: Option<&str>) -> OrderHistory {
        let mut document = OrderHistory::empty(Uuid::now_v7());
        document.customer = customer_id.map(|customer_id| Customer {
            customer_id: customer_id.to_string(),
            name: "Ada \"the first\" Lovelace".to_string(),
            email: "ada@example.com".to_string(),
        });
        document
    }

    #[test]
    fn the_owner_is_read_from_the_json_as_the_document_has_it() {
        for customer_id in [Some("cust-7"), Some("cust-\"quoted\"\u{e9}"), None] {
            let json = DocumentJson::of(&document(customer_id)).expect("serializes");
            assert_eq!(json.customer_id().expect("parses").as_deref(), customer_id);
        }
    }

    #[test]
    fn a_stored_document_decodes_to_what_was_stored() {
        let original = document(Some("cust-7"));
        let stored = DocumentJson::stored(DocumentJson::of(&original).expect("serializes").into_string());
        assert_eq!(stored.decode().expect("decodes"), original);
    }

    #[test]
    fn json_that_is_not_a_document_is_an_error() {
        assert!(DocumentJson::stored("[]".to_string()).customer_id().is_err());
        assert!(DocumentJson::stored("{\"customer\": 7}".to_string()).customer_id().is_err());
    }
}
