//! JSON API: `GET /api/dashboards` and `GET /api/dashboards/{id}/data?<filters>`.

use std::time::Instant;

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use lantern_core::dashboard::DashboardSpec;
use lantern_core::semantic::Format;
use serde::Serialize;

use crate::error::AppError;
use crate::format::format_value;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/dashboards", get(list))
        .route("/api/dashboards/{id}/data", get(data))
}

/// URL query pairs in order, repeated keys kept.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

#[derive(Serialize)]
struct DashboardInfo {
    id: String,
    title: String,
    description: Option<String>,
    dataset: String,
    url: String,
}

async fn list(State(state): State<AppState>) -> Json<Vec<DashboardInfo>> {
    let out = state
        .dashboards()
        .iter()
        .map(|d| DashboardInfo {
            id: d.spec.id.clone(),
            title: d.spec.title.clone(),
            description: d.spec.description.clone(),
            dataset: d.spec.dataset.clone(),
            url: format!("/d/{}", d.spec.id),
        })
        .collect();
    Json(out)
}

/// One KPI card's value.
#[derive(Debug, Clone, Serialize)]
pub struct KpiValue {
    pub measure: String,
    pub label: String,
    pub value: serde_json::Value,
    pub text: String,
    pub format: Format,
}

/// One chart's figure.
#[derive(Debug, Clone, Serialize)]
pub struct ChartFigure {
    pub id: String,
    pub title: String,
    pub wide: bool,
    pub figure: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct CacheStats {
    pub hits: usize,
    pub misses: usize,
}

impl CacheStats {
    /// How the request was answered, for the request log: `hit`, `miss` or `partial`.
    pub fn outcome(&self) -> CacheOutcome {
        CacheOutcome(match (self.hits, self.misses) {
            (_, 0) => "hit",
            (0, _) => "miss",
            _ => "partial",
        })
    }
}

/// Put in response extensions so that the request log line can say whether the cache answered.
#[derive(Debug, Clone, Copy)]
pub struct CacheOutcome(pub &'static str);

/// Everything a dashboard page shows for one filter set.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardData {
    pub dashboard: String,
    pub dataset: String,
    pub version: u64,
    pub rows: u64,
    /// The filters applied, in canonical form (`name`, `value` pairs).
    pub filters: Vec<(String, String)>,
    pub kpis: Vec<KpiValue>,
    pub charts: Vec<ChartFigure>,
    pub cache: CacheStats,
    pub elapsed_ms: f64,
}

/// Runs the dashboard's queries (through the cache) and builds its KPI texts and figures.
pub async fn dashboard_data(
    state: &AppState,
    dashboard: &DashboardSpec,
    pairs: &[(String, String)],
) -> Result<DashboardData, AppError> {
    let started = Instant::now();
    let engine = state.engine();
    let result = engine.dashboard(dashboard, pairs).await?;
    // The model of the very version the results come from, even if a newer one was published meanwhile.
    let version = result.loaded.clone();
    let model = &version.model;

    let kpis = dashboard
        .spec
        .kpis
        .iter()
        .map(|k| {
            let measure = &model.measures[k.measure()];
            let value = result
                .kpis
                .column_index(k.measure())
                .and_then(|i| result.kpis.rows.first().map(|r| r[i].clone()))
                .unwrap_or(serde_json::Value::Null);
            KpiValue {
                measure: measure.name.clone(),
                label: k
                    .label()
                    .map(str::to_string)
                    .unwrap_or_else(|| measure.label.clone()),
                text: format_value(&value, measure.format),
                value,
                format: measure.format,
            }
        })
        .collect();
    let charts = dashboard
        .spec
        .charts
        .iter()
        .zip(&result.charts)
        .map(|(spec, (_, table))| ChartFigure {
            id: spec.id.clone(),
            title: spec.title(Some(model)),
            wide: spec.wide,
            figure: crate::charts::build(table, spec, model),
        })
        .collect();
    Ok(DashboardData {
        dashboard: dashboard.spec.id.clone(),
        dataset: dashboard.spec.dataset.clone(),
        version: result.dataset_version,
        rows: version.manifest.rows,
        filters: result.filters.to_pairs(),
        kpis,
        charts,
        cache: CacheStats {
            hits: result.hits,
            misses: result.misses,
        },
        elapsed_ms: (started.elapsed().as_secs_f64() * 1e5).round() / 100.0,
    })
}

async fn data(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<(Extension<CacheOutcome>, Json<DashboardData>), AppError> {
    let dashboard = state
        .dashboard(&id)
        .cloned()
        .ok_or_else(|| AppError::not_found("dashboard", &id))?;
    let pairs = query_pairs(raw.as_deref());
    let data = dashboard_data(&state, &dashboard, &pairs).await?;
    Ok((Extension(data.cache.outcome()), Json(data)))
}
