//! composer's merge: the shared one (`order_view::source_merge`), plus the parts an optional
//! service could not deliver in time.
//!
//! What composer can and cannot know (see docs/composer.md, "Documented equality"):
//! - every field of the current state, and each aggregate's version, is what the services
//!   answer, so it equals what the CQRS view holds once the view has caught up;
//! - `timeline` and `as_of` describe the events, which only the event log has: the services
//!   answer their current state, without event ids or the times of earlier changes. composer
//!   leaves the timeline empty and `as_of` null rather than invent them;
//! - `incomplete` is always false: without the order there is no answer at all (404 or 5xx).

use order_view::OrderHistory;
use order_view::source_merge::document_from_sources;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use order_view::source_api::{OrderRecord, PaymentRecord, ShipmentRecord};

/// A part of the document that an optional service could not deliver in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DegradedPart {
    Payments,
    Shipments,
}

impl DegradedPart {
    pub fn name(self) -> &'static str {
        match self {
            DegradedPart::Payments => "payments",
            DegradedPart::Shipments => "shipments",
        }
    }
}

/// A composed document and the parts it lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct Composed {
    pub document: OrderHistory,
    /// In a fixed order (payments, then shipments); empty when nothing failed.
    pub degraded: Vec<DegradedPart>,
}

/// Builds the document from the services' answers; `None` for a part whose service failed.
pub fn compose(
    order: OrderRecord,
    payments: Option<Vec<PaymentRecord>>,
    shipments: Option<Vec<ShipmentRecord>>,
) -> Composed {
    let mut degraded = Vec::new();
    if payments.is_none() {
        degraded.push(DegradedPart::Payments);
    }
    if shipments.is_none() {
        degraded.push(DegradedPart::Shipments);
    }
    let document = document_from_sources(order, payments.unwrap_or_default(), shipments.unwrap_or_default());
    Composed { document, degraded }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{DateTime, Duration, Utc};
    use order_view::{OrderStatus, PaymentMethod, PaymentStatus, ShipmentStatus};
    use uuid::Uuid;

    use super::*;
    use order_view::Money;
    use order_view::source_api::{AddressRecord, LineItemRecord};

    pub fn at(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_795_000_000_000 + millis).expect("in range")
    }

    pub fn order_record(order_id: Uuid) -> OrderRecord {
        OrderRecord {
            id: order_id,
            customer_id: "cust-0042".to_string(),
            customer_name: "Zoë Ørsted-Nakamura".to_string(),
            customer_email: "zoe@example.com".to_string(),
            currency: "EUR".to_string(),
            items: vec![
                LineItemRecord {
                    sku: "SKU-KETTLE-01".to_string(),
                    name: "Copper tea kettle".to_string(),
                    quantity: 1,
                    unit_price: 4599,
                },
                LineItemRecord {
                    sku: "SKU-MUG-07".to_string(),
                    name: "Stoneware mug".to_string(),
                    quantity: 4,
                    unit_price: 1250,
                },
            ],
            total: 9599,
            shipping_address: address_record("Keizersgracht 123"),
            status: OrderStatus::Placed,
            version: 1,
            created_at: at(0),
            cancelled_at: None,
            cancellation_reason: None,
        }
    }

    pub fn address_record(line1: &str) -> AddressRecord {
        AddressRecord {
            line1: line1.to_string(),
            line2: Some("3rd floor".to_string()),
            city: "Amsterdam".to_string(),
            postal_code: "1015 CJ".to_string(),
            country: "NL".to_string(),
        }
    }

    pub fn payment_record(order_id: Uuid, created: i64, status: PaymentStatus) -> PaymentRecord {
        PaymentRecord {
            id: Uuid::now_v7(),
            order_id,
            amount: 9599,
            currency: "EUR".to_string(),
            method: PaymentMethod::Card,
            status,
            decline_reason: None,
            version: 2,
            created_at: at(created),
            updated_at: at(created) + Duration::milliseconds(40),
        }
    }

    pub fn shipment_record(order_id: Uuid, created: i64, status: ShipmentStatus) -> ShipmentRecord {
        ShipmentRecord {
            id: Uuid::now_v7(),
            order_id,
            carrier: "DHL Express".to_string(),
            tracking_number: format!("DHL77070825324{created:02}"),
            address: address_record("Prinsengracht 9"),
            status,
            last_location: Some("Amsterdam depot".to_string()),
            version: 3,
            created_at: at(created),
            updated_at: at(created) + Duration::milliseconds(90),
        }
    }

    #[test]
    fn every_field_of_the_current_state_is_carried_over() {
        let order_id = Uuid::now_v7();
        let mut order = order_record(order_id);
        order.status = OrderStatus::Cancelled;
        order.version = 2;
        order.cancelled_at = Some(at(500));
        order.cancellation_reason = Some("ordered twice".to_string());
        let payment = payment_record(order_id, 10, PaymentStatus::Captured);
        let shipment = shipment_record(order_id, 20, ShipmentStatus::InTransit);
        let composed = compose(order, Some(vec![payment.clone()]), Some(vec![shipment.clone()]));
        assert!(composed.degraded.is_empty());
        let document = composed.document;
        assert!(!document.incomplete);
        assert_eq!(document.status, Some(OrderStatus::Cancelled));
        assert_eq!(document.customer.as_ref().map(|customer| customer.email.as_str()), Some("zoe@example.com"));
        assert_eq!(document.items[1].unit_price, Money { amount_minor: 1250, currency: "EUR".to_string() });
        assert_eq!(document.total, Some(Money { amount_minor: 9599, currency: "EUR".to_string() }));
        assert_eq!(document.currency.as_deref(), Some("EUR"));
        assert_eq!(document.placed_at, Some(at(0)));
        assert_eq!(document.cancelled_at, Some(at(500)));
        assert_eq!(document.cancellation_reason.as_deref(), Some("ordered twice"));
        assert_eq!(document.order_version, Some(2));
        assert_eq!(document.payments[0].payment_id, payment.id);
        assert_eq!(document.payments[0].version, 2);
        assert_eq!(document.payments[0].updated_at, payment.updated_at);
        assert_eq!(document.shipments[0].tracking_number, shipment.tracking_number);
        assert_eq!(document.shipments[0].address.line1, "Prinsengracht 9");
        assert_eq!(document.shipments[0].version, 3);
        assert!(document.timeline.is_empty(), "only the event log knows the timeline");
        assert_eq!(document.as_of, None);
        assert_eq!(document.version_of(order_id), Some(2));
        assert_eq!(document.version_of(payment.id), Some(2));
    }

    #[test]
    fn a_failed_part_is_left_out_and_named() {
        let order_id = Uuid::now_v7();
        let shipments = vec![shipment_record(order_id, 1, ShipmentStatus::Created)];
        let composed = compose(order_record(order_id), None, Some(shipments));
        assert_eq!(composed.degraded, vec![DegradedPart::Payments]);
        assert!(composed.document.payments.is_empty());
        assert_eq!(composed.document.shipments.len(), 1);
        let composed = compose(order_record(order_id), None, None);
        assert_eq!(composed.degraded, vec![DegradedPart::Payments, DegradedPart::Shipments]);
    }

    #[test]
    fn lists_are_put_in_the_canonical_order_whatever_the_services_answered() {
        let order_id = Uuid::now_v7();
        let older = payment_record(order_id, 5, PaymentStatus::Declined);
        let newer = payment_record(order_id, 9, PaymentStatus::Authorized);
        let mut same_time = payment_record(order_id, 5, PaymentStatus::Authorized);
        same_time.id = Uuid::max();
        let forward =
            compose(order_record(order_id), Some(vec![older.clone(), same_time.clone(), newer.clone()]), None);
        let backward =
            compose(order_record(order_id), Some(vec![newer.clone(), same_time.clone(), older.clone()]), None);
        assert_eq!(forward.document, backward.document);
        let ids: Vec<Uuid> = forward.document.payments.iter().map(|payment| payment.payment_id).collect();
        assert_eq!(ids, vec![older.id, same_time.id, newer.id], "by creation time, then id");
    }

    #[test]
    fn records_of_another_order_are_left_out() {
        let order_id = Uuid::now_v7();
        let stray = payment_record(Uuid::now_v7(), 1, PaymentStatus::Captured);
        let stray_shipment = shipment_record(Uuid::now_v7(), 1, ShipmentStatus::Created);
        let composed = compose(order_record(order_id), Some(vec![stray]), Some(vec![stray_shipment]));
        assert!(composed.document.payments.is_empty());
        assert!(composed.document.shipments.is_empty());
        assert!(composed.degraded.is_empty());
    }

    #[test]
    fn degraded_parts_serialize_as_lowercase_names() {
        let json = serde_json::to_string(&[DegradedPart::Payments, DegradedPart::Shipments]).expect("serializes");
        assert_eq!(json, r#"["payments","shipments"]"#);
    }
}
