//! What the HTTP sources (API, DOMO) share: `${VAR}` expansion for secrets and URLs, retries with exponential
//! backoff that honour `Retry-After`, and the OAuth2 client-credentials grant.

use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::Deserialize;

use crate::error::{EtlError, Result};

/// Replaces `${NAME}` and `${NAME:-default}` with environment variables, so configs can name secrets instead of
/// holding them. `field` names the option in errors.
pub fn expand_env(value: &str, field: &str) -> Result<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(EtlError::source(
                field,
                format!("`{value}`: unclosed `${{`"),
            ));
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(name), default) {
            (Ok(v), _) if !v.is_empty() => out.push_str(&v),
            (_, Some(d)) => out.push_str(d),
            _ => {
                return Err(EtlError::source(
                    field,
                    format!("the environment variable `{name}` is not set"),
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// How failed requests are retried: 429 and 5xx answers and connection errors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first wait; each further wait doubles, up to `max_backoff_ms`.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff_ms: 500,
            max_backoff_ms: 30_000,
        }
    }
}

/// For a spec check: a URL written out (not `${VAR}`, expanded only when staging) must be http(s).
pub fn check_http_url(field: &str, value: &str) -> std::result::Result<(), super::Fault> {
    if value.contains("${") {
        return Ok(());
    }
    match reqwest::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        Ok(u) => Err(super::Fault::new(
            field,
            format!(
                "`{value}`: use an http:// or https:// URL, not {}://",
                u.scheme()
            ),
        )),
        Err(e) => Err(super::Fault::new(
            field,
            format!("`{value}` is not a URL: {e}"),
        )),
    }
}

/// A client with the request timeout; rustls, no system OpenSSL.
pub fn client(timeout_secs: u64) -> Result<Client> {
    Client::builder()
        .timeout(Duration::from_secs(timeout_secs))
        .user_agent(concat!("lantern/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| EtlError::failed("http client", e))
}

/// The wait a `Retry-After` header asks for (seconds or an HTTP date), capped at `cap`.
fn retry_after(response: &Response, cap: Duration) -> Option<Duration> {
    let v = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    let wait = match v.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or_default()
        }
    };
    Some(wait.min(cap))
}

/// Sends the request `build` makes, retrying per `retry`; a final failure names `what` (method and URL), the
/// status and the start of the answer.
pub async fn send(
    what: &str,
    retry: &RetryConfig,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response> {
    let cap = Duration::from_millis(retry.max_backoff_ms);
    let mut backoff = Duration::from_millis(retry.initial_backoff_ms);
    let mut attempt = 1;
    loop {
        let outcome = build().send().await;
        let wait = match &outcome {
            Ok(r)
                if r.status() == StatusCode::TOO_MANY_REQUESTS || r.status().is_server_error() =>
            {
                retry_after(r, cap).unwrap_or(backoff)
            }
            Ok(_) => return Ok(outcome.expect("matched Ok")),
            Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => backoff,
            Err(_) => Duration::ZERO,
        };
        if attempt >= retry.max_attempts || (outcome.is_err() && wait.is_zero()) {
            return Err(match outcome {
                Ok(r) => failure(what, r, attempt).await,
                // Without the URL: with an API key in the query string, it would carry the key.
                Err(e) => EtlError::source(
                    what,
                    format!("{} (after {attempt} attempts)", e.without_url()),
                ),
            });
        }
        tracing::warn!(request = what, attempt, wait_ms = wait.as_millis() as u64, status = ?outcome.as_ref().ok().map(|r| r.status().as_u16()), "retrying");
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(cap);
        attempt += 1;
    }
}

/// An error for an answer that is not a success.
pub async fn failure(what: &str, response: Response, attempts: u32) -> EtlError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let excerpt: String = body.chars().take(300).collect();
    let tries = if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    };
    EtlError::source(what, format!("answered {status}{tries}: {excerpt}"))
}

/// Sends and insists on a 2xx answer.
pub async fn send_ok(
    what: &str,
    retry: &RetryConfig,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response> {
    let r = send(what, retry, build).await?;
    if r.status().is_success() {
        Ok(r)
    } else {
        Err(failure(what, r, 1).await)
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

/// The OAuth2 client-credentials grant: `POST token_url` with the client's id and secret (HTTP basic) and
/// `grant_type=client_credentials` (+ `scope`); returns the access token.
pub async fn client_credentials(
    http: &Client,
    retry: &RetryConfig,
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    scope: Option<&str>,
) -> Result<String> {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let what = format!("POST {token_url}");
    let r = send_ok(&what, retry, || {
        http.post(token_url)
            .basic_auth(client_id, Some(client_secret))
            .form(&form)
    })
    .await?;
    parse_token(&what, r).await
}

pub(crate) async fn parse_token(what: &str, r: Response) -> Result<String> {
    let bytes = r.bytes().await.map_err(|e| EtlError::failed(what, e))?;
    serde_json::from_slice::<TokenAnswer>(&bytes)
        .map(|t| t.access_token)
        .map_err(|e| EtlError::source(what, format!("no access_token in the answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_expand_or_name_the_missing_variable() {
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand_env("a${PATH}b", "f").unwrap(), format!("a{path}b"));
        assert_eq!(
            expand_env("${LANTERN_SURELY_UNSET_VAR:-http://x}/y", "f").unwrap(),
            "http://x/y"
        );
        let err = expand_env("${LANTERN_SURELY_UNSET_VAR}", "source.url")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("source.url") && err.contains("LANTERN_SURELY_UNSET_VAR"),
            "{err}"
        );
        assert!(expand_env("${OPEN", "f").is_err());
    }
}
