//! The filter bar: one control per dashboard filter, pre-filled from the URL's filter set.

use lantern_core::dashboard::{DashboardSpec, FilterKind};
use lantern_core::filters::{Condition, FilterSet, FilterValue};
use lantern_core::query::QueryEngine;
use serde::Serialize;
use serde_json::Value;

/// At most this many choices are listed in a multi-select.
const MAX_OPTIONS: usize = 500;

#[derive(Debug, Clone, Serialize)]
pub struct FilterOption {
    pub value: String,
    pub selected: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilterControl {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub options: Vec<FilterOption>,
    pub from: String,
    pub to: String,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Builds the controls; `filters` is `None` when the URL's filters were invalid (controls then start empty).
pub async fn controls(
    engine: &QueryEngine,
    dashboard: &DashboardSpec,
    filters: Option<&FilterSet>,
) -> Vec<FilterControl> {
    let version = engine.version(&dashboard.spec.dataset).await.ok();
    let mut out = Vec::new();
    for f in &dashboard.spec.filters {
        let label = f.label.clone().unwrap_or_else(|| {
            version
                .as_ref()
                .and_then(|v| {
                    v.model
                        .dimensions
                        .get(&f.dimension)
                        .map(|d| d.label.clone())
                })
                .unwrap_or_else(|| lantern_core::semantic::title_case(&f.dimension))
        });
        let condition = filters.and_then(|fs| fs.get(&f.dimension));
        let (kind, options, from, to) = match f.kind {
            FilterKind::MultiSelect => {
                let selected: Vec<String> = match condition {
                    Some(Condition::In(values)) => {
                        values.iter().map(FilterValue::canonical).collect()
                    }
                    _ => vec![],
                };
                let values = engine
                    .distinct_values(&dashboard.spec.dataset, &f.dimension, MAX_OPTIONS)
                    .await
                    .unwrap_or_default();
                let options = values
                    .iter()
                    .map(|v| {
                        let value = text(v);
                        FilterOption {
                            selected: selected.contains(&value),
                            value,
                        }
                    })
                    .collect();
                ("multi_select", options, String::new(), String::new())
            }
            FilterKind::DateRange | FilterKind::NumericRange => {
                let (from, to) = match condition {
                    Some(c @ Condition::Range { .. }) => {
                        let canon = c.canonical();
                        let (a, b) = canon.split_once("..").unwrap_or(("", ""));
                        (a.to_string(), b.to_string())
                    }
                    _ => (String::new(), String::new()),
                };
                let kind = if f.kind == FilterKind::DateRange {
                    "date_range"
                } else {
                    "numeric_range"
                };
                (kind, vec![], from, to)
            }
        };
        out.push(FilterControl {
            name: f.dimension.clone(),
            label,
            kind,
            options,
            from,
            to,
        });
    }
    out
}
