use std::time::Duration;

use reqwest::StatusCode;
use testkit_http::status_and_json;

use crate::helpers::{config, spawn_composer, spawn_web};

#[tokio::test]
async fn an_unreachable_design_is_a_502_that_names_it() {
    let web = spawn_web(config()).await;
    let response = web.client.get(web.url("/api/order-history/orders?q=tea")).send().await.expect("web answers");
    assert!(response.headers().contains_key("server-timing"));
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let message = body["error"].as_str().expect("a message");
    assert!(message.starts_with("order-history is unreachable: "), "{message}");
}

#[tokio::test]
async fn a_design_that_does_not_answer_in_time_is_a_504() {
    // accepts connections (the kernel does) and never answers
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut config = config();
    config.order_history_url = format!("http://{}", silent.local_addr().expect("address"));
    config.upstream_timeout_ms = 300;
    let web = spawn_web(config).await;
    let started = std::time::Instant::now();
    let (status, body) =
        status_and_json(web.client.get(web.url("/api/order-history/orders")).send().await.expect("web answers")).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["error"], "order-history did not answer in time");
    assert!(started.elapsed() < Duration::from_secs(5), "cut at the upstream timeout");
}

#[tokio::test]
async fn an_unknown_design_is_refused_by_name() {
    let web = spawn_web(config()).await;
    let (status, body) =
        status_and_json(web.client.get(web.url("/api/graphql/orders")).send().await.expect("web answers")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["field"], "design");
    assert!(body["error"].as_str().expect("a message").contains("\"graphql\""), "{body}");
}

#[tokio::test]
async fn composer_answers_reach_the_page_unchanged_with_its_headers_and_timing() {
    let (composer_url, _stop) = spawn_composer(crate::helpers::nowhere()).await;
    let mut config = config();
    config.composer_url = composer_url;
    let web = spawn_web(config).await;

    // composer's own failure (order-svc is down) and its fan-out header come through as they
    // are, read with web's own service token
    let id = uuid::Uuid::now_v7();
    let response = web.client.get(web.url(&format!("/api/composer/orders/{id}"))).send().await.expect("web answers");
    let timing = response.headers()["server-timing"].to_str().expect("ascii").to_string();
    assert!(timing.starts_with("upstream;dur=") && timing.contains("desc=\"composer\""), "{timing}");
    let calls: u32 = response.headers()["x-downstream-calls"].to_str().expect("ascii").parse().expect("a number");
    assert!(calls >= 1, "composer called order-svc");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["error"].as_str().expect("a message").contains("order-svc"), "{body}");

    // a query composer refuses is refused with composer's words
    let (status, body) =
        status_and_json(web.client.get(web.url("/api/composer/orders?q=tea")).send().await.expect("web answers")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "customer_id");
}

#[tokio::test]
async fn a_caller_with_its_own_token_reads_with_it() {
    let (composer_url, _stop) = spawn_composer(crate::helpers::nowhere()).await;
    let mut config = config();
    config.composer_url = composer_url;
    let web = spawn_web(config).await;
    let (status, _) = status_and_json(
        web.client
            .get(web.url(&format!("/api/composer/orders/{}", uuid::Uuid::now_v7())))
            .bearer_auth("garbage")
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the caller's token is passed on, not replaced");
    let customer = testkit_http::customer_token("cust-1");
    let (status, body) = status_and_json(
        web.client
            .get(web.url("/api/composer/orders?customer_id=cust-2"))
            .bearer_auth(customer)
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a customer stays scoped to their own orders: {body}");
}

#[tokio::test]
async fn an_authorization_header_web_cannot_read_is_refused_not_replaced() {
    let (composer_url, _stop) = spawn_composer(crate::helpers::nowhere()).await;
    let mut config = config();
    config.composer_url = composer_url;
    let web = spawn_web(config).await;
    let unreadable = reqwest::header::HeaderValue::from_bytes(b"Bearer caf\xe9").expect("a header value");
    for path in ["/api/composer/orders?q=tea", "/api/order-history/orders"] {
        let request = web.client.get(web.url(path)).header(reqwest::header::AUTHORIZATION, unreadable.clone());
        let (status, body) = status_and_json(request.send().await.expect("answers")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(body["field"], "authorization", "{body}");
    }
}

#[tokio::test]
async fn an_id_that_is_not_a_uuid_is_refused_before_it_is_relayed() {
    // order-history is unreachable: a relayed request would answer 502, not 400
    let web = spawn_web(config()).await;
    for id in ["not-a-uuid", ".%0A.", "..%2F", "0190c0de-0000-7000-8000-00000000000%0A"] {
        let response = web.client.get(web.url(&format!("/api/order-history/orders/{id}"))).send().await;
        let (status, body) = status_and_json(response.expect("answers")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}: {body}");
        assert_eq!(body["field"], "id", "{body}");
        assert!(!body.to_string().contains("unreachable"), "{id} was relayed: {body}");
    }
}
