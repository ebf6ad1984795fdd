//! The router (composed per feature), request logging, and the server loop.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, MemoryStore, SessionManagerLayer};
use tracing::Span;

use crate::state::AppState;
use crate::{api, assets, auth, pages};

/// The whole application: public routes, signed-in routes, sessions, compression and request logs.
pub fn router(state: AppState) -> Router {
    let auth_config = &state.config().auth;
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_name("lantern_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(auth_config.secure_cookies)
        .with_always_save(true)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            auth_config.session_ttl_secs as i64,
        )));

    let signed_in = Router::new()
        .route("/", get(pages::home::page))
        .route("/d/{id}", get(pages::dashboard::page))
        .route("/datasets", get(pages::datasets::page))
        .route("/datasets/{id}", get(pages::dataset::page))
        .route("/api/status", get(status))
        .merge(api::routes())
        .route_layer(middleware::from_fn(auth::require_login));

    let public = Router::new()
        .route("/login", get(auth::login_page).post(auth::login_submit))
        .route("/logout", post(auth::logout))
        .route("/healthz", get(healthz))
        .route("/static/{name}", get(assets::serve));

    Router::new()
        .merge(signed_in)
        .merge(public)
        .fallback(not_found)
        .layer(sessions)
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

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
