//! What operators watch: Prometheus metrics rendered at `/metrics` (the exporter's own HTTP listener is left
//! out: the metrics are one more route of the app), request latency recorded per route, and `/readyz`, which
//! says whether this replica can serve (storage and Redis answer, and it is not draining for shutdown).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lantern_core::telemetry as names;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Latency buckets (seconds): a cached answer takes a millisecond, a cold Parquet scan or an export seconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use. Several apps in one process (tests) share it,
/// as they share the process. Should another recorder already be installed (an embedding program's),
/// `/metrics` renders only what reaches ours, and says so in the log once.
pub fn prometheus() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "another metrics recorder is installed: /metrics shows only Lantern's own"
            );
        }
        for (name, help) in names::DESCRIBED {
            metrics::describe_counter!(*name, *help);
        }
        handle
    })
}

/// Keeps the histograms' buckets drained while nobody scrapes (the exporter leaves that to its caller).
pub fn spawn_upkeep() -> tokio::task::JoinHandle<()> {
    let handle = prometheus();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}

/// Middleware: each request's latency by route template (not its path, so ids do not multiply the series),
/// method and status. Unmatched paths share one label.
pub async fn record_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let res = next.run(req).await;
    metrics::histogram!(
        names::HTTP_REQUEST_SECONDS,
        "route" => route,
        "method" => method,
        "status" => res.status().as_u16().to_string()
    )
    .record(started.elapsed().as_secs_f64());
    res
}

/// `GET /metrics`: the Prometheus text format; behind a bearer token when `server.metrics_token` is set.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config().server.metrics_token {
        let offered = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !offered.is_some_and(|o| constant_time_eq(o.as_bytes(), token.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a metrics token is required\n",
            )
                .into_response();
        }
    }
    match state.sessions().signed_in().await {
        Ok(n) => metrics::gauge!(names::SESSIONS_ACTIVE).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "could not count the active sessions"),
    }
    let handle = prometheus();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One dependency's state in `/readyz`.
#[derive(serde::Serialize)]
struct Check {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    ms: f64,
}

async fn check<F>(work: F) -> Check
where
    F: std::future::Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    // A dependency that hangs must not hang the probe: the balancer's own timeout would say less.
    let result = match tokio::time::timeout(Duration::from_secs(3), work).await {
        Ok(r) => r,
        Err(_) => Err("no answer within 3 s".into()),
    };
    Check {
        ok: result.is_ok(),
        error: result.err(),
        ms: (started.elapsed().as_secs_f64() * 1e5).round() / 100.0,
    }
}

/// `GET /readyz`: 200 when storage (and the sessions' Redis, when configured) answer and the replica is not
/// draining; 503 otherwise, with what failed. The shared cache's Redis is reported but optional. Public like `/healthz`, so it names no location or credential.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut checks = serde_json::Map::new();
    let storage = check(async {
        let storage = state.engine().catalog().storage();
        storage.reachable().await.map_err(|e| {
            tracing::warn!(error = %e, "readiness: storage does not answer");
            "storage does not answer".to_string()
        })
    })
    .await;
    let mut ready = storage.ok;
    checks.insert("storage".into(), serde_json::json!(storage));
    if let Some(ping) = state.sessions().ping() {
        let redis = check(async {
            ping.await.map_err(|e| {
                tracing::warn!(error = %e, "readiness: Redis does not answer");
                "redis does not answer".to_string()
            })
        })
        .await;
        ready &= redis.ok;
        checks.insert("redis".into(), serde_json::json!(redis));
    }
    // Reported, never failing readiness: without it every replica still answers, from its local cache.
    if let Some(shared) = state.engine().cache().shared() {
        let cache = check(async {
            shared.ping().await.map_err(|e| {
                tracing::warn!(error = %e, "readiness: the shared cache's Redis does not answer");
                "redis does not answer".to_string()
            })
        })
        .await;
        checks.insert(
            "cache_redis".into(),
            serde_json::json!({"optional": true, "ok": cache.ok, "error": cache.error, "ms": cache.ms}),
        );
    }
    let draining = state.is_draining();
    let status = if ready && !draining {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if draining { "draining" } else if ready { "ready" } else { "unavailable" },
        "checks": checks,
    });
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
