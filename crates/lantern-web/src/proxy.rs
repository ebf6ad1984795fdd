//! Behind a reverse proxy (`server.behind_proxy`): the client's address from `X-Forwarded-For` and whether it
//! came over HTTPS from `X-Forwarded-Proto`, which then marks the session cookie `Secure`. Off by default: a
//! client that reaches Lantern directly could otherwise pick its own address.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The client's address: the last `X-Forwarded-For` entry (the one our proxy added) when behind a proxy,
/// else the TCP peer.
pub fn client_address(headers: &HeaderMap, peer: IpAddr, behind_proxy: bool) -> IpAddr {
    if !behind_proxy {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .next_back()
        .unwrap_or(peer)
}

/// Whether the client reached the proxy over HTTPS.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .next_back()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        })
}

/// Adds `Secure` to the cookies of a response to a request the proxy received over HTTPS.
pub async fn secure_cookies(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let https = state.config().server.behind_proxy && forwarded_https(request.headers());
    let mut response = next.run(request).await;
    if https {
        let cookies: Vec<HeaderValue> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        response.headers_mut().remove(header::SET_COOKIE);
        for c in cookies {
            let secure = match c.to_str() {
                Ok(text) if !text.to_ascii_lowercase().contains("; secure") => {
                    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(c)
                }
                _ => c,
            };
            response.headers_mut().append(header::SET_COOKIE, secure);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusts_forwarded_headers_only_behind_a_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.5".parse().unwrap());
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(client_address(&h, peer, false), peer);
        assert_eq!(
            client_address(&h, peer, true),
            "10.0.0.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(&HeaderMap::new(), peer, true), peer);
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(forwarded_https(&h));
        h.insert("x-forwarded-proto", "http".parse().unwrap());
        assert!(!forwarded_https(&h));
    }
}
