//! What of a document is searchable: the text fields `q` searches, with the values each holds,
//! and the status symbols the filters and facets see. Both designs read a document through
//! these, so they search the same strings under the same names.

use crate::{Address, OrderHistory};

/// The text fields `q` searches, by the names `highlights` uses: customer name and email,
/// item names and SKUs, the shipping and delivery addresses, and tracking numbers.
pub const TEXT_FIELDS: [&str; 6] =
    ["customer_name", "customer_email", "item_names", "skus", "addresses", "tracking_numbers"];

/// The text fields that hold identifiers rather than words: a word also matches the letter
/// runs and digit runs inside them, so `123456789` finds `3SPOST123456789`.
pub const IDENTIFIER_FIELDS: [&str; 2] = ["skus", "tracking_numbers"];

/// The values of each text field of `document`, in the order of [`TEXT_FIELDS`]: what is
/// searched, and what highlights are cut from.
///
/// An address is one value: its lines, city, postal code and country, joined by spaces. The
/// shipping address comes first, then each shipment's address that differs from those before.
pub fn text_values(document: &OrderHistory) -> [(&'static str, Vec<String>); TEXT_FIELDS.len()] {
    let mut addresses: Vec<String> = document.shipping_address.iter().map(address_text).collect();
    for shipment in &document.shipments {
        let text = address_text(&shipment.address);
        if !addresses.contains(&text) {
            addresses.push(text);
        }
    }
    TEXT_FIELDS.map(|name| {
        let values: Vec<String> = match name {
            "customer_name" => document.customer.iter().map(|customer| customer.name.clone()).collect(),
            "customer_email" => document.customer.iter().map(|customer| customer.email.clone()).collect(),
            "item_names" => document.items.iter().map(|item| item.name.clone()).collect(),
            "skus" => document.items.iter().map(|item| item.sku.clone()).collect(),
            "addresses" => addresses.clone(),
            "tracking_numbers" => document.shipments.iter().map(|shipment| shipment.tracking_number.clone()).collect(),
            other => {
                debug_assert!(false, "text field {other} has no values");
                Vec::new()
            }
        };
        (name, values)
    })
}

fn address_text(address: &Address) -> String {
    [
        Some(address.line1.as_str()),
        address.line2.as_deref(),
        Some(&address.city),
        Some(&address.postal_code),
        Some(&address.country),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

/// The status symbols of a document that the status filters and the facets see: the order's,
/// and each distinct status of its payments and of its shipments, sorted. A document matches
/// `payment_status=X` when any of its payments is X, and counts once under each facet value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusSymbols {
    pub status: Option<&'static str>,
    pub payment_statuses: Vec<&'static str>,
    pub shipment_statuses: Vec<&'static str>,
}

impl StatusSymbols {
    pub fn of(document: &OrderHistory) -> StatusSymbols {
        let mut payment_statuses: Vec<&'static str> =
            document.payments.iter().map(|payment| payment.status.symbol()).collect();
        payment_statuses.sort_unstable();
        payment_statuses.dedup();
        let mut shipment_statuses: Vec<&'static str> =
            document.shipments.iter().map(|shipment| shipment.status.symbol()).collect();
        shipment_statuses.sort_unstable();
        shipment_statuses.dedup();
        StatusSymbols { status: document.status.map(|status| status.symbol()), payment_statuses, shipment_statuses }
    }
}

#[cfg(test)]
mod tests {
    use events::samples::{order_event, payment_event, shipment_event};
    use events::{OrderEventType, PaymentEventType};
    use uuid::Uuid;

    use super::*;
    use crate::SourceEvent;

    fn placed_paid_and_shipped() -> OrderHistory {
        let order_id = Uuid::now_v7();
        let mut document = OrderHistory::empty(order_id);
        document.apply(&SourceEvent::Order(order_event(order_id, OrderEventType::OrderPlaced, 1)));
        for event_type in [PaymentEventType::PaymentDeclined, PaymentEventType::PaymentCaptured] {
            document.apply(&SourceEvent::Payment(payment_event(order_id, Uuid::now_v7(), event_type, 1)));
        }
        let shipment = shipment_event(order_id, Uuid::now_v7(), events::ShipmentStatus::InTransit, 1);
        document.apply(&SourceEvent::Shipment(shipment));
        document
    }

    #[test]
    fn every_text_field_has_the_values_of_its_name() {
        let document = placed_paid_and_shipped();
        let values: std::collections::BTreeMap<&str, Vec<String>> = text_values(&document).into_iter().collect();
        assert_eq!(values["customer_name"], vec!["Zoë Ørsted-Nakamura"]);
        assert_eq!(values["item_names"], vec!["Copper tea kettle", "Stoneware mug"]);
        assert_eq!(values["skus"], vec!["SKU-KETTLE-01", "SKU-MUG-07"]);
        assert_eq!(values["tracking_numbers"], vec!["3SPOST123456789"]);
        assert_eq!(
            values["addresses"].len(),
            1,
            "the shipment goes to the shipping address: {:?}",
            values["addresses"]
        );
        assert!(values["addresses"][0].contains("3rd floor"), "line 2 is part of the address");
        assert_eq!(values["customer_email"].len(), 1);
        assert!(IDENTIFIER_FIELDS.iter().all(|field| TEXT_FIELDS.contains(field)));
    }

    #[test]
    fn status_symbols_are_distinct_and_sorted() {
        let symbols = StatusSymbols::of(&placed_paid_and_shipped());
        assert_eq!(symbols.status, Some("PLACED"));
        assert_eq!(symbols.payment_statuses, vec!["CAPTURED", "DECLINED"]);
        assert_eq!(symbols.shipment_statuses, vec!["IN_TRANSIT"]);
        assert_eq!(StatusSymbols::of(&OrderHistory::empty(Uuid::now_v7())), StatusSymbols::default());
    }
}
