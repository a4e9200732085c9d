use reqwest::StatusCode;
use testkit_http::status_and_json;

use crate::helpers::{config, spawn_web};

const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>";

#[tokio::test]
async fn the_latest_reports_charts_are_listed_and_served_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("report.md"),
        "# report\n![latency percentiles by scenario](latency.svg)\n![escape](../outside.svg)\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("latency.svg"), SVG).expect("write");
    std::fs::write(dir.path().join("other.svg"), SVG).expect("write");
    std::fs::write(dir.path().join("report.json"), "{}").expect("write");
    let mut config = config();
    config.report_dir = dir.path().to_path_buf();
    let web = spawn_web(config).await;

    let (status, report) = status_and_json(web.client.get(web.url("/api/report")).send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["available"], true);
    assert_eq!(
        report["charts"],
        serde_json::json!([{"file": "latency.svg", "title": "latency percentiles by scenario"}])
    );

    let chart = web.client.get(web.url("/report/latency.svg")).send().await.expect("answers");
    assert_eq!(chart.status(), StatusCode::OK);
    assert_eq!(chart.headers()["content-type"], "image/svg+xml");
    assert!(chart.headers()["content-security-policy"].to_str().expect("ascii").contains("sandbox"));
    assert_eq!(chart.text().await.expect("text"), SVG);
    for unlisted in ["/report/other.svg", "/report/report.json", "/report/..%2Foutside.svg", "/report/missing.svg"] {
        let (status, body) = status_and_json(web.client.get(web.url(unlisted)).send().await.expect("answers")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unlisted}: {body}");
    }
}

#[tokio::test]
async fn without_a_report_the_page_is_told_where_one_would_be() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = config();
    config.report_dir = dir.path().join("report");
    let web = spawn_web(config).await;
    let (status, report) = status_and_json(web.client.get(web.url("/api/report")).send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["available"], false);
    assert_eq!(report["charts"], serde_json::json!([]));
    assert!(report["report_dir"].as_str().expect("a dir").ends_with("report"));
}
