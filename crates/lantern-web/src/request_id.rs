//! One id per request: taken from a proxy's `x-request-id` when it is a plain token, made fresh otherwise. It is
//! put on the request (so the request log's span carries it), kept for the handler's task (so an internal error
//! names the same id in the log and in its answer), and returned in the response's `x-request-id`.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being handled on this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `work` (a task spawned by a handler) under the request's id `id`, so what it logs and audits names
/// the request that started it.
pub async fn within<F: std::future::Future>(id: Option<String>, work: F) -> F::Output {
    CURRENT.scope(id.unwrap_or_else(fresh), work).await
}

/// A new random id: 16 hex digits.
pub fn fresh() -> String {
    lantern_core::telemetry::fresh_id()
}

/// An incoming id is kept only when it cannot smuggle anything into a log line or a header.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The middleware (outermost, so that everything inside sees the id).
pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(fresh);
    let value = HeaderValue::from_str(&id).expect("an acceptable id is a valid header value");
    req.headers_mut().insert(HEADER, value.clone());
    let mut res = CURRENT.scope(id, next.run(req)).await;
    res.headers_mut().insert(HEADER, value);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_tokens_are_taken_from_a_proxy() {
        assert!(acceptable("4bf92f3577b34da6-a3ce929d0e0e4736"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("id\r\nset-cookie: x"));
        assert!(!acceptable(&"x".repeat(65)));
        assert_eq!(fresh().len(), 16);
    }

    #[tokio::test]
    async fn the_id_is_visible_inside_its_scope_only() {
        assert_eq!(current(), None);
        let seen = CURRENT.scope("abc".into(), async { current() }).await;
        assert_eq!(seen.as_deref(), Some("abc"));
    }
}
