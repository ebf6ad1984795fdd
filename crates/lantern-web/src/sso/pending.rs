//! A sign-in under way at a provider: what its answer must match, where the user goes afterwards, and when it
//! began. Kept in the session under the provider's own key, taken out once when the answer arrives, and good
//! for ten minutes.

use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

/// A sign-in must come back from the provider within this many seconds.
const PENDING_SECS: i64 = 600;

#[derive(Serialize, Deserialize)]
pub(crate) struct Pending<T> {
    /// What the provider's answer is checked against (OIDC: state, nonce, PKCE verifier; SAML: request id).
    pub expect: T,
    /// Where the user goes once signed in: a path on this site.
    pub next: String,
    started: i64,
}

impl<T: Serialize + DeserializeOwned> Pending<T> {
    /// A sign-in starting now, going to `next` (a path checked by [`crate::auth::safe_next`]) afterwards.
    pub fn new(expect: T, next: Option<&str>) -> Self {
        Self {
            expect,
            next: crate::auth::safe_next(next),
            started: chrono::Utc::now().timestamp(),
        }
    }

    /// Kept under `key` in the session, and the browser sent to the provider at `url`.
    pub async fn send_to(self, session: &Session, key: &str, url: &str) -> Response {
        if let Err(e) = session.insert(key, &self).await {
            return crate::AppError::internal_logged(&e).into_response();
        }
        Redirect::to(url).into_response()
    }

    /// The sign-in under way in `session`, taken out: whatever its answer, the attempt is over.
    pub async fn take(session: &Session, key: &str) -> Option<Self> {
        session.remove(key).await.ok().flatten()
    }

    /// The sign-in under way in `session`, left there (until [`Pending::end`]).
    pub async fn peek(session: &Session, key: &str) -> Option<Self> {
        session.get(key).await.ok().flatten()
    }

    /// Ends the sign-in under way in `session`.
    pub async fn end(session: &Session, key: &str) {
        let _ = session.remove::<Self>(key).await;
    }

    /// Why it can no longer complete, if it cannot.
    pub fn too_old(&self) -> Option<&'static str> {
        (chrono::Utc::now().timestamp() - self.started > PENDING_SECS)
            .then_some("the sign-in took longer than 10 minutes")
    }
}
