//! `/datasets/{id}`: one dataset's schema and a profile per column (type, nulls, distinct values, range, mean,
//! most frequent values, a small histogram), computed with DataFusion once per version.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use lantern_core::query::ColumnProfile;
use lantern_core::semantic::Format;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use crate::access::Principal;
use crate::components::sidebar;
use crate::error::AppError;
use crate::format::{format_compact, format_value};
use crate::state::AppState;

#[derive(Serialize)]
struct ColumnView {
    name: String,
    data_type: String,
    /// The dimension that names this column in the semantic layer, if any.
    dimension: Option<String>,
    nulls: String,
    null_share: f64,
    distinct: String,
    min: String,
    max: String,
    mean: String,
    top: Vec<(String, String, f64)>,
    /// SVG bars of the histogram in a 120 × 28 box, with each bar's hover text.
    bars: Vec<(f64, f64, f64, f64, String)>,
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => {
            format_value(&serde_json::Value::Number(n.clone()), Format::Number)
        }
        other => other.to_string(),
    }
}

/// Bars `(x, y, width, height, title)` for `histogram` in a 120 × 28 box.
fn bars(histogram: &[(serde_json::Value, u64)]) -> Vec<(f64, f64, f64, f64, String)> {
    let most = histogram.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let w = 120.0 / histogram.len().max(1) as f64;
    histogram
        .iter()
        .enumerate()
        .map(|(i, (edge, n))| {
            let h = (*n as f64 / most * 26.0).max(if *n > 0 { 1.0 } else { 0.0 });
            (
                i as f64 * w + 0.5,
                28.0 - h,
                (w - 1.0).max(0.5),
                h,
                format!(
                    "{}: {}",
                    cell(edge),
                    format_value(&(*n).into(), Format::Integer)
                ),
            )
        })
        .collect()
}

fn view(c: &ColumnProfile, rows: u64, dimension: Option<String>) -> ColumnView {
    let share = |n: u64| {
        if rows == 0 {
            0.0
        } else {
            n as f64 / rows as f64
        }
    };
    ColumnView {
        name: c.name.clone(),
        data_type: c.data_type.clone(),
        dimension,
        nulls: format_value(&c.nulls.into(), Format::Integer),
        null_share: share(c.nulls),
        distinct: format_compact(&c.distinct.into(), Format::Integer),
        min: cell(&c.min),
        max: cell(&c.max),
        mean: c
            .mean
            .map(|m| format_value(&m.into(), Format::Number))
            .unwrap_or_else(|| "—".into()),
        // A column whose most frequent value occurs once (an id) has no top values worth listing.
        top: c
            .top
            .iter()
            .filter(|_| c.top.first().is_some_and(|(_, n)| *n > 1))
            .map(|(v, n)| {
                (
                    cell(v),
                    format_compact(&(*n).into(), Format::Integer),
                    share(*n),
                )
            })
            .collect(),
        bars: bars(&c.histogram),
    }
}

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(me): Extension<Principal>,
) -> Response {
    let engine = state.engine();
    let Some(spec) = engine.dataset_spec(&id) else {
        return AppError::not_found("dataset", &id).page().into_response();
    };
    let profile = match engine.profile(&id, &me.rows(&id)).await {
        Ok(p) => p,
        Err(e) => return AppError::from(e).page().into_response(),
    };
    let version = match engine.version(&id).await {
        Ok(v) => v,
        Err(e) => return AppError::from(e).page().into_response(),
    };
    let columns: Vec<ColumnView> = profile
        .columns
        .iter()
        .map(|c| {
            let dimension = version
                .model
                .dimensions
                .values()
                .find(|d| d.column == c.name)
                .map(|d| d.label.clone());
            view(c, profile.rows, dimension)
        })
        .collect();
    let measures: Vec<(String, String, String)> = version
        .model
        .measures
        .values()
        .filter(|m| !m.name.starts_with("__"))
        .map(|m| {
            (
                m.label.clone(),
                m.sql.clone(),
                m.description.clone().unwrap_or_default(),
            )
        })
        .collect();
    super::html(
        "dataset.html",
        minijinja::context! {
            dataset => minijinja::context! {
                id => &id,
                title => spec.title(),
                description => &spec.spec.description,
                version => profile.version,
                rows => format_value(&profile.rows.into(), Format::Integer),
                files => version.manifest.files.len(),
                size => format!("{:.1} MB", version.manifest.total_bytes() as f64 / 1e6),
                published => version.manifest.created_at.format("%Y-%m-%d %H:%M").to_string(),
            },
            columns => Value::from(Serde(&columns)),
            measures => Value::from(Serde(&measures)),
            nav => Value::from(Serde(sidebar::entries(&state, &me))),
            active => "/datasets",
            user => Value::from(Serde(me.view())),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bars_fill_the_box() {
        let b = bars(&[(json!(0), 5), (json!(10), 10), (json!(20), 0)]);
        assert_eq!(b.len(), 3);
        assert_eq!(b[1].3, 26.0, "the tallest bar");
        assert_eq!(b[0].3, 13.0);
        assert_eq!(b[2].3, 0.0);
        assert_eq!(b[1].4, "10: 10");
    }
}
