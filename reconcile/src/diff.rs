//! What the source services say about one order against what the view's document holds: pure
//! comparison, no I/O.
//!
//! Each aggregate (the order, each payment, each shipment) is compared on its own, as the view
//! keeps a version per aggregate:
//! - the view holds a lower version, or none, of an aggregate the source has: **stale**;
//! - the versions are equal but a field both sides carry differs: **mismatched**, naming the
//!   field (and the view holding a higher version than the source, or an aggregate the source
//!   does not know, is mismatched too: the view cannot be ahead of its source);
//! - the source knows the order and the view has no document: **missing**;
//! - the view has a document and no source service knows the order: **extra**.
//!
//! Only fields both sides carry are compared; the timeline and `as_of` exist in the view only.

use std::collections::HashMap;
use std::fmt;

use order_view::{Address, Money, OrderHistory, PaymentSummary, ShipmentSummary};
use serde::Serialize;
use uuid::Uuid;

use super::source::{AddressRecord, OrderRecord, PaymentRecord, ShipmentRecord};

/// What the source services hold about one order id: the order itself when order-svc knows
/// it, and its payments and shipments (which may exist without the order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceOrder {
    pub order: Option<OrderRecord>,
    pub payments: Vec<PaymentRecord>,
    pub shipments: Vec<ShipmentRecord>,
}

impl SourceOrder {
    /// Whether no source service knows anything of the order.
    pub fn is_empty(&self) -> bool {
        self.order.is_none() && self.payments.is_empty() && self.shipments.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Missing,
    Stale,
    Extra,
    Mismatched,
}

impl Category {
    pub const ALL: [Category; 4] = [Category::Missing, Category::Stale, Category::Extra, Category::Mismatched];
}

impl fmt::Display for Category {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Category::Missing => "missing",
            Category::Stale => "stale",
            Category::Extra => "extra",
            Category::Mismatched => "mismatched",
        })
    }
}

/// One difference between the view and the source of one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub order_id: Uuid,
    pub category: Category,
    /// The document field that differs, e.g. `status`, `customer.name`, `payments.amount`,
    /// `shipments.version`; absent for a missing or an extra document.
    pub field: Option<String>,
    /// What each side holds, in words.
    pub detail: String,
}

/// Every difference between `source` and `view` for `order_id`; empty when they agree.
pub fn compare_order(order_id: Uuid, source: &SourceOrder, view: Option<&OrderHistory>) -> Vec<Drift> {
    let mut findings = Findings { order_id, drifts: Vec::new() };
    match view {
        None if source.is_empty() => {}
        None => findings.push(Category::Missing, None, format!("no document in the view; {}", describe_source(source))),
        Some(document) if source.is_empty() => findings.push(
            Category::Extra,
            None,
            format!("{}; no source service knows the order", describe_document(document)),
        ),
        Some(document) => {
            compare_order_part(&mut findings, source.order.as_ref(), document);
            compare_payments(&mut findings, &source.payments, &document.payments);
            compare_shipments(&mut findings, &source.shipments, &document.shipments);
        }
    }
    findings.drifts
}

/// The drifts of one order as they are found.
struct Findings {
    order_id: Uuid,
    drifts: Vec<Drift>,
}

impl Findings {
    fn push(&mut self, category: Category, field: Option<&str>, detail: String) {
        self.drifts.push(Drift { order_id: self.order_id, category, field: field.map(str::to_string), detail });
    }

    /// Records a mismatch of `field` when the two values differ. `subject` prefixes the detail
    /// (e.g. `payment <id>: `) where the field alone does not say which aggregate it is.
    fn compare<T: PartialEq + Serialize>(
        &mut self,
        field: &str,
        subject: &str,
        in_view: &T,
        in_source: &T,
        service: &str,
    ) {
        if in_view == in_source {
            return;
        }
        let detail = format!("{subject}{} in the view, {} in {service}", as_json(in_view), as_json(in_source));
        self.push(Category::Mismatched, Some(field), detail);
    }
}

fn as_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "?".to_string())
}

/// Compares two versions of one aggregate: `true` when they are equal and the fields are
/// worth comparing; records a stale or a too-new view otherwise.
fn versions_agree(
    findings: &mut Findings,
    field: &str,
    subject: &str,
    in_view: Option<i64>,
    in_source: i64,
    service: &str,
) -> bool {
    match in_view {
        None => {
            findings.push(
                Category::Stale,
                Some(field),
                format!("{subject}absent from the view, version {in_source} in {service}"),
            );
            false
        }
        Some(in_view) if in_view < in_source => {
            findings.push(
                Category::Stale,
                Some(field),
                format!("{subject}version {in_view} in the view, {in_source} in {service}"),
            );
            false
        }
        Some(in_view) if in_view > in_source => {
            findings.push(
                Category::Mismatched,
                Some(field),
                format!("{subject}version {in_view} in the view, only {in_source} in {service}"),
            );
            false
        }
        Some(_) => true,
    }
}

fn compare_order_part(findings: &mut Findings, order: Option<&OrderRecord>, document: &OrderHistory) {
    const SERVICE: &str = "order-svc";
    let Some(order) = order else {
        // payments or shipments exist without the order: the view must not know it either
        if let Some(version) = document.order_version {
            findings.push(
                Category::Mismatched,
                Some("order_version"),
                format!("order version {version} in the view, no such order in {SERVICE}"),
            );
        }
        return;
    };
    if !versions_agree(findings, "order_version", "order ", document.order_version, order.version, SERVICE) {
        return;
    }
    let customer = document.customer.as_ref();
    findings.compare("incomplete", "", &document.incomplete, &false, SERVICE);
    findings.compare("status", "", &document.status, &Some(order.status), SERVICE);
    findings.compare(
        "customer.customer_id",
        "",
        &customer.map(|customer| customer.customer_id.as_str()),
        &Some(order.customer_id.as_str()),
        SERVICE,
    );
    findings.compare(
        "customer.name",
        "",
        &customer.map(|customer| customer.name.as_str()),
        &Some(order.customer_name.as_str()),
        SERVICE,
    );
    findings.compare(
        "customer.email",
        "",
        &customer.map(|customer| customer.email.as_str()),
        &Some(order.customer_email.as_str()),
        SERVICE,
    );
    findings.compare("currency", "", &document.currency.as_deref(), &Some(order.currency.as_str()), SERVICE);
    let total = Money { amount_minor: order.total, currency: order.currency.clone() };
    findings.compare("total", "", &document.total, &Some(total), SERVICE);
    compare_items(findings, order, document);
    findings.compare(
        "shipping_address",
        "",
        &document.shipping_address,
        &Some(address_of(&order.shipping_address)),
        SERVICE,
    );
    findings.compare("placed_at", "", &document.placed_at, &Some(order.created_at), SERVICE);
    findings.compare("cancelled_at", "", &document.cancelled_at, &order.cancelled_at, SERVICE);
    findings.compare("cancellation_reason", "", &document.cancellation_reason, &order.cancellation_reason, SERVICE);
}

fn compare_items(findings: &mut Findings, order: &OrderRecord, document: &OrderHistory) {
    const SERVICE: &str = "order-svc";
    if document.items.len() != order.items.len() {
        let detail = format!("{} items in the view, {} in {SERVICE}", document.items.len(), order.items.len());
        findings.push(Category::Mismatched, Some("items"), detail);
        return;
    }
    for (position, (in_view, in_source)) in document.items.iter().zip(&order.items).enumerate() {
        let unit_price = Money { amount_minor: in_source.unit_price, currency: order.currency.clone() };
        findings.compare(&format!("items[{position}].sku"), "", &in_view.sku, &in_source.sku, SERVICE);
        findings.compare(&format!("items[{position}].name"), "", &in_view.name, &in_source.name, SERVICE);
        findings.compare(&format!("items[{position}].quantity"), "", &in_view.quantity, &in_source.quantity, SERVICE);
        findings.compare(&format!("items[{position}].unit_price"), "", &in_view.unit_price, &unit_price, SERVICE);
    }
}

fn compare_payments(findings: &mut Findings, in_source: &[PaymentRecord], in_view: &[PaymentSummary]) {
    const SERVICE: &str = "payment-svc";
    let by_id: HashMap<Uuid, &PaymentSummary> = in_view.iter().map(|payment| (payment.payment_id, payment)).collect();
    for payment in in_source {
        let subject = format!("payment {}: ", payment.id);
        let viewed = by_id.get(&payment.id).copied();
        let version = viewed.map(|viewed| viewed.version);
        if !versions_agree(findings, "payments.version", &subject, version, payment.version, SERVICE) {
            continue;
        }
        let Some(viewed) = viewed else { continue };
        let amount = Money { amount_minor: payment.amount, currency: payment.currency.clone() };
        findings.compare("payments.status", &subject, &viewed.status, &payment.status, SERVICE);
        findings.compare("payments.method", &subject, &viewed.method, &payment.method, SERVICE);
        findings.compare("payments.amount", &subject, &viewed.amount, &amount, SERVICE);
        findings.compare("payments.decline_reason", &subject, &viewed.decline_reason, &payment.decline_reason, SERVICE);
        findings.compare("payments.created_at", &subject, &viewed.created_at, &payment.created_at, SERVICE);
        findings.compare("payments.updated_at", &subject, &viewed.updated_at, &payment.updated_at, SERVICE);
    }
    for viewed in in_view {
        if !in_source.iter().any(|payment| payment.id == viewed.payment_id) {
            let detail =
                format!("payment {}: version {} in the view, unknown to {SERVICE}", viewed.payment_id, viewed.version);
            findings.push(Category::Mismatched, Some("payments"), detail);
        }
    }
}

fn compare_shipments(findings: &mut Findings, in_source: &[ShipmentRecord], in_view: &[ShipmentSummary]) {
    const SERVICE: &str = "shipping-svc";
    let by_id: HashMap<Uuid, &ShipmentSummary> =
        in_view.iter().map(|shipment| (shipment.shipment_id, shipment)).collect();
    for shipment in in_source {
        let subject = format!("shipment {}: ", shipment.id);
        let viewed = by_id.get(&shipment.id).copied();
        let version = viewed.map(|viewed| viewed.version);
        if !versions_agree(findings, "shipments.version", &subject, version, shipment.version, SERVICE) {
            continue;
        }
        let Some(viewed) = viewed else { continue };
        let address = address_of(&shipment.address);
        findings.compare("shipments.carrier", &subject, &viewed.carrier, &shipment.carrier, SERVICE);
        findings.compare(
            "shipments.tracking_number",
            &subject,
            &viewed.tracking_number,
            &shipment.tracking_number,
            SERVICE,
        );
        findings.compare("shipments.status", &subject, &viewed.status, &shipment.status, SERVICE);
        findings.compare("shipments.last_location", &subject, &viewed.last_location, &shipment.last_location, SERVICE);
        findings.compare("shipments.address", &subject, &viewed.address, &address, SERVICE);
        findings.compare("shipments.created_at", &subject, &viewed.created_at, &shipment.created_at, SERVICE);
        findings.compare("shipments.updated_at", &subject, &viewed.updated_at, &shipment.updated_at, SERVICE);
    }
    for viewed in in_view {
        if !in_source.iter().any(|shipment| shipment.id == viewed.shipment_id) {
            let detail = format!(
                "shipment {}: version {} in the view, unknown to {SERVICE}",
                viewed.shipment_id, viewed.version
            );
            findings.push(Category::Mismatched, Some("shipments"), detail);
        }
    }
}

fn address_of(record: &AddressRecord) -> Address {
    Address {
        line1: record.line1.clone(),
        line2: record.line2.clone(),
        city: record.city.clone(),
        postal_code: record.postal_code.clone(),
        country: record.country.clone(),
    }
}

fn describe_source(source: &SourceOrder) -> String {
    let order = match &source.order {
        Some(order) => format!("order-svc has version {}", order.version),
        None => "order-svc has no such order".to_string(),
    };
    format!(
        "{order}, payment-svc {} payment(s), shipping-svc {} shipment(s)",
        source.payments.len(),
        source.shipments.len()
    )
}

fn describe_document(document: &OrderHistory) -> String {
    let order = match document.order_version {
        Some(version) => format!("order version {version}"),
        None => "no order (incomplete)".to_string(),
    };
    format!(
        "a document in the view with {order}, {} payment(s), {} shipment(s)",
        document.payments.len(),
        document.shipments.len()
    )
}

#[cfg(test)]
mod tests {
    use events::samples::{order_event, payment_event, shipment_event};
    use events::{OrderEventType, PaymentEventType};
    use order_view::{OrderStatus, PaymentMethod, PaymentStatus, ShipmentStatus, SourceEvent};

    use super::*;
    use crate::source::LineItemRecord;

    /// One order's events, and what the view and the services make of them: the view by the
    /// projection's own rules, the services' records from each aggregate's latest state.
    struct Story {
        order_id: Uuid,
        payment_id: Uuid,
        shipment_id: Uuid,
        events: Vec<SourceEvent>,
    }

    impl Story {
        /// An order placed then cancelled, a payment authorized then captured, a shipment
        /// created then dispatched.
        fn new() -> Story {
            let (order_id, payment_id, shipment_id) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
            let events = vec![
                SourceEvent::Order(order_event(order_id, OrderEventType::OrderPlaced, 1)),
                SourceEvent::Order(order_event(order_id, OrderEventType::OrderCancelled, 2)),
                SourceEvent::Payment(payment_event(order_id, payment_id, PaymentEventType::PaymentAuthorized, 1)),
                SourceEvent::Payment(payment_event(order_id, payment_id, PaymentEventType::PaymentCaptured, 2)),
                SourceEvent::Shipment(shipment_event(order_id, shipment_id, events::ShipmentStatus::Created, 1)),
                SourceEvent::Shipment(shipment_event(order_id, shipment_id, events::ShipmentStatus::Dispatched, 2)),
            ];
            Story { order_id, payment_id, shipment_id, events }
        }

        fn view(&self) -> OrderHistory {
            let mut document = OrderHistory::empty(self.order_id);
            for event in &self.events {
                document.apply(event);
            }
            document
        }

        fn source(&self) -> SourceOrder {
            let mut source = SourceOrder::default();
            for event in &self.events {
                match event {
                    SourceEvent::Order(event) => source.order = Some(order_record(event)),
                    SourceEvent::Payment(event) => {
                        source.payments.retain(|payment| payment.id != event.payment.payment_id);
                        source.payments.push(payment_record(event));
                    }
                    SourceEvent::Shipment(event) => {
                        source.shipments.retain(|shipment| shipment.id != event.shipment.shipment_id);
                        source.shipments.push(shipment_record(event));
                    }
                }
            }
            source
        }

        fn compare(&self, source: &SourceOrder, view: Option<&OrderHistory>) -> Vec<Drift> {
            compare_order(self.order_id, source, view)
        }
    }

    fn address_record(address: &events::Address) -> AddressRecord {
        AddressRecord {
            line1: address.line1.clone(),
            line2: address.line2.clone(),
            city: address.city.clone(),
            postal_code: address.postal_code.clone(),
            country: address.country.clone(),
        }
    }

    fn order_record(event: &events::OrderEvent) -> OrderRecord {
        let order = &event.order;
        OrderRecord {
            id: order.order_id,
            customer_id: order.customer.customer_id.clone(),
            customer_name: order.customer.name.clone(),
            customer_email: order.customer.email.clone(),
            currency: order.total.currency.clone(),
            items: order
                .items
                .iter()
                .map(|item| LineItemRecord {
                    sku: item.sku.clone(),
                    name: item.name.clone(),
                    quantity: item.quantity,
                    unit_price: item.unit_price.amount_minor,
                })
                .collect(),
            total: order.total.amount_minor,
            shipping_address: address_record(&order.shipping_address),
            status: OrderStatus::from(order.status),
            version: event.aggregate_version,
            created_at: order.placed_at,
            cancelled_at: order.cancelled_at,
            cancellation_reason: order.cancellation_reason.clone(),
        }
    }

    fn payment_record(event: &events::PaymentEvent) -> PaymentRecord {
        let payment = &event.payment;
        PaymentRecord {
            id: payment.payment_id,
            order_id: payment.order_id,
            amount: payment.amount.amount_minor,
            currency: payment.amount.currency.clone(),
            method: PaymentMethod::from(payment.method),
            status: PaymentStatus::from(payment.status),
            decline_reason: payment.decline_reason.clone(),
            version: event.aggregate_version,
            created_at: payment.created_at,
            updated_at: payment.updated_at,
        }
    }

    fn shipment_record(event: &events::ShipmentEvent) -> ShipmentRecord {
        let shipment = &event.shipment;
        ShipmentRecord {
            id: shipment.shipment_id,
            order_id: shipment.order_id,
            carrier: shipment.carrier.clone(),
            tracking_number: shipment.tracking_number.clone(),
            address: address_record(&shipment.address),
            status: ShipmentStatus::from(shipment.status),
            last_location: shipment.last_location.clone(),
            version: event.aggregate_version,
            created_at: shipment.created_at,
            updated_at: shipment.updated_at,
        }
    }

    /// `(category, field)` of each drift, in the order found.
    fn kinds(drifts: &[Drift]) -> Vec<(Category, Option<&str>)> {
        drifts.iter().map(|drift| (drift.category, drift.field.as_deref())).collect()
    }

    #[test]
    fn a_converged_document_has_no_drift() {
        let story = Story::new();
        assert_eq!(story.compare(&story.source(), Some(&story.view())), Vec::new());
    }

    #[test]
    fn an_order_without_a_document_is_missing() {
        let story = Story::new();
        let drifts = story.compare(&story.source(), None);
        assert_eq!(kinds(&drifts), vec![(Category::Missing, None)]);
        assert_eq!(drifts[0].order_id, story.order_id);
        assert!(drifts[0].detail.contains("order-svc has version 2"), "{}", drifts[0].detail);
    }

    #[test]
    fn a_payment_without_its_order_is_missing_from_the_view_too() {
        let story = Story::new();
        let source = SourceOrder { order: None, ..story.source() };
        assert_eq!(kinds(&story.compare(&source, None)), vec![(Category::Missing, None)]);
    }

    #[test]
    fn a_document_no_source_knows_is_extra() {
        let story = Story::new();
        let drifts = story.compare(&SourceOrder::default(), Some(&story.view()));
        assert_eq!(kinds(&drifts), vec![(Category::Extra, None)]);
        assert_eq!(story.compare(&SourceOrder::default(), None), Vec::new(), "known to neither side: no drift");
    }

    #[test]
    fn a_lower_or_absent_version_of_each_aggregate_is_stale() {
        let story = Story::new();
        let source = story.source();

        let mut older_order = story.view();
        older_order.order_version = Some(1);
        older_order.status = Some(OrderStatus::Placed);
        let drifts = story.compare(&source, Some(&older_order));
        assert_eq!(
            kinds(&drifts),
            vec![(Category::Stale, Some("order_version"))],
            "fields of a stale part are not compared"
        );
        assert!(drifts[0].detail.contains("version 1 in the view, 2 in order-svc"), "{}", drifts[0].detail);

        let mut without_payment = story.view();
        without_payment.payments.clear();
        let drifts = story.compare(&source, Some(&without_payment));
        assert_eq!(kinds(&drifts), vec![(Category::Stale, Some("payments.version"))]);
        assert!(drifts[0].detail.contains(&story.payment_id.to_string()), "names the payment: {}", drifts[0].detail);

        let mut older_shipment = story.view();
        older_shipment.shipments[0].version = 1;
        let drifts = story.compare(&source, Some(&older_shipment));
        assert_eq!(kinds(&drifts), vec![(Category::Stale, Some("shipments.version"))]);
        assert!(drifts[0].detail.contains(&story.shipment_id.to_string()), "names the shipment: {}", drifts[0].detail);

        let mut no_order_yet = story.view();
        no_order_yet.order_version = None;
        assert_eq!(kinds(&story.compare(&source, Some(&no_order_yet))), vec![(Category::Stale, Some("order_version"))]);
    }

    #[test]
    fn a_field_that_differs_at_equal_versions_is_mismatched_and_named() {
        let story = Story::new();
        let source = story.source();
        type Corruption = Box<dyn Fn(&mut OrderHistory)>;
        let cases: Vec<(&str, Corruption)> = vec![
            ("status", Box::new(|document| document.status = Some(OrderStatus::Placed))),
            ("incomplete", Box::new(|document| document.incomplete = true)),
            (
                "customer.name",
                Box::new(|document| document.customer.as_mut().expect("customer").name = "Mallory".into()),
            ),
            (
                "customer.email",
                Box::new(|document| document.customer.as_mut().expect("customer").email = "m@x.io".into()),
            ),
            ("currency", Box::new(|document| document.currency = Some("USD".into()))),
            ("total", Box::new(|document| document.total.as_mut().expect("total").amount_minor += 1)),
            (
                "items",
                Box::new(|document| {
                    document.items.pop();
                }),
            ),
            ("items[1].quantity", Box::new(|document| document.items[1].quantity = 5)),
            (
                "shipping_address",
                Box::new(|document| document.shipping_address.as_mut().expect("address").city = "Delft".into()),
            ),
            ("placed_at", Box::new(|document| document.placed_at = None)),
            ("cancellation_reason", Box::new(|document| document.cancellation_reason = None)),
            ("payments.status", Box::new(|document| document.payments[0].status = PaymentStatus::Refunded)),
            ("payments.amount", Box::new(|document| document.payments[0].amount.amount_minor = 1)),
            ("payments.method", Box::new(|document| document.payments[0].method = PaymentMethod::Card)),
            ("shipments.carrier", Box::new(|document| document.shipments[0].carrier = "DHL".into())),
            ("shipments.tracking_number", Box::new(|document| document.shipments[0].tracking_number = "X1".into())),
            ("shipments.status", Box::new(|document| document.shipments[0].status = ShipmentStatus::Delivered)),
        ];
        for (field, corrupt) in cases {
            let mut document = story.view();
            corrupt(&mut document);
            let drifts = story.compare(&source, Some(&document));
            assert_eq!(kinds(&drifts), vec![(Category::Mismatched, Some(field))], "corrupted {field}");
        }
    }

    #[test]
    fn a_mismatch_says_what_each_side_holds() {
        let story = Story::new();
        let mut document = story.view();
        document.customer.as_mut().expect("customer").name = "Mallory".into();
        let drifts = story.compare(&story.source(), Some(&document));
        assert_eq!(drifts[0].detail, r#""Mallory" in the view, "Zoë Ørsted-Nakamura" in order-svc"#);
    }

    #[test]
    fn a_view_ahead_of_its_source_is_mismatched() {
        let story = Story::new();
        let mut source = story.source();
        if let Some(order) = source.order.as_mut() {
            order.version = 1;
        }
        assert_eq!(
            kinds(&story.compare(&source, Some(&story.view()))),
            vec![(Category::Mismatched, Some("order_version"))]
        );

        let mut without_payments = story.source();
        without_payments.payments.clear();
        let drifts = story.compare(&without_payments, Some(&story.view()));
        assert_eq!(
            kinds(&drifts),
            vec![(Category::Mismatched, Some("payments"))],
            "a payment the source does not know"
        );

        let without_order = SourceOrder { order: None, ..story.source() };
        let drifts = story.compare(&without_order, Some(&story.view()));
        assert_eq!(
            kinds(&drifts),
            vec![(Category::Mismatched, Some("order_version"))],
            "an order the source does not know"
        );
    }

    #[test]
    fn payments_and_shipments_without_their_order_agree_with_an_incomplete_document() {
        let story = Story::new();
        let early = Story {
            events: story.events.iter().filter(|event| !matches!(event, SourceEvent::Order(_))).cloned().collect(),
            ..story
        };
        let document = early.view();
        assert!(document.incomplete);
        assert_eq!(early.compare(&early.source(), Some(&document)), Vec::new());
    }

    #[test]
    fn several_differences_in_one_document_are_all_reported() {
        let story = Story::new();
        let mut document = story.view();
        document.status = Some(OrderStatus::Placed);
        document.shipments[0].version = 1;
        let drifts = story.compare(&story.source(), Some(&document));
        assert_eq!(
            kinds(&drifts),
            vec![(Category::Mismatched, Some("status")), (Category::Stale, Some("shipments.version"))]
        );
        assert!(drifts.iter().all(|drift| drift.order_id == story.order_id));
    }
}
