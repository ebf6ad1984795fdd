//! Authorization in one place: every route is registered with an [`Access`] rule (see `server::routes`), and
//! [`authorize`] enforces it before the handler runs. Logged-out visitors go to `/login` (pages) or get 401
//! (API); signed-in users without the right get 403 and never data. The signed-in [`Principal`] is put in
//! request extensions for handlers, which use it to list only what the user may open and to apply row rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use lantern_core::access::{Feature, RowScope, UserRecord};
use tower_sessions::Session;

use crate::error::AppError;
use crate::state::AppState;

/// The session key holding the signed-in user's name.
pub(crate) const USER_KEY: &str = "user";
/// The session key holding the roles the session was granted with: a change rotates the session id.
pub(crate) const ROLES_KEY: &str = "roles";
/// The session key holding a single sign-on user's record (they are in no users file).
const SSO_KEY: &str = "sso_user";
/// The session key holding when the session signed in (Unix seconds), for the absolute timeout.
const SINCE_KEY: &str = "since";

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (login, health, static assets).
    Public,
    /// Any signed-in user; the handler shows only what they may open.
    SignedIn,
    /// The dashboard named by the `{id}` path parameter (and its dataset), plus these features.
    Dashboard(&'static [Feature]),
    /// The dataset pages feature, and the dataset named by `{id}` when the path has one.
    DatasetPages,
    /// The chat feature and these, on the dataset named by `{id}`.
    Chat(&'static [Feature]),
}

/// The dashboard `authorize` checked this request against: handlers serve this one, never a second lookup
/// (a reload between the check and the handler could otherwise swap in a board nobody checked).
#[derive(Clone)]
pub struct AuthorizedBoard(pub Arc<crate::board::Board>);

/// The signed-in user as this request sees them: their current record and what their roles allow.
#[derive(Clone)]
pub struct Principal {
    pub user: Arc<UserRecord>,
    /// The session's CSRF token, for the forms a page renders (logout).
    pub csrf: String,
    state: AppState,
}

/// What templates show of the signed-in user.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserView {
    pub name: String,
    pub csrf: String,
    pub dataset_pages: bool,
    pub features: Vec<&'static str>,
    /// The datasets the user may ask the chat about, as (id, title), for the sidebar.
    pub ask: Vec<(String, String)>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("user", &self.user.username)
            .finish()
    }
}

impl Principal {
    pub fn username(&self) -> &str {
        &self.user.username
    }

    /// The name to show: the display name, else the username.
    pub fn display_name(&self) -> &str {
        self.user.name.as_deref().unwrap_or(&self.user.username)
    }

    pub fn may_open_dashboard(&self, id: &str, dataset: &str) -> bool {
        self.state
            .users()
            .roles()
            .dashboard(&self.user.roles, id, dataset)
    }

    pub fn may_open_dataset(&self, id: &str) -> bool {
        self.state.users().roles().dataset(&self.user.roles, id)
    }

    pub fn may(&self, feature: Feature) -> bool {
        self.state
            .users()
            .roles()
            .feature(&self.user.roles, feature)
    }

    /// The rows of `dataset` this user may see.
    pub fn rows(&self, dataset: &str) -> RowScope {
        let attributes: BTreeMap<String, Vec<String>> = self.user.attribute_lists();
        self.state
            .users()
            .roles()
            .rows(&self.user.roles, &attributes, dataset)
    }

    pub fn view(&self) -> UserView {
        UserView {
            name: self.display_name().to_string(),
            csrf: self.csrf.clone(),
            dataset_pages: self.may(Feature::DatasetPages),
            features: self.features(),
            ask: self.ask(),
        }
    }

    /// The datasets of the dashboards this user opens that they may also ask the chat about.
    fn ask(&self) -> Vec<(String, String)> {
        if self.state.chat().is_none() || !self.may(Feature::Chat) {
            return Vec::new();
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for b in self.state.boards().iter() {
            let dataset = &b.spec.spec.dataset;
            if out.iter().any(|(id, _)| id == dataset) || !self.may_open_dashboard(b.id(), dataset)
            {
                continue;
            }
            if let Some(spec) = self.state.engine().dataset_spec(dataset) {
                out.push((dataset.clone(), spec.title().to_string()));
            }
        }
        out
    }

    /// The features shown to the browser (which buttons to offer).
    pub fn features(&self) -> Vec<&'static str> {
        Feature::ALL
            .into_iter()
            .filter(|f| self.may(*f))
            .map(Feature::as_str)
            .collect()
    }
}

/// The roles a session was granted with, as stored in it.
fn roles_fingerprint(user: &UserRecord) -> String {
    let mut roles = user.roles.clone();
    roles.sort();
    roles.join(",")
}

/// Starts a signed-in session for `user`: a new session id (against fixation) holding their name and roles.
pub(crate) async fn sign_in(session: &Session, user: &UserRecord) -> Result<(), AppError> {
    let _ = session.remove_value(SINCE_KEY).await;
    let _ = session.remove_value(SSO_KEY).await;
    renew(session, user).await
}

/// Starts a signed-in session for a user an identity provider vouched for: as [`sign_in`], with their record.
pub(crate) async fn sign_in_sso(session: &Session, user: &UserRecord) -> Result<(), AppError> {
    sign_in(session, user).await?;
    session
        .insert(SSO_KEY, user)
        .await
        .map_err(|e| AppError::internal_logged(&e))
}

/// A new session id for the same sign-in, holding `user`'s current roles.
async fn renew(session: &Session, user: &UserRecord) -> Result<(), AppError> {
    session
        .cycle_id()
        .await
        .map_err(|e| AppError::internal_logged(&e))?;
    session
        .insert(USER_KEY, &user.username)
        .await
        .map_err(|e| AppError::internal_logged(&e))?;
    session
        .insert(ROLES_KEY, roles_fingerprint(user))
        .await
        .map_err(|e| AppError::internal_logged(&e))?;
    // Kept across a rotation for a role change: the absolute timeout counts from the sign-in.
    if session.get::<i64>(SINCE_KEY).await.ok().flatten().is_none() {
        session
            .insert(SINCE_KEY, now_secs())
            .await
            .map_err(|e| AppError::internal_logged(&e))?;
    }
    Ok(())
}

/// The signed-in user of `session`, if any, still existing and enabled; a session whose roles changed since it
/// began gets a new id (the old one is no longer valid).
pub(crate) async fn principal(
    state: &AppState,
    session: &Session,
) -> Result<Option<Principal>, AppError> {
    let Some(name) = session.get::<String>(USER_KEY).await.ok().flatten() else {
        return Ok(None);
    };
    let local = state.users().get(&name);
    let sso = session
        .get::<UserRecord>(SSO_KEY)
        .await
        .ok()
        .flatten()
        .filter(|u| u.username == name)
        .map(Arc::new);
    // A single sign-on user keeps the record the provider vouched for, unless a local user of that name is
    // disabled; a password user's record is the directory's, read at every request.
    let found = match (sso, &local) {
        (_, Some(l)) if !l.enabled => None,
        (Some(s), _) => Some(s),
        (None, l) => l.clone(),
    };
    let Some(user) = found else {
        crate::audit::event(
            "session_ended",
            &name,
            &[("reason", "user removed or disabled")],
        );
        let _ = session.flush().await;
        return Ok(None);
    };
    let since = session
        .get::<i64>(SINCE_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
    let max = state.config().auth.session_max_secs as i64;
    if now_secs() - since > max {
        crate::audit::event("session_ended", &name, &[("reason", "absolute timeout")]);
        let _ = session.flush().await;
        return Ok(None);
    }
    let granted = session.get::<String>(ROLES_KEY).await.ok().flatten();
    let now = roles_fingerprint(&user);
    if granted.as_deref() != Some(now.as_str()) {
        crate::audit::event("session_rotated", &name, &[("reason", "roles changed")]);
        renew(session, &user).await?;
    }
    Ok(Some(Principal {
        user,
        csrf: crate::csrf::token(session).await?,
        state: state.clone(),
    }))
}

fn forbidden(principal: &Principal, request: &Request, what: String) -> Response {
    crate::audit::event(
        "forbidden",
        principal.username(),
        &[("path", request.uri().path()), ("what", &what)],
    );
    let e = AppError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("{what} is not shared with you. Ask an administrator for access."),
    );
    if request.uri().path().starts_with("/api/") {
        e.into_response()
    } else {
        e.page().into_response()
    }
}

/// The one authorization check, layered on each route with its rule.
pub async fn authorize(
    State((state, access)): State<(AppState, Access)>,
    session: Session,
    params: RawPathParams,
    mut request: Request,
    next: Next,
) -> Response {
    if access == Access::Public {
        return next.run(request).await;
    }
    let principal = match principal(&state, &session).await {
        Ok(Some(p)) => p,
        Ok(None) => return to_login(&request),
        Err(e) => return e.into_response(),
    };
    let id = params
        .iter()
        .find(|(k, _)| *k == "id")
        .map(|(_, v)| v.to_string());
    let mut checked = None;
    let denied = match (access, id.as_deref()) {
        (Access::Public | Access::SignedIn, _) => None,
        (Access::Dashboard(features), Some(id)) => match state.board(id) {
            // An unknown id reaches the handler without a board, which answers 404.
            None => None,
            Some(b) if !principal.may_open_dashboard(id, &b.spec.spec.dataset) => {
                Some("This dashboard".into())
            }
            Some(b) => {
                let missing = features
                    .iter()
                    .find(|f| !principal.may(**f))
                    .map(|f| format!("The {} feature", f.label()));
                checked = Some(b);
                missing
            }
        },
        (Access::Dashboard(_), None) => Some("This page".into()),
        (Access::Chat(features), id) => std::iter::once(&Feature::Chat)
            .chain(features.iter())
            .find(|f| !principal.may(**f))
            .map(|f| format!("The {} feature", f.label()))
            .or_else(|| {
                let id = id.unwrap_or_default();
                (!principal.may_open_dataset(id)).then(|| format!("The dataset “{id}”"))
            }),
        (Access::DatasetPages, id) => {
            if !principal.may(Feature::DatasetPages) {
                Some("The datasets pages".into())
            } else {
                id.filter(|id| !principal.may_open_dataset(id))
                    .map(|id| format!("The dataset “{id}”"))
            }
        }
    };
    if let Some(what) = denied {
        return forbidden(&principal, &request, what);
    }
    request.extensions_mut().insert(principal);
    if let Some(b) = checked {
        request.extensions_mut().insert(AuthorizedBoard(b));
    }
    next.run(request).await
}

/// Logged out: pages go to `/login` (and back afterwards), the API answers 401.
fn to_login(request: &Request) -> Response {
    if request.uri().path().starts_with("/api/") {
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
