//! `/datasets`: every published dataset with its current version, size and quarantine count.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lantern_core::semantic::Format;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use crate::auth::SignedIn;
use crate::components::sidebar;
use crate::error::AppError;
use crate::format::format_value;
use crate::state::AppState;

#[derive(Serialize)]
struct Row {
    id: String,
    title: String,
    version: u64,
    rows: String,
    files: usize,
    size: String,
    published: String,
    quarantined: String,
    partitions: String,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(SignedIn(user)): Extension<SignedIn>,
) -> Response {
    let engine = state.engine();
    let manifests = match engine.catalog().list().await {
        Ok(m) => m,
        Err(e) => return AppError::from(e).page().into_response(),
    };
    let rows: Vec<Row> = manifests
        .iter()
        .map(|m| Row {
            title: engine
                .dataset_spec(&m.dataset)
                .map(|s| s.title().to_string())
                .unwrap_or_else(|| m.dataset.clone()),
            id: m.dataset.clone(),
            version: m.version,
            rows: format_value(&m.rows.into(), Format::Integer),
            files: m.files.len(),
            size: format!("{:.1} MB", m.total_bytes() as f64 / 1e6),
            published: m.created_at.format("%Y-%m-%d %H:%M").to_string(),
            quarantined: format_value(&m.quarantined_rows.into(), Format::Integer),
            partitions: if m.partitions.is_empty() {
                "—".into()
            } else {
                m.partitions.join(", ")
            },
        })
        .collect();
    super::html(
        "datasets.html",
        minijinja::context! {
            datasets => Value::from(Serde(&rows)),
            storage => engine.catalog().storage().description(),
            nav => Value::from(Serde(sidebar::entries(&state))),
            active => "/datasets",
            user,
        },
    )
}
