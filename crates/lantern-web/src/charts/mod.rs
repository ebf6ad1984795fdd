//! Chart builders: one pure function per chart type, `build(result, spec, model) -> figure JSON`.
//!
//! A figure is `{"data": [...], "layout": {...}}`, ready for `Plotly.react`; its layout carries the theme's
//! template so it looks the same wherever it is drawn.

pub mod bar;
pub mod line;
pub mod pie;
pub mod table;

use lantern_core::dashboard::{ChartKind, ChartSpec};
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use serde_json::{Value, json};

use crate::format::tickformat;

/// Builds the figure for `spec` from its query result.
pub fn build(result: &ResultTable, spec: &ChartSpec, model: &SemanticModel) -> Value {
    match spec.kind {
        ChartKind::Line | ChartKind::Area => line::build(result, spec, model),
        ChartKind::Bar | ChartKind::HorizontalBar => bar::build(result, spec, model),
        ChartKind::Pie => pie::build(result, spec, model),
        ChartKind::Table => table::build(result, spec, model),
    }
}

/// A `plotly` trace as JSON. (Traces are serialized directly: a `plotly::Plot` copies the embedded Plotly.js
/// source into every instance, which would cost megabytes of copying per figure.)
fn trace_json<T: serde::Serialize + ?Sized>(trace: &T) -> Value {
    serde_json::to_value(trace).unwrap_or(Value::Null)
}

/// A figure with the theme template and `extra` merged into its layout.
fn figure(data: Value, extra: Value) -> Value {
    let mut layout = json!({ "template": crate::theme::plotly_template(), "autosize": true });
    if let (Some(l), Value::Object(e)) = (layout.as_object_mut(), extra) {
        l.extend(e);
    }
    json!({ "data": data, "layout": layout })
}

/// The value axis layout for the chart's first measure.
fn value_axis(spec: &ChartSpec, model: &SemanticModel) -> Value {
    let y = spec.y.to_vec();
    let format = model
        .measures
        .get(&y[0])
        .map(|m| m.format)
        .unwrap_or_default();
    json!({ "tickformat": tickformat(format), "rangemode": "tozero" })
}

fn label_of(model: &SemanticModel, name: &str) -> String {
    model
        .measures
        .get(name)
        .map(|m| m.label.clone())
        .or_else(|| model.dimensions.get(name).map(|d| d.label.clone()))
        .unwrap_or_else(|| name.to_string())
}

/// One series: its name, x values and y values.
struct Series {
    name: String,
    x: Vec<Value>,
    y: Vec<Value>,
}

/// Splits a result into series: one per measure, or, with a color dimension, one per color value.
fn series(result: &ResultTable, spec: &ChartSpec, model: &SemanticModel) -> Vec<Series> {
    let x_name = &spec.x.to_vec()[0];
    let Some(xi) = result.column_index(x_name) else {
        return vec![];
    };
    let measures = spec.y.to_vec();
    match spec.color.as_ref().and_then(|c| result.column_index(c)) {
        None => measures
            .iter()
            .filter_map(|m| {
                let yi = result.column_index(m)?;
                Some(Series {
                    name: label_of(model, m),
                    x: result.rows.iter().map(|r| r[xi].clone()).collect(),
                    y: result.rows.iter().map(|r| r[yi].clone()).collect(),
                })
            })
            .collect(),
        Some(ci) => {
            let Some(yi) = result.column_index(&measures[0]) else {
                return vec![];
            };
            let mut out: Vec<Series> = Vec::new();
            for row in &result.rows {
                let name = match &row[ci] {
                    Value::String(s) => s.clone(),
                    Value::Null => "(none)".into(),
                    other => other.to_string(),
                };
                let idx = match out.iter().position(|s| s.name == name) {
                    Some(i) => i,
                    None => {
                        out.push(Series {
                            name,
                            x: vec![],
                            y: vec![],
                        });
                        out.len() - 1
                    }
                };
                out[idx].x.push(row[xi].clone());
                out[idx].y.push(row[yi].clone());
            }
            out
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;
    use std::sync::Arc;

    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use lantern_core::dashboard::{ChartSpec, DashboardSpec};
    use lantern_core::query::ResultTable;
    use lantern_core::semantic::{DatasetSpec, SemanticModel};
    use serde_json::json;

    pub fn model() -> SemanticModel {
        let ds = DatasetSpec::parse(
            Path::new("ds.yaml"),
            "id: ds\nmetrics:\n  dimensions:\n    team:\n    model:\n    date:\n  measures:\n    total: {expr: sum(n), format: integer}\n    rate: {expr: avg(n), format: percent}\n",
        )
        .unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("team", DataType::Utf8, false),
            Field::new("model", DataType::Utf8, false),
            Field::new("date", DataType::Date32, false),
            Field::new("n", DataType::Int64, false),
        ]));
        SemanticModel::compile(&ds, schema).unwrap()
    }

    pub fn chart(yaml: &str) -> ChartSpec {
        let text = format!("id: d\ntitle: D\ndataset: ds\ncharts:\n  - {yaml}\n");
        DashboardSpec::parse(Path::new("d.yaml"), &text)
            .unwrap()
            .spec
            .charts[0]
            .clone()
    }

    pub fn by_team_and_model() -> ResultTable {
        ResultTable {
            columns: vec!["team".into(), "model".into(), "total".into()],
            rows: vec![
                vec![json!("Web"), json!("gpt"), json!(5)],
                vec![json!("Web"), json!("o3"), json!(3)],
                vec![json!("ML"), json!("gpt"), json!(2)],
            ],
        }
    }
}
