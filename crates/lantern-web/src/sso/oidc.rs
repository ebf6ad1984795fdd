//! OpenID Connect sign-in: the authorization code flow with PKCE, a `state` and a `nonce` kept in the session
//! for one use, the ID token's signature, issuer, audience, expiry and nonce checked by `openidconnect`, and its
//! claims mapped to a user. The provider's configuration is discovered on first use (and again after a failure),
//! so a provider that is down at start only disables SSO until it answers.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::Response;
use base64::Engine;
use lantern_core::config::OidcConfig;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::sso::pending::Pending;
use crate::state::AppState;

/// The client once discovered: authorization URL set, token and user info endpoints as the provider says.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The session key of a sign-in under way.
const PENDING_KEY: &str = "oidc_pending";

/// What the provider's answer must match: the state and nonce sent, and the PKCE verifier.
#[derive(Serialize, Deserialize)]
struct Expected {
    state: String,
    nonce: String,
    verifier: String,
}

/// The configured provider, discovered on first use.
pub struct Provider {
    config: OidcConfig,
    http: openidconnect::reqwest::Client,
    client: tokio::sync::OnceCell<Client>,
}

impl Provider {
    pub fn new(config: OidcConfig) -> Self {
        // No redirects: a token endpoint that redirects could be turned against internal addresses (SSRF).
        let http = crate::sso::provider_http();
        Self {
            config,
            http,
            client: tokio::sync::OnceCell::new(),
        }
    }

    pub fn label(&self) -> &str {
        &self.config.label
    }

    async fn client(&self) -> Result<&Client, String> {
        self.client
            .get_or_try_init(|| async {
                let issuer =
                    IssuerUrl::new(self.config.issuer.clone()).map_err(|e| e.to_string())?;
                let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|e| format!("discovery at {}: {}", self.config.issuer, chain(&e)))?;
                let secret = self.config.client_secret.clone().map(ClientSecret::new);
                let redirect = RedirectUrl::new(self.config.redirect_url.clone())
                    .map_err(|e| e.to_string())?;
                Ok(CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(self.config.client_id.clone()),
                    secret,
                )
                .set_redirect_uri(redirect))
            })
            .await
    }
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// `/auth/oidc/start`: off to the provider.
pub async fn start(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<crate::auth::LoginQuery>,
) -> Response {
    let Some(provider) = state.oidc() else {
        return crate::sso::not_configured("/auth/oidc/start");
    };
    let client = match provider.client().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "OIDC provider unavailable");
            return refused(
                &state,
                &session,
                "The identity provider cannot be reached right now. Try again later.",
            )
            .await;
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in &provider.config.scopes {
        request = request.add_scope(Scope::new(s.clone()));
    }
    let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();
    let expected = Expected {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
    };
    Pending::new(expected, q.next.as_deref())
        .send_to(&session, PENDING_KEY, url.as_str())
        .await
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn refused(state: &AppState, session: &Session, message: &str) -> Response {
    crate::sso::refused(state, session, message).await
}

async fn failed(state: &AppState, session: &Session, why: &str) -> Response {
    crate::sso::failed(state, session, "oidc", why).await
}

/// The claims of a verified ID token, all of them (the standard ones and the provider's own, such as roles).
fn claims_of(token: &str) -> Result<BTreeMap<String, serde_json::Value>, String> {
    let payload = token.split('.').nth(1).ok_or("the ID token is not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("ID token payload: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("ID token payload: {e}"))
}

/// The provider's user info for `access_token` (a JSON object; signed responses are not asked for).
async fn user_info(
    http: &openidconnect::reqwest::Client,
    url: &str,
    access_token: &str,
) -> Result<BTreeMap<String, serde_json::Value>, String> {
    let res = http
        .get(url)
        .bearer_auth(access_token)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("user info: {}", chain(&e)))?;
    if !res.status().is_success() {
        return Err(format!("user info answered {}", res.status()));
    }
    let body = res
        .bytes()
        .await
        .map_err(|e| format!("user info: {}", chain(&e)))?;
    serde_json::from_slice(&body).map_err(|e| format!("user info: {e}"))
}

/// `/auth/oidc/callback`: checks what the provider sent back and signs the user in.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(provider) = state.oidc() else {
        return crate::sso::not_configured("/auth/oidc/callback");
    };
    let Some(pending) = Pending::<Expected>::take(&session, PENDING_KEY).await else {
        return failed(
            &state,
            &session,
            "no sign-in under way in this session (state unknown or reused)",
        )
        .await;
    };
    if let Some(e) = &q.error {
        let why = format!(
            "the provider answered {e}: {}",
            q.error_description.as_deref().unwrap_or("")
        );
        return failed(&state, &session, &why).await;
    }
    if let Some(why) = pending.too_old() {
        return failed(&state, &session, why).await;
    }
    let state_ok = q
        .state
        .as_deref()
        .is_some_and(|s| crate::csrf::same(s, &pending.expect.state));
    if !state_ok {
        return failed(&state, &session, "the state does not match the one sent").await;
    }
    let Some(code) = q.code else {
        return failed(&state, &session, "no authorization code").await;
    };
    let client = match provider.client().await {
        Ok(c) => c,
        Err(e) => return failed(&state, &session, &e).await,
    };
    let exchange = match client.exchange_code(AuthorizationCode::new(code)) {
        Ok(x) => x,
        Err(e) => return failed(&state, &session, &format!("no token endpoint: {e}")).await,
    };
    let tokens = match exchange
        .set_pkce_verifier(PkceCodeVerifier::new(pending.expect.verifier))
        .request_async(&provider.http)
        .await
    {
        Ok(t) => t,
        Err(e) => return failed(&state, &session, &format!("token exchange: {}", chain(&e))).await,
    };
    let Some(id_token) = tokens.id_token() else {
        return failed(&state, &session, "the token response has no ID token").await;
    };
    // Signature (keys from the provider's JWKS), issuer, audience, expiry and our nonce.
    let verifier = client.id_token_verifier();
    if let Err(e) = id_token.claims(&verifier, &Nonce::new(pending.expect.nonce)) {
        return failed(
            &state,
            &session,
            &format!("ID token refused: {}", chain(&e)),
        )
        .await;
    }
    let mut claims = match claims_of(&id_token.to_string()) {
        Ok(c) => c,
        Err(e) => return failed(&state, &session, &e).await,
    };
    // Many providers put names, emails and roles only in the user info response: merged under the ID token's
    // claims, and only for the same subject.
    if let Some(url) = client.user_info_url() {
        match user_info(&provider.http, url.as_str(), tokens.access_token().secret()).await {
            Ok(info) if info.get("sub") == claims.get("sub") => {
                for (k, v) in info {
                    claims.entry(k).or_insert(v);
                }
            }
            Ok(_) => {
                return failed(
                    &state,
                    &session,
                    "the user info is about another subject than the ID token",
                )
                .await;
            }
            Err(e) => return failed(&state, &session, &e).await,
        }
    }
    let user = match crate::sso::map_user(&claims, &provider.config.claims) {
        Ok(u) => u,
        Err(e) => return failed(&state, &session, &e).await,
    };
    crate::sso::complete(&state, &session, "oidc", &user, &pending.next).await
}
