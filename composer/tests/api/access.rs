//! Who may read what through composer: the same rules as order-history, enforced by composer
//! before it answers, while its own calls to the source services carry its service token.

use reqwest::{Method, StatusCode};
use testkit::access::{Credential, Expect, assert_access};

use crate::helpers::{Sources, Writer, id_of, spawn_composer};

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_reads_only_their_own_orders_and_a_service_reads_all() {
    let sources = Sources::start().await;
    let composer = spawn_composer(sources.composer_config()).await;
    let writer = Writer { sources: &sources };
    let ada_order = id_of(&writer.place_simple_order("cust-ada").await);
    let bob_order = id_of(&writer.place_simple_order("cust-bob").await);
    let (ada, bob) = (testkit::customer_token("cust-ada"), testkit::customer_token("cust-bob"));

    let (status, _, body) = composer.get_as(&format!("/orders/{ada_order}"), Some(&ada)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = composer.get_as(&format!("/orders/{ada_order}"), Some(&bob)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another customer's order answers as absent: {body}");
    assert_eq!(body["error"], format!("order {ada_order} not found"));

    // a customer token stands for its customer_id: composition can then search without one
    let (status, _, body) = composer.get_as("/orders", Some(&bob)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hits: Vec<&str> = body["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["document"]["order_id"].as_str().expect("id"))
        .collect();
    assert_eq!(hits, vec![bob_order.as_str()]);
    let (status, _, body) = composer.get_as("/orders?customer_id=cust-ada", Some(&bob)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // a customer token whose own id no order can have is a bad request, as in order-history,
    // not order-svc's refusal passed on as a 502
    for odd in ["cust ada", &"c".repeat(200)] {
        let (status, _, body) = composer.get_as("/orders", Some(&testkit::customer_token(odd))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["field"], "customer_id", "{body}");
    }
    // a service still has to name the customer: composition cannot search everyone
    let (status, _, body) = composer.get("/orders").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let client = reqwest::Client::new();
    for path in ["/orders?customer_id=customer-a".to_string(), format!("/orders/{ada_order}")] {
        assert_access(&client, Method::GET, &composer.url(&path), None, |credential| match credential {
            Credential::Service => Expect::Allowed,
            customer if customer.is_customer() => Expect::Allowed,
            _ => Expect::Unauthorized,
        })
        .await;
    }
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/breakers"] {
        let status = client.get(composer.url(path)).send().await.expect("answers").status();
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    composer.stop().await;
}
