//! The latest `compare` report, from its `report.json`: `GET /api/report` answers the figures
//! the page shows (the capacity at the SLO, the verdicts, the standing cost) and the charts
//! the report lists; `GET /report/{file}` serves one of those charts and nothing else of the
//! directory. The page is rendered from the same data as `report.md`, never from the markdown.

use std::path::{Path as FsPath, PathBuf};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use platform::http::json_error;
use serde::{Deserialize, Serialize};

use crate::app::AppState;

const REPORT: &str = "report.json";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// The file name, served at `/report/{file}`.
    pub file: String,
    /// The chart's title, its image's alt text.
    pub title: String,
}

/// One design's capacity for one request kind (report.json's `capacity`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Capacity {
    pub design: String,
    pub kind: String,
    pub slo_ms: f64,
    pub rps: f64,
    #[serde(default)]
    pub failed_at_rps: Option<f64>,
    #[serde(default)]
    pub bound: Option<String>,
    #[serde(default)]
    pub not_servable: Option<String>,
}

/// One comparison of the designs (report.json's `verdicts`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Verdict {
    pub question: String,
    pub figure: String,
    #[serde(default)]
    pub ratio: Option<f64>,
    #[serde(default)]
    pub ci_low: Option<f64>,
    #[serde(default)]
    pub ci_high: Option<f64>,
    /// `order-history`, `composer` or `none`.
    pub winner: String,
    #[serde(default)]
    pub invalid: Option<String>,
}

/// One process's CPU at rest (report.json's `standing_cost`).
#[derive(Debug, Serialize, Deserialize)]
pub struct StandingCost {
    pub process: String,
    pub cores: f64,
    #[serde(default)]
    pub design: Option<String>,
}

/// The part of report.json the page shows.
#[derive(Debug, Default, Deserialize)]
struct ReportFile {
    #[serde(default)]
    runs: u32,
    #[serde(default)]
    charts: Vec<Chart>,
    #[serde(default)]
    capacity: Vec<Capacity>,
    #[serde(default)]
    verdicts: Vec<Verdict>,
    #[serde(default)]
    standing_cost: Vec<StandingCost>,
}

#[derive(Debug, Serialize)]
pub struct LatestReport {
    pub available: bool,
    /// When `report.json` was last written.
    pub written_at: Option<DateTime<Utc>>,
    /// How many times each compared step was measured.
    pub runs: u32,
    pub charts: Vec<Chart>,
    pub capacity: Vec<Capacity>,
    pub verdicts: Vec<Verdict>,
    pub standing_cost: Vec<StandingCost>,
    /// Where the pages looked, so that an empty answer says where a report would be.
    pub report_dir: String,
    /// Set when a report.json is there but cannot be read as one.
    pub problem: Option<String>,
}

pub async fn latest_report(State(state): State<AppState>) -> Json<LatestReport> {
    let dir = &state.report_dir;
    let path = dir.join(REPORT);
    let report_dir = dir.display().to_string();
    let Ok(bytes) = tokio::fs::read(&path).await else {
        return Json(LatestReport { report_dir, ..LatestReport::none() });
    };
    let written_at = tokio::fs::metadata(&path).await.and_then(|meta| meta.modified()).ok().map(DateTime::from);
    match serde_json::from_slice::<ReportFile>(&bytes) {
        Ok(report) => Json(LatestReport {
            available: true,
            written_at,
            runs: report.runs,
            charts: report.charts.into_iter().filter(|chart| is_chart_file(&chart.file)).collect(),
            capacity: report.capacity,
            verdicts: report.verdicts,
            standing_cost: report.standing_cost,
            report_dir,
            problem: None,
        }),
        Err(error) => Json(LatestReport {
            written_at,
            report_dir,
            problem: Some(format!("{REPORT} is not a compare report: {error}")),
            ..LatestReport::none()
        }),
    }
}

impl LatestReport {
    fn none() -> Self {
        LatestReport {
            available: false,
            written_at: None,
            runs: 0,
            charts: Vec::new(),
            capacity: Vec::new(),
            verdicts: Vec::new(),
            standing_cost: Vec::new(),
            report_dir: String::new(),
            problem: None,
        }
    }
}

pub async fn chart(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let not_found =
        || json_error(StatusCode::NOT_FOUND, &format!("the latest report has no chart {file:?}"), Some("file"));
    let Ok(bytes) = tokio::fs::read(state.report_dir.join(REPORT)).await else {
        return not_found();
    };
    let listed = serde_json::from_slice::<ReportFile>(&bytes).unwrap_or_default().charts;
    if !is_chart_file(&file) || !listed.iter().any(|chart| chart.file == file) {
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

/// A plain file name in the report's own directory, an SVG or PNG, not hidden: a listed name
/// like `../secret.svg` is never served.
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
    fn only_plain_chart_files_in_the_reports_directory_are_charts() {
        for file in ["latency.svg", "capacity.svg", "chart.png"] {
            assert!(is_chart_file(file), "{file}");
        }
        for file in ["../secret.svg", "/etc/passwd.svg", "notes.txt", ".hidden.svg", "report.json", "a/b.svg"] {
            assert!(!is_chart_file(file), "{file}");
        }
    }
}
