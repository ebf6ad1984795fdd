//! Single sign-on: identity providers vouch for a user, whose claims (OIDC) or attributes (SAML) are mapped
//! to a Lantern user by one [`ClaimMapping`]. The user lives in their session only (roles fixed at sign-in,
//! taken again at the next one); a local user of the same name who is disabled stays locked out.

pub mod oidc;
mod pending;
pub mod replay;
pub mod saml;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lantern_core::access::{Attribute, UserRecord};
use lantern_core::config::ClaimMapping;
use serde_json::Value;
use tower_sessions::Session;

use crate::state::AppState;

/// A provider route when that provider is not configured: the page is not there.
pub(crate) fn not_configured(path: &str) -> Response {
    crate::AppError::not_found("page", path)
        .page()
        .into_response()
}

/// The HTTP client for a provider's own endpoints (discovery, keys, tokens, metadata): no redirects followed,
/// so a provider's answer cannot send Lantern elsewhere, and a 10 s limit.
pub(crate) fn provider_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("a default HTTP client")
}

/// A sign-in a provider did not complete: the reason logged in full (and audited), the user told generically
/// on the login page.
pub(crate) async fn failed(
    state: &AppState,
    session: &Session,
    method: &str,
    why: &str,
) -> Response {
    tracing::warn!(method, reason = why, "single sign-on refused");
    crate::audit::event("login_failed", "-", &[("method", method), ("reason", why)]);
    refused(
        state,
        session,
        "Single sign-on did not complete. Try again.",
    )
    .await
}

/// Back on the login page with `message`.
pub(crate) async fn refused(state: &AppState, session: &Session, message: &str) -> Response {
    crate::auth::render_login(
        state,
        session,
        StatusCode::UNAUTHORIZED,
        Some(message),
        "",
        "/",
    )
    .await
}

/// Signs in `user`, whom a provider vouched for through `method`, and sends the browser to `next`; a local
/// user of that name who is disabled stays out.
pub(crate) async fn complete(
    state: &AppState,
    session: &Session,
    method: &str,
    user: &UserRecord,
    next: &str,
) -> Response {
    if state
        .users()
        .get(&user.username)
        .is_some_and(|u| !u.enabled)
    {
        crate::audit::event(
            "login_failed",
            &user.username,
            &[("method", method), ("reason", "disabled")],
        );
        return refused(state, session, "This account is disabled.").await;
    }
    if let Err(e) = crate::access::sign_in_sso(session, user).await {
        return e.into_response();
    }
    if let Err(e) = crate::csrf::renew(session).await {
        return e.into_response();
    }
    crate::audit::event(
        "login",
        &user.username,
        &[("method", method), ("roles", &user.roles.join(","))],
    );
    Redirect::to(next).into_response()
}

/// The password hash of users who sign in through a provider: no password verifies against it.
pub const NO_PASSWORD: &str = "!sso";

/// A claim's values as text: a string, a number or a list of them.
fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        _ => Vec::new(),
    }
}

/// The Lantern user the provider's `claims` describe, or why there is none.
pub fn map_user(
    claims: &BTreeMap<String, Value>,
    mapping: &ClaimMapping,
) -> Result<UserRecord, String> {
    let first = |name: &str| claims.get(name).and_then(|v| texts(v).into_iter().next());
    let username = first(&mapping.username)
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            format!(
                "the provider sent no `{}` claim for the username",
                mapping.username
            )
        })?;
    let mut roles: Vec<String> = mapping.default_roles.clone();
    for given in claims.get(&mapping.roles).map(texts).unwrap_or_default() {
        roles.extend(mapping.role_map.get(&given).cloned().unwrap_or_default());
    }
    roles.sort();
    roles.dedup();
    let attributes = mapping
        .attributes
        .iter()
        .filter_map(|(ours, theirs)| {
            let mut v = texts(claims.get(theirs)?);
            let a = match v.len() {
                0 => return None,
                1 => Attribute::One(v.remove(0)),
                _ => Attribute::Many(v),
            };
            Some((ours.clone(), a))
        })
        .collect();
    Ok(UserRecord {
        username: username.trim().to_string(),
        password_hash: NO_PASSWORD.into(),
        name: first(&mapping.name),
        email: first(&mapping.email),
        roles,
        attributes,
        enabled: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_claims_to_a_user_and_its_roles() {
        let mut mapping = ClaimMapping::default();
        mapping
            .role_map
            .insert("ADMIN".into(), vec!["admin".into()]);
        mapping
            .role_map
            .insert("USER".into(), vec!["viewer".into()]);
        mapping.default_roles = vec!["viewer".into()];
        mapping.attributes.insert("region".into(), "tenant".into());
        let claims: BTreeMap<String, Value> = serde_json::from_value(json!({
            "preferred_username": "ana", "email": "ana@example.org",
            "roles": ["USER", "ADMIN", "AUDITOR"], "tenant": "apac",
        }))
        .unwrap();
        let u = map_user(&claims, &mapping).unwrap();
        assert_eq!(u.username, "ana");
        assert_eq!(u.email.as_deref(), Some("ana@example.org"));
        assert_eq!(
            u.roles,
            vec!["admin", "viewer"],
            "unmapped AUDITOR gives nothing"
        );
        assert_eq!(u.attribute_lists()["region"], vec!["apac"]);
        assert_eq!(u.password_hash, NO_PASSWORD);
        let e = map_user(&BTreeMap::new(), &mapping).unwrap_err();
        assert!(e.contains("preferred_username"), "{e}");
    }
}
