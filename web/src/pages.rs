//! The pages and their scripts and styles, embedded in the binary: nothing is fetched from
//! anywhere else, at build time or at run time.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

static ASSETS: [Asset; 8] = [
    Asset { path: "/", content_type: HTML, body: include_str!("../assets/search.html") },
    Asset { path: "/compare", content_type: HTML, body: include_str!("../assets/compare.html") },
    Asset { path: "/stats", content_type: HTML, body: include_str!("../assets/stats.html") },
    Asset { path: "/assets/style.css", content_type: CSS, body: include_str!("../assets/style.css") },
    Asset { path: "/assets/common.js", content_type: JS, body: include_str!("../assets/common.js") },
    Asset { path: "/assets/search.js", content_type: JS, body: include_str!("../assets/search.js") },
    Asset { path: "/assets/compare.js", content_type: JS, body: include_str!("../assets/compare.js") },
    Asset { path: "/assets/stats.js", content_type: JS, body: include_str!("../assets/stats.js") },
];

/// Only this origin's scripts, styles and API; no inline script, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS.iter().fold(Router::new(), |router, asset| router.route(asset.path, get(move || serve(asset))))
}

async fn serve(asset: &'static Asset) -> Response {
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    // small files, revalidated every time, so a new binary's pages are never mixed with old scripts
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The comparison page leaves out of its comparison what the documented equality does.
    #[test]
    fn the_comparison_page_compares_under_the_documented_equality() {
        let compare_js = ASSETS.iter().find(|asset| asset.path == "/assets/compare.js").expect("the script").body;
        let declaration = compare_js
            .lines()
            .find_map(|line| line.strip_prefix("const NOT_COMPARED = "))
            .expect("compare.js declares NOT_COMPARED on one line");
        let listed: Vec<String> =
            serde_json::from_str(declaration.trim_end_matches(';')).expect("a JSON array of field names");
        assert_eq!(listed, order_view::equality::NOT_COMPARED);
    }
}
