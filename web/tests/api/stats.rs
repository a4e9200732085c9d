//! `GET /api/{design}/stats`: the period statistics of either design, relayed with the query
//! string as the browser sent it.

use reqwest::StatusCode;
use testkit_http::status_and_json;

use crate::helpers::{config, nowhere, spawn_composer, spawn_web};

const RANGE: &str = "from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z";

#[tokio::test]
async fn composer_statistics_reach_the_page_with_their_coverage_and_calls() {
    // order-svc is down: composer still answers, and says plainly what it could not read
    let (composer_url, _stop) = spawn_composer(nowhere()).await;
    let mut config = config();
    config.composer_url = composer_url;
    let web = spawn_web(config).await;
    let response = web
        .client
        .get(web.url(&format!("/api/composer/stats?{RANGE}&granularity=day&group_by=status")))
        .send()
        .await
        .expect("web answers");
    let timing = response.headers()["server-timing"].to_str().expect("ascii").to_string();
    assert!(timing.contains("desc=\"composer\""), "{timing}");
    let calls: u32 = response.headers()["x-downstream-calls"].to_str().expect("ascii").parse().expect("a number");
    assert!(calls >= 1, "composer called order-svc");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // the query string reached composer unchanged: it echoes the range and the grouping
    assert_eq!(body["from"], "2026-01-01T00:00:00Z", "{body}");
    assert_eq!(body["group_by"], "status", "{body}");
    assert_eq!(body["buckets"], serde_json::json!([]), "{body}");
    assert_eq!(body["stale"], true, "{body}");
    assert_eq!(body["coverage"]["complete"], false, "{body}");
    let missing = body["coverage"]["missing"][0].as_str().expect("what is missing");
    assert!(missing.contains("order-svc unavailable"), "{missing}");
}

#[tokio::test]
async fn a_statistics_query_the_design_refuses_is_passed_through_with_its_message() {
    let (composer_url, _stop) = spawn_composer(nowhere()).await;
    let mut config = config();
    config.composer_url = composer_url;
    let web = spawn_web(config).await;
    for (query, field) in [
        ("from=yesterday&to=2026-01-08T00:00:00Z", "from"),
        (&format!("{RANGE}&granularity=week") as &str, "granularity"),
        (&format!("{RANGE}&group_by=colour"), "group_by"),
        (&format!("{RANGE}&limit=5"), "query"),
    ] {
        let response = web.client.get(web.url(&format!("/api/composer/stats?{query}"))).send().await;
        let (status, body) = status_and_json(response.expect("web answers")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
        assert!(body["error"].as_str().is_some_and(|message| !message.is_empty()), "{body}");
    }
}

#[tokio::test]
async fn statistics_of_an_unknown_or_unreachable_design_name_it() {
    let web = spawn_web(config()).await;
    let (status, body) = status_and_json(
        web.client.get(web.url(&format!("/api/graphql/stats?{RANGE}"))).send().await.expect("web answers"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["field"], "design");
    assert!(body["error"].as_str().expect("a message").contains("\"graphql\""), "{body}");

    let (status, body) = status_and_json(
        web.client.get(web.url(&format!("/api/order-history/stats?{RANGE}"))).send().await.expect("web answers"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let message = body["error"].as_str().expect("a message");
    assert!(message.starts_with("order-history is unreachable: "), "{message}");
}

#[tokio::test]
async fn statistics_are_read_with_the_callers_token_when_it_brings_one() {
    let (composer_url, _stop) = spawn_composer(nowhere()).await;
    let mut config = config();
    config.composer_url = composer_url;
    let web = spawn_web(config).await;
    // the numbers span every customer: a customer's own token is passed on, and refused there
    let customer = testkit_http::customer_token("cust-1");
    let (status, body) = status_and_json(
        web.client
            .get(web.url(&format!("/api/composer/stats?{RANGE}")))
            .bearer_auth(customer)
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}
