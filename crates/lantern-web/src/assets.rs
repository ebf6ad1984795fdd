//! Static assets served from the binary itself (no CDN: the portal works offline): the theme's CSS, the small
//! client script and Plotly.js: its cartesian bundle (bar, box, heatmap, histogram, pie, scatter and the rest
//! the chart library draws), 1.3 MB against the full bundle's 4.6 MB, which the browser would parse before the
//! first chart. Vendored from npm's `plotly.js-cartesian-dist-min` (MIT, `assets/vendor/plotly-LICENSE.txt`).

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const APP_CSS: &str = include_str!("../assets/app.css");
const APP_JS: &str = include_str!("../assets/app.js");
const THEME_JS: &str = include_str!("../assets/theme.js");
const CONTINUE_JS: &str = include_str!("../assets/continue.js");
const CHAT_JS: &str = include_str!("../assets/chat.js");
const DOM_JS: &str = include_str!("../assets/dom.js");
const FAVICON: &str = include_str!("../assets/favicon.svg");

/// A short hash of the served assets, put in their URLs (`?v=`) so a new build is never answered from a
/// browser's cache.
pub static ASSET_VERSION: LazyLock<String> = LazyLock::new(|| {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        APP_CSS,
        APP_JS,
        THEME_JS,
        CONTINUE_JS,
        CHAT_JS,
        DOM_JS,
        PLOTLY_JS,
        env!("CARGO_PKG_VERSION"),
    )
        .hash(&mut h);
    format!("{:x}", h.finish() & 0xffff_ffff)
});

const PLOTLY_JS: &str = include_str!("../assets/vendor/plotly-cartesian-3.0.1.min.js");

/// The Plotly.js source (for tests and `lantern` tooling).
pub fn plotly_js() -> &'static str {
    PLOTLY_JS
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, mime): (&'static str, &str) = match name.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "theme.js" => (THEME_JS, "text/javascript; charset=utf-8"),
        "continue.js" => (CONTINUE_JS, "text/javascript; charset=utf-8"),
        "chat.js" => (CHAT_JS, "text/javascript; charset=utf-8"),
        "dom.js" => (DOM_JS, "text/javascript; charset=utf-8"),
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
        assert!(js.contains("plotly.js (cartesian - minified) v3"));
        // Every trace type the chart library draws is in the bundle.
        for module in ["bar", "box", "heatmap", "pie", "scatter"] {
            assert!(
                js.contains(&format!("moduleType:\"trace\",name:\"{module}\"")),
                "{module}"
            );
        }
        assert!(!js.contains("</script>"));
    }
}
