//! Security headers on every response, pages, data, assets and errors alike (OWASP ASVS 14.4).
//!
//! The portal loads only its own scripts (no inline script: page data travels in `application/json` script
//! elements, which are not executed), so `script-src 'self'` holds. Styles allow `'unsafe-inline'` because
//! Plotly.js adds its own `<style>` rules and inline styles while drawing; the figures break without it.
//! Images allow `data:` and `blob:` for the modebar's PNG download.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::middleware::Next;
use axum::response::Response;

/// What a page may load, and that no other site may frame it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

const HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    // For browsers that predate `frame-ancestors`.
    (header::X_FRAME_OPTIONS, "DENY"),
    // Filter values travel in URLs: they must not leak to other sites in the `Referer` header.
    (header::REFERRER_POLICY, "same-origin"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

/// Adds [`HEADERS`] to every response (replacing any a handler set).
pub async fn layer(req: Request<Body>, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    for (name, value) in HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_script_and_no_framing() {
        let script = CONTENT_SECURITY_POLICY
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script, "script-src 'self'");
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        // Every value is a valid header value (from_static panics otherwise).
        for (_, value) in HEADERS {
            let _ = HeaderValue::from_static(value);
        }
    }
}
