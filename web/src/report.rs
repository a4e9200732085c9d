//! The latest `compare` report's charts: `GET /api/report` lists them, `GET /report/{file}`
//! serves one. The charts are the images `report.md` links to, in its order, so the page shows
//! what the report shows, and no other file of the directory is ever served.

use std::path::{Path as FsPath, PathBuf};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use platform::http::json_error;
use serde::Serialize;

use crate::app::AppState;

const REPORT: &str = "report.md";

#[derive(Debug, PartialEq, Serialize)]
pub struct Chart {
    /// The file name, served at `/report/{file}`.
    pub file: String,
    /// The image's alt text in the report.
    pub title: String,
}

#[derive(Debug, Serialize)]
pub struct LatestReport {
    pub available: bool,
    /// When `report.md` was last written.
    pub written_at: Option<DateTime<Utc>>,
    pub charts: Vec<Chart>,
    /// Where the pages looked, so that an empty answer says where a report would be.
    pub report_dir: String,
}

pub async fn latest_report(State(state): State<AppState>) -> Json<LatestReport> {
    let dir = &state.report_dir;
    let report = dir.join(REPORT);
    let (charts, written_at) = match tokio::fs::read_to_string(&report).await {
        Ok(markdown) => {
            let written_at =
                tokio::fs::metadata(&report).await.and_then(|meta| meta.modified()).ok().map(DateTime::from);
            (charts_in(&markdown), written_at)
        }
        Err(_) => (Vec::new(), None),
    };
    Json(LatestReport { available: written_at.is_some(), written_at, charts, report_dir: dir.display().to_string() })
}

pub async fn chart(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let not_found =
        || json_error(StatusCode::NOT_FOUND, &format!("the latest report has no chart {file:?}"), Some("file"));
    let Ok(markdown) = tokio::fs::read_to_string(state.report_dir.join(REPORT)).await else {
        return not_found();
    };
    if !charts_in(&markdown).iter().any(|chart| chart.file == file) {
        return not_found();
    }
    let Ok(bytes) = tokio::fs::read(state.report_dir.join(&file)).await else {
        return not_found();
    };
    let content_type = if file.ends_with(".svg") { "image/svg+xml" } else { "image/png" };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // an svg is a document: opened on its own it must not run anything
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    response
}

/// The images `markdown` shows, `![title](file)`, that are charts in the report's own directory.
pub fn charts_in(markdown: &str) -> Vec<Chart> {
    let mut charts: Vec<Chart> = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("![") {
        rest = &rest[start + 2..];
        let Some((title, after)) = rest.split_once("](") else { break };
        let Some((file, after)) = after.split_once(')') else { break };
        rest = after;
        if is_chart_file(file) && !title.contains('\n') && !charts.iter().any(|chart| chart.file == file) {
            charts.push(Chart { file: file.to_string(), title: title.to_string() });
        }
    }
    charts
}

fn is_chart_file(file: &str) -> bool {
    let plain = FsPath::new(file).file_name().is_some_and(|name| name == file) && !file.starts_with('.');
    plain && (file.ends_with(".svg") || file.ends_with(".png"))
}

/// The directory the pages read the report from.
pub fn report_dir(dir: &FsPath) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_charts_are_the_reports_own_images_in_order() {
        let markdown = "# report\n![latency percentiles by scenario](latency.svg)\ntext ![x](../secret.svg) \
                        ![y](/etc/passwd.svg) ![z](notes.txt) ![w](.hidden.svg)\n![staleness CDF](freshness_cdf.svg) \
                        ![again](latency.svg)";
        let charts = charts_in(markdown);
        let files: Vec<&str> = charts.iter().map(|chart| chart.file.as_str()).collect();
        assert_eq!(files, ["latency.svg", "freshness_cdf.svg"]);
        assert_eq!(charts[0].title, "latency percentiles by scenario");
    }

    #[test]
    fn a_report_without_images_has_no_charts() {
        assert!(charts_in("no images here ![broken](").is_empty());
    }
}
