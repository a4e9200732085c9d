use reqwest::StatusCode;
use testkit_http::status_and_json;

use crate::helpers::{config, spawn_web};

#[tokio::test]
async fn every_page_and_its_assets_are_served_from_the_binary_with_a_strict_policy() {
    let web = spawn_web(config()).await;
    for (path, content_type, marker) in [
        ("/", "text/html", "Search orders"),
        ("/compare", "text/html", "One request, two designs"),
        ("/stats", "text/html", "Order statistics"),
        ("/assets/search.js", "text/javascript", "order-history"),
        ("/assets/compare.js", "text/javascript", "/api/faults"),
        ("/assets/stats.js", "text/javascript", "/stats?"),
        ("/assets/common.js", "text/javascript", "export async function callApi"),
        ("/assets/style.css", "text/css", ":root"),
    ] {
        let response = web.client.get(web.url(path)).send().await.expect("web answers");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert!(headers["content-type"].to_str().expect("ascii").starts_with(content_type), "{path}: {headers:?}");
        let policy = headers["content-security-policy"].to_str().expect("ascii");
        assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{path}: {policy}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let body = response.text().await.expect("text");
        assert!(body.contains(marker), "{path} holds {marker:?}");
    }
}

#[tokio::test]
async fn nothing_is_fetched_from_another_origin() {
    let web = spawn_web(config()).await;
    for path in [
        "/",
        "/compare",
        "/stats",
        "/assets/search.js",
        "/assets/compare.js",
        "/assets/stats.js",
        "/assets/common.js",
        "/assets/style.css",
    ] {
        let body = web.client.get(web.url(path)).send().await.expect("web answers").text().await.expect("text");
        for line in body.lines() {
            let external = ["src=\"http", "href=\"http", "url(http", "import \"http", "from \"http", "fetch(\"http"];
            assert!(!external.iter().any(|pattern| line.contains(pattern)), "{path} reaches out: {line}");
        }
    }
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404_and_probes_answer() {
    let web = spawn_web(config()).await;
    let (status, body) = status_and_json(web.client.get(web.url("/nope")).send().await.expect("web answers")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no such route");
    let (status, _) = status_and_json(web.client.get(web.url("/readyz")).send().await.expect("web answers")).await;
    assert_eq!(status, StatusCode::OK, "ready although every service is down: the pages show that");
    let metrics = web.client.get(web.url("/metrics")).send().await.expect("web answers");
    assert_eq!(metrics.status(), StatusCode::OK);
}

#[tokio::test]
async fn it_refuses_to_start_without_a_read_token_or_with_a_short_admin_token() {
    let mut without_token = config();
    without_token.read_token = None;
    let error = web::app::Application::start(&without_token).await.err().expect("refused");
    assert!(format!("{error:#}").contains("READ_TOKEN"), "{error:#}");
    let mut customer_token = config();
    customer_token.read_token = Some(testkit_http::customer_token("customer-a").as_str().into());
    let error = web::app::Application::start(&customer_token).await.err().expect("refused");
    assert!(format!("{error:#}").contains("service token"), "{error:#}");
    let mut short_admin = config();
    short_admin.admin_token = Some("short".into());
    let error = web::app::Application::start(&short_admin).await.err().expect("refused");
    assert!(format!("{error:#}").contains("admin token"), "{error:#}");
    let mut bad_url = config();
    bad_url.composer_url = "composer:8020".to_string();
    let error = web::app::Application::start(&bad_url).await.err().expect("refused");
    assert!(format!("{error:#}").contains("--composer-url"), "{error:#}");
}
