//! What the order-history and composer benches seed: one order's three events, varied enough
//! that text and filters select realistic subsets, and a progress bar.
//!
//! Included by path (`#[path = "support/seed.rs"] mod seed;`), so each bench target compiles
//! only what it uses.

use events::{
    Address, Customer, LineItem, Money, Order, OrderEvent, OrderEventType, OrderStatus, Payment, PaymentEvent,
    PaymentEventType, PaymentMethod, PaymentStatus, Shipment, ShipmentEvent, ShipmentEventType, ShipmentStatus,
};
use events::{Event, EventCodec};
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::producer::{FutureProducer, FutureRecord};
use uuid::Uuid;

pub const FIRST_NAMES: [&str; 24] = [
    "Amara", "Bjorn", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kenji", "Lucia", "Mateo",
    "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamar", "Ugo", "Vera", "Wen", "Zoe",
];
const LAST_NAMES: [&str; 24] = [
    "Okafor",
    "Lindqvist",
    "Romano",
    "Petrov",
    "Yilmaz",
    "Haddad",
    "Novak",
    "Sato",
    "Moreau",
    "Weber",
    "Tanaka",
    "Garcia",
    "Silva",
    "Kowalski",
    "Berg",
    "Sharma",
    "Dupont",
    "Alvarez",
    "Nilsson",
    "Levi",
    "Bianchi",
    "Ivanova",
    "Chen",
    "Muller",
];
/// Product names; the last word of each is what a customer searches for.
pub const PRODUCTS: [&str; 16] = [
    "Copper tea kettle",
    "Stoneware mug",
    "Linen tablecloth",
    "Walnut cutting board",
    "Cast iron skillet",
    "Ceramic pour over",
    "Wool throw blanket",
    "Bamboo steamer",
    "Glass storage jar",
    "Oak serving tray",
    "Enamel dutch oven",
    "Marble mortar",
    "Cotton apron",
    "Brass candle holder",
    "Porcelain teapot",
    "Chef knife",
];
pub const CITIES: [&str; 8] = ["Amsterdam", "Lisbon", "Berlin", "Turin", "Gdansk", "Lyon", "Uppsala", "Porto"];

pub fn at(millis: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// One order's three events, varied enough that text and filters select realistic subsets.
pub fn order_events(
    sequence: u64,
    customer_id: String,
    occurred_at_ms: i64,
) -> (OrderEvent, PaymentEvent, ShipmentEvent) {
    let order_id = Uuid::now_v7();
    let pick = |modulus: usize, salt: u64| {
        ((sequence.wrapping_mul(2_654_435_761).wrapping_add(salt)) % modulus as u64) as usize
    };
    let first = FIRST_NAMES[pick(FIRST_NAMES.len(), 1)];
    let last = LAST_NAMES[pick(LAST_NAMES.len(), 7)];
    let city = CITIES[pick(CITIES.len(), 13)];
    let money = |amount_minor: i64| Money { amount_minor, currency: "EUR".to_string() };
    let items: Vec<LineItem> = (0..1 + pick(3, 17))
        .map(|index| {
            let name = PRODUCTS[pick(PRODUCTS.len(), 31 + index as u64)];
            LineItem {
                sku: format!("SKU-{:05}", pick(5000, 41 + index as u64)),
                name: name.to_string(),
                quantity: 1 + pick(3, 43) as i32,
                unit_price: money(500 + pick(20_000, 47 + index as u64) as i64),
            }
        })
        .collect();
    let total: i64 = items.iter().map(|item| item.unit_price.amount_minor * i64::from(item.quantity)).sum();
    let address = Address {
        line1: format!("{} Market Street", 1 + pick(300, 53)),
        line2: None,
        city: city.to_string(),
        postal_code: format!("{:05}", pick(99_999, 59)),
        country: "NL".to_string(),
    };
    let placed_at = at(occurred_at_ms);
    let order = OrderEvent {
        event_id: Uuid::now_v7(),
        event_type: OrderEventType::OrderPlaced,
        occurred_at: placed_at,
        order_id,
        aggregate_id: order_id,
        aggregate_version: 1,
        order: Order {
            order_id,
            customer: Customer {
                customer_id,
                name: format!("{first} {last}"),
                email: format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), sequence % 97),
            },
            items,
            total: money(total),
            shipping_address: address.clone(),
            status: OrderStatus::Placed,
            placed_at,
            cancelled_at: None,
            cancellation_reason: None,
        },
    };
    let payment_id = Uuid::now_v7();
    let payment = PaymentEvent {
        event_id: Uuid::now_v7(),
        event_type: PaymentEventType::PaymentAuthorized,
        occurred_at: placed_at,
        order_id,
        aggregate_id: payment_id,
        aggregate_version: 1,
        payment: Payment {
            payment_id,
            order_id,
            amount: money(total),
            method: PaymentMethod::Card,
            status: PaymentStatus::Authorized,
            decline_reason: None,
            created_at: placed_at,
            updated_at: placed_at,
        },
    };
    let shipment_id = Uuid::now_v7();
    let shipment = ShipmentEvent {
        event_id: Uuid::now_v7(),
        event_type: ShipmentEventType::ShipmentCreated,
        occurred_at: placed_at,
        order_id,
        aggregate_id: shipment_id,
        aggregate_version: 1,
        shipment: Shipment {
            shipment_id,
            order_id,
            carrier: "PostNL".to_string(),
            tracking_number: format!("3S{:013}", sequence),
            address,
            status: ShipmentStatus::Created,
            last_location: None,
            note: None,
            created_at: placed_at,
            updated_at: placed_at,
        },
    };
    (order, payment, shipment)
}

pub fn bar(length: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} ({{per_sec}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Deliveries sent and not yet acknowledged.
pub type InFlight = FuturesUnordered<BoxFuture<'static, ()>>;

/// Encodes one order's three events and sends them as the outbox relay would (wire-format Avro,
/// keyed by order id) without waiting for each delivery: librdkafka batches them, and the
/// deliveries join `in_flight`.
pub async fn send_order_events(
    codec: &EventCodec,
    producer: &FutureProducer,
    (order, payment, shipment): &(OrderEvent, PaymentEvent, ShipmentEvent),
    in_flight: &mut InFlight,
) {
    let key = order.order_id.to_string();
    let values = [
        (OrderEvent::TOPIC, codec.encode(order).await.expect("encodes")),
        (PaymentEvent::TOPIC, codec.encode(payment).await.expect("encodes")),
        (ShipmentEvent::TOPIC, codec.encode(shipment).await.expect("encodes")),
    ];
    for (topic, value) in values {
        let (producer, key) = (producer.clone(), key.clone());
        in_flight.push(Box::pin(async move {
            let record = FutureRecord::to(topic).key(&key).payload(&value);
            producer
                .send(record, std::time::Duration::from_secs(60))
                .await
                .map_err(|(error, _)| error)
                .expect("delivered");
        }));
    }
}

/// Publishes the orders of `sequences`, three events each, as the outbox relays would, with at
/// most `max_in_flight` deliveries outstanding, placed 90 s apart from a year ago; `on_order`
/// sees each order's events before they are sent.
pub async fn fill(
    infra: &testkit::TestInfra,
    client_id: &str,
    sequences: std::ops::Range<u64>,
    customer_of: impl Fn(u64) -> String,
    max_in_flight: usize,
    mut on_order: impl FnMut(&(OrderEvent, PaymentEvent, ShipmentEvent)),
) {
    use rdkafka::producer::Producer;
    let codec = infra.codec();
    let producer: FutureProducer = infra
        .kafka
        .producer_config(client_id)
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "500000")
        .create()
        .expect("producer");
    let progress = bar((sequences.end - sequences.start) * 3, "fill   ");
    let base_ms = chrono::Utc::now().timestamp_millis() - 86_400_000 * 365;
    let mut in_flight = InFlight::new();
    for sequence in sequences {
        let events = order_events(sequence, customer_of(sequence), base_ms + sequence as i64 * 90_000);
        on_order(&events);
        send_order_events(&codec, &producer, &events, &mut in_flight).await;
        while in_flight.len() > max_in_flight {
            futures::StreamExt::next(&mut in_flight).await;
            progress.inc(1);
        }
    }
    while futures::StreamExt::next(&mut in_flight).await.is_some() {
        progress.inc(1);
    }
    producer.flush(std::time::Duration::from_secs(60)).expect("flushed");
    progress.finish();
}
