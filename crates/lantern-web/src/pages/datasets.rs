//! `/datasets`: every dataset in the store with its current version, size and quarantine count, its ETL schedule
//! and the outcome of its last run (from the CLI or the schedule).

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lantern_core::semantic::Format;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use crate::access::Principal;
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
    schedule: String,
    last_run: Option<LastRun>,
}

#[derive(Serialize)]
struct LastRun {
    ok: bool,
    when: String,
    trigger: String,
    summary: String,
    next: Option<String>,
    /// Each hint in pieces: text, and what it quotes between backticks (shown as code).
    hints: Vec<Vec<HintPart>>,
}

#[derive(Serialize)]
struct HintPart {
    text: String,
    code: bool,
}

/// `a `b` c` as [a, b (code), c].
fn hint_parts(hint: &str) -> Vec<HintPart> {
    hint.split('`')
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(i, t)| HintPart {
            text: t.to_string(),
            code: i % 2 == 1,
        })
        .collect()
}

impl LastRun {
    fn of(r: &lantern_core::catalog::RunRecord) -> Self {
        let took = (r.finished_at - r.started_at).num_milliseconds() as f64 / 1000.0;
        let summary = match (&r.error, r.version, r.new_rows) {
            (Some(e), _, _) => e.clone(),
            (None, Some(v), Some(0)) => format!("nothing new; v{v} kept ({took:.1} s)"),
            (None, Some(v), Some(n)) => format!(
                "v{v}: {} new rows in {took:.1} s",
                format_value(&n.into(), Format::Integer)
            ),
            _ => format!("{took:.1} s"),
        };
        Self {
            ok: r.ok,
            when: r.finished_at.format("%Y-%m-%d %H:%M").to_string(),
            trigger: r.trigger.clone(),
            summary,
            next: r.next_run.map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
            hints: r.hints.iter().map(|h| hint_parts(h)).collect(),
        }
    }
}

pub async fn page(State(state): State<AppState>, Extension(me): Extension<Principal>) -> Response {
    let engine = state.engine();
    let catalog = engine.catalog();
    let ids = match catalog.dataset_ids().await {
        Ok(ids) => ids,
        Err(e) => return AppError::from(e).page().into_response(),
    };
    let mut rows: Vec<Row> = Vec::new();
    // Only the datasets this user may open are listed.
    for id in ids.into_iter().filter(|id| me.may_open_dataset(id)) {
        let whole = me.rows(&id).is_all();
        let (manifest, last_run) =
            match tokio::try_join!(catalog.current(&id), catalog.last_run(&id)) {
                Ok(found) => found,
                Err(e) => return AppError::from(e).page().into_response(),
            };
        if manifest.is_none() && last_run.is_none() {
            continue;
        }
        let spec = engine.dataset_spec(&id);
        let schedule = spec
            .as_ref()
            .and_then(|s| s.spec.schedule.as_ref()?.as_str().map(str::to_string))
            .or_else(|| last_run.as_ref()?.schedule.clone())
            .unwrap_or_else(|| "—".into());
        let dash = || "—".to_string();
        rows.push(Row {
            title: spec
                .as_ref()
                .map(|s| s.title().to_string())
                .unwrap_or_else(|| id.clone()),
            version: manifest.as_ref().map(|m| m.version).unwrap_or(0),
            // Under row rules the version's row count is not the user's.
            rows: manifest
                .as_ref()
                .filter(|_| whole)
                .map(|m| format_value(&m.rows.into(), Format::Integer))
                .unwrap_or_else(dash),
            files: manifest.as_ref().map(|m| m.files.len()).unwrap_or(0),
            // Under row rules, figures of the whole version (size, quarantine, the last run's rows and errors)
            // are not the user's: left out.
            size: manifest
                .as_ref()
                .filter(|_| whole)
                .map(|m| format!("{:.1} MB", m.total_bytes() as f64 / 1e6))
                .unwrap_or_else(dash),
            published: manifest
                .as_ref()
                .map(|m| m.created_at.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "never".into()),
            quarantined: manifest
                .as_ref()
                .filter(|_| whole)
                .map(|m| format_value(&m.quarantined_rows.into(), Format::Integer))
                .unwrap_or_else(dash),
            partitions: match &manifest {
                Some(m) if !m.partitions.is_empty() => m.partitions.join(", "),
                _ => dash(),
            },
            schedule,
            last_run: last_run.as_ref().filter(|_| whole).map(LastRun::of),
            id,
        });
    }
    super::html(
        "datasets.html",
        minijinja::context! {
            datasets => Value::from(Serde(&rows)),
            storage => catalog.storage().description(),
            nav => Value::from(Serde(sidebar::entries(&state, &me))),
            active => "/datasets",
            user => Value::from(Serde(me.view())),
        },
    )
}
