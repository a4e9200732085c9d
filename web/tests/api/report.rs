use reqwest::StatusCode;
use testkit_http::status_and_json;

use crate::helpers::{config, spawn_web};

const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>";

/// A report.json as compare writes it, cut down to what the page shows.
fn report_json() -> serde_json::Value {
    serde_json::json!({
        "runs": 3,
        "charts": [
            {"file": "latency.svg", "title": "latency percentiles by scenario"},
            {"file": "../outside.svg", "title": "escape"}
        ],
        "capacity": [
            {"design": "order-history", "kind": "GET /orders/{id}", "slo_ms": 100.0, "rps": 4800.0,
             "failed_at_rps": 5200.0, "bound": "slo", "probes": [], "not_servable": null},
            {"design": "composer", "kind": "GET /orders?q", "slo_ms": 100.0, "rps": 0.0,
             "failed_at_rps": null, "bound": null, "probes": [], "not_servable": "400: q needs customer_id"}
        ],
        "verdicts": [
            {"question": "get 600/s", "figure": "p99_ms", "scenario": "get_by_id", "endpoint": "GET /orders/{id}",
             "condition": {"kind": "healthy"}, "target_rps": 600.0, "ratio": 0.4, "ci_low": 0.3, "ci_high": 0.6,
             "winner": "order-history", "invalid": null}
        ],
        "standing_cost": [{"process": "broker", "cores": 0.012, "design": "order-history"}],
        "get_by_id": []
    })
}

#[tokio::test]
async fn the_page_reads_the_latest_report_json_and_serves_only_its_charts() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("report.json"), report_json().to_string()).expect("write");
    // a markdown report naming another chart is not what the page reads
    std::fs::write(dir.path().join("report.md"), "# report\n![other](other.svg)\n").expect("write");
    std::fs::write(dir.path().join("latency.svg"), SVG).expect("write");
    std::fs::write(dir.path().join("other.svg"), SVG).expect("write");
    let mut config = config();
    config.report_dir = dir.path().to_path_buf();
    let web = spawn_web(config).await;

    let (status, report) = status_and_json(web.client.get(web.url("/api/report")).send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["available"], true);
    assert_eq!(report["runs"], 3);
    assert_eq!(
        report["charts"],
        serde_json::json!([{"file": "latency.svg", "title": "latency percentiles by scenario"}])
    );
    assert_eq!(report["capacity"][0]["rps"], 4800.0);
    assert_eq!(report["capacity"][1]["not_servable"], "400: q needs customer_id");
    assert_eq!(report["verdicts"][0]["winner"], "order-history");
    assert_eq!(report["standing_cost"][0]["process"], "broker");

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
async fn a_file_that_is_not_a_report_is_named_as_such() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("report.json"), r#"{"capacity": "not a list"}"#).expect("write");
    let mut config = config();
    config.report_dir = dir.path().to_path_buf();
    let web = spawn_web(config).await;
    let (status, report) = status_and_json(web.client.get(web.url("/api/report")).send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["available"], false);
    assert!(report["problem"].as_str().expect("a problem").contains("report.json is not a compare report"), "{report}");
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
