//! The merge: an order, its payments and its shipments, as the source services answer them, into
//! the `OrderHistory` document the view holds. composer serves it; `order-history reconcile`
//! recounts the statistics from it. Pure, so every rule is unit-tested (composer's tests).
//!
//! What the sources cannot say (see docs/composer.md, "Documented equality"): `timeline` and
//! `as_of` describe the events, which only the event log has, so the timeline stays empty and
//! `as_of` null rather than invented; `incomplete` is false, since the order itself is known.

use crate::source_api::{AddressRecord, OrderRecord, PaymentRecord, ShipmentRecord};
use crate::{Address, Customer, LineItem, Money, OrderHistory, PaymentSummary, ShipmentSummary};

/// The document of `order` with `payments` and `shipments`. Payments and shipments of another
/// order are left out: the services filter by order id, so they can only come from a service
/// breaking its contract, and they must not leak into this order's document.
pub fn document_from_sources(
    order: OrderRecord,
    payments: Vec<PaymentRecord>,
    shipments: Vec<ShipmentRecord>,
) -> OrderHistory {
    let order_id = order.id;
    let currency = order.currency;
    let mut payment_summaries: Vec<PaymentSummary> =
        payments.into_iter().filter(|payment| payment.order_id == order_id).map(payment_summary).collect();
    let mut shipment_summaries: Vec<ShipmentSummary> =
        shipments.into_iter().filter(|shipment| shipment.order_id == order_id).map(shipment_summary).collect();
    // the canonical order of the document, whatever order the services answered in
    payment_summaries.sort_by_key(|payment| (payment.created_at, payment.payment_id));
    shipment_summaries.sort_by_key(|shipment| (shipment.created_at, shipment.shipment_id));

    let items = order
        .items
        .into_iter()
        .map(|item| LineItem {
            sku: item.sku,
            name: item.name,
            quantity: item.quantity,
            unit_price: Money { amount_minor: item.unit_price, currency: currency.clone() },
        })
        .collect();
    OrderHistory {
        order_id,
        incomplete: false,
        status: Some(order.status),
        customer: Some(Customer {
            customer_id: order.customer_id,
            name: order.customer_name,
            email: order.customer_email,
        }),
        items,
        total: Some(Money { amount_minor: order.total, currency: currency.clone() }),
        currency: Some(currency),
        shipping_address: Some(address(order.shipping_address)),
        placed_at: Some(order.created_at),
        cancelled_at: order.cancelled_at,
        cancellation_reason: order.cancellation_reason,
        payments: payment_summaries,
        shipments: shipment_summaries,
        timeline: Vec::new(),
        order_version: Some(order.version),
        as_of: None,
    }
}

fn payment_summary(payment: PaymentRecord) -> PaymentSummary {
    PaymentSummary {
        payment_id: payment.id,
        status: payment.status,
        method: payment.method,
        amount: Money { amount_minor: payment.amount, currency: payment.currency },
        decline_reason: payment.decline_reason,
        created_at: payment.created_at,
        updated_at: payment.updated_at,
        version: payment.version,
    }
}

fn shipment_summary(shipment: ShipmentRecord) -> ShipmentSummary {
    ShipmentSummary {
        shipment_id: shipment.id,
        carrier: shipment.carrier,
        tracking_number: shipment.tracking_number,
        status: shipment.status,
        last_location: shipment.last_location,
        address: address(shipment.address),
        created_at: shipment.created_at,
        updated_at: shipment.updated_at,
        version: shipment.version,
    }
}

fn address(record: AddressRecord) -> Address {
    Address {
        line1: record.line1,
        line2: record.line2,
        city: record.city,
        postal_code: record.postal_code,
        country: record.country,
    }
}
