//! The router (composed per feature), request logging, and the server loop.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, Request, Response};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use lantern_core::config::AuthConfig;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};
use tracing::Span;

use crate::access::{self, Access};
use crate::session_store::Sessions;
use crate::state::AppState;
use crate::{api, assets, auth, pages, sso};

/// One route: its path, the methods it answers, who may use it and its handler. Every route is declared here
/// with its rule, so none can be added without one (the authorization matrix test walks this list).
pub struct Route {
    pub path: &'static str,
    pub methods: &'static [Method],
    pub access: Access,
    /// Whether a state-changing request must carry the session's CSRF token (all but one do).
    pub csrf: bool,
    handler: MethodRouter<AppState>,
}

impl Route {
    pub(crate) fn get<H, T>(path: &'static str, access: Access, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        Self {
            path,
            methods: &[Method::GET, Method::HEAD],
            access,
            csrf: true,
            handler: get(handler),
        }
    }

    pub(crate) fn post<H, T>(path: &'static str, access: Access, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        Self {
            path,
            methods: &[Method::POST],
            access,
            csrf: true,
            handler: post(handler),
        }
    }

    /// A POST that another site sends by design (a SAML identity provider's form), so it cannot carry
    /// Lantern's CSRF token: its handler must authenticate what it receives itself.
    pub(crate) fn post_from_another_site<H, T>(
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        Self {
            csrf: false,
            ..Self::post(path, access, handler)
        }
    }
}

/// Every route of the application with its access rule.
pub fn routes() -> Vec<Route> {
    use Access::*;
    let mut routes = vec![
        Route::get("/", SignedIn, pages::home::page),
        Route::get("/d/{id}", Dashboard(&[]), pages::dashboard::page),
        Route::get("/datasets", DatasetPages, pages::datasets::page),
        Route::get("/datasets/{id}", DatasetPages, pages::dataset::page),
        // The storage location and cache figures are for those who see the datasets pages (operators).
        Route::get("/api/status", DatasetPages, status),
        Route::get("/login", Public, auth::login_page),
        Route::post("/login", Public, auth::login_submit),
        Route::post("/logout", Public, auth::logout),
        Route::get("/auth/oidc/start", Public, sso::oidc::start),
        Route::get("/auth/oidc/callback", Public, sso::oidc::callback),
        Route::get("/auth/saml/metadata", Public, sso::saml::metadata),
        Route::get("/auth/saml/start", Public, sso::saml::start),
        // Bound to the session's AuthnRequest and verified by signature instead.
        Route::post_from_another_site("/auth/saml/acs", Public, sso::saml::acs),
        Route::get("/healthz", Public, healthz),
        Route::get("/readyz", Public, crate::telemetry::readyz),
        // Public to the access rules: a scraper has no session; `server.metrics_token` guards it instead.
        Route::get("/metrics", Public, crate::telemetry::metrics),
        Route::get("/static/{name}", Public, assets::serve),
    ];
    routes.extend(api::routes());
    routes.extend(crate::chat::routes());
    routes
}

/// The routes as (path, methods, rule), for tests and docs.
pub fn route_table() -> Vec<(&'static str, &'static [Method], Access)> {
    routes()
        .into_iter()
        .map(|r| (r.path, r.methods, r.access))
        .collect()
}

/// The paths whose POSTs need no CSRF token, for tests and docs.
pub fn csrf_exempt() -> Vec<&'static str> {
    routes()
        .into_iter()
        .filter(|r| !r.csrf)
        .map(|r| r.path)
        .collect()
}

/// The whole application: every route behind its access rule, CSRF checks, sessions, compression, request logs
/// and security headers.
pub fn router(state: AppState) -> Router {
    // Paths shared by several methods (`/login`) get one method router.
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for r in routes() {
        let mut guarded = r.handler.layer(middleware::from_fn_with_state(
            (state.clone(), r.access),
            access::authorize,
        ));
        if r.csrf {
            guarded = guarded.layer(middleware::from_fn(crate::csrf::verify));
        }
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, m)) => *m = std::mem::take(m).merge(guarded),
            None => by_path.push((r.path, guarded)),
        }
    }
    let mut app = Router::new();
    for (path, handler) in by_path {
        app = app.route(path, handler);
    }

    let app = app
        .fallback(not_found)
        .layer(middleware::from_fn(crate::telemetry::record_request));
    let auth = &state.config().auth;
    let app = match state.sessions().clone() {
        Sessions::Memory(store) => app.layer(session_layer(store, auth)),
        Sessions::Redis(store) => app.layer(session_layer(store, auth)),
    };
    app.layer(middleware::from_fn_with_state(
        state.clone(),
        crate::proxy::secure_cookies,
    ))
    .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    let id = req.headers().get(crate::request_id::HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_request(())
                .on_response(|res: &Response<Body>, latency: Duration, _span: &Span| {
                    let cache = res.extensions().get::<crate::board::run::CacheOutcome>().map(|c| c.0).unwrap_or("-");
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = (latency.as_secs_f64() * 1e5).round() / 100.0,
                        cache,
                        "served"
                    );
                }),
        )
        .layer(middleware::from_fn(crate::request_id::layer))
        .layer(middleware::from_fn(crate::security_headers::layer))
        .with_state(state)
}

/// Session cookies: HttpOnly, SameSite=Lax, `Secure` when configured, ending after `session_ttl_secs` idle.
fn session_layer<S: SessionStore + Clone>(store: S, auth: &AuthConfig) -> SessionManagerLayer<S> {
    SessionManagerLayer::new(store)
        .with_name("lantern_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(auth.secure_cookies)
        .with_always_save(true)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            auth.session_ttl_secs as i64,
        )))
}

async fn not_found(req: Request<Body>) -> axum::response::Response {
    let e = crate::AppError::not_found("page", req.uri().path());
    if req.uri().path().starts_with("/api/") {
        e.into_response()
    } else {
        e.page().into_response()
    }
}

/// Liveness for load balancers and probes: anyone may ask, so it says nothing about the deployment.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// What `/healthz` once told anyone (version, storage, dashboards, cache), now for signed-in users only.
async fn status(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "storage": state.engine().catalog().storage().description(),
        "dashboards": state.boards().len(),
        "cache_entries": state.engine().cache().entry_count(),
    }))
}

/// Serves until `shutdown` resolves, then drains: `/readyz` answers 503 for `server.drain_secs` while
/// requests are still served (so a load balancer stops sending them), the listener closes, and requests in
/// flight get up to `server.shutdown_timeout_secs` to finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let upkeep = crate::telemetry::spawn_upkeep();
    let server_config = &state.config().server;
    let (drain, grace) = (
        Duration::from_secs(server_config.drain_secs),
        Duration::from_secs(server_config.shutdown_timeout_secs),
    );
    let (closed, on_closed) = tokio::sync::oneshot::channel::<()>();
    let draining = state.clone();
    let signal = async move {
        shutdown.await;
        draining.begin_drain();
        if !drain.is_zero() {
            tracing::info!(
                drain_secs = drain.as_secs(),
                "draining: /readyz answers 503"
            );
            tokio::time::sleep(drain).await;
        }
        tracing::info!("listener closed; finishing the requests in flight");
        let _ = closed.send(());
    };
    // The peer address reaches handlers (login throttling per address).
    let server = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();
    let deadline = async {
        if on_closed.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let result = tokio::select! {
        served = server => served.inspect(|()| tracing::info!("every request finished")),
        () = deadline => {
            tracing::warn!(
                shutdown_timeout_secs = grace.as_secs(),
                "requests still in flight at the shutdown timeout: exiting without them"
            );
            Ok(())
        }
    };
    upkeep.abort();
    result
}
