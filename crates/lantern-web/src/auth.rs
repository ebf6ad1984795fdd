//! Form login over server-side sessions: the login page and form, logout. Passwords are checked against the
//! user directory ([`crate::directory`]); the session id and CSRF token are renewed at sign-in; every outcome is
//! an audit event.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use tower_sessions::Session;

pub use crate::directory::{Users, generate_password, hash_password};
use crate::error::AppError;
use crate::state::AppState;
use crate::throttle::Refusal;

/// Only local paths may be redirected to after login.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    // Browsers drop tabs and newlines from URLs, so `/\t/evil.example` would become `//evil.example`.
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// `?next=`: where to go after signing in (the login page and the start of single sign-on).
#[derive(Deserialize)]
pub struct LoginQuery {
    pub(crate) next: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if let Ok(Some(_)) = crate::access::principal(&state, &session).await {
        return Redirect::to(&next).into_response();
    }
    render_login(&state, &session, StatusCode::OK, None, "", &next).await
}

/// The login page: the password form (unless turned off) and a button per single sign-on provider configured.
pub(crate) async fn render_login(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    error: Option<&str>,
    username: &str,
    next: &str,
) -> Response {
    let csrf = match crate::csrf::token(session).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let form = state.config().auth.form_login;
    let start = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    let mut sso = Vec::new();
    if let Some(p) = state.oidc() {
        sso.push(minijinja::context! { id => "oidc", label => p.label(), url => format!("/auth/oidc/start?{start}") });
    }
    if let Some(p) = state.saml() {
        sso.push(minijinja::context! { id => "saml", label => p.label(), url => format!("/auth/saml/start?{start}") });
    }
    let ctx = minijinja::context! { error, username, next, csrf, form, sso };
    match crate::templates::render("login.html", ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::internal_logged(&e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// The one message for a wrong name, a wrong password and a disabled account, so none can be told apart.
const LOGIN_FAILED: &str = "Wrong username or password.";

pub async fn login_submit(
    State(state): State<AppState>,
    session: Session,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    if !state.config().auth.form_login {
        return AppError::new(
            StatusCode::FORBIDDEN,
            "form_login_off",
            "sign-in with a password is turned off here: use single sign-on",
        )
        .page()
        .into_response();
    }
    let users = state.users().clone();
    let (name, password) = (form.username.trim().to_string(), form.password);
    let peer = peer
        .map(|Extension(ConnectInfo(a))| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let address = crate::proxy::client_address(&headers, peer, state.config().server.behind_proxy);
    let ip = address.to_string();
    let locks = match state.throttle().attempt(&name, address) {
        Ok(locks) => locks,
        Err(refusal) => return throttled(&state, &session, refusal, &name, &ip, &next).await,
    };
    let check_name = name.clone();
    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let user = tokio::task::spawn_blocking(move || users.verify(&check_name, &password))
        .await
        .ok()
        .flatten();
    let Some(user) = user else {
        crate::audit::event("login_failed", &name, &[("ip", &ip)]);
        if locks {
            crate::audit::event("lockout", &name, &[("ip", &ip)]);
        }
        return render_login(
            &state,
            &session,
            StatusCode::UNAUTHORIZED,
            Some(LOGIN_FAILED),
            &name,
            &next,
        )
        .await;
    };
    if let Err(e) = crate::access::sign_in(&session, &user).await {
        return e.into_response();
    }
    if let Err(e) = crate::csrf::renew(&session).await {
        return e.into_response();
    }
    state.throttle().succeeded(&name, address);
    crate::audit::event(
        "login",
        &user.username,
        &[("method", "password"), ("ip", &ip)],
    );
    Redirect::to(&next).into_response()
}

/// The login page again, 429 with `Retry-After`, saying who waits and for how long.
async fn throttled(
    state: &AppState,
    session: &Session,
    refusal: Refusal,
    name: &str,
    ip: &str,
    next: &str,
) -> Response {
    let wait = refusal.retry_after().as_secs();
    let whom = match refusal {
        Refusal::Account(_) => "this account",
        Refusal::Address(_) => "your address",
    };
    crate::audit::event(
        "login_throttled",
        name,
        &[("ip", ip), ("retry_after_secs", &wait.to_string())],
    );
    let minutes = wait.div_ceil(60);
    let message = format!(
        "Too many failed sign-ins for {whom}. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    );
    let mut res = render_login(
        state,
        session,
        StatusCode::TOO_MANY_REQUESTS,
        Some(&message),
        name,
        next,
    )
    .await;
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

pub async fn logout(State(state): State<AppState>, session: Session) -> Response {
    if let Ok(Some(p)) = crate::access::principal(&state, &session).await {
        crate::audit::event("logout", p.username(), &[]);
    }
    let _ = session.flush().await;
    Redirect::to("/login").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_local() {
        assert_eq!(safe_next(Some("/d/x?team=Web")), "/d/x?team=Web");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
    }
}
