//! Who may read what: a customer reads only their own orders, whatever the query asks; a
//! service reads everything; the admin endpoints take the admin token only.

use reqwest::{Method, StatusCode};
use testkit::access::{Credential, Expect, assert_access};

use crate::helpers::{Backend, TestWorld, hit_ids};
use crate::stories::Story;

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_reads_only_their_own_orders_and_a_service_reads_all() {
    let world = TestWorld::start(Backend::Tantivy).await;
    let app = world.spawn_app().await;
    let (ada, bob) = (Story::new(), Story::new());
    world.publish(&ada.placed("Ada Lovelace", "Analytical engine", 4200)).await;
    world.publish(&bob.placed("Bob Stone", "Slate tablet", 1300)).await;
    world.wait_for_order(&app, ada.order_id, |_| true).await;
    world.wait_for_order(&app, bob.order_id, |_| true).await;
    let (ada_token, bob_token) =
        (testkit::customer_token("cust-ada.lovelace"), testkit::customer_token("cust-bob.stone"));

    // by id: the owner and a service see it; another customer gets the same 404 as for an
    // order that does not exist
    let path = format!("/orders/{}", ada.order_id);
    assert_eq!(world.get_as(&app, &path, Some(&ada_token)).await.0, StatusCode::OK);
    assert_eq!(world.get_as(&app, &path, Some(&testkit::service_token())).await.0, StatusCode::OK);
    let (status, body) = world.get_as(&app, &path, Some(&bob_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) =
        world.get_as(&app, &format!("{path}?min_version={}:1&wait_ms=50", ada.order_id), Some(&bob_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "read-your-writes does not leak either");

    // search: a customer's search is narrowed to their orders, even without customer_id
    let (status, body) = world.get_as(&app, "/orders", Some(&ada_token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hit_ids(&body), vec![ada.order_id.to_string()]);
    let (_, body) = world.get_as(&app, "/orders?q=slate", Some(&ada_token)).await;
    assert!(hit_ids(&body).is_empty(), "ada finds nothing of bob's: {body}");
    let (_, body) = world.get_as(&app, "/orders?include_incomplete=true", Some(&bob_token)).await;
    assert_eq!(hit_ids(&body), vec![bob.order_id.to_string()]);
    // asking for someone else's orders is refused, not silently narrowed
    let (status, body) = world.get_as(&app, "/orders?customer_id=cust-bob.stone", Some(&ada_token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "a customer token reads only its own orders");
    // relevance is scored over every customer's orders: a customer's search is not ranked, so
    // neither a score nor an order by it tells them about the words in others' orders
    let (status, body) = world.get_as(&app, "/orders?q=engine&sort=relevance", Some(&ada_token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(hit_ids(&body), vec![ada.order_id.to_string()]);
    assert!(body["hits"][0]["score"].is_null(), "{body}");
    let (_, body) = world.get_as(&app, "/orders?q=engine", Some(&testkit::service_token())).await;
    assert!(body["hits"][0]["score"].as_f64().is_some_and(|score| score > 0.0), "a service's search is ranked: {body}");
    // a customer token whose own id no order can have is a bad request, as in composer
    for odd in ["cust ada", &"c".repeat(200)] {
        let (status, body) = world.get_as(&app, "/orders", Some(&testkit::customer_token(odd))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["field"], "customer_id", "{body}");
    }
    // a service searches everyone
    let (_, body) = world.get_as(&app, "/orders", Some(&testkit::service_token())).await;
    assert_eq!(hit_ids(&body).len(), 2);

    // every credential against every route
    let client = reqwest::Client::new();
    let base = format!("http://{}", app.address);
    for path in ["/orders".to_string(), format!("/orders/{}", Story::new().order_id)] {
        assert_access(&client, Method::GET, &format!("{base}{path}"), None, |credential| match credential {
            Credential::Service => Expect::Allowed,
            customer if customer.is_customer() => Expect::Allowed,
            _ => Expect::Unauthorized,
        })
        .await;
    }
    let admin_only = |credential: &Credential| match credential {
        Credential::Admin => Expect::Allowed,
        _ => Expect::Unauthorized,
    };
    let admin_reads = [
        "/admin/rebuild",
        "/admin/repair",
        "/admin/snapshots",
        "/admin/snapshots/order-view/latest/manifest.json",
        "/admin/snapshots/order-view/latest/files/meta.json",
    ];
    for path in admin_reads {
        assert_access(&client, Method::GET, &format!("{base}{path}"), None, admin_only).await;
    }
    // a repair naming no order is refused after the token is checked, so nothing is repaired
    let no_orders = serde_json::json!({});
    assert_access(&client, Method::POST, &format!("{base}/admin/repair"), Some(&no_orders), admin_only).await;
    // operational routes stay open: probes and scrapers carry no tokens
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let status = client.get(format!("{base}{path}")).send().await.expect("answers").status();
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    app.stop().await;
}
