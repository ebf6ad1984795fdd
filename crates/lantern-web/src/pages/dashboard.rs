//! `/d/{id}`: filter bar, KPI cards and charts, rendered on the server with the data for the URL's filters;
//! `assets/app.js` then keeps it live without reloads.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lantern_core::filters::FilterSet;
use minijinja::value::{Serde, Value};

use crate::api::{dashboard_data, query_pairs};
use crate::auth::SignedIn;
use crate::components::{filters, sidebar};
use crate::error::AppError;
use crate::state::AppState;

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    Extension(SignedIn(user)): Extension<SignedIn>,
) -> Response {
    let Some(dashboard) = state.dashboard(&id).cloned() else {
        return AppError::not_found("dashboard", &id).page().into_response();
    };
    let pairs = query_pairs(raw.as_deref());
    let engine = state.engine();
    let result = dashboard_data(&state, &dashboard, &pairs).await;
    let parsed = match engine.version(&dashboard.spec.dataset).await {
        Ok(v) => FilterSet::parse(&pairs, &dashboard, &v.model).ok(),
        Err(_) => None,
    };
    let controls = filters::controls(engine, &dashboard, parsed.as_ref()).await;
    let spec = minijinja::context! {
        id => &dashboard.spec.id,
        title => &dashboard.spec.title,
        description => &dashboard.spec.description,
        dataset => &dashboard.spec.dataset,
    };
    let (status, ctx) = match &result {
        Ok(data) => (
            StatusCode::OK,
            minijinja::context! {
                dashboard => spec,
                filters => Value::from(Serde(&controls)),
                kpis => Value::from(Serde(&data.kpis)),
                charts => Value::from(Serde(&data.charts)),
                version => data.version,
                rows => crate::format::format_value(&data.rows.into(), lantern_core::semantic::Format::Integer),
                data => Value::from(Serde(data)),
                nav => Value::from(Serde(sidebar::entries(&state))),
                active => &dashboard.spec.id,
                user => &user,
            },
        ),
        Err(e) => (
            e.status,
            minijinja::context! {
                dashboard => spec,
                filters => Value::from(Serde(&controls)),
                error => minijinja::context! {
                    title => e.title(),
                    message => match &e.field {
                        Some(field) => format!("Filter `{field}`: {}", e.message),
                        None => e.message.clone(),
                    },
                },
                nav => Value::from(Serde(sidebar::entries(&state))),
                active => &dashboard.spec.id,
                user => &user,
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
