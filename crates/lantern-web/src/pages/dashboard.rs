//! `/d/{id}`: filter bar, KPI cards and charts, rendered on the server with the data for the URL's filters;
//! `assets/app.js` then keeps it live without reloads (filters, cross-filter clicks, drill-down, pages).

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::value::{Serde, Value};

use crate::access::{AuthorizedBoard, Principal};
use crate::api::query_pairs;
use crate::board::run::{Request, run};
use crate::components::{filters, sidebar};
use crate::error::AppError;
use crate::state::AppState;

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    Extension(me): Extension<Principal>,
    checked: Option<Extension<AuthorizedBoard>>,
) -> Response {
    let Some(board) = checked.map(|Extension(b)| b.0).filter(|b| b.id() == id) else {
        return AppError::not_found("dashboard", &id).page().into_response();
    };
    let pairs = query_pairs(raw.as_deref());
    let engine = state.engine();
    let rows = me.rows(&board.spec.spec.dataset);
    let result = run(engine, &board, &pairs, &rows).await;
    // The controls show the URL's filters when they parse, and start empty when they do not.
    let empty: Vec<(String, String)> = Vec::new();
    let request = match Request::new(engine, &board, &pairs, &rows).await {
        Ok(r) => Some(r),
        Err(_) => Request::new(engine, &board, &empty, &rows).await.ok(),
    };
    let controls = match &request {
        Some(r) => filters::controls(&state, r).await,
        None => Vec::new(),
    };
    let spec = &board.spec.spec;
    let dashboard = minijinja::context! {
        id => &spec.id,
        title => &spec.title,
        description => &spec.description,
        dataset => &spec.dataset,
    };
    let status = state.reload_status();
    let dataset_file = state
        .engine()
        .dataset_spec(&spec.dataset)
        .map(|d| d.file.clone());
    let reload = minijinja::context! {
        watching => status.watching,
        generation => status.generation,
        error => status.affects(&board.spec.file, dataset_file.as_deref()).map(|e| e.message.clone()),
    };
    let templates = crate::theme::plotly_templates();
    let (status, ctx) = match &result {
        Ok(data) => (
            StatusCode::OK,
            minijinja::context! {
                dashboard,
                filters => Value::from(Serde(&controls)),
                kpis => Value::from(Serde(&data.kpis)),
                charts => Value::from(Serde(&data.charts)),
                chips => Value::from(Serde(&data.chips)),
                period => Value::from(Serde(&data.period)),
                version => data.version,
                rows => crate::format::format_value(&data.rows.into(), lantern_core::semantic::Format::Integer),
                data => Value::from(Serde(data)),
                templates => Value::from(Serde(&templates)),
                chat => crate::chat::page::offered(&state, &me, &spec.dataset),
                reload => reload.clone(),
                nav => Value::from(Serde(sidebar::entries(&state, &me))),
                active => &spec.id,
                user => Value::from(Serde(me.view())),
            },
        ),
        Err(e) => (
            e.status,
            minijinja::context! {
                dashboard,
                filters => Value::from(Serde(&controls)),
                error => minijinja::context! {
                    title => e.title(),
                    message => match &e.field {
                        Some(field) => format!("Filter `{field}`: {}", e.message),
                        None => e.message.clone(),
                    },
                },
                templates => Value::from(Serde(&templates)),
                reload,
                nav => Value::from(Serde(sidebar::entries(&state, &me))),
                active => &spec.id,
                user => Value::from(Serde(me.view())),
            },
        ),
    };
    let mut response = super::html("dashboard.html", ctx);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    if let Ok(data) = &result {
        response.extensions_mut().insert(data.cache.outcome());
    }
    response
}
