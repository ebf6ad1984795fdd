//! CSRF protection by synchronizer token: each session holds a random token, forms carry it in a hidden `csrf`
//! field (scripts in an `X-CSRF-Token` header), and every state-changing request without the session's token
//! is refused. The token is renewed at sign-in.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use tower_sessions::Session;

use crate::error::AppError;

const CSRF_KEY: &str = "csrf";
/// The form field and the header that carry the token.
pub const FIELD: &str = "csrf";
pub const HEADER: &str = "x-csrf-token";
/// Forms that change state are small: a bigger body is refused rather than buffered.
const MAX_FORM_BYTES: usize = 64 * 1024;

fn fresh() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// This session's token, made on first use.
pub async fn token(session: &Session) -> Result<String, AppError> {
    if let Some(t) = session.get::<String>(CSRF_KEY).await.ok().flatten() {
        return Ok(t);
    }
    renew(session).await
}

/// A new token for this session (at sign-in, so a token seen before login is worthless after).
pub async fn renew(session: &Session) -> Result<String, AppError> {
    let t = fresh();
    session
        .insert(CSRF_KEY, &t)
        .await
        .map_err(|e| AppError::internal_logged(&e))?;
    Ok(t)
}

/// Equal in time independent of where the first difference is.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn refused(request_path: &str, why: &str) -> Response {
    crate::audit::event("csrf_refused", "-", &[("path", request_path), ("why", why)]);
    let e = AppError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "this form has expired or did not come from Lantern: reload the page and try again",
    );
    if request_path.starts_with("/api/") {
        e.into_response()
    } else {
        e.page().into_response()
    }
}

/// Lets safe methods through; other requests must carry the session's token in the header or the form body.
pub async fn verify(session: Session, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let Some(expected) = session.get::<String>(CSRF_KEY).await.ok().flatten() else {
        return refused(
            &path,
            "the session has no token (expired or never loaded a form)",
        );
    };
    if let Some(given) = request.headers().get(HEADER) {
        if given.to_str().is_ok_and(|g| same(g, &expected)) {
            return next.run(request).await;
        }
        return refused(&path, "wrong token in header");
    }
    let form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return refused(&path, "no token");
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return refused(&path, "form too large");
    };
    let ok = url::form_urlencoded::parse(&bytes).any(|(k, v)| k == FIELD && same(&v, &expected));
    if !ok {
        return refused(&path, "missing or wrong token in form");
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (fresh(), fresh());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same(&a, &a[..63]));
    }
}
