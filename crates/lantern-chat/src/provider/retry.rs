//! Sending a request again when the provider says to (429 without a used-up quota, 500, 502, 503, 504):
//! after its `Retry-After` when it gives one (seconds, at most 30), else after a short backoff. Every other
//! answer is final; a non-success one becomes the error the user reads.

use std::time::Duration;

use super::ProviderError;

/// Attempts in all, the first included.
const ATTEMPTS: u32 = 3;
/// The longest wait a `Retry-After` may ask for.
const MAX_WAIT: Duration = Duration::from_secs(30);

fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_WAIT))
}

/// The provider's message in an error body (`{"error": {"message": …}}` in both formats), else the body.
fn message_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(500).collect())
}

/// A used-up quota, which waiting a few seconds does not fix (OpenAI's `insufficient_quota`; Google's
/// `RESOURCE_EXHAUSTED` on a quota, as opposed to its rate limits, which also answer 429).
fn is_quota(body: &str) -> bool {
    body.contains("insufficient_quota") || body.to_ascii_lowercase().contains("quota exceeded")
}

/// Sends what `request` builds until it succeeds or may not be retried.
pub(super) async fn send(
    url: &str,
    timeout: Duration,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, ProviderError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res = match request().send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Err(ProviderError::Timeout(timeout)),
            Err(e) => {
                return Err(ProviderError::Unreachable {
                    url: url.to_string(),
                    source: e,
                });
            }
        };
        let status = res.status();
        if status.is_success() {
            return Ok(res);
        }
        let wait = retry_after(&res);
        let body = res.text().await.unwrap_or_default();
        let code = status.as_u16();
        let retryable = matches!(code, 429 | 500 | 502 | 503 | 504) && !is_quota(&body);
        if retryable && attempt < ATTEMPTS {
            let wait = wait.unwrap_or(Duration::from_millis(500 * 2u64.pow(attempt - 1)));
            tracing::warn!(
                status = code,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "model provider: retrying"
            );
            tokio::time::sleep(wait).await;
            continue;
        }
        return Err(match code {
            429 if is_quota(&body) => ProviderError::Quota {
                message: message_of(&body),
            },
            429 => ProviderError::RateLimited { attempts: attempt },
            401 | 403 => ProviderError::Auth {
                status: code,
                message: message_of(&body),
            },
            _ => ProviderError::Status {
                status: code,
                message: message_of(&body),
            },
        });
    }
}
