//! SAML 2.0 sign-in, Lantern being the service provider: its metadata at `/auth/saml/metadata`, an
//! AuthnRequest by HTTP-Redirect from `/auth/saml/start`, and the Assertion Consumer Service at
//! `/auth/saml/acs`, which takes the provider's HTTP-POST.
//!
//! The response must answer the request this browser's session sent (its id kept for one use and at most 10
//! minutes), be signed by a key from the provider's metadata with SHA-256 or stronger, be addressed to the ACS
//! (`Destination`, `Recipient`), name Lantern's entity id as its audience, be within its time window (small
//! skew) and carry an assertion id never used before. The provider's form posts from another site, so the
//! browser sends no `SameSite=Lax` session cookie with it: the ACS then answers with a page of Lantern's own
//! that posts the response again, this time with the cookie.

mod provider;

pub use provider::Provider;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::sso::not_configured;
use crate::sso::pending::Pending;
use crate::state::AppState;

/// The session key of a sign-in under way; what it keeps is the AuthnRequest's id.
const PENDING_KEY: &str = "saml_pending";
const METHOD: &str = "saml";

/// The provider's metadata could not be had: logged, and the user told to come back later.
async fn unavailable(state: &AppState, session: &Session, e: &str) -> Response {
    tracing::error!(error = %e, "SAML identity provider unavailable");
    crate::sso::refused(
        state,
        session,
        "The identity provider cannot be reached right now. Try again later.",
    )
    .await
}

/// `/auth/saml/metadata`: Lantern's service provider metadata, for the provider's administrator.
pub async fn metadata(State(state): State<AppState>) -> Response {
    let Some(provider) = state.saml() else {
        return not_configured("/auth/saml/metadata");
    };
    match provider.metadata_xml() {
        Ok(xml) => (
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response(),
        Err(e) => crate::AppError::internal_logged(&e).into_response(),
    }
}

/// `/auth/saml/start`: off to the provider with an AuthnRequest.
pub async fn start(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<crate::auth::LoginQuery>,
) -> Response {
    let Some(provider) = state.saml() else {
        return not_configured("/auth/saml/start");
    };
    let sp = match provider.sp().await {
        Ok(sp) => sp,
        Err(e) => return unavailable(&state, &session, &e).await,
    };
    let (url, request_id) = match provider.authn_redirect(sp) {
        Ok(r) => r,
        Err(e) => return crate::AppError::internal_logged(&e).into_response(),
    };
    Pending::new(request_id, q.next.as_deref())
        .send_to(&session, PENDING_KEY, url.as_str())
        .await
}

/// The provider's HTTP-POST, or Lantern's own page posting it again.
#[derive(Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse", default)]
    saml_response: String,
    #[serde(rename = "RelayState", default)]
    relay_state: String,
    /// Set by Lantern's page: the session cookie, if there is one, came with this post.
    #[serde(default)]
    continued: Option<String>,
}

/// A page of Lantern's own that posts the response again from this site, so the session cookie comes along.
fn post_again(form: &AcsForm) -> Response {
    let ctx = minijinja::context! {
        saml_response => form.saml_response.as_str(),
        relay_state => form.relay_state.as_str(),
    };
    match crate::templates::render("saml_continue.html", ctx) {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => crate::AppError::internal_logged(&e).into_response(),
    }
}

/// `/auth/saml/acs`: verifies the provider's response and signs the user in.
pub async fn acs(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<AcsForm>,
) -> Response {
    let Some(provider) = state.saml() else {
        return not_configured("/auth/saml/acs");
    };
    if form.saml_response.is_empty() {
        return crate::sso::failed(&state, &session, METHOD, "the post carries no SAMLResponse")
            .await;
    }
    // Left in place until a response verifies: a forged post (Lantern's page re-posts whatever it is given)
    // must not end the user's real sign-in.
    let pending = Pending::<String>::peek(&session, PENDING_KEY).await;
    if pending.is_none() && form.continued.is_none() {
        return post_again(&form);
    }
    let failed = |why: String| {
        let (state, session) = (state.clone(), session.clone());
        async move { crate::sso::failed(&state, &session, METHOD, &why).await }
    };
    let next = match &pending {
        Some(p) => match p.too_old() {
            Some(why) => {
                Pending::<String>::end(&session, PENDING_KEY).await;
                return failed(why.into()).await;
            }
            None => p.next.clone(),
        },
        None if provider.config.allow_idp_initiated => crate::auth::safe_next(
            Some(&form.relay_state)
                .filter(|r| r.starts_with('/'))
                .map(|r| r.as_str()),
        ),
        None => {
            return failed(
                "no sign-in under way in this session (a response Lantern did not ask for, or one used before)"
                    .into(),
            )
            .await;
        }
    };
    let sp = match provider.sp().await {
        Ok(sp) => sp,
        Err(e) => return failed(e).await,
    };
    let request_id = pending.as_ref().map(|p| p.expect.as_str());
    let verified = match provider.verify(sp, &form.saml_response, request_id) {
        Ok(v) => v,
        Err(e) => return failed(e).await,
    };
    // One use: the provider has answered this sign-in, whatever follows.
    Pending::<String>::end(&session, PENDING_KEY).await;
    match state
        .used_assertions()
        .first_use(&verified.id, verified.keep)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return failed(format!(
                "assertion {} was used before: a replayed response",
                verified.id
            ))
            .await;
        }
        // Without the record a replay could not be told apart: refused rather than let through.
        Err(e) => return failed(format!("the replay check failed: {e}")).await,
    }
    let user = match crate::sso::map_user(&verified.claims, &provider.config.attributes) {
        Ok(u) => u,
        Err(e) => return failed(e).await,
    };
    crate::sso::complete(&state, &session, METHOD, &user, &next).await
}
