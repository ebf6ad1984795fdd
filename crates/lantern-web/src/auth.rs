//! Form login over server-side sessions: argon2 password hashes, the session id rotated at login, HttpOnly and
//! SameSite cookies, and a guard that sends logged-out visitors to `/login` (pages) or answers 401 (API).

use std::collections::HashMap;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::Form;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use rand::Rng;
use serde::Deserialize;
use tower_sessions::Session;

use lantern_core::config::AuthConfig;

use crate::error::AppError;
use crate::state::AppState;

/// The session key holding the signed-in user's name.
const USER_KEY: &str = "user";

/// Hashes a password as an argon2id PHC string (what `lantern users hash` prints).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A fresh random password for the built-in admin.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Who may log in.
#[derive(Clone)]
pub struct Users {
    hashes: HashMap<String, String>,
    /// Verified against for unknown names, so a wrong name costs as long as a wrong password.
    decoy: String,
}

impl Users {
    /// Users from config; with none configured, the built-in `admin` whose password is `admin_password` or, when
    /// that is unset, a generated one (returned so that `serve` can print it once).
    pub fn from_config(auth: &AuthConfig) -> Result<(Self, Option<String>), String> {
        let decoy = hash_password(&generate_password())?;
        if !auth.users.is_empty() {
            let mut hashes = HashMap::new();
            for u in &auth.users {
                PasswordHash::new(&u.password_hash).map_err(|e| {
                    format!(
                        "auth.users: `{}` has an invalid password_hash: {e}",
                        u.username
                    )
                })?;
                hashes.insert(u.username.clone(), u.password_hash.clone());
            }
            return Ok((Self { hashes, decoy }, None));
        }
        let (password, generated) = match &auth.admin_password {
            Some(p) if !p.is_empty() => (p.clone(), None),
            _ => {
                let p = generate_password();
                (p.clone(), Some(p))
            }
        };
        let hashes = HashMap::from([("admin".to_string(), hash_password(&password)?)]);
        Ok((Self { hashes, decoy }, generated))
    }

    /// Whether `password` is `username`'s.
    pub fn verify(&self, username: &str, password: &str) -> bool {
        let (hash, known) = match self.hashes.get(username) {
            Some(h) => (h.as_str(), true),
            None => (self.decoy.as_str(), false),
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok();
        ok && known
    }
}

/// The signed-in user's name, if any.
pub async fn current_user(session: &Session) -> Option<String> {
    session.get::<String>(USER_KEY).await.ok().flatten()
}

/// Only local paths may be redirected to after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_page(
    session: Session,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    if current_user(&session).await.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    render_login(StatusCode::OK, None, "", &safe_next(q.next.as_deref()))
}

fn render_login(status: StatusCode, error: Option<&str>, username: &str, next: &str) -> Response {
    let ctx = minijinja::context! { error, username, next };
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

pub async fn login_submit(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let users = state.users().clone();
    let (name, password) = (form.username.trim().to_string(), form.password);
    let check_name = name.clone();
    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || users.verify(&check_name, &password))
        .await
        .unwrap_or(false);
    if !ok {
        tracing::warn!(user = %name, "login failed");
        return render_login(
            StatusCode::UNAUTHORIZED,
            Some("Wrong username or password."),
            &name,
            &next,
        );
    }
    // A new session id at login defeats session fixation.
    if let Err(e) = session.cycle_id().await {
        return AppError::internal_logged(&e).into_response();
    }
    if let Err(e) = session.insert(USER_KEY, &name).await {
        return AppError::internal_logged(&e).into_response();
    }
    tracing::info!(user = %name, "login");
    Redirect::to(&next).into_response()
}

pub async fn logout(session: Session) -> Response {
    let _ = session.flush().await;
    Redirect::to("/login").into_response()
}

/// Lets signed-in requests through; sends others to `/login` (pages) or answers 401 JSON (`/api/…`).
pub async fn require_login(session: Session, request: Request, next: Next) -> Response {
    if let Some(user) = current_user(&session).await {
        let mut request = request;
        request.extensions_mut().insert(SignedIn(user));
        return next.run(request).await;
    }
    let path = request.uri().path();
    if path.starts_with("/api/") {
        return AppError::unauthenticated().into_response();
    }
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", target)
        .finish();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// The signed-in user, put in request extensions by [`require_login`].
#[derive(Clone, Debug)]
pub struct SignedIn(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_hashes_and_rejects_others() {
        let auth = AuthConfig {
            admin_password: Some("s3cret".into()),
            ..Default::default()
        };
        let (users, generated) = Users::from_config(&auth).unwrap();
        assert!(generated.is_none());
        assert!(users.verify("admin", "s3cret"));
        assert!(!users.verify("admin", "wrong"));
        assert!(!users.verify("nobody", "s3cret"));

        let (users, generated) = Users::from_config(&AuthConfig::default()).unwrap();
        let p = generated.unwrap();
        assert_eq!(p.len(), 20);
        assert!(users.verify("admin", &p));
    }

    #[test]
    fn next_stays_local() {
        assert_eq!(safe_next(Some("/d/x?team=Web")), "/d/x?team=Web");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
