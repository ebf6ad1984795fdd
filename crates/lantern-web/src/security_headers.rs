//! Security headers on every response, pages, data, assets and errors alike (OWASP ASVS 14.4).
//!
//! The portal loads only its own scripts (no inline script: page data travels in `application/json` script
//! elements, which are not executed), so `script-src 'self'` holds. Styles allow `'unsafe-inline'` because
//! Plotly.js adds its own `<style>` rules and inline styles while drawing; the figures break without it.
//! Images allow `data:` and `blob:` for the modebar's PNG download. Tested on every kind of response in
//! `tests/it/auth.rs`.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::middleware::Next;
use axum::response::Response;

/// What a page may load, and that no other site may frame it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

// Built at compile time (`from_static` is `const`), so a response only copies them.
const HEADERS: [(HeaderName, HeaderValue); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    // For browsers that predate `frame-ancestors`.
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    // Filter values travel in URLs: they must not leak to other sites in the `Referer` header.
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

/// Adds [`HEADERS`] to every response (replacing any a handler set).
pub async fn layer(req: Request<Body>, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    for (name, value) in HEADERS {
        headers.insert(name, value);
    }
    res
}
