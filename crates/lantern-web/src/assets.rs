//! Static assets served from the binary itself (no CDN: the portal works offline): the theme's CSS, the small
//! client script and Plotly.js, which the `plotly` crate embeds.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const APP_CSS: &str = include_str!("../assets/app.css");
const APP_JS: &str = include_str!("../assets/app.js");
const THEME_JS: &str = include_str!("../assets/theme.js");
const FAVICON: &str = include_str!("../assets/favicon.svg");

/// A short hash of the served assets, put in their URLs (`?v=`) so a new build is never answered from a
/// browser's cache.
pub static ASSET_VERSION: LazyLock<String> = LazyLock::new(|| {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (APP_CSS, APP_JS, THEME_JS, env!("CARGO_PKG_VERSION")).hash(&mut h);
    format!("{:x}", h.finish() & 0xffff_ffff)
});

/// Plotly.js as the `plotly` crate embeds it (inside a `<script>` element, next to MathJax).
static PLOTLY_JS: LazyLock<String> = LazyLock::new(|| {
    let html = plotly::Plot::offline_js_sources();
    let start = html.find('>').map(|i| i + 1).unwrap_or(0);
    let end = html[start..]
        .find("</script>")
        .map(|i| start + i)
        .unwrap_or(html.len());
    html[start..end].to_string()
});

/// The Plotly.js source (for tests and `lantern` tooling).
pub fn plotly_js() -> &'static str {
    &PLOTLY_JS
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, mime): (&'static str, &str) = match name.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "theme.js" => (THEME_JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        "plotly.min.js" => (plotly_js(), "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            // URLs carry the release version (`?v=`), so browsers may keep assets for a day.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn plotly_is_the_library_itself() {
        let js = super::plotly_js();
        assert!(js.len() > 1_000_000, "{}", js.len());
        assert!(js.trim_start().starts_with("/**"), "{}", &js[..40]);
        assert!(js.contains("plotly.js v"));
        assert!(!js.contains("</script>"));
    }
}
